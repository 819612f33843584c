package reconcile_test

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// The batch run handler starts "<this test binary> batch-score ..." as its
// scoring step, through the real local step driver: ServeBatchScorer makes
// the binary score then.
func TestMain(m *testing.M) {
	mlopsdtest.ServeBatchScorer()
	os.Exit(m.Run())
}

// batchModel is y = 1 + 2a - b.
const batchModel = `{"weights": [2, -1], "bias": 1}`

type batchFixture struct {
	tb     testing.TB
	ctx    context.Context
	st     *sqlite.DB
	clock  *clock
	layout runtime.RunLayout
	rec    *reconcile.Reconciler
	// in and out are the job's input and output folders; artifact is the
	// model version's artifact file.
	in, out, artifact string
	// slow, while it exists, makes every scoring step wait a minute
	// before it scores, so a test can cancel a step that runs.
	slow string
}

// newBatchFixture is a store with environment dev, a local compute pool
// cpu of maxNodes, model m with version v1 (batchModel) and alias
// champion → v1, and reconcilers with the pool and batch handlers.
func newBatchFixture(tb testing.TB, maxNodes int64) *batchFixture {
	tb.Helper()
	st := MustOpenDB(tb)
	f := &batchFixture{tb: tb, ctx: tb.Context(), st: st, clock: &clock{t: now}, layout: runtime.RunLayout{Root: tb.TempDir()},
		in: tb.TempDir(), out: filepath.Join(tb.TempDir(), "predictions"), artifact: filepath.Join(tb.TempDir(), "model.json"),
		slow: filepath.Join(tb.TempDir(), "slow")}
	if err := os.WriteFile(f.artifact, []byte(batchModel), 0o644); err != nil {
		tb.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	// The scorer is this test binary, behind a shell that waits while the
	// slow marker exists; the run appends batch-score and its flags.
	scorer := []string{"sh", "-c", `if [ -e "$0" ]; then sleep 60; fi; exec "$@"`, f.slow, exe}
	steps := runtime.NewLocalSteps(f.layout, runtime.WithGrace(200*time.Millisecond))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		steps.Close(ctx)
	})
	f.rec = reconcile.New(reconcile.Config{
		Store:           st,
		PoolHandler:     &reconcile.PoolHandler{Store: st, Driver: &runtime.Local{MaxNodesPerPool: 8}, Now: f.clock.Now},
		BatchJobHandler: &reconcile.BatchJobHandler{Store: st, Now: f.clock.Now},
		BatchRunHandler: &reconcile.BatchRunHandler{Store: st, Drivers: map[string]runtime.StepDriver{api.DriverLocal: steps}, Layout: f.layout, Scorer: scorer, Now: f.clock.Now},
	})
	f.create(api.KindEnvironment, "", "dev", api.EnvironmentSpec{}, api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	f.create(api.KindComputePool, "dev", "cpu", api.ComputePoolSpec{Driver: api.DriverLocal, MaxNodes: maxNodes, CPUPerNode: 1, MemoryGiBPerNode: 1},
		api.ComputePoolStatus{Status: api.Status{Phase: api.PhaseProvisioning}})
	ready := api.Status{Phase: api.PhaseReady, ObservedGeneration: 1}
	f.create(api.KindModel, "dev", "m", api.ModelSpec{TaskType: api.TaskRegression}, ready)
	f.create(api.KindModelVersion, "dev", "v1", api.ModelVersionSpec{Model: "m", ArtifactURI: batch.FileURI(f.artifact), ArtifactSHA256: sha256Hex(batchModel), Framework: api.FrameworkMLOpsLinear}, ready)
	f.create(api.KindModelAlias, "dev", "champion", api.ModelAliasSpec{Model: "m", Version: "v1"}, ready)
	return f
}

func (f *batchFixture) create(kind, env, name string, spec, status any) *store.Object {
	f.tb.Helper()
	res, err := f.st.Create(f.ctx, &store.Object{Kind: kind, Meta: api.Metadata{Name: name, Environment: env}, Spec: mustJSON(f.tb, spec), Status: mustJSON(f.tb, status)}, store.WriteOptions{Actor: "alice"})
	if err != nil {
		f.tb.Fatalf("creating %s/%s: %v", kind, name, err)
	}
	return res.Object
}

