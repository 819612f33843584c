package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// runTimeout bounds the waits for runs; their steps take milliseconds
// unless a test makes them sleep.
const runTimeout = 20 * time.Second

// pipelineFixture starts a control plane with environment dev, compute pool
// cpu (at most maxNodes steps at once) and model m.
func pipelineFixture(t *testing.T, maxNodes int64) (*apiClient, *mlopsdtest.Server) {
	t.Helper()
	srv := startServer(t)
	c := &apiClient{tb: t, base: srv.URL, http: &http.Client{Timeout: 30 * time.Second}}
	createEnv(c, "dev", api.EnvironmentSpec{})
	createPool(c, "dev", "cpu", api.ComputePoolSpec{MaxNodes: maxNodes})
	c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModel, ""),
		api.CreateModelRequest{Name: "m", Spec: api.ModelSpec{TaskType: api.TaskOther}})
	return c, srv
}

// shStep is a step that runs script with sh -c.
func shStep(name, script string, dependsOn ...string) api.PipelineStep {
	return api.PipelineStep{Name: name, Command: []string{"sh", "-c", script}, DependsOn: dependsOn}
}

func pipelineSpec(steps ...api.PipelineStep) api.TrainingPipelineSpec {
	return api.TrainingPipelineSpec{ComputePool: "cpu", Model: "m", Steps: steps}
}

func createPipeline(c *apiClient, name string, spec api.TrainingPipelineSpec) api.TrainingPipeline {
	c.tb.Helper()
	r := c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindTrainingPipeline, ""), api.CreateTrainingPipelineRequest{Name: name, Spec: spec})
	return decode[api.TrainingPipeline](c.tb, r)
}

func runsPath(pipeline string) string {
	return objPath("dev", api.KindTrainingPipeline, pipeline) + "/runs"
}

func startRun(c *apiClient, pipeline string, body any, headers ...string) api.PipelineRun {
	c.tb.Helper()
	r := c.must(http.StatusCreated, http.MethodPost, runsPath(pipeline), body, headers...)
	return decode[api.PipelineRun](c.tb, r)
}

// waitRun polls a run until done accepts it.
func waitRun(c *apiClient, name string, done func(api.PipelineRun) bool) api.PipelineRun {
	c.tb.Helper()
	r := c.waitFor(objPath("dev", api.KindPipelineRun, name), runTimeout, func(r response) bool {
		if r.Status != http.StatusOK {
			return false
		}
		var run api.PipelineRun
		return json.Unmarshal(r.Body, &run) == nil && done(run)
	})
	return decode[api.PipelineRun](c.tb, r)
}

func runFinished(run api.PipelineRun) bool { return api.RunFinished(run.Status.Phase) }

func stepRunning(run api.PipelineRun) bool {
	for _, s := range run.Status.Steps {
		if s.Phase == api.PhaseRunning {
			return true
		}
	}
	return false
}

