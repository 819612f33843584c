package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// batchFixture is rbacFixture (auth on, environment dev, model churn,
// service accounts per role) plus compute pool cpu, model version v1 of
// churn with a local mlops-linear artifact, alias champion → v1, and an
// input folder with one CSV file. It returns the admin client, the role
// clients and the input and output folders.
func batchFixture(t *testing.T) (admin *apiClient, c map[string]*apiClient, in, out string) {
	t.Helper()
	admin, c = rbacFixture(t)
	createPool(admin, "dev", "cpu", api.ComputePoolSpec{MaxNodes: 2})
	dir := t.TempDir()
	model := []byte(`{"slope": 2, "intercept": 1}`)
	artifact := filepath.Join(dir, "model.json")
	if err := os.WriteFile(artifact, model, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(model)
	createVersion(admin, "v1", api.ModelVersionSpec{Model: "churn", ArtifactURI: "file://" + artifact, ArtifactSHA256: hex.EncodeToString(sum[:]), Framework: api.FrameworkMLOpsLinear})
	sk := versionSpec("churn")
	createVersion(admin, "sk-1", sk)
	admin.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelAlias, ""), api.CreateModelAliasRequest{Name: "champion", Spec: api.ModelAliasSpec{Model: "churn", Version: "v1"}})
	in = filepath.Join(dir, "in")
	out = filepath.Join(dir, "out")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "rows.csv"), []byte("x\n1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return admin, c, in, out
}

func batchJobSpec(in, out string) api.BatchInferenceJobSpec {
	return api.BatchInferenceJobSpec{Model: "churn", Alias: "champion", ComputePool: "cpu", InputURI: "file://" + in, OutputURI: "file://" + out}
}

func batchRunsPath(job string) string {
	return objPath("dev", api.KindBatchInferenceJob, job) + "/runs"
}

func waitBatchRun(c *apiClient, name string) api.BatchInferenceRun {
	c.tb.Helper()
	r := c.waitFor(objPath("dev", api.KindBatchInferenceRun, name), runTimeout, func(r response) bool {
		var run api.BatchInferenceRun
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &run) == nil && api.RunFinished(run.Status.Phase)
	})
	return decode[api.BatchInferenceRun](c.tb, r)
}

func TestBatchInferenceJob_Validation(t *testing.T) {
	admin, _, in, out := batchFixture(t)
	coll := objPath("dev", api.KindBatchInferenceJob, "")
	for _, tc := range []struct {
		name  string
		edit  func(*api.BatchInferenceJobSpec)
		field string
		word  string
	}{
		{"VersionAndAlias", func(s *api.BatchInferenceJobSpec) { s.ModelVersion = "v1" }, "spec.model", "not both"},
		{"VersionAndAliasOnly", func(s *api.BatchInferenceJobSpec) { s.ModelVersion, s.Model = "v1", "" }, "spec.alias", "not both"},
		{"Neither", func(s *api.BatchInferenceJobSpec) { s.Model, s.Alias = "", "" }, "spec.model_version", "set model_version"},
		{"ModelWithoutAlias", func(s *api.BatchInferenceJobSpec) { s.Alias = "" }, "spec.alias", "needs alias"},
		{"AliasWithoutModel", func(s *api.BatchInferenceJobSpec) { s.Model = "" }, "spec.model", "needs model"},
		{"InputNotFile", func(s *api.BatchInferenceJobSpec) { s.InputURI = "s3://bucket/in" }, "spec.input_uri", "file://"},
		{"InputRelative", func(s *api.BatchInferenceJobSpec) { s.InputURI = "file://data/in" }, "spec.input_uri", "local absolute"},
		{"OutputTrailingSlash", func(s *api.BatchInferenceJobSpec) { s.OutputURI += "/" }, "spec.output_uri", "clean folder path"},
		{"OutputRoot", func(s *api.BatchInferenceJobSpec) { s.OutputURI = "file:///" }, "spec.output_uri", "clean folder path"},
		{"OutputIsInput", func(s *api.BatchInferenceJobSpec) { s.OutputURI = s.InputURI }, "spec.output_uri", "same as input_uri"},
		{"Format", func(s *api.BatchInferenceJobSpec) { s.InputFormat = "parquet" }, "spec.input_format", "must be one of"},
		{"EmptyColumn", func(s *api.BatchInferenceJobSpec) { s.FeatureColumns = []string{"x", ""} }, "spec.feature_columns[1]", "is empty"},
		{"DuplicateColumn", func(s *api.BatchInferenceJobSpec) { s.FeatureColumns = []string{"x", "x"} }, "spec.feature_columns[1]", "already listed"},
		{"CommaInColumn", func(s *api.BatchInferenceJobSpec) { s.FeatureColumns = []string{"a,b"} }, "spec.feature_columns[0]", "comma"},
		{"TooManyColumns", func(s *api.BatchInferenceJobSpec) { s.FeatureColumns = make([]string, 1001) }, "spec.feature_columns", "at most 1000"},
		{"MaxFailed", func(s *api.BatchInferenceJobSpec) { s.MaxFailedRowsPercent = 101 }, "spec.max_failed_rows_percent", "between 0 and 100"},
		{"Timeout", func(s *api.BatchInferenceJobSpec) { s.TimeoutSeconds = -1 }, "spec.timeout_seconds", "between 1 and 604800"},
		{"Schedule", func(s *api.BatchInferenceJobSpec) { s.Triggers.Schedule = "every day" }, "spec.triggers.schedule", "not a cron schedule"},
		{"MissingPool", func(s *api.BatchInferenceJobSpec) { s.ComputePool = "gpu" }, "spec.compute_pool", `compute pool "gpu" does not exist`},
		{"MissingVersion", func(s *api.BatchInferenceJobSpec) { s.Model, s.Alias, s.ModelVersion = "", "", "v9" }, "spec.model_version", `model version "v9" does not exist`},
		{"Framework", func(s *api.BatchInferenceJobSpec) { s.Model, s.Alias, s.ModelVersion = "", "", "sk-1" }, "spec.model_version", `framework "sklearn"`},
		{"MissingAlias", func(s *api.BatchInferenceJobSpec) { s.Alias = "challenger" }, "spec.alias", `model alias "challenger" does not exist`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := batchJobSpec(in, out)
			tc.edit(&spec)
			e := wantError(t, admin.do(http.MethodPost, coll, api.CreateBatchInferenceJobRequest{Name: "score", Spec: spec}), http.StatusBadRequest, api.EINVALID, tc.field)
			if !strings.Contains(e.Message, tc.word) {
				t.Errorf("message %q lacks %q", e.Message, tc.word)
			}
		})
	}
	long := strings.Repeat("a", 53)
	wantError(t, admin.do(http.MethodPost, coll, api.CreateBatchInferenceJobRequest{Name: long, Spec: batchJobSpec(in, out)}), http.StatusBadRequest, api.EINVALID, "name")
	// Bad input changed nothing.
	l := decode[api.BatchInferenceJobList](t, admin.must(http.StatusOK, http.MethodGet, coll, nil))
	if len(l.Items) != 0 {
		t.Errorf("jobs %+v after refused creates", l.Items)
	}
}

