package batch_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

// registry is a store with environment dev, model m, versions v1 and v2
// (mlops-linear) and onnx-1 (onnx), and alias champion → v1.
type registry struct {
	t  *testing.T
	db *sqlite.DB
}

func newRegistry(t *testing.T) *registry {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "mlops.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &registry{t: t, db: db}
	r.create(api.KindEnvironment, "", "dev", api.EnvironmentSpec{})
	r.create(api.KindModel, "dev", "m", api.ModelSpec{TaskType: api.TaskRegression})
	for _, v := range []struct{ name, framework string }{{"v1", api.FrameworkMLOpsLinear}, {"v2", api.FrameworkMLOpsLinear}, {"onnx-1", "onnx"}} {
		r.create(api.KindModelVersion, "dev", v.name, api.ModelVersionSpec{Model: "m", ArtifactURI: "file:///models/" + v.name + ".json", ArtifactSHA256: strings.Repeat("a", 64), Framework: v.framework})
	}
	r.create(api.KindModelAlias, "dev", "champion", api.ModelAliasSpec{Model: "m", Version: "v1"})
	return r
}

func (r *registry) create(kind, env, name string, spec any) *store.Object {
	r.t.Helper()
	b, _ := json.Marshal(spec)
	res, err := r.db.Create(r.t.Context(), &store.Object{Kind: kind, Meta: api.Metadata{Name: name, Environment: env}, Spec: b, Status: json.RawMessage(`{"phase":"ready"}`)}, store.WriteOptions{Actor: "t"})
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Object
}

func (r *registry) job(name string, spec api.BatchInferenceJobSpec) *store.Object {
	r.t.Helper()
	return r.create(api.KindBatchInferenceJob, "dev", name, spec)
}

func jobSpec(out string) api.BatchInferenceJobSpec {
	return api.BatchInferenceJobSpec{ComputePool: "cpu", InputURI: "file:///data/in", InputFormat: api.BatchFormatAuto, OutputURI: batch.FileURI(out), Model: "m", Alias: "champion"}
}