func TestTrainingPipeline_Validation(t *testing.T) {
	t.Parallel()
	c, _ := pipelineFixture(t, 2)
	createPool(c, "dev", "gpu", api.ComputePoolSpec{AcceleratorType: "nvidia-a100", AcceleratorCount: 1, MaxNodes: 1})
	ok := func() api.TrainingPipelineSpec { return pipelineSpec(shStep("a", "true"), shStep("b", "true", "a")) }
	for _, tc := range []struct {
		name   string
		pname  string
		mutate func(*api.TrainingPipelineSpec)
		field  string
		msg    string
	}{
		{"NoSteps", "", func(s *api.TrainingPipelineSpec) { s.Steps = nil }, "spec.steps", "1 to 100"},
		{"DuplicateStep", "", func(s *api.TrainingPipelineSpec) { s.Steps[1].Name = "a"; s.Steps[1].DependsOn = nil }, "spec.steps[1].name", "spec.steps[0]"},
		{"BadStepName", "", func(s *api.TrainingPipelineSpec) { s.Steps[0].Name = "Train Model" }, "spec.steps[0].name", "not a valid step name"},
		{"UnknownDependency", "", func(s *api.TrainingPipelineSpec) { s.Steps[1].DependsOn = []string{"a", "nope"} }, "spec.steps[1].depends_on[1]", `no step named "nope"`},
		{"SelfDependency", "", func(s *api.TrainingPipelineSpec) { s.Steps[0].DependsOn = []string{"a"} }, "spec.steps[0].depends_on[0]", "itself"},
		{"Cycle", "", func(s *api.TrainingPipelineSpec) {
			s.Steps = append(s.Steps, shStep("c", "true", "b"))
			s.Steps[0].DependsOn = []string{"c"}
		}, "spec.steps[1].depends_on[0]", "a → c → b → a"},
		{"CommandAndImage", "", func(s *api.TrainingPipelineSpec) { s.Steps[0].Image = "busybox:1" }, "spec.steps[0].image", "not both"},
		{"NoCommand", "", func(s *api.TrainingPipelineSpec) { s.Steps[0].Command = nil }, "spec.steps[0].command", "command"},
		{"ImageOnLocalPool", "", func(s *api.TrainingPipelineSpec) { s.Steps[1].Command, s.Steps[1].Image = nil, "busybox:1" }, "spec.steps[1].image", "local driver"},
		{"Retries", "", func(s *api.TrainingPipelineSpec) { s.Steps[0].Retries = 11 }, "spec.steps[0].retries", "between 0 and 10"},
		{"Timeout", "", func(s *api.TrainingPipelineSpec) { s.Steps[0].TimeoutSeconds = 604801 }, "spec.steps[0].timeout_seconds", "604800"},
		{"ReservedEnv", "", func(s *api.TrainingPipelineSpec) { s.Steps[0].Env = map[string]string{"MLOPS_RUN_DIR": "/"} }, `spec.steps[0].env["MLOPS_RUN_DIR"]`, "set by mlopsd"},
		{"OutputEscapes", "", func(s *api.TrainingPipelineSpec) { s.Steps[0].Outputs = []string{"../model.json"} }, "spec.steps[0].outputs[0]", "inside the run's output directory"},
		{"ParamType", "", func(s *api.TrainingPipelineSpec) {
			s.Parameters = []api.PipelineParameter{{Name: "epochs", Type: "integer"}}
		}, "spec.parameters[0].type", `"int"`},
		{"ParamDefault", "", func(s *api.TrainingPipelineSpec) {
			s.Parameters = []api.PipelineParameter{{Name: "lr", Type: api.ParamFloat, Default: "fast"}}
		}, "spec.parameters[0].default", "float"},
		{"ParamName", "", func(s *api.TrainingPipelineSpec) {
			s.Parameters = []api.PipelineParameter{{Name: "learning-rate", Type: api.ParamFloat}}
		}, "spec.parameters[0].name", "MLOPS_PARAM_"},
		{"RequiredParamWithTrigger", "", func(s *api.TrainingPipelineSpec) {
			s.Parameters = []api.PipelineParameter{{Name: "epochs", Type: api.ParamInt}}
			s.Triggers.Schedule = "@daily"
		}, "spec.parameters[0].default", "triggered runs"},
		{"Schedule", "", func(s *api.TrainingPipelineSpec) { s.Triggers.Schedule = "every day" }, "spec.triggers.schedule", "5 fields"},
		{"ScheduleSixFields", "", func(s *api.TrainingPipelineSpec) { s.Triggers.Schedule = "0 0 3 * * *" }, "spec.triggers.schedule", "5 fields"},
		{"OnNewDataRelative", "", func(s *api.TrainingPipelineSpec) { s.Triggers.OnNewData = []string{"data/train.csv"} }, "spec.triggers.on_new_data[0]", "file:///"},
		{"OnNewDataS3", "", func(s *api.TrainingPipelineSpec) { s.Triggers.OnNewData = []string{"s3://bucket/train.csv"} }, "spec.triggers.on_new_data[0]", "file:///"},
		{"OnAlarm", "", func(s *api.TrainingPipelineSpec) { s.Triggers.OnAlarm = []string{"Drift!"} }, "spec.triggers.on_alarm[0]", "not a valid name"},
		{"UnknownPool", "", func(s *api.TrainingPipelineSpec) { s.ComputePool = "nope" }, "spec.compute_pool", "does not exist"},
		{"UnknownModel", "", func(s *api.TrainingPipelineSpec) { s.Model = "nope" }, "spec.model", "does not exist"},
		{"NameTooLong", strings.Repeat("p", 53), func(*api.TrainingPipelineSpec) {}, "name", "at most 52"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := ok()
			tc.mutate(&spec)
			name := tc.pname
			if name == "" {
				name = "p"
			}
			r := c.do(http.MethodPost, objPath("dev", api.KindTrainingPipeline, ""), api.CreateTrainingPipelineRequest{Name: name, Spec: spec})
			e := wantError(t, r, http.StatusBadRequest, api.EINVALID, tc.field)
			if !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message %q lacks %q", e.Message, tc.msg)
			}
		})
	}
	t.Run("OKWithDefaults", func(t *testing.T) {
		spec := ok()
		spec.Triggers = api.PipelineTriggers{Schedule: "0 3 * * 1-5", OnNewData: []string{"file:///data/train.csv"}, OnAlarm: []string{"drift"}}
		spec.Parameters = []api.PipelineParameter{{Name: "epochs", Type: api.ParamInt, Default: "3"}}
		p := createPipeline(c, "p", spec)
		if p.Spec.Steps[0].TimeoutSeconds != 3600 || p.Status.Phase != api.PhasePending {
			t.Errorf("pipeline %+v", p)
		}
		r := c.waitFor(objPath("dev", api.KindTrainingPipeline, "p"), runTimeout, func(r response) bool {
			return decode[api.TrainingPipeline](t, r).Status.Phase == api.PhaseReady
		})
		st := decode[api.TrainingPipeline](t, r).Status
		if st.NextScheduledAt == nil || st.NextScheduledAt.Hour() != 3 || st.NextScheduledAt.Minute() != 0 || !strings.Contains(st.Message, "next scheduled run") {
			t.Errorf("status %+v", st)
		}
	})
}