// spec is a job on the fixture's folders, by alias, as the server stores
// it after filling the defaults.
func (f *batchFixture) spec() api.BatchInferenceJobSpec {
	return api.BatchInferenceJobSpec{Model: "m", Alias: "champion", ComputePool: "cpu", InputURI: batch.FileURI(f.in), InputFormat: api.BatchFormatAuto,
		OutputURI: batch.FileURI(f.out), TimeoutSeconds: 60}
}

func (f *batchFixture) createJob(name string, spec api.BatchInferenceJobSpec) api.Ref {
	f.tb.Helper()
	return f.create(api.KindBatchInferenceJob, "dev", name, spec, api.BatchInferenceJobStatus{Status: api.Status{Phase: api.PhasePending}}).Ref()
}

func (f *batchFixture) job(name string) (*store.Object, api.BatchInferenceJobStatus) {
	f.tb.Helper()
	obj, err := f.st.Get(f.ctx, api.Ref{Kind: api.KindBatchInferenceJob, Environment: "dev", Name: name})
	if err != nil {
		f.tb.Fatal(err)
	}
	var st api.BatchInferenceJobStatus
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		f.tb.Fatal(err)
	}
	return obj, st
}

type batchRunState struct {
	Obj    *store.Object
	Spec   api.BatchInferenceRunSpec
	Status api.BatchInferenceRunStatus
}

func (f *batchFixture) run(name string) (batchRunState, bool) {
	f.tb.Helper()
	obj, err := f.st.Get(f.ctx, api.Ref{Kind: api.KindBatchInferenceRun, Environment: "dev", Name: name})
	if isCode(err, api.ENOTFOUND) {
		return batchRunState{}, false
	}
	if err != nil {
		f.tb.Fatal(err)
	}
	r := batchRunState{Obj: obj}
	if err := json.Unmarshal(obj.Spec, &r.Spec); err != nil {
		f.tb.Fatal(err)
	}
	if err := json.Unmarshal(obj.Status, &r.Status); err != nil {
		f.tb.Fatal(err)
	}
	return r, true
}

func (f *batchFixture) runNames() []string {
	f.tb.Helper()
	objs, _, err := f.st.List(f.ctx, api.KindBatchInferenceRun, "dev", api.ListOptions{})
	if err != nil {
		f.tb.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Meta.Name)
	}
	return names
}