func runOf(t *testing.T, res *store.Result) (api.BatchInferenceRunSpec, api.BatchInferenceRunStatus) {
	t.Helper()
	var spec api.BatchInferenceRunSpec
	var st api.BatchInferenceRunStatus
	if err := json.Unmarshal(res.Object.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(res.Object.Status, &st); err != nil {
		t.Fatal(err)
	}
	return spec, st
}

func TestStartRun_ResolvesTheAliasAtStart(t *testing.T) {
	r := newRegistry(t)
	out := t.TempDir()
	job := r.job("score", jobSpec(out))
	res, err := batch.StartRun(t.Context(), r.db, job, api.TriggerManual, store.WriteOptions{Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	spec, st := runOf(t, res)
	if res.Object.Meta.Name != "score-1" || spec.Job != "score" || spec.JobUID != job.Meta.UID || spec.JobGeneration != 1 || spec.Trigger != api.TriggerManual {
		t.Errorf("run %s spec %+v", res.Object.Meta.Name, spec)
	}
	if spec.ModelVersion != "v1" || spec.ArtifactURI != "file:///models/v1.json" || spec.ArtifactSHA256 != strings.Repeat("a", 64) || spec.JobSpec.Alias != "champion" {
		t.Errorf("run spec %+v, want version v1 and its artifact", spec)
	}
	if st.Phase != api.PhasePending || st.Step == nil || st.Step.Name != batch.StepName || st.OutputURI != batch.FileURI(filepath.Join(out, "score-1")) {
		t.Errorf("run status %+v", st)
	}

	// Moving the alias changes what the next run scores with, not the
	// first run.
	alias, err := r.db.Get(t.Context(), api.Ref{Kind: api.KindModelAlias, Environment: "dev", Name: "champion"})
	if err != nil {
		t.Fatal(err)
	}
	moved, _ := json.Marshal(api.ModelAliasSpec{Model: "m", Version: "v2"})
	if _, err := r.db.UpdateSpec(t.Context(), alias.Ref(), moved, store.WriteOptions{Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	res2, err := batch.StartRun(t.Context(), r.db, job, api.TriggerManual, store.WriteOptions{Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if spec2, _ := runOf(t, res2); res2.Object.Meta.Name != "score-2" || spec2.ModelVersion != "v2" {
		t.Errorf("second run %s scores with %s, want score-2 with v2", res2.Object.Meta.Name, spec2.ModelVersion)
	}
	first, _ := r.db.Get(t.Context(), res.Object.Ref())
	var firstSpec api.BatchInferenceRunSpec
	_ = json.Unmarshal(first.Spec, &firstSpec)
	if firstSpec.ModelVersion != "v1" {
		t.Errorf("the first run now scores with %s", firstSpec.ModelVersion)
	}
}

// TestStartRun_SkipsOutputFoldersOfEarlierRuns never writes into the
// output folder of a run of an earlier job of the same name.
func TestStartRun_SkipsOutputFoldersOfEarlierRuns(t *testing.T) {
	r := newRegistry(t)
	out := t.TempDir()
	for _, name := range []string{"score-1", "score-2"} {
		if err := os.Mkdir(filepath.Join(out, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	job := r.job("score", jobSpec(out))
	res, err := batch.StartRun(t.Context(), r.db, job, api.TriggerManual, store.WriteOptions{Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Object.Meta.Name != "score-3" {
		t.Errorf("run %s, want score-3", res.Object.Meta.Name)
	}
}

func TestStartRun_SystemWriteIsIdempotent(t *testing.T) {
	r := newRegistry(t)
	out := t.TempDir()
	job := r.job("score", jobSpec(out))
	key := "trigger/" + job.Meta.UID + "/new_data/a>b"
	first, err := batch.StartRun(t.Context(), r.db, job, api.TriggerNewData, pipeline.SystemWrite("batch-trigger", key))
	if err != nil {
		t.Fatal(err)
	}
	// The first run wrote its output folder since.
	if err := os.Mkdir(filepath.Join(out, "score-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	again, err := batch.StartRun(t.Context(), r.db, job, api.TriggerNewData, pipeline.SystemWrite("batch-trigger", key))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.Object.Meta.UID != first.Object.Meta.UID {
		t.Errorf("the repeated start made %s (replayed %v), want %s again", again.Object.Meta.Name, again.Replayed, first.Object.Meta.Name)
	}
}

func TestStartRun_Refusals(t *testing.T) {
	r := newRegistry(t)
	for _, tc := range []struct {
		name  string
		edit  func(*api.BatchInferenceJobSpec)
		field string
		want  string
	}{
		{"MissingVersion", func(s *api.BatchInferenceJobSpec) { s.Model, s.Alias, s.ModelVersion = "", "", "v9" }, "spec.model_version", `model version "v9" does not exist`},
		{"Framework", func(s *api.BatchInferenceJobSpec) { s.Model, s.Alias, s.ModelVersion = "", "", "onnx-1" }, "spec.model_version", `framework "onnx"`},
		{"MissingAlias", func(s *api.BatchInferenceJobSpec) { s.Alias = "challenger" }, "spec.alias", `model alias "challenger" does not exist`},
		{"AliasOfAnotherModel", func(s *api.BatchInferenceJobSpec) { s.Model = "other" }, "spec.alias", `belongs to model "m", not "other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := jobSpec(t.TempDir())
			tc.edit(&spec)
			job := r.job(strings.ToLower(tc.name), spec)
			_, err := batch.StartRun(t.Context(), r.db, job, api.TriggerManual, store.WriteOptions{Actor: "t"})
			apiErr, ok := err.(*api.Error)
			if !ok || apiErr.Code != api.EINVALID || apiErr.Field != tc.field || !strings.Contains(apiErr.Message, tc.want) {
				t.Errorf("error %v, want invalid %s: %s", err, tc.field, tc.want)
			}
		})
	}
	t.Run("JobBeingDeleted", func(t *testing.T) {
		job := r.job("going", jobSpec(t.TempDir()))
		if _, err := r.db.Delete(t.Context(), job.Ref(), true, store.WriteOptions{Actor: "t"}); err != nil {
			t.Fatal(err)
		}
		_, err := batch.StartRun(t.Context(), r.db, job, api.TriggerManual, store.WriteOptions{Actor: "t"})
		if apiErr, ok := err.(*api.Error); !ok || apiErr.Code != api.ECONFLICT {
			t.Errorf("error %v, want conflict", err)
		}
	})
}

func TestInputDigest(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "b.jsonl", "{}\n")
	writeFile(t, dir, "a.csv", "a\n1\n")
	writeFile(t, dir, ".part.csv", "a\n")
	writeFile(t, dir, "readme.md", "x")
	digest, n, err := batch.InputDigest(dir, api.BatchFormatAuto, pipeline.HashFile)
	if err != nil {
		t.Fatal(err)
	}
	want := sha(sha("a\n1\n") + "  a.csv\n" + sha("{}\n") + "  b.jsonl\n")
	if n != 2 || digest != want {
		t.Errorf("digest %s of %d files, want %s of 2", digest, n, want)
	}
	if d, n, err := batch.InputDigest(dir, api.BatchFormatCSV, pipeline.HashFile); err != nil || n != 1 || d != sha(sha("a\n1\n")+"  a.csv\n") {
		t.Errorf("csv only: %s of %d files, %v", d, n, err)
	}
	if d, n, err := batch.InputDigest(filepath.Join(dir, "a.csv"), "", pipeline.HashFile); err != nil || n != 1 || d != sha("a\n1\n") {
		t.Errorf("one file: %s of %d files, %v; want the file's own SHA-256", d, n, err)
	}
	empty := t.TempDir()
	if d, n, err := batch.InputDigest(empty, "", pipeline.HashFile); err != nil || n != 0 || d != sha("") {
		t.Errorf("empty folder: %s of %d files, %v", d, n, err)
	}
	if _, _, err := batch.InputDigest(filepath.Join(dir, "missing"), "", pipeline.HashFile); !os.IsNotExist(err) {
		t.Errorf("missing input: %v", err)
	}
}