func TestPipelineRun_ManualRun(t *testing.T) {
	t.Parallel()
	c, _ := pipelineFixture(t, 2)
	spec := pipelineSpec(shStep("echo", `echo "epochs=$MLOPS_PARAM_EPOCHS mode=$MLOPS_PARAM_MODE"`))
	spec.Parameters = []api.PipelineParameter{
		{Name: "epochs", Type: api.ParamInt, Default: "3"},
		{Name: "mode", Type: api.ParamString},
	}
	createPipeline(c, "p", spec)

	t.Run("BadParameters", func(t *testing.T) {
		for _, tc := range []struct {
			params map[string]string
			field  string
		}{
			{map[string]string{"mode": "fast", "nope": "1"}, `parameters["nope"]`},
			{map[string]string{"mode": "fast", "epochs": "three"}, `parameters["epochs"]`},
			{map[string]string{}, `parameters["mode"]`},
		} {
			wantError(t, c.do(http.MethodPost, runsPath("p"), api.StartRunRequest{Parameters: tc.params}), http.StatusBadRequest, api.EINVALID, tc.field)
		}
		wantError(t, c.do(http.MethodPost, runsPath("p"), `{"parameters":{},"bogus":1}`), http.StatusBadRequest, api.EINVALID, "bogus")
		wantError(t, c.do(http.MethodPost, runsPath("nope"), api.StartRunRequest{}), http.StatusNotFound, api.ENOTFOUND, "")
	})

	t.Run("IdempotencyKey", func(t *testing.T) {
		body := api.StartRunRequest{Parameters: map[string]string{"mode": "fast"}}
		first := startRun(c, "p", body, api.HeaderIdempotencyKey, "start-1")
		if first.Metadata.Name != "p-1" || first.Spec.Trigger != api.TriggerManual || first.Spec.PipelineSpec.Steps[0].Name != "echo" {
			t.Fatalf("run %+v", first)
		}
		if got := first.Spec.Parameters; got["epochs"] != "3" || got["mode"] != "fast" {
			t.Errorf("parameters %v, want the default filled in", got)
		}
		r := c.must(http.StatusCreated, http.MethodPost, runsPath("p"), body, api.HeaderIdempotencyKey, "start-1")
		if again := decode[api.PipelineRun](t, r); again.Metadata.UID != first.Metadata.UID || r.Header.Get(api.HeaderIdempotentReplay) != "true" {
			t.Errorf("retry started %s (replay %q), want %s again", again.Metadata.Name, r.Header.Get(api.HeaderIdempotentReplay), first.Metadata.Name)
		}
		second := startRun(c, "p", body)
		if second.Metadata.Name != "p-2" {
			t.Errorf("second run is %s, want p-2", second.Metadata.Name)
		}
		run := waitRun(c, "p-1", runFinished)
		if run.Status.Phase != api.PhaseSucceeded || run.Status.ModelVersion != "" || !strings.Contains(run.Status.Message, "no model.json") {
			t.Errorf("run %+v", run.Status)
		}
		logs := c.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindPipelineRun, "p-1")+"/logs?step=echo", nil)
		if string(logs.Body) != "epochs=3 mode=fast\n" || !strings.HasPrefix(logs.Header.Get("Content-Type"), "text/plain") || logs.Header.Get(api.HeaderLogSize) != "19" {
			t.Errorf("logs %q (%s, %s %q)", logs.Body, logs.Header.Get("Content-Type"), api.HeaderLogSize, logs.Header.Get(api.HeaderLogSize))
		}
		// Reading on from an offset gives what follows it, and where it ends.
		for offset, want := range map[string]string{"0": "epochs=3 mode=fast\n", "7": "3 mode=fast\n", "19": "", "500": ""} {
			r := c.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindPipelineRun, "p-1")+"/logs?step=echo&offset="+offset, nil)
			wantNext := "19"
			if offset == "500" {
				wantNext = "500"
			}
			if string(r.Body) != want || r.Header.Get(api.HeaderLogSize) != wantNext {
				t.Errorf("offset %s: %q, next %q; want %q and %s", offset, r.Body, r.Header.Get(api.HeaderLogSize), want, wantNext)
			}
		}
		waitRun(c, "p-2", runFinished)
		c.waitFor(objPath("dev", api.KindTrainingPipeline, "p"), runTimeout, func(r response) bool {
			st := decode[api.TrainingPipeline](t, r).Status
			return st.RunCount == 2 && st.LastRun == "p-2"
		})
	})
}

