package reconcile_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// withSmoke sets a smoke test that predicts from 10.
func withSmoke(t api.EndpointSmokeTest) func(*api.ModelEndpointSpec) {
	return func(s *api.ModelEndpointSpec) {
		t.RequestBody = `{"inputs": [10]}`
		s.SmokeTest = &t
	}
}

func TestEndpointSmokeTest_OnCreate(t *testing.T) {
	e := newEndpointFixtureWith(t, api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
		withSmoke(api.EndpointSmokeTest{ExpectedStatus: 200, JSONPath: "prediction", ExpectedJSONValue: "21"}))
	st := e.pass()
	if st.Phase != api.PhaseReady || st.Variants[0].Replicas != 2 || len(st.Variants[0].Backends) != 2 {
		t.Fatalf("after create: %+v", st)
	}
	// Once per replica, not on every pass.
	if n := e.smokeRequests.Load(); n != 2 {
		t.Fatalf("%d smoke requests for 2 replicas", n)
	}
	for range 3 {
		e.pass()
	}
	if n := e.smokeRequests.Load(); n != 2 {
		t.Fatalf("%d smoke requests after more passes", n)
	}
	// A replica that is started again is a new replica: tested before it
	// gets traffic.
	keys := e.b.Keys(e.obj().Meta.UID)
	e.b.Stop(keys[1])
	if st := e.pass(); st.Phase != api.PhaseReady || st.Variants[0].Replicas != 2 || e.smokeRequests.Load() != 3 {
		t.Fatalf("after a restart: %+v, %d smoke requests", st, e.smokeRequests.Load())
	}
}

func TestEndpointSmokeTest_FailsCreate(t *testing.T) {
	e := newEndpointFixtureWith(t, api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
		withSmoke(api.EndpointSmokeTest{JSONPath: "prediction", ExpectedJSONValue: "99"}))
	st := e.pass()
	if st.Phase != api.PhaseFailed || st.Reason != "SmokeTestFailed" || len(st.Variants[0].Backends) != 0 || st.Variants[0].Replicas != 0 {
		t.Fatalf("after create: %+v", st)
	}
	for _, want := range []string{`variant "primary": replica 0 of model version "v1": smoke test failed`, `expected 99 at json_path "prediction", got 21: {"prediction":21}`} {
		if !strings.Contains(st.Message, want) {
			t.Fatalf("message %q lacks %q", st.Message, want)
		}
	}
	// The failure is remembered for the generation: no retest every pass.
	sent := e.smokeRequests.Load()
	if again := e.pass(); again.Phase != api.PhaseFailed || e.smokeRequests.Load() != sent {
		t.Fatalf("a later pass: %+v, %d smoke requests (were %d)", again, e.smokeRequests.Load(), sent)
	}
	// Fixing the smoke test (a new generation) tests again, and serves.
	e.edit = withSmoke(api.EndpointSmokeTest{JSONPath: "prediction", ExpectedJSONValue: "21"})
	e.updateSpec(e.ref, e.spec("v1", api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10}))
	if st := e.pass(); st.Phase != api.PhaseReady || len(st.Variants[0].Backends) != 2 {
		t.Fatalf("after the fix: %+v", st)
	}
}

func TestEndpointSmokeTest_ModelFaultOnCreate(t *testing.T) {
	e := newEndpointFixtureWith(t, api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10}, withSmoke(api.EndpointSmokeTest{}))
	e.updateSpec(e.ref, e.spec("overflow", api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10}))
	st := e.pass()
	if st.Phase != api.PhaseFailed || st.Reason != "SmokeTestFailed" || !strings.Contains(st.Message, `smoke test failed: expected status 200, got 500: {"error":"the prediction is not a finite number`) {
		t.Fatalf("after create: %+v", st)
	}
	// A version that passes replaces it directly: nothing served, so there
	// is nothing to roll from.
	e.updateSpec(e.ref, e.spec("v2", api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10}))
	st = e.pass()
	if st.Phase != api.PhaseReady || st.Variants[0].ModelVersion != "v2" || len(st.RolloutHistory) != 0 {
		t.Fatalf("after the fix: %+v", st)
	}
	for _, k := range e.b.Keys(e.obj().Meta.UID) {
		if k.Version != "v2" {
			t.Fatalf("replica %+v still runs", k)
		}
	}
}

