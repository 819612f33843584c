package reconcile_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// setAlarmStatus gives the alarm transitions into the given states, as the
// evaluator records them.
func (f *pipelineFixture) setAlarmStatus(name string, states ...string) {
	f.tb.Helper()
	f.setAlarmStatusAt(name, now, states...)
}

// setAlarmStatusAt is setAlarmStatus with the transitions made at at.
func (f *pipelineFixture) setAlarmStatusAt(name string, at time.Time, states ...string) {
	f.tb.Helper()
	ref := api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: name}
	obj, err := f.st.Get(f.ctx, ref)
	if err != nil {
		f.tb.Fatal(err)
	}
	st := api.AlarmStatus{Status: api.Status{Phase: api.PhaseReady, ObservedGeneration: 1}, State: api.AlarmStateInsufficientData}
	for i, to := range states {
		st.History = append(st.History, api.AlarmTransition{Seq: int64(i + 1), From: st.State, To: to, At: at})
		st.State, st.TransitionCount = to, int64(i+1)
	}
	if _, err := f.st.UpdateStatus(f.ctx, ref, obj.Meta.UID, mustJSON(f.tb, st)); err != nil {
		f.tb.Fatal(err)
	}
}

// alarmRuns returns the runs of pipeline with trigger alarm.
func (f *pipelineFixture) alarmRuns() []runState {
	f.tb.Helper()
	var out []runState
	for _, name := range f.runNames() {
		r, _ := f.run(name)
		if r.Spec.Trigger == api.TriggerAlarm {
			out = append(out, r)
		}
	}
	return out
}

// watch reconciles the pipeline once with h.
func (f *pipelineFixture) watch(h *reconcile.PipelineHandler, name string) api.TrainingPipelineStatus {
	f.tb.Helper()
	obj, _ := f.pipeline(name)
	if err := h.Reconcile(f.ctx, obj); err != nil {
		f.tb.Fatal(err)
	}
	_, st := f.pipeline(name)
	return st
}

func TestPipeline_OnAlarm(t *testing.T) {
	f := newPipelineFixture(t, 2)
	alarm := api.AlarmSpec{Metric: api.AlarmMetricFeatureDriftPSI, Endpoint: "api", Comparison: api.ComparisonGreaterThan, Threshold: "0.2", PeriodSeconds: 60, EvaluationPeriods: 1}
	f.create(api.KindAlarm, "dev", "drift", alarm, api.AlarmStatus{State: api.AlarmStateInsufficientData})
	// The alarm fired before the pipeline existed: that starts nothing.
	f.setAlarmStatusAt("drift", time.Now().Add(-time.Hour), api.AlarmStateAlarm)
	spec := pspec(sh("train", "true"))
	spec.Triggers.OnAlarm = []string{"drift", "later"}
	f.createPipeline("retrain", spec)
	h := &reconcile.PipelineHandler{Store: f.st, Now: f.clock.Now}

	st := f.watch(h, "retrain")
	if len(f.alarmRuns()) != 0 {
		t.Fatalf("an old transition started runs: %v", f.runNames())
	}
	drift, _ := f.st.Get(f.ctx, api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: "drift"})
	if st.AlarmTransitions[drift.Meta.UID] != 1 || !strings.Contains(st.Message, `a run starts whenever alarm "drift" enters ALARM`) ||
		!strings.Contains(st.Message, `alarm "later" of triggers.on_alarm does not exist yet`) {
		t.Fatalf("status = %+v", st)
	}

	// OK, then ALARM again: one run, however often the pipeline looks,
	// also after a restart.
	f.setAlarmStatus("drift", api.AlarmStateAlarm, api.AlarmStateOK, api.AlarmStateAlarm)
	for range 3 {
		f.watch(h, "retrain")
	}
	f.watch(&reconcile.PipelineHandler{Store: f.st, Now: f.clock.Now}, "retrain")
	runs := f.alarmRuns()
	if len(runs) != 1 || runs[0].Spec.PipelineUID == "" || runs[0].Spec.Trigger != api.TriggerAlarm {
		t.Fatalf("runs after one transition into ALARM: %+v", runs)
	}
	_, st = f.pipeline("retrain")
	if st.AlarmTransitions[drift.Meta.UID] != 3 || st.RunCount != 1 || st.LastRun != runs[0].Obj.Meta.Name {
		t.Fatalf("status = %+v", st)
	}

	// A second transition into ALARM starts a second run.
	f.setAlarmStatus("drift", api.AlarmStateAlarm, api.AlarmStateOK, api.AlarmStateAlarm, api.AlarmStateOK, api.AlarmStateAlarm)
	f.watch(h, "retrain")
	f.watch(h, "retrain")
	if runs := f.alarmRuns(); len(runs) != 2 {
		t.Fatalf("runs after two transitions into ALARM: %d", len(runs))
	}
}