func TestPipelineRun_GenericWritesRefused(t *testing.T) {
	t.Parallel()
	c, _ := pipelineFixture(t, 1)
	for _, r := range []response{
		c.do(http.MethodPost, objPath("dev", api.KindPipelineRun, ""), `{"name":"x","spec":{}}`),
		c.do(http.MethodPut, objPath("dev", api.KindPipelineRun, "x"), `{"spec":{}}`),
	} {
		e := wantError(t, r, http.StatusBadRequest, api.EINVALID, "")
		if !strings.Contains(e.Message, "training-pipelines/{name}/runs") {
			t.Errorf("message %q does not say how runs are started", e.Message)
		}
	}
}

func TestPipelineRun_CancelAndLogs(t *testing.T) {
	t.Parallel()
	c, srv := pipelineFixture(t, 1)
	createPipeline(c, "slow", pipelineSpec(shStep("wait", "echo waiting; sleep 300"), shStep("after", "true", "wait")))
	startRun(c, "slow", nil)
	waitRun(c, "slow-1", stepRunning)
	// The log is readable while the step runs.
	c.waitFor(objPath("dev", api.KindPipelineRun, "slow-1")+"/logs", runTimeout, func(r response) bool {
		return r.Status == http.StatusOK && strings.Contains(string(r.Body), "==> step wait attempt 1 (running) <==\nwaiting\n")
	})
	for _, tc := range []struct{ query, field string }{
		{"?step=nope", "step"},
		{"?tail=-1", "tail"},
		{"?attempt=1", "attempt"},
		{"?step=wait&attempt=2", "attempt"},
		{"?offset=0", "offset"},
		{"?step=wait&offset=-1", "offset"},
		{"?step=wait&offset=0&tail=3", "offset"},
	} {
		wantError(t, c.do(http.MethodGet, objPath("dev", api.KindPipelineRun, "slow-1")+"/logs"+tc.query, nil), http.StatusBadRequest, api.EINVALID, tc.field)
	}
	wantError(t, c.do(http.MethodGet, objPath("dev", api.KindPipelineRun, "nope-1")+"/logs", nil), http.StatusNotFound, api.ENOTFOUND, "")

	r := c.must(http.StatusOK, http.MethodPost, objPath("dev", api.KindPipelineRun, "slow-1")+"/cancel", nil)
	if run := decode[api.PipelineRun](t, r); !run.Spec.Cancel || run.Metadata.Generation != 2 {
		t.Errorf("cancel answered %+v", run.Metadata)
	}
	run := waitRun(c, "slow-1", runFinished)
	if run.Status.Phase != api.PhaseCancelled || run.Status.Steps[0].Phase != api.PhaseCancelled || run.Status.Steps[1].Phase != api.PhaseCancelled {
		t.Fatalf("run %+v", run.Status)
	}
	if run.Status.ObservedGeneration != 2 || run.Status.FinishedAt == nil {
		t.Errorf("status %+v", run.Status)
	}
	// Cancelling a finished run changes nothing.
	r = c.must(http.StatusOK, http.MethodPost, objPath("dev", api.KindPipelineRun, "slow-1")+"/cancel", nil)
	if again := decode[api.PipelineRun](t, r); again.Metadata.Generation != 2 || again.Status.Phase != api.PhaseCancelled {
		t.Errorf("second cancel: %+v", again)
	}

	// Deleting the run removes its directory.
	dir := srv.RunsDir + "/dev/slow-1"
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	c.must(http.StatusAccepted, http.MethodDelete, objPath("dev", api.KindPipelineRun, "slow-1"), nil)
	c.waitFor(objPath("dev", api.KindPipelineRun, "slow-1"), runTimeout, func(r response) bool { return r.Status == http.StatusNotFound })
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("run directory %s survived the run: %v", dir, err)
	}
}

