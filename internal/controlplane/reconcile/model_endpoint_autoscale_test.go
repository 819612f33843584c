package reconcile_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

func autoscaled(a api.EndpointAutoscaling) func(*api.ModelEndpointSpec) {
	return func(s *api.ModelEndpointSpec) {
		s.Variants[0].Replicas, s.Variants[0].Autoscaling = 0, &a
	}
}

// load records perSecond predictions of variant primary in each second of
// the autoscaling window before the clock, as the gateway would, spread
// over two versions.
func (e *endpointFixture) load(perSecond int64) {
	e.tb.Helper()
	var points []store.MetricPoint
	end := e.clock.Truncate(time.Second)
	for i := 1; i <= api.AutoscaleWindowSeconds; i++ {
		for j, version := range []string{"v1", "v2"} {
			n := perSecond / 2
			if j == 0 {
				n += perSecond % 2
			}
			points = append(points, store.MetricPoint{Environment: "dev", Series: api.SeriesPredictions, Endpoint: "api", Variant: "primary",
				ModelVersion: version, Time: end.Add(-time.Duration(i) * time.Second), Count: n, Sum: float64(n), Min: 1, Max: 1})
		}
	}
	if err := e.st.AppendMetrics(e.ctx, points); err != nil {
		e.tb.Fatal(err)
	}
}

func TestEndpointAutoscaling_OnLoad(t *testing.T) {
	all := api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10}
	e := newEndpointFixtureWith(t, all, autoscaled(api.EndpointAutoscaling{MinReplicas: 1, MaxReplicas: 4, TargetRPS: 2, ScaleInCooldownSeconds: 60}))
	st := e.pass()
	if v := st.Variants[0]; st.Phase != api.PhaseReady || v.Replicas != 1 || v.DesiredReplicas != 1 || v.ObservedRPS != 0 {
		t.Fatalf("idle: %+v", st)
	}
	uid := e.obj().Meta.UID
	// Predictions of another endpoint or variant do not count.
	e.create(api.KindModelEndpoint, "dev", "other", "", e.spec("v1", all), api.ModelEndpointStatus{})
	otherPoints := []store.MetricPoint{
		{Environment: "dev", Series: api.SeriesPredictions, Endpoint: "other", Variant: "primary", Time: e.clock.Add(-time.Second).Truncate(time.Second), Count: 1000},
		{Environment: "dev", Series: api.SeriesPredictions, Endpoint: "api", Variant: "canary", Time: e.clock.Add(-time.Second).Truncate(time.Second), Count: 1000},
	}
	if err := e.st.AppendMetrics(e.ctx, otherPoints); err != nil {
		t.Fatal(err)
	}
	if st := e.pass(); st.Variants[0].DesiredReplicas != 1 {
		t.Fatalf("other series counted: %+v", st.Variants[0])
	}

	// 5 rps for the window: ceil(5 / 2) = 3 replicas, at once.
	e.load(5)
	st = e.pass()
	v := st.Variants[0]
	if v.DesiredReplicas != 3 || v.Replicas != 3 || v.ObservedRPS != 5 || v.LastScaleTime == nil || !v.LastScaleTime.Equal(e.clock) || v.ScaleInSince != nil {
		t.Fatalf("under load: %+v", v)
	}
	if n := len(e.b.Keys(uid)); n != 3 {
		t.Fatalf("%d replicas run", n)
	}

	// The load is gone: replicas stay until it has called for fewer for
	// the whole cooldown.
	e.clock = e.clock.Add(time.Duration(api.AutoscaleWindowSeconds) * time.Second)
	st = e.pass()
	v = st.Variants[0]
	if v.DesiredReplicas != 3 || v.Replicas != 3 || v.ObservedRPS != 0 || v.ScaleInSince == nil || !v.ScaleInSince.Equal(e.clock) {
		t.Fatalf("idle, cooling down: %+v", v)
	}
	quiet := e.clock
	e.clock = e.clock.Add(59 * time.Second)
	if v := e.pass().Variants[0]; v.DesiredReplicas != 3 {
		t.Fatalf("59s into the cooldown: %+v", v)
	}
	// Load in the cooldown that calls for the replicas starts it over.
	e.load(5)
	if v := e.pass().Variants[0]; v.DesiredReplicas != 3 || v.ScaleInSince != nil {
		t.Fatalf("after a burst: %+v", v)
	}
	e.clock = e.clock.Add(time.Duration(api.AutoscaleWindowSeconds) * time.Second)
	if v := e.pass().Variants[0]; v.ScaleInSince == nil || !v.ScaleInSince.After(quiet) {
		t.Fatalf("after the burst: %+v", v)
	}
	e.clock = e.clock.Add(59 * time.Second)
	if v := e.pass().Variants[0]; v.DesiredReplicas != 3 {
		t.Fatalf("59s into the new cooldown: %+v", v)
	}
	e.clock = e.clock.Add(time.Second)
	st = e.pass()
	v = st.Variants[0]
	if v.DesiredReplicas != 1 || v.Replicas != 1 || v.ScaleInSince != nil || !v.LastScaleTime.Equal(e.clock) {
		t.Fatalf("after the cooldown: %+v", v)
	}
	if n := len(e.b.Keys(uid)); n != 1 {
		t.Fatalf("%d replicas run after scaling in", n)
	}

	// More load than max_replicas can take: max_replicas.
	e.load(100)
	if v := e.pass().Variants[0]; v.DesiredReplicas != 4 || v.Replicas != 4 || v.ObservedRPS != 100 {
		t.Fatalf("overload: %+v", v)
	}

	// During a rollout the new version gets as many replicas.
	st, _ = e.rollTo("v2", api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 50, BakeTimeSeconds: 1})
	if v := st.Variants[0]; st.Phase != api.PhaseReady || v.ModelVersion != "v2" || v.Replicas != 4 {
		t.Fatalf("after the rollout: %+v", st)
	}
	for _, h := range st.RolloutHistory {
		if h.Result != api.RolloutSucceeded {
			t.Fatalf("history = %+v", h)
		}
	}
}

