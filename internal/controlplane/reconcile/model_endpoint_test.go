package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// failingChecks are real local replicas whose checks fail on demand, as a
// replica that starts and then breaks during the bake would.
type failingChecks struct {
	*runtime.LocalBackends
	fail bool
}

func (f *failingChecks) Check(ctx context.Context, url string) error {
	if f.fail {
		return errors.New("predict check answered 500 Internal Server Error")
	}
	return f.LocalBackends.Check(ctx, url)
}

type endpointFixture struct {
	*fixture
	h     *reconcile.EndpointHandler
	b     *failingChecks
	clock time.Time
	ref   api.Ref
	// edit, when set, changes every spec the fixture writes.
	edit func(*api.ModelEndpointSpec)
	// smokeRequests counts the smoke test requests sent.
	smokeRequests atomic.Int64
}

// newEndpointFixture creates endpoint api serving v1 (2x+1) on 2 replicas
// and passes once, expecting it ready. Model versions v2 (3x) and
// overflow (a weight that overflows for inputs other than 0) exist too.
func newEndpointFixture(t *testing.T, rollout api.EndpointRollout) *endpointFixture {
	t.Helper()
	e := newEndpointFixtureWith(t, rollout, nil)
	if st := e.pass(); st.Phase != api.PhaseReady || st.Variants[0].ModelVersion != "v1" || st.Variants[0].Replicas != 2 {
		t.Fatalf("after create: %+v", st)
	}
	return e
}

// newEndpointFixtureWith creates endpoint api with the spec edit makes
// and does not pass.
func newEndpointFixtureWith(t *testing.T, rollout api.EndpointRollout, edit func(*api.ModelEndpointSpec)) *endpointFixture {
	t.Helper()
	f := newFixture(t, &runtime.Local{MaxNodesPerPool: 4})
	b := &failingChecks{LocalBackends: runtime.NewLocalBackends()}
	t.Cleanup(b.Close)
	e := &endpointFixture{fixture: f, b: b, clock: now, edit: edit}
	e.h = &reconcile.EndpointHandler{Store: f.st, Backends: b, Now: func() time.Time { return e.clock },
		Client: &http.Client{Transport: countingTransport{&e.smokeRequests}}}
	for name, content := range map[string]string{
		"v1": `{"slope": 2, "intercept": 1}`, "v2": `{"weights": [3], "bias": 0}`, "overflow": `{"weights": [1e308], "bias": 0}`,
	} {
		e.addVersion(name, content, api.FrameworkMLOpsLinear)
	}
	e.ref = f.create(api.KindModelEndpoint, "dev", "api", "", e.spec("v1", rollout), api.ModelEndpointStatus{Status: api.Status{Phase: api.PhaseProvisioning}})
	return e
}

// addVersion registers a model version whose artifact holds content.
func (e *endpointFixture) addVersion(name, content, framework string) {
	e.tb.Helper()
	path := filepath.Join(e.tb.TempDir(), "model.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		e.tb.Fatal(err)
	}
	e.create(api.KindModelVersion, "dev", name, "", api.ModelVersionSpec{Model: "m", ArtifactURI: "file://" + path,
		ArtifactSHA256: sha256Hex(content), Framework: framework}, api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
}

// countingTransport is the real HTTP transport, counting the requests.
type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func (e *endpointFixture) spec(version string, rollout api.EndpointRollout) api.ModelEndpointSpec {
	s := api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: version, ComputePool: "cpu", Replicas: 2, TrafficPercent: 100}},
		Rollout:  rollout,
	}
	if e.edit != nil {
		e.edit(&s)
	}
	return s
}

// pass reconciles the endpoint once and returns its status.
func (e *endpointFixture) pass() api.ModelEndpointStatus {
	e.tb.Helper()
	obj, err := e.st.Get(e.ctx, e.ref)
	if err != nil {
		e.tb.Fatal(err)
	}
	if err := e.h.Reconcile(e.ctx, obj); err != nil {
		e.tb.Fatal(err)
	}
	if obj, err = e.st.Get(e.ctx, e.ref); err != nil {
		e.tb.Fatal(err)
	}
	var st api.ModelEndpointStatus
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		e.tb.Fatal(err)
	}
	return st
}

// rollTo changes the version and passes until the rollout ends, advancing
// the clock by a bake time each pass, and returns the canary shares seen.
func (e *endpointFixture) rollTo(version string, rollout api.EndpointRollout) (api.ModelEndpointStatus, []int64) {
	e.tb.Helper()
	e.updateSpec(e.ref, e.spec(version, rollout))
	var seen []int64
	for range 20 {
		st := e.pass()
		if st.Rollout == nil {
			return st, seen
		}
		if st.Phase != api.PhaseRollingOut {
			e.tb.Fatalf("phase %q during a rollout", st.Phase)
		}
		seen = append(seen, st.Variants[0].CanaryPercent)
		e.clock = e.clock.Add(time.Duration(rollout.BakeTimeSeconds) * time.Second)
	}
	e.tb.Fatal("the rollout did not end")
	return api.ModelEndpointStatus{}, nil
}