func TestPipelineRun_PoolCapacity(t *testing.T) {
	t.Parallel()
	// One slot: the two independent steps must take turns, which each
	// checks by looking for the other's marker while it runs.
	c, _ := pipelineFixture(t, 1)
	step := func(me, other string) api.PipelineStep {
		return shStep(me, `cd "$MLOPS_OUTPUT_DIR"; touch `+me+`.running; sleep 1
if [ -e `+other+`.running ]; then echo "ran together with `+other+`"; exit 1; fi
rm `+me+`.running`)
	}
	createPipeline(c, "pair", pipelineSpec(step("a", "b"), step("b", "a")))
	startRun(c, "pair", nil)
	waiting := waitRun(c, "pair-1", func(run api.PipelineRun) bool {
		return run.Status.Reason == "WaitingForCapacity" || runFinished(run)
	})
	if waiting.Status.Reason != "WaitingForCapacity" || !strings.Contains(waiting.Status.Message, `compute pool "cpu" (1 of 1`) {
		t.Errorf("status %+v, want waiting for capacity", waiting.Status)
	}
	run := waitRun(c, "pair-1", runFinished)
	if run.Status.Phase != api.PhaseSucceeded {
		t.Fatalf("run %s: %s", run.Status.Phase, run.Status.Message)
	}
}

func TestTrainingPipeline_DeleteCancelsRuns(t *testing.T) {
	t.Parallel()
	c, _ := pipelineFixture(t, 1)
	createPipeline(c, "p", pipelineSpec(shStep("wait", "sleep 300")))
	startRun(c, "p", nil)
	waitRun(c, "p-1", stepRunning)
	r := c.must(http.StatusAccepted, http.MethodDelete, objPath("dev", api.KindTrainingPipeline, "p"), nil)
	if decode[api.TrainingPipeline](t, r).Metadata.DeletionRequestedAt == nil {
		t.Errorf("delete answered %s", r)
	}
	wantError(t, c.do(http.MethodPost, runsPath("p"), nil), http.StatusConflict, api.ECONFLICT, "")
	c.waitFor(objPath("dev", api.KindTrainingPipeline, "p"), runTimeout, func(r response) bool { return r.Status == http.StatusNotFound })
	// The run was cancelled, then deleted with the pipeline: nothing is
	// left to keep the environment from being deleted.
	wantError(t, c.do(http.MethodGet, objPath("dev", api.KindPipelineRun, "p-1"), nil), http.StatusNotFound, api.ENOTFOUND, "")
	var cancelled bool
	for _, rec := range decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit", nil)).Items {
		cancelled = cancelled || rec.Kind == api.KindPipelineRun && rec.Name == "p-1" && rec.Action == api.AuditUpdate && rec.Actor == "reconciler"
	}
	if !cancelled {
		t.Errorf("the audit log does not record that the reconciler cancelled p-1")
	}
}