func TestEndpointAutoscaling_WithoutTargetStaysAtMin(t *testing.T) {
	e := newEndpointFixtureWith(t, api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
		autoscaled(api.EndpointAutoscaling{MinReplicas: 2, MaxReplicas: 4}))
	e.load(50)
	st := e.pass()
	if v := st.Variants[0]; v.DesiredReplicas != 2 || v.Replicas != 2 || v.ObservedRPS != 0 {
		t.Fatalf("status: %+v", v)
	}
	// A fixed count is the desired count.
	e.edit = nil
	e.updateSpec(e.ref, e.spec("v1", api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10}))
	if v := e.pass().Variants[0]; v.DesiredReplicas != 2 || v.Replicas != 2 || v.LastScaleTime != nil {
		t.Fatalf("fixed: %+v", v)
	}
}

// TestEndpoint_CommandBackends serves a model of another framework with a
// user command (testdata/echomodel); a change of the command is rolled
// out like a new version.
func TestEndpoint_CommandBackends(t *testing.T) {
	echo := mlopsdtest.BuildEchoModel(t)
	canary := api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 50, BakeTimeSeconds: 60}
	e := newEndpointFixtureWith(t, canary, nil)
	e.addVersion("custom", `{"scale": 2}`, "sklearn")
	cmd := []string{echo}
	e.edit = func(s *api.ModelEndpointSpec) {
		s.Variants[0].Command = cmd
		s.SmokeTest = &api.EndpointSmokeTest{RequestBody: `{"inputs": [1, 2]}`, JSONPath: "prediction", ExpectedJSONValue: "6"}
	}
	e.updateSpec(e.ref, e.spec("custom", canary))
	st := e.pass()
	if v := st.Variants[0]; st.Phase != api.PhaseReady || v.ModelVersion != "custom" || v.Replicas != 2 || !slices.Equal(v.Command, cmd) {
		t.Fatalf("served by the command: %+v", st)
	}
	// Another command for the same version rolls out; the old replicas
	// serve until it succeeds.
	cmd = []string{echo, "-inputs", "2"}
	st, seen := e.rollTo("custom", canary)
	if v := st.Variants[0]; st.Phase != api.PhaseReady || !slices.Equal(v.Command, cmd) || !slices.Equal(seen, []int64{50, 100}) {
		t.Fatalf("after the command's rollout: %+v, shares %v", st, seen)
	}
	keys := e.b.Keys(e.obj().Meta.UID)
	if len(keys) != 2 || keys[0].CommandDigest == "" {
		t.Fatalf("replicas = %+v", keys)
	}
	// A command that never answers /healthz rolls back to the previous one.
	before := st.Variants[0].Command
	cmd = []string{echo, "-never-healthy"}
	e.b.StartTimeout = 200 * time.Millisecond
	st, _ = e.rollTo("custom", canary)
	if v := st.Variants[0]; st.Phase != api.PhaseRolledBack || !slices.Equal(v.Command, before) || len(v.Backends) != 2 {
		t.Fatalf("after a broken command: %+v", st)
	}
}