func TestEndpointSmokeTest_RollsBackRollout(t *testing.T) {
	canary := api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 10, BakeTimeSeconds: 60}
	e := newEndpointFixtureWith(t, canary, withSmoke(api.EndpointSmokeTest{}))
	if st := e.pass(); st.Phase != api.PhaseReady {
		t.Fatalf("after create: %+v", st)
	}
	e.updateSpec(e.ref, e.spec("overflow", canary))
	// The zeros check passes, the smoke test does not: the new version
	// never gets traffic.
	st := e.pass()
	if st.Phase != api.PhaseRolledBack || st.Rollout != nil || st.Variants[0].ModelVersion != "v1" || st.Variants[0].CanaryPercent != 0 || len(st.Variants[0].CanaryBackends) != 0 {
		t.Fatalf("after the smoke test: %+v", st)
	}
	h := st.RolloutHistory[len(st.RolloutHistory)-1]
	for _, msg := range []string{h.Message, st.Message} {
		for _, want := range []string{`smoke test failed: expected status 200, got 500: {"error":`, `rolled back: model version "v1" is still serving variant "primary"`} {
			if !strings.Contains(msg, want) {
				t.Fatalf("message %q lacks %q", msg, want)
			}
		}
	}
	if h.Result != api.RolloutRolledBack || h.ToVersion != "overflow" || h.Alarm != "" {
		t.Fatalf("history = %+v", h)
	}
	e.pass() // the overflow replicas stopped after the status was written
	for _, k := range e.b.Keys(e.obj().Meta.UID) {
		if k.Version != "v1" {
			t.Fatalf("replica %+v of the rolled-back version still runs", k)
		}
	}

	// A good version is smoke-tested once per new replica, however many
	// passes its bake takes.
	sent := e.smokeRequests.Load()
	st, seen := e.rollTo("v2", canary)
	if st.Phase != api.PhaseReady || st.Variants[0].ModelVersion != "v2" || len(seen) < 2 {
		t.Fatalf("rollout to v2: %+v, shares %v", st, seen)
	}
	if n := e.smokeRequests.Load() - sent; n != 2 {
		t.Fatalf("%d smoke requests in the rollout, want 2", n)
	}
}

// alarm creates alarm name in dev watching endpoint (optionally with the
// rollback action) in state OK.
func (e *endpointFixture) alarm(name, endpoint string, rollbackAction bool) {
	e.tb.Helper()
	changed := e.clock.Add(-time.Hour)
	e.create(api.KindAlarm, "dev", name, "", api.AlarmSpec{
		Metric: api.AlarmMetricErrorRate, Endpoint: endpoint, Comparison: api.ComparisonGreaterThan, Threshold: "5",
		PeriodSeconds: 60, EvaluationPeriods: 1, Actions: api.AlarmActions{RollbackEndpoint: rollbackAction},
	}, api.AlarmStatus{Status: api.Status{Phase: api.PhaseReady}, State: api.AlarmStateOK, StateChangedAt: &changed})
}

// setAlarm puts an alarm in state at the time given, as the evaluator does.
func (e *endpointFixture) setAlarm(name, state, reason string, at time.Time) {
	e.tb.Helper()
	ref := api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: name}
	obj, err := e.st.Get(e.ctx, ref)
	if err != nil {
		e.tb.Fatal(err)
	}
	var st api.AlarmStatus
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		e.tb.Fatal(err)
	}
	st.State, st.StateReason, st.StateChangedAt = state, reason, &at
	st.TransitionCount++
	if _, err := e.st.UpdateStatus(e.ctx, ref, obj.Meta.UID, mustJSON(e.tb, st)); err != nil {
		e.tb.Fatal(err)
	}
}