// TestTrainingPipeline_DeleteRemovesRuns deletes a pipeline whose finished
// runs registered a model version: the runs and their directories go, the
// version and its artifact stay, the audit log keeps the runs' history,
// and the environment holds nothing that the model's owner did not make.
func TestTrainingPipeline_DeleteRemovesRuns(t *testing.T) {
	t.Parallel()
	c, srv := pipelineFixture(t, 2)
	train := shStep("train", `echo '{"w": 1}' > "$MLOPS_OUTPUT_DIR/model.json"`)
	p := createPipeline(c, "p", pipelineSpec(train))
	startRun(c, "p", nil)
	if run := waitRun(c, "p-1", runFinished); run.Status.Phase != api.PhaseSucceeded || run.Status.ModelVersion != "p-1" {
		t.Fatalf("run p-1: %s, version %q (%s)", run.Status.Phase, run.Status.ModelVersion, run.Status.Message)
	}
	// A second pipeline's run in the same environment is not p's to delete.
	createPipeline(c, "other", pipelineSpec(shStep("say", "echo hi")))
	startRun(c, "other", nil)
	waitRun(c, "other-1", runFinished)
	startRun(c, "p", nil)
	waitRun(c, "p-2", runFinished)
	dirs := []string{srv.RunsDir + "/dev/p-1", srv.RunsDir + "/dev/p-2"}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); err != nil {
			t.Fatal(err)
		}
	}
	version := decode[api.ModelVersion](t, c.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindModelVersion, "p-1"), nil))

	c.must(http.StatusAccepted, http.MethodDelete, objPath("dev", api.KindTrainingPipeline, "p"), nil)
	c.waitFor(objPath("dev", api.KindTrainingPipeline, "p"), runTimeout, func(r response) bool { return r.Status == http.StatusNotFound })
	for _, run := range []string{"p-1", "p-2"} {
		wantError(t, c.do(http.MethodGet, objPath("dev", api.KindPipelineRun, run), nil), http.StatusNotFound, api.ENOTFOUND, "")
	}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("run directory %s survived the pipeline: %v", dir, err)
		}
	}
	c.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindPipelineRun, "other-1"), nil)
	// The version keeps its lineage by name, and its artifact.
	kept := decode[api.ModelVersion](t, c.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindModelVersion, "p-1"), nil))
	if kept.Spec.Lineage.PipelineRun != "p-1" || kept.Metadata.UID != version.Metadata.UID {
		t.Errorf("version after the pipeline's delete: %+v", kept)
	}
	if _, err := os.Stat(strings.TrimPrefix(kept.Spec.ArtifactURI, "file://")); err != nil {
		t.Errorf("registered artifact is gone: %v", err)
	}
	// The audit log keeps the runs' history: created, then deleted by the reconciler.
	actions := map[string][]string{}
	for _, rec := range decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit?limit="+strconv.Itoa(api.MaxPageSize), nil)).Items {
		if rec.Kind == api.KindPipelineRun {
			actions[rec.Name] = append(actions[rec.Name], rec.Action+"/"+rec.Actor)
		}
	}
	for _, run := range []string{"p-1", "p-2"} {
		if got := strings.Join(actions[run], " "); got != "create/anonymous delete_requested/reconciler delete/reconciler" {
			t.Errorf("audit of %s: %s", run, got)
		}
	}

	// A new pipeline of the same name starts over, but skips the names of
	// versions its predecessor's runs registered: each run registers its
	// version under its own name.
	p2 := createPipeline(c, "p", pipelineSpec(train))
	if p2.Metadata.UID == p.Metadata.UID {
		t.Fatal("recreated pipeline has the old uid")
	}
	if run := startRun(c, "p", nil); run.Metadata.Name != "p-3" {
		t.Errorf("new pipeline's first run is %s, want p-3 (model versions p-1 and p-2 exist)", run.Metadata.Name)
	}
	if run := waitRun(c, "p-3", runFinished); run.Status.Phase != api.PhaseSucceeded || run.Status.ModelVersion != "p-3" {
		t.Errorf("run p-3: %s, version %q (%s)", run.Status.Phase, run.Status.ModelVersion, run.Status.Message)
	}
	r := c.waitFor(objPath("dev", api.KindTrainingPipeline, "p"), runTimeout, func(r response) bool {
		return decode[api.TrainingPipeline](t, r).Status.LastRun == "p-3"
	})
	if st := decode[api.TrainingPipeline](t, r).Status; st.RunCount != 1 {
		t.Errorf("run_count %d, want 1", st.RunCount)
	}
}

func TestOpenAPI_PipelineRoutes(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name string } `json:"parameters"`
			Responses  map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(c.must(http.StatusOK, http.MethodGet, "/openapi.json", nil).Body, &doc); err != nil {
		t.Fatal(err)
	}
	logs := doc.Paths["/v1/environments/{env}/pipeline-runs/{name}/logs"]["get"]
	if _, ok := logs.Responses["200"].Content["text/plain"]; !ok {
		t.Errorf("logs route does not document text/plain: %+v", logs)
	}
	start := doc.Paths["/v1/environments/{env}/training-pipelines/{name}/runs"]["post"]
	found := false
	for _, p := range start.Parameters {
		found = found || p.Name == api.HeaderIdempotencyKey
	}
	if !found {
		t.Errorf("start route does not document Idempotency-Key: %+v", start.Parameters)
	}
	if _, ok := doc.Paths["/v1/environments/{env}/pipeline-runs"]["post"]; ok {
		t.Error("the document offers POST pipeline-runs")
	}
}
