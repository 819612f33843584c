package reconcile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

// These tests drive the pipeline and run handlers with Pass against a real
// SQLite store and the real local step driver, under a clock the test moves.

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type pipelineFixture struct {
	tb     testing.TB
	ctx    context.Context
	st     *sqlite.DB
	clock  *clock
	layout runtime.RunLayout
	steps  *runtime.LocalSteps
	runs   *reconcile.RunHandler
	rec    *reconcile.Reconciler
}

// newPipelineFixture is a store with environment dev, a local compute pool
// cpu of maxNodes, model m, and reconcilers with pipeline and run handlers.
func newPipelineFixture(tb testing.TB, maxNodes int64) *pipelineFixture {
	tb.Helper()
	st := MustOpenDB(tb)
	f := &pipelineFixture{tb: tb, ctx: tb.Context(), st: st, clock: &clock{t: now}, layout: runtime.RunLayout{Root: tb.TempDir()}}
	f.steps = f.newDriver()
	f.runs = &reconcile.RunHandler{Store: st, Drivers: map[string]runtime.StepDriver{api.DriverLocal: f.steps}, Layout: f.layout, Now: f.clock.Now}
	f.rec = reconcile.New(reconcile.Config{
		Store:           st,
		PoolHandler:     &reconcile.PoolHandler{Store: st, Driver: &runtime.Local{MaxNodesPerPool: 8}, Now: f.clock.Now},
		PipelineHandler: &reconcile.PipelineHandler{Store: st, Now: f.clock.Now},
		RunHandler:      f.runs,
	})
	f.create(api.KindEnvironment, "", "dev", api.EnvironmentSpec{}, api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	f.create(api.KindComputePool, "dev", "cpu", api.ComputePoolSpec{Driver: api.DriverLocal, MaxNodes: maxNodes, CPUPerNode: 1, MemoryGiBPerNode: 1},
		api.ComputePoolStatus{Status: api.Status{Phase: api.PhaseProvisioning}})
	// The model is stored directly: the registry's rules are not what is
	// tested here.
	f.create(api.KindModel, "dev", "m", api.ModelSpec{TaskType: api.TaskRegression}, api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	return f
}

// newDriver returns a local step driver over the fixture's runs directory,
// closed when the test ends.
func (f *pipelineFixture) newDriver() *runtime.LocalSteps {
	d := runtime.NewLocalSteps(f.layout, runtime.WithGrace(200*time.Millisecond))
	f.tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Close(ctx)
	})
	return d
}

func (f *pipelineFixture) create(kind, env, name string, spec, status any) *store.Object {
	f.tb.Helper()
	res, err := f.st.Create(f.ctx, &store.Object{Kind: kind, Meta: api.Metadata{Name: name, Environment: env}, Spec: mustJSON(f.tb, spec), Status: mustJSON(f.tb, status)}, store.WriteOptions{Actor: "alice"})
	if err != nil {
		f.tb.Fatalf("creating %s/%s: %v", kind, name, err)
	}
	return res.Object
}

// createPipeline stores a pipeline the way the API server does, after its
// validation filled the defaults.
func (f *pipelineFixture) createPipeline(name string, spec api.TrainingPipelineSpec) api.Ref {
	f.tb.Helper()
	for i := range spec.Steps {
		if spec.Steps[i].TimeoutSeconds == 0 {
			spec.Steps[i].TimeoutSeconds = 3600
		}
	}
	obj := f.create(api.KindTrainingPipeline, "dev", name, spec, api.TrainingPipelineStatus{Status: api.Status{Phase: api.PhasePending}})
	return obj.Ref()
}

func pspec(steps ...api.PipelineStep) api.TrainingPipelineSpec {
	return api.TrainingPipelineSpec{ComputePool: "cpu", Model: "m", Steps: steps}
}

func sh(name, script string, dependsOn ...string) api.PipelineStep {
	return api.PipelineStep{Name: name, Command: []string{"sh", "-c", script}, DependsOn: dependsOn}
}