func TestEndpointRollout_Strategies(t *testing.T) {
	for _, tc := range []struct {
		rollout api.EndpointRollout
		steps   []int64
	}{
		{api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10}, []int64{100}},
		{api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 20, BakeTimeSeconds: 60}, []int64{20, 100}},
		{api.EndpointRollout{Strategy: api.RolloutLinear, StepPercent: 30, BakeTimeSeconds: 60}, []int64{30, 60, 90, 100}},
		{api.EndpointRollout{Strategy: api.RolloutBlueGreen, StepPercent: 10, BakeTimeSeconds: 60}, []int64{0, 100}},
	} {
		t.Run(tc.rollout.Strategy, func(t *testing.T) {
			e := newEndpointFixture(t, tc.rollout)
			st, seen := e.rollTo("v2", tc.rollout)
			// With a bake time every step serves for a while, and the
			// gateway's canary share follows the steps.
			if tc.rollout.BakeTimeSeconds > 0 && !slices.Equal(seen, tc.steps) {
				t.Fatalf("canary shares seen = %v, want %v", seen, tc.steps)
			}
			if st.Phase != api.PhaseReady || st.Variants[0].ModelVersion != "v2" || st.Variants[0].Replicas != 2 || st.Variants[0].CanaryVersion != "" {
				t.Fatalf("after the rollout: %+v", st)
			}
			h := st.RolloutHistory[len(st.RolloutHistory)-1]
			var steps []int64
			for _, s := range h.Steps {
				steps = append(steps, s.Percent)
			}
			if h.Result != api.RolloutSucceeded || h.FromVersion != "v1" || h.ToVersion != "v2" || !slices.Equal(steps, tc.steps) {
				t.Fatalf("history = %+v, steps %v, want %v", h, steps, tc.steps)
			}
			// Only v2's two replicas run now.
			keys := e.b.Keys(e.obj().Meta.UID)
			if len(keys) != 2 || keys[0].Version != "v2" || keys[1].Version != "v2" {
				t.Fatalf("replicas = %+v", keys)
			}
		})
	}
}

func (e *endpointFixture) obj() *struct{ Meta api.Metadata } {
	o, err := e.st.Get(e.ctx, e.ref)
	if err != nil {
		e.tb.Fatal(err)
	}
	return &struct{ Meta api.Metadata }{o.Meta}
}

func TestEndpointRollout_RollsBackOnFailedCheck(t *testing.T) {
	ro := api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 10, BakeTimeSeconds: 60}
	e := newEndpointFixture(t, ro)
	e.updateSpec(e.ref, e.spec("v2", ro))
	if st := e.pass(); st.Phase != api.PhaseRollingOut || st.Variants[0].CanaryPercent != 10 || len(st.Variants[0].CanaryBackends) != 2 {
		t.Fatalf("first step: %+v", st)
	}
	e.b.fail = true // the new replicas break during the bake
	e.clock = e.clock.Add(10 * time.Second)
	st := e.pass()
	if st.Phase != api.PhaseRolledBack || st.Variants[0].ModelVersion != "v1" || st.Variants[0].CanaryVersion != "" || st.Rollout != nil {
		t.Fatalf("after the failed check: %+v", st)
	}
	if !strings.Contains(st.Message, `model version "v1" is still serving variant "primary"`) || !strings.Contains(st.Message, "500") {
		t.Fatalf("message = %q", st.Message)
	}
	if h := st.RolloutHistory[len(st.RolloutHistory)-1]; h.Result != api.RolloutRolledBack || h.ToVersion != "v2" {
		t.Fatalf("history = %+v", h)
	}
	// Terminal for the generation: later passes neither retry nor change it.
	e.b.fail = false
	if again := e.pass(); again.Phase != api.PhaseRolledBack || again.Variants[0].ModelVersion != "v1" {
		t.Fatalf("a later pass: %+v", again)
	}
	for _, k := range e.b.Keys(e.obj().Meta.UID) {
		if k.Version != "v1" {
			t.Fatalf("replica %+v of the rolled-back version still runs", k)
		}
	}
	// A new generation (e.g. the next apply) tries again, and now succeeds.
	st, _ = e.rollTo("v2", api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 20, BakeTimeSeconds: 60})
	if st.Phase != api.PhaseReady || st.Variants[0].ModelVersion != "v2" {
		t.Fatalf("retry: %+v", st)
	}
}

func TestEndpoint_RestartsLostReplicasAndStopsOnDelete(t *testing.T) {
	e := newEndpointFixture(t, api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10})
	uid := e.obj().Meta.UID
	// A restarted mlopsd has no replicas: the next pass starts them again.
	for _, k := range e.b.Keys(uid) {
		e.b.Stop(k)
	}
	if st := e.pass(); st.Phase != api.PhaseReady || len(e.b.Keys(uid)) != 2 {
		t.Fatalf("after losing the replicas: %+v, %d running", st, len(e.b.Keys(uid)))
	}
	if _, err := e.st.Delete(e.ctx, e.ref, true, store.WriteOptions{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	obj, err := e.st.Get(e.ctx, e.ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.h.Reconcile(e.ctx, obj); err != nil {
		t.Fatal(err)
	}
	if n := len(e.b.Keys(uid)); n != 0 {
		t.Fatalf("%d replicas still run after the delete", n)
	}
	if _, err := e.st.Get(e.ctx, e.ref); err == nil {
		t.Fatal("the endpoint still exists after its teardown")
	}
}

func TestParseLinearModel(t *testing.T) {
	for in, want := range map[string]float64{
		`{"slope": 2.5, "intercept": -1}`:    2.5*4 - 1,
		`{"weights": [4], "bias": 0.5}`:      16.5,
		"{\"slope\": 1, \"intercept\": 0}\n": 4,
	} {
		m, err := runtime.ParseLinearModel([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got, err := m.Predict([]float64{4}); err != nil || got != want {
			t.Fatalf("%s: predict = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{`not json`, `{}`, `{"slope": 1}`, `{"weights": [], "bias": 0}`, `{"slope": 1, "intercept": 0, "bias": 1}`, `{"slope": "x", "intercept": 0}`, `{"slope": 1, "intercept": 0} {}`, `{"w": 1}`} {
		if _, err := runtime.ParseLinearModel([]byte(bad)); err == nil || !strings.Contains(err.Error(), "mlops-linear") {
			t.Fatalf("%s: err = %v", bad, err)
		}
	}
}