// passUntil runs passes until done holds, failing after 15s.
func (f *batchFixture) passUntil(what string, done func() bool) {
	f.tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		f.rec.Pass(f.ctx)
		if done() {
			return
		}
		if time.Now().After(deadline) {
			f.tb.Fatalf("%s: not reached after 15s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *batchFixture) finishRun(name string) batchRunState {
	f.tb.Helper()
	var r batchRunState
	f.passUntil("run "+name+" finished", func() bool {
		var ok bool
		r, ok = f.run(name)
		return ok && api.RunFinished(r.Status.Phase)
	})
	return r
}

// startManual starts a run as the API's manual-run route does.
func (f *batchFixture) startManual(job string) string {
	f.tb.Helper()
	obj, _ := f.job(job)
	res, err := batch.StartRun(f.ctx, f.st, obj, api.TriggerManual, store.WriteOptions{Actor: "alice"})
	if err != nil {
		f.tb.Fatal(err)
	}
	return res.Object.Meta.Name
}

// makeSlow makes the scoring steps started from now on wait a minute.
func (f *batchFixture) makeSlow() {
	f.tb.Helper()
	if err := os.WriteFile(f.slow, nil, 0o644); err != nil {
		f.tb.Fatal(err)
	}
}

// put writes a file into the input folder the way a producer should:
// under a hidden name, then renamed into place.
func (f *batchFixture) put(name, content string) {
	f.tb.Helper()
	tmp := filepath.Join(f.in, ".incoming-"+name)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		f.tb.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(f.in, name)); err != nil {
		f.tb.Fatal(err)
	}
}

func predictBatch(a, b float64) float64 { return 1 + 2*a - b }

func TestBatchRun_ScoresAFolder(t *testing.T) {
	f := newBatchFixture(t, 2)
	f.put("a.csv", "a,b\n1,2\n3,0.5\n")
	f.put("b.jsonl", "{\"inputs\": [2, 2]}\n")
	f.createJob("score", f.spec())
	f.rec.Pass(f.ctx)
	name := f.startManual("score")
	r := f.finishRun(name)
	if r.Status.Phase != api.PhaseSucceeded {
		t.Fatalf("run %s: %s (%s): %s", name, r.Status.Phase, r.Status.Reason, r.Status.Message)
	}
	t.Logf("run %s: %s", name, r.Status.Message)
	sum := r.Status.Summary
	if sum == nil || sum.RowsTotal != 3 || sum.RowsScored != 3 || sum.ModelVersion != "v1" || len(sum.Files) != 2 {
		t.Fatalf("summary %+v", sum)
	}
	if r.Spec.ModelVersion != "v1" || r.Status.InputSHA256 != sum.InputSHA256 || len(r.Status.InputSHA256) != 64 {
		t.Errorf("run spec model %s, status input %s", r.Spec.ModelVersion, r.Status.InputSHA256)
	}
	s := r.Status.Step
	if s == nil || s.Name != "score" || s.Phase != api.PhaseSucceeded || s.Attempts != 1 || s.ExitCode == nil || *s.ExitCode != 0 {
		t.Errorf("step %+v", s)
	}
	out := filepath.Join(f.out, name)
	if r.Status.OutputURI != batch.FileURI(out) {
		t.Errorf("output_uri %s, want %s", r.Status.OutputURI, batch.FileURI(out))
	}
	fh, err := os.Open(filepath.Join(out, "a.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(fh).ReadAll()
	fh.Close()
	if err != nil || len(recs) != 3 || recs[0][2] != "prediction" {
		t.Fatalf("a.csv predictions %q, %v", recs, err)
	}
	if y, _ := strconv.ParseFloat(recs[2][2], 64); y != predictBatch(3, 0.5) {
		t.Errorf("prediction %s, want %v", recs[2][2], predictBatch(3, 0.5))
	}
	log, err := os.ReadFile(f.layout.LogPath("dev", name, "score", 1))
	if err != nil || !strings.Contains(string(log), "scored 3 of 3 row(s)") {
		t.Errorf("step log %q, %v", log, err)
	}
	if c := findCondition(r.Status.Conditions, api.ConditionSucceeded); c == nil || c.Status != api.ConditionTrue {
		t.Errorf("conditions %+v", r.Status.Conditions)
	}
}

func findCondition(cs []api.Condition, typ string) *api.Condition {
	for i := range cs {
		if cs[i].Type == typ {
			return &cs[i]
		}
	}
	return nil
}

// TestBatchRun_BadRows: failed rows within the allowed share succeed with
// their row numbers in the summary; over it the run fails with the
// summary's message and writes no predictions.
func TestBatchRun_BadRows(t *testing.T) {
	f := newBatchFixture(t, 2)
	f.put("in.csv", "a,b\n1,2\nbad,1\n3,4\n5\n")
	spec := f.spec()
	spec.MaxFailedRowsPercent = 50
	f.createJob("lenient", spec)
	spec.MaxFailedRowsPercent = 25
	f.createJob("strict", spec)
	f.rec.Pass(f.ctx)

	r := f.finishRun(f.startManual("lenient"))
	if r.Status.Phase != api.PhaseSucceeded {
		t.Fatalf("lenient run: %s: %s", r.Status.Phase, r.Status.Message)
	}
	sum := r.Status.Summary
	if sum.RowsTotal != 4 || sum.RowsFailed != 2 || sum.RowsScored != 2 || len(sum.Errors) != 2 || sum.Errors[0].Row != 2 || sum.Errors[1].Row != 4 {
		t.Errorf("summary %+v", sum)
	}
	if !strings.Contains(r.Status.Message, "scored 2 of 4 row(s) (2 failed)") {
		t.Errorf("message %q", r.Status.Message)
	}

	r = f.finishRun(f.startManual("strict"))
	if r.Status.Phase != api.PhaseFailed || r.Status.Reason != "ScoringFailed" {
		t.Fatalf("strict run: %s (%s): %s", r.Status.Phase, r.Status.Reason, r.Status.Message)
	}
	if !strings.Contains(r.Status.Message, "2 of 4 row(s) (50.0%) failed to score, more than max_failed_rows_percent (25%)") {
		t.Errorf("message %q", r.Status.Message)
	}
	if r.Status.Summary == nil || r.Status.Summary.RowsFailed != 2 || r.Status.Summary.Errors[0].Row != 2 {
		t.Errorf("summary %+v", r.Status.Summary)
	}
	if r.Status.Step.ExitCode == nil || *r.Status.Step.ExitCode == 0 {
		t.Errorf("step %+v, want a non-zero exit", r.Status.Step)
	}
	if _, err := os.Stat(filepath.Join(f.out, r.Obj.Meta.Name, "in.csv")); !os.IsNotExist(err) {
		t.Errorf("a failed run left a predictions file: %v", err)
	}
}

// TestBatchRun_ChangedArtifact fails the run clearly when the model's
// artifact no longer has the digest it was registered with.
func TestBatchRun_ChangedArtifact(t *testing.T) {
	f := newBatchFixture(t, 2)
	f.put("in.csv", "a,b\n1,2\n")
	f.createJob("score", f.spec())
	f.rec.Pass(f.ctx)
	if err := os.WriteFile(f.artifact, []byte(`{"weights": [2, -1], "bias": 100}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := f.finishRun(f.startManual("score"))
	if r.Status.Phase != api.PhaseFailed || !strings.Contains(r.Status.Message, "the file changed after registration") {
		t.Fatalf("run: %s: %s", r.Status.Phase, r.Status.Message)
	}
}

// TestBatchRun_LogTailWithoutSummary quotes the step's log when the scorer
// could not even write a summary.
func TestBatchRun_LogTailWithoutSummary(t *testing.T) {
	f := newBatchFixture(t, 2)
	f.put("in.csv", "a,b\n1,2\n")
	spec := f.spec()
	// A file where the output folder should be: nothing can be written.
	if err := os.WriteFile(f.out, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.createJob("score", spec)
	f.rec.Pass(f.ctx)
	r := f.finishRun(f.startManual("score"))
	if r.Status.Phase != api.PhaseFailed || r.Status.Reason != "StepFailed" || !strings.Contains(r.Status.Message, "last lines of its log") ||
		!strings.Contains(r.Status.Message, "creating the output folder") {
		t.Fatalf("run: %s (%s): %s", r.Status.Phase, r.Status.Reason, r.Status.Message)
	}
}

func TestBatchRun_CancelAndDelete(t *testing.T) {
	f := newBatchFixture(t, 2)
	f.put("in.csv", "a,b\n1,2\n")
	f.makeSlow()
	f.createJob("score", f.spec())
	f.rec.Pass(f.ctx)
	name := f.startManual("score")
	f.passUntil("step running", func() bool {
		r, _ := f.run(name)
		return r.Status.Step != nil && r.Status.Step.Phase == api.PhaseRunning
	})
	r, _ := f.run(name)
	r.Spec.Cancel = true
	if _, err := f.st.UpdateSpec(f.ctx, r.Obj.Ref(), mustJSON(t, r.Spec), store.WriteOptions{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	r = f.finishRun(name)
	if r.Status.Phase != api.PhaseCancelled || r.Status.Step.Phase != api.PhaseCancelled {
		t.Fatalf("run %s, step %+v", r.Status.Phase, r.Status.Step)
	}
	// Whatever the run wrote to its output folder is the product.
	if err := os.MkdirAll(filepath.Join(f.out, name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.out, name, "keep.txt"), []byte("product"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Delete(f.ctx, r.Obj.Ref(), true, store.WriteOptions{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	f.passUntil("run deleted", func() bool { _, ok := f.run(name); return !ok })
	if _, err := os.Stat(f.layout.RunDir("dev", name)); !os.IsNotExist(err) {
		t.Errorf("the run's directory (logs) is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.out, name, "keep.txt")); err != nil {
		t.Errorf("the run's output folder went with it: %v", err)
	}
}

// TestBatchRun_Timeout stops a scoring step at the job's timeout and says
// so.
func TestBatchRun_Timeout(t *testing.T) {
	f := newBatchFixture(t, 2)
	f.put("in.csv", "a,b\n1,2\n")
	spec := f.spec()
	spec.TimeoutSeconds = 1
	f.createJob("score", spec)
	f.rec.Pass(f.ctx)
	f.makeSlow()
	r := f.finishRun(f.startManual("score"))
	if r.Status.Phase != api.PhaseFailed || !strings.Contains(r.Status.Message, "timed out after 1s") {
		t.Fatalf("run %s: %s", r.Status.Phase, r.Status.Message)
	}
}

// TestBatchRun_SharesPoolCapacity waits for room in the pool when pipeline
// steps take it all.
func TestBatchRun_SharesPoolCapacity(t *testing.T) {
	f := newBatchFixture(t, 1)
	f.put("in.csv", "a,b\n1,2\n")
	f.createJob("score", f.spec())
	// A pipeline run whose step runs on the pool, as stored (no pipeline
	// handler runs here to find it lost).
	f.create(api.KindPipelineRun, "dev", "train-1", api.PipelineRunSpec{Pipeline: "train", PipelineSpec: api.TrainingPipelineSpec{ComputePool: "cpu"}},
		api.PipelineRunStatus{Status: api.Status{Phase: api.PhaseRunning}, Steps: []api.StepStatus{{Name: "fit", Phase: api.PhaseRunning, Attempts: 1}}})
	f.rec.Pass(f.ctx)
	name := f.startManual("score")
	f.rec.Pass(f.ctx)
	f.rec.Pass(f.ctx)
	r, _ := f.run(name)
	if r.Status.Reason != "WaitingForCapacity" || r.Status.Step.Attempts != 0 || !strings.Contains(r.Status.Message, "1 of 1 step slots busy") {
		t.Fatalf("run %s (%s): %s", r.Status.Phase, r.Status.Reason, r.Status.Message)
	}
	train, err := f.st.Get(f.ctx, api.Ref{Kind: api.KindPipelineRun, Environment: "dev", Name: "train-1"})
	if err != nil {
		t.Fatal(err)
	}
	done := api.PipelineRunStatus{Status: api.Status{Phase: api.PhaseSucceeded}, Steps: []api.StepStatus{{Name: "fit", Phase: api.PhaseSucceeded, Attempts: 1}}}
	if _, err := f.st.UpdateStatus(f.ctx, train.Ref(), train.Meta.UID, mustJSON(t, done)); err != nil {
		t.Fatal(err)
	}
	if r := f.finishRun(name); r.Status.Phase != api.PhaseSucceeded {
		t.Errorf("run after the pipeline step ended: %s: %s", r.Status.Phase, r.Status.Message)
	}
}

// TestBatchRun_LostAttemptIsRetried: after a restart the driver knows no
// attempt; scoring again is safe, so the step gets another attempt.
func TestBatchRun_LostAttemptIsRetried(t *testing.T) {
	f := newBatchFixture(t, 2)
	f.put("in.csv", "a,b\n1,2\n")
	f.createJob("score", f.spec())
	f.rec.Pass(f.ctx)
	f.makeSlow()
	name := f.startManual("score")
	f.passUntil("step running", func() bool {
		r, _ := f.run(name)
		return r.Status.Step != nil && r.Status.Step.Phase == api.PhaseRunning
	})
	// A restarted mlopsd: a driver that never heard of the attempt.
	fresh := runtime.NewLocalSteps(f.layout)
	t.Cleanup(func() { _ = fresh.Close(context.Background()) })
	h := &reconcile.BatchRunHandler{Store: f.st, Drivers: map[string]runtime.StepDriver{api.DriverLocal: fresh}, Layout: f.layout, Scorer: []string{"sh", "-c", `exec "$@"`, "sh", mustExecutable(t)}}
	r, _ := f.run(name)
	if err := h.Reconcile(f.ctx, r.Obj); err != nil {
		t.Fatal(err)
	}
	r, _ = f.run(name)
	if r.Status.Step.Phase != api.PhaseRunning || r.Status.Step.Attempts != 2 || !strings.Contains(r.Status.Step.Message, "attempt 1 was lost") {
		t.Fatalf("step %+v, want attempt 2 running", r.Status.Step)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !api.RunFinished(r.Status.Phase) && time.Now().Before(deadline) {
		if err := h.Reconcile(f.ctx, r.Obj); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		r, _ = f.run(name)
	}
	if r.Status.Phase != api.PhaseSucceeded || r.Status.Step.Attempts != 2 {
		t.Errorf("run %s after %d attempt(s): %s", r.Status.Phase, r.Status.Step.Attempts, r.Status.Message)
	}
}

func mustExecutable(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestBatchRun_NoScorer(t *testing.T) {
	f := newBatchFixture(t, 1)
	f.createJob("score", f.spec())
	h := &reconcile.BatchRunHandler{Store: f.st, Drivers: map[string]runtime.StepDriver{api.DriverLocal: runtime.NewLocalSteps(f.layout)}, Layout: f.layout}
	f.rec.Pass(f.ctx)
	name := f.startManual("score")
	r, _ := f.run(name)
	if err := h.Reconcile(f.ctx, r.Obj); err != nil {
		t.Fatal(err)
	}
	r, _ = f.run(name)
	if r.Status.Phase != api.PhaseFailed || r.Status.Reason != "NoScorer" {
		t.Errorf("run %s (%s): %s", r.Status.Phase, r.Status.Reason, r.Status.Message)
	}
}

// TestBatchJob_Schedule steps the job watcher under a clock the test moves:
// one run per fire time, none twice, alias resolved at each start.
func TestBatchJob_Schedule(t *testing.T) {
	f := newBatchFixture(t, 2)
	f.put("in.csv", "a,b\n1,2\n")
	spec := f.spec()
	spec.Triggers.Schedule = "*/5 * * * *"
	ref := f.createJob("nightly", spec)

	f.rec.Pass(f.ctx)
	obj, st := f.job("nightly")
	want := time.Date(2030, 1, 2, 3, 5, 0, 0, time.UTC) // now is 03:04:05
	if st.Phase != api.PhaseReady || st.NextScheduledAt == nil || !st.NextScheduledAt.Equal(want) || len(f.runNames()) != 0 {
		t.Fatalf("status %+v, runs %v; want ready with the next fire at %v and no run", st, f.runNames(), want)
	}

	t.Run("Fires", func(t *testing.T) {
		f.clock.Set(want.Add(time.Second))
		f.rec.Pass(f.ctx)
		_, st := f.job("nightly")
		if st.RunCount != 1 || st.LastRun != "nightly-1" || !st.NextScheduledAt.Equal(want.Add(5*time.Minute)) {
			t.Fatalf("status %+v", st)
		}
		r := f.finishRun("nightly-1")
		if r.Spec.Trigger != api.TriggerSchedule || r.Spec.JobUID != obj.Meta.UID || r.Spec.ModelVersion != "v1" || r.Status.Phase != api.PhaseSucceeded {
			t.Errorf("run %+v: %s", r.Spec, r.Status.Message)
		}
		if names := f.runNames(); len(names) != 1 {
			t.Errorf("runs %v, want one per fire", names)
		}
	})

	t.Run("MissedFiresStartOneRun", func(t *testing.T) {
		f.clock.Set(want.Add(time.Hour))
		f.rec.Pass(f.ctx)
		f.rec.Pass(f.ctx)
		if names := f.runNames(); strings.Join(names, ",") != "nightly-1,nightly-2" {
			t.Errorf("runs %v after an hour of missed fires, want one more", names)
		}
	})

	t.Run("CrashBeforeStatusWriteStartsNoSecondRun", func(t *testing.T) {
		obj, before := f.job("nightly")
		f.clock.Set(before.NextScheduledAt.Add(time.Second))
		f.rec.Pass(f.ctx) // starts nightly-3
		if _, err := f.st.UpdateStatus(f.ctx, ref, obj.Meta.UID, mustJSON(t, before)); err != nil {
			t.Fatal(err)
		}
		f.rec.Pass(f.ctx)
		if names := f.runNames(); strings.Join(names, ",") != "nightly-1,nightly-2,nightly-3" {
			t.Errorf("runs %v, want nightly-3 once", names)
		}
		if _, st := f.job("nightly"); st.RunCount != 3 || st.LastRun != "nightly-3" {
			t.Errorf("run_count %d, last_run %s", st.RunCount, st.LastRun)
		}
	})

	t.Run("ManualRunsAreCounted", func(t *testing.T) {
		name := f.startManual("nightly")
		f.rec.Pass(f.ctx)
		if _, st := f.job("nightly"); st.RunCount != 4 || st.LastRun != name {
			t.Errorf("run_count %d, last_run %s; want 4, %s", st.RunCount, st.LastRun, name)
		}
	})
}

// TestBatchJob_OnNewData starts one run per change of the input folder's
// content; the first content is the baseline and an emptied folder starts
// nothing.
func TestBatchJob_OnNewData(t *testing.T) {
	f := newBatchFixture(t, 2)
	spec := f.spec()
	spec.Triggers.OnNewData = true
	ref := f.createJob("fresh", spec)

	f.rec.Pass(f.ctx)
	_, st := f.job("fresh")
	empty := sha256.Sum256(nil)
	if st.InputSHA256 != hex.EncodeToString(empty[:]) || st.InputURI != spec.InputURI || len(f.runNames()) != 0 {
		t.Fatalf("status %+v, runs %v; want the empty folder's digest as the baseline", st, f.runNames())
	}
	f.put("day1.csv", "a,b\n1,2\n")
	f.rec.Pass(f.ctx)
	if names := f.runNames(); strings.Join(names, ",") != "fresh-1" {
		t.Fatalf("runs %v after new data, want fresh-1", names)
	}
	r := f.finishRun("fresh-1")
	if r.Spec.Trigger != api.TriggerNewData || r.Status.Phase != api.PhaseSucceeded {
		t.Fatalf("run: %s %s: %s", r.Spec.Trigger, r.Status.Phase, r.Status.Message)
	}
	_, st = f.job("fresh")
	if st.InputSHA256 != r.Status.InputSHA256 {
		t.Errorf("job digest %s, run's input digest %s; want the same", st.InputSHA256, r.Status.InputSHA256)
	}
	// The same content starts nothing, also after a rewrite.
	f.put("day1.csv", "a,b\n1,2\n")
	f.rec.Pass(f.ctx)
	f.rec.Pass(f.ctx)
	if names := f.runNames(); len(names) != 1 {
		t.Errorf("runs %v after rewriting the same content", names)
	}
	// A crash between the run's create and the status write starts it once.
	obj, before := f.job("fresh")
	f.put("day2.csv", "a,b\n3,4\n")
	f.rec.Pass(f.ctx)
	if _, err := f.st.UpdateStatus(f.ctx, ref, obj.Meta.UID, mustJSON(t, before)); err != nil {
		t.Fatal(err)
	}
	f.rec.Pass(f.ctx)
	if names := f.runNames(); strings.Join(names, ",") != "fresh-1,fresh-2" {
		t.Errorf("runs %v, want fresh-2 once", names)
	}
	// Emptying the folder starts nothing; new files after it do.
	for _, n := range []string{"day1.csv", "day2.csv"} {
		if err := os.Remove(filepath.Join(f.in, n)); err != nil {
			t.Fatal(err)
		}
	}
	f.rec.Pass(f.ctx)
	if names := f.runNames(); len(names) != 2 {
		t.Errorf("runs %v after emptying the input", names)
	}
	f.put("day3.csv", "a,b\n5,6\n")
	f.rec.Pass(f.ctx)
	if names := f.runNames(); len(names) != 3 {
		t.Errorf("runs %v after the next file", names)
	}
	// Another input's first content is a baseline, not a change.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "x.csv"), []byte("a,b\n9,9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.InputURI = batch.FileURI(other)
	if _, err := f.st.UpdateSpec(f.ctx, ref, mustJSON(t, spec), store.WriteOptions{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	f.rec.Pass(f.ctx)
	if _, st := f.job("fresh"); len(f.runNames()) != 3 || st.InputURI != spec.InputURI {
		t.Errorf("runs %v, input %s after pointing the job at another folder", f.runNames(), st.InputURI)
	}

	// A file still being written (modified less than QuietPeriod ago)
	// holds the digest back: one run, once its writer has been quiet.
	_, st = f.job("fresh")
	digest := st.InputSHA256
	if err := os.WriteFile(filepath.Join(other, "y.csv"), []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Now())
	f.rec.Pass(f.ctx)
	if err := os.WriteFile(filepath.Join(other, "y.csv"), []byte("a,b\n8,8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(time.Now())
	f.rec.Pass(f.ctx)
	if _, st = f.job("fresh"); len(f.runNames()) != 3 || st.InputSHA256 != digest {
		t.Fatalf("runs %v, digest %s while a file is being written; want no run and %s kept", f.runNames(), st.InputSHA256, digest)
	}
	f.clock.Set(time.Now().Add(pipeline.QuietPeriod))
	f.rec.Pass(f.ctx)
	f.rec.Pass(f.ctx)
	if names := f.runNames(); len(names) != 4 {
		t.Errorf("runs %v once the writer was quiet, want one more", names)
	}
}

func TestBatchJob_MissingRefs(t *testing.T) {
	f := newBatchFixture(t, 2)
	spec := f.spec()
	spec.Alias = "challenger"
	f.createJob("score", spec)
	f.rec.Pass(f.ctx)
	_, st := f.job("score")
	if st.Phase != api.PhaseFailed || st.Reason != "ModelVersionUnavailable" || !strings.Contains(st.Message, `model alias "challenger" does not exist`) {
		t.Errorf("status %+v", st)
	}
	spec = f.spec()
	spec.ComputePool = "gone"
	f.createJob("nopool", spec)
	f.rec.Pass(f.ctx)
	if _, st := f.job("nopool"); st.Phase != api.PhaseFailed || st.Reason != "ComputePoolNotFound" {
		t.Errorf("status %+v", st)
	}
}

// TestBatchJob_DeleteCancelsAndDeletesRuns tears a job down: its active
// run is cancelled, all of its runs deleted; output folders stay.
func TestBatchJob_DeleteCancelsAndDeletesRuns(t *testing.T) {
	f := newBatchFixture(t, 2)
	f.put("in.csv", "a,b\n1,2\n")
	ref := f.createJob("score", f.spec())
	f.rec.Pass(f.ctx)
	done := f.finishRun(f.startManual("score"))
	if done.Status.Phase != api.PhaseSucceeded {
		t.Fatalf("run: %s", done.Status.Message)
	}
	f.makeSlow()
	slow := f.startManual("score")
	f.passUntil("step running", func() bool {
		r, _ := f.run(slow)
		return r.Status.Step != nil && r.Status.Step.Phase == api.PhaseRunning
	})
	if _, err := f.st.Delete(f.ctx, ref, true, store.WriteOptions{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	f.passUntil("job gone", func() bool {
		_, err := f.st.Get(f.ctx, ref)
		return isCode(err, api.ENOTFOUND)
	})
	if names := f.runNames(); len(names) != 0 {
		t.Errorf("runs %v left after the job's deletion", names)
	}
	if _, err := os.Stat(filepath.Join(f.out, done.Obj.Meta.Name, "in.csv")); err != nil {
		t.Errorf("the finished run's predictions went with the job: %v", err)
	}
}