func (f *pipelineFixture) pipeline(name string) (*store.Object, api.TrainingPipelineStatus) {
	f.tb.Helper()
	obj, err := f.st.Get(f.ctx, api.Ref{Kind: api.KindTrainingPipeline, Environment: "dev", Name: name})
	if err != nil {
		f.tb.Fatal(err)
	}
	var st api.TrainingPipelineStatus
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		f.tb.Fatal(err)
	}
	return obj, st
}

type runState struct {
	Obj    *store.Object
	Spec   api.PipelineRunSpec
	Status api.PipelineRunStatus
}

func (f *pipelineFixture) run(name string) (runState, bool) {
	f.tb.Helper()
	obj, err := f.st.Get(f.ctx, api.Ref{Kind: api.KindPipelineRun, Environment: "dev", Name: name})
	if isCode(err, api.ENOTFOUND) {
		return runState{}, false
	}
	if err != nil {
		f.tb.Fatal(err)
	}
	r := runState{Obj: obj}
	if err := json.Unmarshal(obj.Spec, &r.Spec); err != nil {
		f.tb.Fatal(err)
	}
	if err := json.Unmarshal(obj.Status, &r.Status); err != nil {
		f.tb.Fatal(err)
	}
	return r, true
}

func (f *pipelineFixture) runNames() []string {
	f.tb.Helper()
	objs, _, err := f.st.List(f.ctx, api.KindPipelineRun, "dev", api.ListOptions{})
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
func (f *pipelineFixture) passUntil(what string, done func() bool) {
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

// finishRun passes until the run is finished and returns it.
func (f *pipelineFixture) finishRun(name string) runState {
	f.tb.Helper()
	var r runState
	f.passUntil("run "+name+" finished", func() bool {
		var ok bool
		r, ok = f.run(name)
		return ok && api.RunFinished(r.Status.Phase)
	})
	return r
}

// startManual starts a run as the API's manual-run route does.
func (f *pipelineFixture) startManual(pipelineName string) string {
	f.tb.Helper()
	obj, _ := f.pipeline(pipelineName)
	res, err := pipelineStart(f.ctx, f.st, obj)
	if err != nil {
		f.tb.Fatal(err)
	}
	return res.Object.Meta.Name
}

// pipelineStart starts a manual run with the default parameters.
func pipelineStart(ctx context.Context, st store.Store, obj *store.Object) (*store.Result, error) {
	var spec api.TrainingPipelineSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return nil, err
	}
	params, err := pipeline.ResolveParameters(spec.Parameters, nil)
	if err != nil {
		return nil, err
	}
	return pipeline.StartRun(ctx, st, obj, api.TriggerManual, params, store.WriteOptions{Actor: "alice"})
}

func TestPipeline_Schedule(t *testing.T) {
	f := newPipelineFixture(t, 2)
	spec := pspec(sh("a", "true"))
	spec.Triggers.Schedule = "*/5 * * * *"
	ref := f.createPipeline("nightly", spec)

	f.rec.Pass(f.ctx)
	obj, st := f.pipeline("nightly")
	want := time.Date(2030, 1, 2, 3, 5, 0, 0, time.UTC) // now is 03:04:05
	if st.Phase != api.PhaseReady || st.ObservedGeneration != 1 || st.NextScheduledAt == nil || !st.NextScheduledAt.Equal(want) {
		t.Fatalf("status %+v, want ready with the next fire at %v", st, want)
	}
	if names := f.runNames(); len(names) != 0 {
		t.Fatalf("runs %v before the schedule fired", names)
	}
	f.rec.Pass(f.ctx)
	if o, _ := f.pipeline("nightly"); !o.Meta.UpdatedAt.Equal(obj.Meta.UpdatedAt) {
		t.Errorf("a pass that changed nothing wrote the status")
	}

	t.Run("Fires", func(t *testing.T) {
		f.clock.Set(want.Add(time.Second))
		f.rec.Pass(f.ctx)
		_, st := f.pipeline("nightly")
		if st.RunCount != 1 || st.LastRun != "nightly-1" || !st.NextScheduledAt.Equal(want.Add(5*time.Minute)) {
			t.Fatalf("status %+v", st)
		}
		r, _ := f.run("nightly-1")
		if r.Spec.Trigger != api.TriggerSchedule || r.Spec.PipelineUID != obj.Meta.UID {
			t.Errorf("run spec %+v", r.Spec)
		}
		f.rec.Pass(f.ctx)
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
		_, st := f.pipeline("nightly")
		if !st.NextScheduledAt.Equal(want.Add(time.Hour + 5*time.Minute)) {
			t.Errorf("next fire %v", st.NextScheduledAt)
		}
	})

	t.Run("CrashBeforeStatusWriteStartsNoSecondRun", func(t *testing.T) {
		obj, before := f.pipeline("nightly")
		f.clock.Set(before.NextScheduledAt.Add(time.Second))
		f.rec.Pass(f.ctx) // starts nightly-3
		// Put back the status from before the fire, as if the pass had
		// crashed after creating the run.
		if _, err := f.st.UpdateStatus(f.ctx, ref, obj.Meta.UID, mustJSON(t, before)); err != nil {
			t.Fatal(err)
		}
		f.rec.Pass(f.ctx)
		if names := f.runNames(); strings.Join(names, ",") != "nightly-1,nightly-2,nightly-3" {
			t.Errorf("runs %v, want nightly-3 once", names)
		}
		if _, st := f.pipeline("nightly"); st.RunCount != 3 || st.LastRun != "nightly-3" {
			t.Errorf("run_count %d, last_run %s", st.RunCount, st.LastRun)
		}
	})

	t.Run("EditedScheduleStartsOver", func(t *testing.T) {
		spec.Triggers.Schedule = "0 12 * * *"
		if _, err := f.st.UpdateSpec(f.ctx, ref, mustJSON(t, spec), store.WriteOptions{Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
		f.rec.Pass(f.ctx)
		_, st := f.pipeline("nightly")
		if st.ObservedGeneration != 2 || st.NextScheduledAt.Hour() != 12 || st.NextScheduledAt.Minute() != 0 {
			t.Errorf("status %+v, want the next noon", st)
		}
		spec.Triggers.Schedule = ""
		if _, err := f.st.UpdateSpec(f.ctx, ref, mustJSON(t, spec), store.WriteOptions{Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
		f.rec.Pass(f.ctx)
		if _, st := f.pipeline("nightly"); st.NextScheduledAt != nil {
			t.Errorf("next_scheduled_at %v without a schedule", st.NextScheduledAt)
		}
	})
}

func TestPipeline_OnNewData(t *testing.T) {
	f := newPipelineFixture(t, 2)
	data := filepath.Join(t.TempDir(), "train.csv")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(data, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("x,y\n1,2\n")
	uri := "file://" + data
	spec := pspec(sh("a", "true"))
	spec.Triggers.OnNewData = []string{uri}
	f.createPipeline("fresh", spec)

	f.rec.Pass(f.ctx)
	_, st := f.pipeline("fresh")
	first := st.DataHashes[uri]
	if len(first) != 64 || len(f.runNames()) != 0 {
		t.Fatalf("status %+v, runs %v; want the baseline hash and no run", st, f.runNames())
	}

	write("x,y\n1,2\n2,4\n")
	f.rec.Pass(f.ctx)
	r, ok := f.run("fresh-1")
	if !ok || r.Spec.Trigger != api.TriggerNewData {
		t.Fatalf("no new_data run after the file changed: %v", f.runNames())
	}
	f.rec.Pass(f.ctx)
	if names := f.runNames(); len(names) != 1 {
		t.Errorf("runs %v, want one per change", names)
	}
	// The run recorded the data it found as its lineage.
	r = f.finishRun("fresh-1")
	if r.Status.DatasetURI != uri || r.Status.DatasetSHA256 == first || len(r.Status.DatasetSHA256) != 64 {
		t.Errorf("dataset %s %s", r.Status.DatasetURI, r.Status.DatasetSHA256)
	}

	// A file that goes away starts nothing and keeps its last hash;
	// coming back unchanged starts nothing either.
	_, st = f.pipeline("fresh")
	last := st.DataHashes[uri]
	content, _ := os.ReadFile(data)
	os.Remove(data)
	f.rec.Pass(f.ctx)
	_, st = f.pipeline("fresh")
	if st.DataHashes[uri] != last || !strings.Contains(st.Message, "cannot read") || st.Phase != api.PhaseReady {
		t.Errorf("status %+v after the file went away", st)
	}
	write(string(content))
	f.rec.Pass(f.ctx)
	if names := f.runNames(); len(names) != 1 {
		t.Errorf("runs %v, want none for the same content", names)
	}
	write("x,y\n5,10\n")
	f.rec.Pass(f.ctx)
	if _, ok := f.run("fresh-2"); !ok {
		t.Errorf("no run for new content: %v", f.runNames())
	}

	// A writer that truncates the file and then writes it starts one run,
	// on the whole content: a file modified less than QuietPeriod ago is
	// not looked at until its writer has been quiet that long.
	_, st = f.pipeline("fresh")
	before := st.DataHashes[uri]
	write("")
	f.clock.Set(time.Now())
	f.rec.Pass(f.ctx)
	write("x,y\n7,14\n8,16\n")
	f.clock.Set(time.Now())
	f.rec.Pass(f.ctx)
	if _, st = f.pipeline("fresh"); len(f.runNames()) != 2 || st.DataHashes[uri] != before || strings.Contains(st.Message, "cannot read") {
		t.Fatalf("runs %v, status %+v while the file is being written; want no run and the last hash kept", f.runNames(), st)
	}
	f.clock.Set(time.Now().Add(pipeline.QuietPeriod))
	f.rec.Pass(f.ctx)
	f.rec.Pass(f.ctx)
	if names := f.runNames(); strings.Join(names, ",") != "fresh-1,fresh-2,fresh-3" {
		t.Fatalf("runs %v once the writer was quiet, want fresh-3 once", names)
	}
	if r = f.finishRun("fresh-3"); r.Status.DatasetSHA256 != sha256Hex("x,y\n7,14\n8,16\n") {
		t.Errorf("fresh-3 trained on %s, want the whole file's digest", r.Status.DatasetSHA256)
	}
}

// sha256Hex is the hex SHA-256 of s, as mlopsd records digests.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestRun_RetryTimeoutAndOrder(t *testing.T) {
	f := newPipelineFixture(t, 4)
	flaky := sh("flaky", `n=$(cat "$MLOPS_OUTPUT_DIR/n" 2>/dev/null || echo 0); echo $((n + 1)) > "$MLOPS_OUTPUT_DIR/n"; echo "attempt $((n + 1))"; [ "$n" -ge 1 ]`)
	flaky.Retries = 2
	slow := sh("slow", "echo started; sleep 300", "flaky")
	slow.TimeoutSeconds = 1
	slow.Retries = 0
	f.createPipeline("p", pspec(flaky, slow))
	name := f.startManual("p")
	r := f.finishRun(name)
	if r.Status.Phase != api.PhaseFailed || r.Status.Reason != "StepFailed" {
		t.Fatalf("run %s/%s: %s", r.Status.Phase, r.Status.Reason, r.Status.Message)
	}
	fl, sl := r.Status.Steps[0], r.Status.Steps[1]
	if fl.Phase != api.PhaseSucceeded || fl.Attempts != 2 || *fl.ExitCode != 0 {
		t.Errorf("flaky %+v, want success on the second attempt", fl)
	}
	if sl.Phase != api.PhaseFailed || sl.Attempts != 1 || sl.Message != "timed out after 1s" || sl.StartedAt.Before(*fl.FinishedAt) {
		t.Errorf("slow %+v, want one attempt, after flaky, timed out", sl)
	}
	for _, want := range []string{`step "slow" failed (timed out after 1s) after 1 attempt(s)`, "started", "mlopsd: timed out after 1s"} {
		if !strings.Contains(r.Status.Message, want) {
			t.Errorf("message lacks %q:\n%s", want, r.Status.Message)
		}
	}
	cond := r.Status.Conditions
	if len(cond) != 1 || cond[0].Type != api.ConditionSucceeded || cond[0].Status != api.ConditionFalse {
		t.Errorf("conditions %+v", cond)
	}
	for a := int64(1); a <= 2; a++ {
		if b, err := os.ReadFile(f.layout.LogPath("dev", name, "flaky", a)); err != nil || !strings.Contains(string(b), "attempt") {
			t.Errorf("log of flaky attempt %d: %q, %v", a, b, err)
		}
	}
}

func TestRun_LostAfterRestartIsRetried(t *testing.T) {
	f := newPipelineFixture(t, 2)
	step := sh("work", `if [ "$MLOPS_STEP_ATTEMPT" = 1 ]; then sleep 300; fi; echo done`)
	step.Retries = 1
	f.createPipeline("p", pspec(step))
	name := f.startManual("p")
	f.passUntil("step running", func() bool {
		r, _ := f.run(name)
		return len(r.Status.Steps) == 1 && r.Status.Steps[0].Phase == api.PhaseRunning
	})
	// mlopsd restarts: the old driver's processes die with it, and the new
	// driver knows none of them.
	if err := f.steps.Close(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.runs.Drivers[api.DriverLocal] = f.newDriver()
	r := f.finishRun(name)
	s := r.Status.Steps[0]
	if r.Status.Phase != api.PhaseSucceeded || s.Attempts != 2 {
		t.Fatalf("run %s (%s), step %+v", r.Status.Phase, r.Status.Message, s)
	}
}

func TestRun_RegistersModelVersionOnce(t *testing.T) {
	f := newPipelineFixture(t, 2)
	f.createPipeline("fit", pspec(
		sh("train", `printf '{"w": 2.5}\n' > "$MLOPS_OUTPUT_DIR/model.json"; printf '{"rmse": 0.125, "n": 10, "r2": 1e-3}' > "$MLOPS_OUTPUT_DIR/metrics.json"; echo sklearn > "$MLOPS_OUTPUT_DIR/framework"`),
	))
	name := f.startManual("fit")
	r := f.finishRun(name)
	if r.Status.Phase != api.PhaseSucceeded || r.Status.ModelVersion != name {
		t.Fatalf("run %s: %s", r.Status.Phase, r.Status.Message)
	}
	mv, err := f.st.Get(f.ctx, api.Ref{Kind: api.KindModelVersion, Environment: "dev", Name: name})
	if err != nil {
		t.Fatal(err)
	}
	var spec api.ModelVersionSpec
	if err := json.Unmarshal(mv.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	if mv.Parent != "models/m" || spec.Framework != "sklearn" || spec.Metrics["rmse"] != "0.125" || spec.Metrics["r2"] != "1e-3" || spec.Metrics["n"] != "10" {
		t.Errorf("version parent %q spec %+v", mv.Parent, spec)
	}
	if spec.Lineage.CodeRef != "pipeline:fit@generation:1" || spec.Lineage.PipelineRun != name || spec.Approval.Status != api.ApprovalPending {
		t.Errorf("lineage %+v approval %+v", spec.Lineage, spec.Approval)
	}

	// A pass that crashed after registering, before recording it, finds
	// the same version again.
	before := r.Status
	before.Phase, before.ModelVersion, before.FinishedAt = api.PhaseRunning, "", nil
	if _, err := f.st.UpdateStatus(f.ctx, r.Obj.Ref(), r.Obj.Meta.UID, mustJSON(t, before)); err != nil {
		t.Fatal(err)
	}
	r = f.finishRun(name)
	if r.Status.Phase != api.PhaseSucceeded || r.Status.ModelVersion != name {
		t.Fatalf("after the crash: %s: %s", r.Status.Phase, r.Status.Message)
	}
	objs, _, _ := f.st.List(f.ctx, api.KindModelVersion, "dev", api.ListOptions{})
	if len(objs) != 1 {
		t.Errorf("%d model versions, want 1", len(objs))
	}
	// A finished run is left alone.
	f.rec.Pass(f.ctx)
	if again, _ := f.run(name); !again.Obj.Meta.UpdatedAt.Equal(r.Obj.Meta.UpdatedAt) {
		t.Errorf("a pass rewrote the status of a finished run")
	}
}

func TestRun_BadMetricsFailRegistration(t *testing.T) {
	f := newPipelineFixture(t, 2)
	f.createPipeline("fit", pspec(sh("train", `echo '{}' > "$MLOPS_OUTPUT_DIR/model.json"; echo '{"rmse": "low"}' > "$MLOPS_OUTPUT_DIR/metrics.json"`)))
	r := f.finishRun(f.startManual("fit"))
	if r.Status.Phase != api.PhaseFailed || r.Status.Reason != "RegistrationFailed" || !strings.Contains(r.Status.Message, `metric "rmse"`) {
		t.Errorf("run %s/%s: %s", r.Status.Phase, r.Status.Reason, r.Status.Message)
	}
}

func TestRun_ComputePoolGone(t *testing.T) {
	f := newPipelineFixture(t, 2)
	f.createPipeline("p", pspec(sh("a", "true")))
	name := f.startManual("p")
	if _, err := f.st.Delete(f.ctx, api.Ref{Kind: api.KindComputePool, Environment: "dev", Name: "cpu"}, false, store.WriteOptions{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	r := f.finishRun(name)
	if r.Status.Phase != api.PhaseFailed || r.Status.Reason != "ComputePoolNotFound" {
		t.Errorf("run %s/%s: %s", r.Status.Phase, r.Status.Reason, r.Status.Message)
	}
	_, st := f.pipeline("p")
	if st.Phase != api.PhaseFailed || st.Reason != "ComputePoolNotFound" {
		t.Errorf("pipeline %s/%s", st.Phase, st.Reason)
	}
}

func TestPipeline_TeardownCancelsRuns(t *testing.T) {
	f := newPipelineFixture(t, 2)
	ref := f.createPipeline("p", pspec(sh("wait", "sleep 300")))
	name := f.startManual("p")
	f.passUntil("step running", func() bool {
		r, _ := f.run(name)
		return len(r.Status.Steps) == 1 && r.Status.Steps[0].Phase == api.PhaseRunning
	})
	// A run of an earlier pipeline of the same name is that one's history,
	// not this one's to delete.
	foreign := f.create(api.KindPipelineRun, "dev", "p-99",
		api.PipelineRunSpec{Pipeline: "p", PipelineUID: "uid-of-an-earlier-p", Trigger: api.TriggerManual, PipelineSpec: pspec(sh("x", "true"))},
		api.PipelineRunStatus{Status: api.Status{Phase: api.PhaseSucceeded, ObservedGeneration: 1}})
	dir := f.layout.RunDir("dev", name)
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Delete(f.ctx, ref, true, store.WriteOptions{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	// The run is cancelled first, and waited for.
	f.passUntil("run cancelled", func() bool {
		r, ok := f.run(name)
		if !ok {
			t.Fatalf("run %s deleted before it stopped", name)
		}
		return r.Spec.Cancel && r.Status.Phase == api.PhaseCancelled
	})
	if _, st := f.pipeline("p"); st.Phase != api.PhaseDeleting {
		t.Errorf("pipeline phase %s while its runs go, want deleting", st.Phase)
	}
	f.passUntil("pipeline gone", func() bool {
		_, err := f.st.Get(f.ctx, ref)
		return isCode(err, api.ENOTFOUND)
	})
	if _, ok := f.run(name); ok {
		t.Errorf("run %s survived its pipeline", name)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("run directory %s survived its pipeline: %v", dir, err)
	}
	if r, ok := f.run("p-99"); !ok || r.Obj.Meta.UID != foreign.Meta.UID {
		t.Errorf("the earlier pipeline's run p-99 was deleted")
	}
}