func withAlarms(names ...string) func(*api.ModelEndpointSpec) {
	return func(s *api.ModelEndpointSpec) { s.Rollout.RollbackAlarms = names }
}

func TestEndpointRollout_RollsBackOnAlarm(t *testing.T) {
	canary := api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 10, BakeTimeSeconds: 60}
	for _, tc := range []struct {
		name  string
		setup func(e *endpointFixture)
		// lastStep fires the alarm in the bake of the 100% step.
		lastStep bool
	}{
		{"named in rollback_alarms", func(e *endpointFixture) { e.alarm("errors-high", "api", false); e.edit = withAlarms("errors-high") }, false},
		{"named, in the last bake", func(e *endpointFixture) { e.alarm("errors-high", "api", false); e.edit = withAlarms("errors-high") }, true},
		{"rollback_endpoint action", func(e *endpointFixture) { e.alarm("errors-high", "api", true) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEndpointFixture(t, canary)
			// An alarm on another endpoint with the action does not count.
			e.alarm("other-endpoint", "other", true)
			tc.setup(e)
			e.updateSpec(e.ref, e.spec("v2", canary))
			if st := e.pass(); st.Phase != api.PhaseRollingOut || st.Variants[0].CanaryPercent != 10 {
				t.Fatalf("first step: %+v", st)
			}
			e.setAlarm("other-endpoint", api.AlarmStateAlarm, "not ours", e.clock.Add(time.Second))
			if tc.lastStep {
				e.clock = e.clock.Add(60 * time.Second)
				if st := e.pass(); st.Phase != api.PhaseRollingOut || st.Variants[0].CanaryPercent != 100 {
					t.Fatalf("last step: %+v", st)
				}
			}
			e.setAlarm("errors-high", api.AlarmStateAlarm, "error_rate 12.5 > 5 in 1 of 1 periods", e.clock.Add(10*time.Second))
			// The bake is over: without the alarm the rollout would step on
			// (or succeed).
			e.clock = e.clock.Add(60 * time.Second)
			st := e.pass()
			if st.Phase != api.PhaseRolledBack || st.Rollout != nil || st.Variants[0].ModelVersion != "v1" || st.Variants[0].CanaryVersion != "" {
				t.Fatalf("after the alarm: %+v", st)
			}
			h := st.RolloutHistory[len(st.RolloutHistory)-1]
			want := `alarm "errors-high" went to ALARM (error_rate 12.5 > 5 in 1 of 1 periods); rolled back: model version "v1" is still serving variant "primary"`
			if h.Result != api.RolloutRolledBack || h.Alarm != "errors-high" || h.Message != want || !strings.Contains(st.Message, want) {
				t.Fatalf("history = %+v, message %q", h, st.Message)
			}
		})
	}
}

func TestEndpointRollout_AlarmAlreadyInAlarm(t *testing.T) {
	canary := api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 10, BakeTimeSeconds: 60}
	e := newEndpointFixture(t, canary)
	e.alarm("errors-high", "api", false)
	e.edit = withAlarms("errors-high")
	// In ALARM before the rollout (the bug the new version fixes).
	e.setAlarm("errors-high", api.AlarmStateAlarm, "error_rate 40 > 5", e.clock.Add(-time.Minute))
	e.updateSpec(e.ref, e.spec("v2", canary))
	st := e.pass()
	if st.Phase != api.PhaseRollingOut || !strings.Contains(st.Message, `alarm "errors-high" was already in ALARM when the rollout started: the rollout rolls back if it is still in ALARM`) {
		t.Fatalf("first step: %+v", st)
	}
	// It leaves ALARM and fires again: now it rolls back.
	e.setAlarm("errors-high", api.AlarmStateOK, "error_rate 0 <= 5", e.clock.Add(5*time.Second))
	e.clock = e.clock.Add(10 * time.Second)
	if st := e.pass(); st.Phase != api.PhaseRollingOut || strings.Contains(st.Message, "already in ALARM") {
		t.Fatalf("after OK: %+v", st)
	}
	e.setAlarm("errors-high", api.AlarmStateAlarm, "error_rate 30 > 5", e.clock.Add(5*time.Second))
	e.clock = e.clock.Add(10 * time.Second)
	st = e.pass()
	if st.Phase != api.PhaseRolledBack || st.RolloutHistory[len(st.RolloutHistory)-1].Alarm != "errors-high" {
		t.Fatalf("after it fired again: %+v", st)
	}
}