func TestPipeline_StartedByAlarmAction(t *testing.T) {
	f := newPipelineFixture(t, 2)
	f.createPipeline("retrain-on-errors", pspec(sh("train", "true")))
	alarm := api.AlarmSpec{Metric: api.AlarmMetricErrorRate, Endpoint: "api", Comparison: api.ComparisonGreaterThan, Threshold: "5",
		PeriodSeconds: 60, EvaluationPeriods: 1, Actions: api.AlarmActions{StartPipelines: []string{"retrain-on-errors"}}}
	f.create(api.KindAlarm, "dev", "errors", alarm, api.AlarmStatus{State: api.AlarmStateInsufficientData})
	h := &reconcile.PipelineHandler{Store: f.st, Now: f.clock.Now}
	f.watch(h, "retrain-on-errors")
	f.setAlarmStatus("errors", api.AlarmStateAlarm)

	// A crash after the run was created and before the pipeline's status
	// recorded the transition: the next pass finds the same run by its
	// idempotency key.
	errorsObj, _ := f.st.Get(f.ctx, api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: "errors"})
	obj, _ := f.pipeline("retrain-on-errors")
	key := "trigger/" + obj.Meta.UID + "/alarm/" + errorsObj.Meta.UID + "/1"
	first, err := pipeline.StartRun(f.ctx, f.st, obj, api.TriggerAlarm, map[string]string{}, pipeline.SystemWrite("pipeline-trigger", key))
	if err != nil {
		t.Fatal(err)
	}
	st := f.watch(h, "retrain-on-errors")
	runs := f.alarmRuns()
	if len(runs) != 1 || runs[0].Obj.Meta.Name != first.Object.Meta.Name || st.LastRun != first.Object.Meta.Name {
		t.Fatalf("runs = %v, status %+v; want only %s", f.runNames(), st, first.Object.Meta.Name)
	}
	if !strings.Contains(st.Message, `a run starts whenever alarm "errors" enters ALARM`) {
		t.Fatalf("message = %q", st.Message)
	}

	// A recreated alarm of the same name is a new alarm with a history of
	// its own: its first transition into ALARM starts a run of its own,
	// also when it came before the pipeline's first look at it.
	if _, err := f.st.Delete(f.ctx, errorsObj.Ref(), false, store.WriteOptions{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	f.create(api.KindAlarm, "dev", "errors", alarm, api.AlarmStatus{State: api.AlarmStateInsufficientData})
	f.setAlarmStatus("errors", api.AlarmStateAlarm)
	f.watch(h, "retrain-on-errors")
	f.watch(h, "retrain-on-errors")
	if runs := f.alarmRuns(); len(runs) != 2 {
		t.Fatalf("runs after the recreated alarm fired: %d, want 2", len(runs))
	}
	_, st = f.pipeline("retrain-on-errors")
	recreated, _ := f.st.Get(f.ctx, api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: "errors"})
	if _, ok := st.AlarmTransitions[errorsObj.Meta.UID]; ok || len(st.AlarmTransitions) != 1 || st.AlarmTransitions[recreated.Meta.UID] != 1 {
		t.Fatalf("alarm transitions = %v; want only the recreated alarm's, at 1", st.AlarmTransitions)
	}
}

// An alarm created after the pipeline that enters ALARM before the
// pipeline's first look at it still starts its run, once; so does a
// pipeline that names an alarm which fires before the pipeline's first pass.
func TestPipeline_OnAlarmFiredBeforeFirstLook(t *testing.T) {
	f := newPipelineFixture(t, 2)
	spec := pspec(sh("train", "true"))
	spec.Triggers.OnAlarm = []string{"drift"}
	f.createPipeline("retrain", spec)
	alarm := api.AlarmSpec{Metric: api.AlarmMetricFeatureDriftPSI, Endpoint: "api", Comparison: api.ComparisonGreaterThan, Threshold: "0.2", PeriodSeconds: 60, EvaluationPeriods: 1}
	f.create(api.KindAlarm, "dev", "drift", alarm, api.AlarmStatus{State: api.AlarmStateInsufficientData})
	// Three transitions before the first look, two into ALARM: one run.
	f.setAlarmStatus("drift", api.AlarmStateAlarm, api.AlarmStateOK, api.AlarmStateAlarm)
	h := &reconcile.PipelineHandler{Store: f.st, Now: f.clock.Now}
	for range 3 {
		f.watch(h, "retrain")
	}
	runs := f.alarmRuns()
	if len(runs) != 1 {
		t.Fatalf("runs after the alarm fired before the first look: %d (%v)", len(runs), f.runNames())
	}
	drift, _ := f.st.Get(f.ctx, api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: "drift"})
	if _, st := f.pipeline("retrain"); st.AlarmTransitions[drift.Meta.UID] != 3 {
		t.Fatalf("status = %+v", st)
	}
}