// TestBatchInferenceJob_Lifecycle creates a job, runs it by hand through
// the API (a real scoring step), updates it in place and deletes it.
func TestBatchInferenceJob_Lifecycle(t *testing.T) {
	admin, c, in, out := batchFixture(t)
	coll := objPath("dev", api.KindBatchInferenceJob, "")
	item := objPath("dev", api.KindBatchInferenceJob, "score")
	job := decode[api.BatchInferenceJob](t, c["editor"].must(http.StatusCreated, http.MethodPost, coll, api.CreateBatchInferenceJobRequest{Name: "score", Spec: batchJobSpec(in, out)}))
	if job.Spec.InputFormat != api.BatchFormatAuto || job.Spec.TimeoutSeconds != 3600 || job.Status.Phase != api.PhasePending {
		t.Errorf("job %+v, want the defaults filled", job)
	}
	job = decode[api.BatchInferenceJob](t, admin.waitFor(item, runTimeout, func(r response) bool {
		j := decode[api.BatchInferenceJob](t, r)
		return j.Status.Settled(j.Metadata.Generation)
	}))
	if job.Status.Phase != api.PhaseReady || job.Status.Message != "runs start manually" {
		t.Errorf("status %+v", job.Status)
	}

	// Roles: viewers read, invokers start and cancel, editors write.
	c["viewer"].must(http.StatusOK, http.MethodGet, item, nil)
	wantError(t, c["viewer"].do(http.MethodPost, batchRunsPath("score"), nil), http.StatusForbidden, api.EFORBIDDEN, "")
	wantError(t, c["invoker"].do(http.MethodPut, item, api.UpdateBatchInferenceJobRequest{Spec: batchJobSpec(in, out)}), http.StatusForbidden, api.EFORBIDDEN, "")
	wantError(t, c["nobody"].do(http.MethodGet, objPath("dev", api.KindBatchInferenceRun, ""), nil), http.StatusForbidden, api.EFORBIDDEN, "")

	// A retried start returns the first run.
	r := c["invoker"].must(http.StatusCreated, http.MethodPost, batchRunsPath("score"), nil, api.HeaderIdempotencyKey, "start-1")
	run := decode[api.BatchInferenceRun](t, r)
	again := c["invoker"].must(http.StatusCreated, http.MethodPost, batchRunsPath("score"), `{}`, api.HeaderIdempotencyKey, "start-1")
	if decode[api.BatchInferenceRun](t, again).Metadata.UID != run.Metadata.UID || again.Header.Get(api.HeaderIdempotentReplay) != "true" {
		t.Errorf("retried start = %s", again)
	}
	if run.Metadata.Name != "score-1" || run.Spec.Trigger != api.TriggerManual || run.Spec.ModelVersion != "v1" || run.Spec.JobUID != job.Metadata.UID {
		t.Errorf("run %+v", run)
	}
	wantError(t, c["invoker"].do(http.MethodPost, batchRunsPath("score"), `{"model_version": "v2"}`), http.StatusBadRequest, api.EINVALID, "model_version")
	wantError(t, c["invoker"].do(http.MethodPost, batchRunsPath("missing"), nil), http.StatusNotFound, api.ENOTFOUND, "")

	run = waitBatchRun(admin, "score-1")
	if run.Status.Phase != api.PhaseSucceeded || run.Status.Summary == nil || run.Status.Summary.RowsScored != 2 {
		t.Fatalf("run %s: %s (%+v)", run.Status.Phase, run.Status.Message, run.Status.Summary)
	}
	b, err := os.ReadFile(filepath.Join(out, "score-1", "rows.csv"))
	if err != nil || string(b) != "x,prediction\n1,3\n2,5\n" {
		t.Errorf("predictions %q, %v", b, err)
	}
	// Cancelling a finished run changes nothing; viewers cannot.
	wantError(t, c["viewer"].do(http.MethodPost, objPath("dev", api.KindBatchInferenceRun, "score-1")+"/cancel", nil), http.StatusForbidden, api.EFORBIDDEN, "")
	cancelled := decode[api.BatchInferenceRun](t, c["invoker"].must(http.StatusOK, http.MethodPost, objPath("dev", api.KindBatchInferenceRun, "score-1")+"/cancel", nil))
	if cancelled.Spec.Cancel || cancelled.Status.Phase != api.PhaseSucceeded {
		t.Errorf("cancel of a finished run = %+v", cancelled)
	}
	// Runs are not written through the generic routes.
	wantError(t, admin.do(http.MethodPost, objPath("dev", api.KindBatchInferenceRun, ""), `{"name":"x","spec":{}}`), http.StatusBadRequest, api.EINVALID, "")
	wantError(t, admin.do(http.MethodPut, objPath("dev", api.KindBatchInferenceRun, "score-1"), `{"spec":{}}`), http.StatusBadRequest, api.EINVALID, "")

	// In-place update: a new generation; the finished run keeps its spec.
	spec := batchJobSpec(in, out)
	spec.Model, spec.Alias, spec.ModelVersion = "", "", "v1"
	spec.Triggers.Schedule = "0 3 * * *"
	spec.MaxFailedRowsPercent = 5
	job = decode[api.BatchInferenceJob](t, c["editor"].must(http.StatusOK, http.MethodPut, item, api.UpdateBatchInferenceJobRequest{Spec: spec}))
	if job.Metadata.Generation != 2 || job.Spec.ModelVersion != "v1" || job.Spec.Alias != "" {
		t.Errorf("updated job %+v", job)
	}
	job = decode[api.BatchInferenceJob](t, admin.waitFor(item, runTimeout, func(r response) bool {
		j := decode[api.BatchInferenceJob](t, r)
		return j.Status.Settled(2) && j.Status.NextScheduledAt != nil
	}))
	if job.Status.RunCount != 1 || job.Status.LastRun != "score-1" {
		t.Errorf("status %+v", job.Status)
	}

	// Deleting the job deletes its runs; the output folder stays.
	c["editor"].must(http.StatusAccepted, http.MethodDelete, item, nil)
	admin.waitFor(item, runTimeout, func(r response) bool { return r.Status == http.StatusNotFound })
	wantError(t, admin.do(http.MethodGet, objPath("dev", api.KindBatchInferenceRun, "score-1"), nil), http.StatusNotFound, api.ENOTFOUND, "")
	if _, err := os.Stat(filepath.Join(out, "score-1", "summary.json")); err != nil {
		t.Errorf("the run's output went with the job: %v", err)
	}
	// A new job of the same name never writes into the old run's folder.
	admin.must(http.StatusCreated, http.MethodPost, coll, api.CreateBatchInferenceJobRequest{Name: "score", Spec: batchJobSpec(in, out)})
	run = decode[api.BatchInferenceRun](t, admin.must(http.StatusCreated, http.MethodPost, batchRunsPath("score"), nil))
	if run.Metadata.Name != "score-2" {
		t.Errorf("the new job's first run is %s, want score-2 past the old output folder", run.Metadata.Name)
	}
	waitBatchRun(admin, "score-2")
}

// TestBatchInferenceJob_StartRefusedWhenAliasIsGone names the field.
func TestBatchInferenceJob_StartRefusedWhenAliasIsGone(t *testing.T) {
	admin, _, in, out := batchFixture(t)
	admin.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindBatchInferenceJob, ""), api.CreateBatchInferenceJobRequest{Name: "score", Spec: batchJobSpec(in, out)})
	admin.must(http.StatusNoContent, http.MethodDelete, objPath("dev", api.KindModelAlias, "champion"), nil)
	e := wantError(t, admin.do(http.MethodPost, batchRunsPath("score"), nil), http.StatusBadRequest, api.EINVALID, "spec.alias")
	if !strings.Contains(e.Message, `model alias "champion" does not exist`) {
		t.Errorf("message %q", e.Message)
	}
}