// TestEndpointRollout_AlarmStillInAlarmAtBakeEnd: an alarm that was firing
// before the rollout and never leaves ALARM (the new version does not fix
// it, or is just as bad) rolls the rollout back when the step's bake ends,
// so the new version never takes more traffic.
func TestEndpointRollout_AlarmStillInAlarmAtBakeEnd(t *testing.T) {
	canary := api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 10, BakeTimeSeconds: 60}
	e := newEndpointFixture(t, canary)
	e.alarm("errors-high", "api", true)
	e.setAlarm("errors-high", api.AlarmStateAlarm, "error_rate 40 > 5", e.clock.Add(-time.Minute))
	e.updateSpec(e.ref, e.spec("v2", canary))
	if st := e.pass(); st.Phase != api.PhaseRollingOut || st.Variants[0].CanaryPercent != 10 {
		t.Fatalf("first step: %+v", st)
	}
	e.clock = e.clock.Add(30 * time.Second)
	if st := e.pass(); st.Phase != api.PhaseRollingOut || st.Variants[0].CanaryPercent != 10 {
		t.Fatalf("during the bake: %+v", st)
	}
	e.clock = e.clock.Add(31 * time.Second)
	st := e.pass()
	if st.Phase != api.PhaseRolledBack || st.Variants[0].ModelVersion != "v1" || st.Variants[0].CanaryVersion != "" {
		t.Fatalf("at the end of the bake: %+v", st)
	}
	h := st.RolloutHistory[len(st.RolloutHistory)-1]
	want := `alarm "errors-high" is still in ALARM at the end of the 10% step's bake (error_rate 40 > 5); rolled back: model version "v1" is still serving variant "primary"`
	if h.Alarm != "errors-high" || h.Message != want {
		t.Fatalf("history = %+v", h)
	}
}

func TestEndpointRollout_MissingRollbackAlarm(t *testing.T) {
	canary := api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 10, BakeTimeSeconds: 60}
	e := newEndpointFixture(t, canary)
	e.alarm("latency-high", "api", false)
	e.edit = withAlarms("latency-high", "errors-high")
	e.updateSpec(e.ref, e.spec("v2", canary))
	st := e.pass()
	want := `rollout.rollback_alarms names alarm "errors-high", which does not exist in environment "dev"; create the alarm first or remove it from rollout.rollback_alarms; rolled back: model version "v1" is still serving variant "primary"`
	if st.Phase != api.PhaseRolledBack || !strings.Contains(st.Message, want) {
		t.Fatalf("status = %+v", st)
	}
	// Nothing of v2 was started.
	for _, k := range e.b.Keys(e.obj().Meta.UID) {
		if k.Version != "v1" {
			t.Fatalf("replica %+v runs", k)
		}
	}
	// Once the alarm exists, the next change rolls out.
	e.alarm("errors-high", "api", false)
	st, _ = e.rollTo("v2", api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 20, BakeTimeSeconds: 60})
	if st.Phase != api.PhaseReady || st.Variants[0].ModelVersion != "v2" {
		t.Fatalf("after creating the alarm: %+v", st)
	}
}
