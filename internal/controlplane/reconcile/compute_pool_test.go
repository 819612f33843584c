package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

// These tests run the reconcilers against a real SQLite store in a
// temporary directory and the real local driver. They call Pass directly,
// with no background loop, so every step of a state machine is observable.

// now is the reconciler's clock in these tests.
var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// MustOpenDB opens a new database file in a temporary directory and closes
// it when the test ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(filepath.Join(tb.TempDir(), "mlops.db"))
	if err != nil {
		tb.Fatalf("opening database: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("closing database: %v", err)
		}
	})
	return db
}

// fixture is a store with environment "dev" and a reconciler over it.
type fixture struct {
	tb  testing.TB
	ctx context.Context
	st  *sqlite.DB
	rec *reconcile.Reconciler
	reg *prometheus.Registry
}

func newFixture(tb testing.TB, driver runtime.PoolDriver) *fixture {
	tb.Helper()
	st := MustOpenDB(tb)
	reg := prometheus.NewRegistry()
	f := &fixture{
		tb:  tb,
		ctx: tb.Context(),
		st:  st,
		reg: reg,
		rec: reconcile.New(reconcile.Config{
			Store:       st,
			Registry:    reg,
			PoolHandler: &reconcile.PoolHandler{Store: st, Driver: driver, Now: func() time.Time { return now }},
		}),
	}
	f.create(api.KindEnvironment, "", "dev", "", api.EnvironmentSpec{},
		api.EnvironmentStatus{Status: api.Status{Phase: api.PhaseReady, ObservedGeneration: 1}})
	return f
}

func mustJSON(tb testing.TB, v any) json.RawMessage {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// create stores a new object with the given spec and initial status.
func (f *fixture) create(kind, env, name, parent string, spec, status any) api.Ref {
	f.tb.Helper()
	_, err := f.st.Create(f.ctx, &store.Object{
		Kind:   kind,
		Meta:   api.Metadata{Name: name, Environment: env},
		Parent: parent,
		Spec:   mustJSON(f.tb, spec),
		Status: mustJSON(f.tb, status),
	}, store.WriteOptions{Actor: "alice"})
	if err != nil {
		f.tb.Fatalf("creating %s/%s: %v", kind, name, err)
	}
	return api.Ref{Kind: kind, Environment: env, Name: name}
}

// createPool stores a pool the way the API server creates one.
func (f *fixture) createPool(name string, spec api.ComputePoolSpec) api.Ref {
	f.tb.Helper()
	return f.create(api.KindComputePool, "dev", name, "", spec, api.ComputePoolStatus{
		Status:       api.Status{Phase: api.PhaseProvisioning, Reason: "Created", Message: "waiting for the reconciler"},
		DesiredNodes: spec.MinNodes,
	})
}

func (f *fixture) updateSpec(ref api.Ref, spec any) int64 {
	f.tb.Helper()
	res, err := f.st.UpdateSpec(f.ctx, ref, mustJSON(f.tb, spec), store.WriteOptions{Actor: "alice"})
	if err != nil {
		f.tb.Fatalf("updating %s: %v", ref, err)
	}
	return res.Object.Meta.Generation
}

// poolState is a compute pool as stored.
type poolState struct {
	Meta   api.Metadata
	Spec   api.ComputePoolSpec
	Status api.ComputePoolStatus
}

func (p poolState) String() string {
	return fmt.Sprintf("gen %d min %d: %s/%s observed %d, %d nodes (desired %d) %q",
		p.Meta.Generation, p.Spec.MinNodes, p.Status.Phase, p.Status.Reason, p.Status.ObservedGeneration,
		p.Status.CurrentNodes, p.Status.DesiredNodes, p.Status.Message)
}

func (f *fixture) pool(ref api.Ref) poolState {
	f.tb.Helper()
	obj, err := f.st.Get(f.ctx, ref)
	if err != nil {
		f.tb.Fatalf("reading %s: %v", ref, err)
	}
	return decodePool(f.tb, obj)
}

func decodePool(tb testing.TB, obj *store.Object) poolState {
	tb.Helper()
	p := poolState{Meta: obj.Meta}
	if err := json.Unmarshal(obj.Spec, &p.Spec); err != nil {
		tb.Fatalf("decoding spec of %s: %v", obj.Ref(), err)
	}
	if err := json.Unmarshal(obj.Status, &p.Status); err != nil {
		tb.Fatalf("decoding status of %s: %v", obj.Ref(), err)
	}
	return p
}

// pass runs one reconcile pass and checks the invariants every pool must
// keep after any pass.
func (f *fixture) pass() {
	f.tb.Helper()
	f.rec.Pass(f.ctx)
	objs, _, err := f.st.List(f.ctx, api.KindComputePool, "dev", api.ListOptions{})
	if err != nil {
		f.tb.Fatalf("listing pools: %v", err)
	}
	for _, obj := range objs {
		checkPoolInvariants(f.tb, decodePool(f.tb, obj))
	}
}

// checkPoolInvariants asserts what a pool's status may claim: never a
// generation it has not seen, and "ready" for the current generation only
// when min_nodes really are up.
func checkPoolInvariants(tb testing.TB, p poolState) {
	tb.Helper()
	st := p.Status
	if st.ObservedGeneration > p.Meta.Generation {
		tb.Fatalf("status observed generation %d of an object at generation %d: %s", st.ObservedGeneration, p.Meta.Generation, p)
	}
	if st.Settled(p.Meta.Generation) && st.ObservedGeneration != p.Meta.Generation {
		tb.Fatalf("settled for a generation it has not observed: %s", p)
	}
	// Drivers that observe a cluster (slurm) report the nodes up in it,
	// which may be more than the pool's bounds; the others provision
	// exactly min_nodes.
	provisioned := p.Spec.Driver == "" || p.Spec.Driver == api.DriverLocal
	if st.CurrentNodes < 0 || provisioned && st.CurrentNodes > max(st.DesiredNodes, p.Spec.MaxNodes) {
		tb.Fatalf("node count out of range: %s", p)
	}
	ready := readyCondition(st.Conditions)
	if st.Phase == api.PhaseReady && st.ObservedGeneration == p.Meta.Generation {
		if provisioned && st.CurrentNodes != p.Spec.MinNodes || st.CurrentNodes < p.Spec.MinNodes || st.DesiredNodes != p.Spec.MinNodes {
			tb.Fatalf("ready with %d nodes (desired %d) for min_nodes %d: %s", st.CurrentNodes, st.DesiredNodes, p.Spec.MinNodes, p)
		}
		if ready == nil || ready.Status != api.ConditionTrue {
			tb.Fatalf("phase ready without Ready=True: %+v", st.Conditions)
		}
	}
	if st.Phase != api.PhaseReady && ready != nil && ready.Status == api.ConditionTrue {
		tb.Fatalf("phase %s with Ready=True: %s", st.Phase, p)
	}
}

func readyCondition(conds []api.Condition) *api.Condition {
	var found *api.Condition
	for i := range conds {
		if conds[i].Type == api.ConditionReady {
			if found != nil {
				panic("two Ready conditions")
			}
			found = &conds[i]
		}
	}
	return found
}

// step is one observed (phase, nodes) pair.
type step struct {
	Phase string
	Nodes int64
}

// passUntilSettled runs passes until the pool settles at its current
// generation and returns the states seen after each pass. It fails after
// limit passes, so a state machine that never converges fails fast.
func (f *fixture) passUntilSettled(ref api.Ref, limit int) []step {
	f.tb.Helper()
	var steps []step
	for range limit {
		f.pass()
		p := f.pool(ref)
		steps = append(steps, step{p.Status.Phase, p.Status.CurrentNodes})
		if p.Status.Settled(p.Meta.Generation) {
			return steps
		}
	}
	f.tb.Fatalf("%s not settled after %d passes; steps %v, now %s", ref, limit, steps, f.pool(ref))
	return nil
}

func sameSteps(a, b []step) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestPoolHandler_ProvisionsToReady(t *testing.T) {
	f := newFixture(t, &runtime.Local{MaxNodesPerPool: 8})
	ref := f.createPool("p", api.ComputePoolSpec{MinNodes: 3, MaxNodes: 5})

	steps := f.passUntilSettled(ref, 10)
	want := []step{{api.PhaseProvisioning, 1}, {api.PhaseProvisioning, 2}, {api.PhaseReady, 3}}
	if !sameSteps(steps, want) {
		t.Fatalf("steps = %v, want %v", steps, want)
	}
	p := f.pool(ref)
	if p.Status.ObservedGeneration != 1 || p.Status.DesiredNodes != 3 || p.Status.Reason != "" {
		t.Errorf("ready status = %s", p)
	}
	c := readyCondition(p.Status.Conditions)
	if c == nil || c.Status != api.ConditionTrue || c.Reason != "NodesUp" || !c.LastTransitionTime.Equal(now) {
		t.Errorf("Ready condition = %+v, want True/NodesUp at %v", c, now)
	}

	t.Run("SettledPoolIsLeftAlone", func(t *testing.T) {
		pending, err := f.st.Pending(f.ctx, api.KindComputePool)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 0 {
			t.Errorf("pending = %d objects, want none", len(pending))
		}
		f.pass()
		if after := f.pool(ref); !after.Meta.UpdatedAt.Equal(p.Meta.UpdatedAt) {
			t.Errorf("a pass rewrote a settled pool: updated_at %v -> %v", p.Meta.UpdatedAt, after.Meta.UpdatedAt)
		}
	})
}

func TestPoolHandler_ProvisioningSpeed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stepNodes int64
		min       int64
		want      []step
	}{
		{"ZeroNodesIsReadyAtOnce", 1, 0, []step{{api.PhaseReady, 0}}},
		{"OneNode", 1, 1, []step{{api.PhaseReady, 1}}},
		{"TwoPerStep", 2, 5, []step{{api.PhaseProvisioning, 2}, {api.PhaseProvisioning, 4}, {api.PhaseReady, 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, &runtime.Local{MaxNodesPerPool: 8, StepNodes: tc.stepNodes})
			ref := f.createPool("p", api.ComputePoolSpec{MinNodes: tc.min, MaxNodes: 8})
			if steps := f.passUntilSettled(ref, 10); !sameSteps(steps, tc.want) {
				t.Errorf("steps = %v, want %v", steps, tc.want)
			}
		})
	}
}

func TestPoolHandler_ScalesOnSpecChange(t *testing.T) {
	f := newFixture(t, &runtime.Local{MaxNodesPerPool: 8})
	spec := api.ComputePoolSpec{MinNodes: 1, MaxNodes: 5}
	ref := f.createPool("p", spec)
	f.passUntilSettled(ref, 5)
	readySince := readyCondition(f.pool(ref).Status.Conditions).LastTransitionTime

	t.Run("Up", func(t *testing.T) {
		spec.MinNodes = 3
		gen := f.updateSpec(ref, spec)
		if p := f.pool(ref); p.Status.Settled(gen) {
			t.Fatalf("settled at generation %d before any pass: %s", gen, p)
		}
		steps := f.passUntilSettled(ref, 10)
		if want := []step{{api.PhaseScaling, 2}, {api.PhaseReady, 3}}; !sameSteps(steps, want) {
			t.Errorf("steps = %v, want %v", steps, want)
		}
		if p := f.pool(ref); p.Status.ObservedGeneration != gen {
			t.Errorf("observed generation %d, want %d", p.Status.ObservedGeneration, gen)
		}
	})

	t.Run("Down", func(t *testing.T) {
		spec.MinNodes = 0
		f.updateSpec(ref, spec)
		steps := f.passUntilSettled(ref, 10)
		if want := []step{{api.PhaseScaling, 2}, {api.PhaseScaling, 1}, {api.PhaseReady, 0}}; !sameSteps(steps, want) {
			t.Errorf("steps = %v, want %v", steps, want)
		}
	})

	t.Run("OtherFieldOnlyNeedsOnePass", func(t *testing.T) {
		spec.MaxNodes = 7
		gen := f.updateSpec(ref, spec)
		steps := f.passUntilSettled(ref, 3)
		if want := []step{{api.PhaseReady, 0}}; !sameSteps(steps, want) {
			t.Errorf("steps = %v, want %v", steps, want)
		}
		p := f.pool(ref)
		if p.Status.ObservedGeneration != gen {
			t.Errorf("observed generation %d, want %d", p.Status.ObservedGeneration, gen)
		}
		// Ready went False while scaling and True again.
		if c := readyCondition(p.Status.Conditions); c.Status != api.ConditionTrue || len(p.Status.Conditions) != 1 {
			t.Errorf("conditions = %+v (ready since %v)", p.Status.Conditions, readySince)
		}
	})
}

func TestPoolHandler_InsufficientCapacity(t *testing.T) {
	f := newFixture(t, &runtime.Local{MaxNodesPerPool: 2})
	spec := api.ComputePoolSpec{MinNodes: 3, MaxNodes: 4}
	ref := f.createPool("p", spec)

	steps := f.passUntilSettled(ref, 3)
	if want := []step{{api.PhaseFailed, 0}}; !sameSteps(steps, want) {
		t.Fatalf("steps = %v, want %v", steps, want)
	}
	p := f.pool(ref)
	if p.Status.Reason != "InsufficientCapacity" || p.Status.ObservedGeneration != 1 || !strings.Contains(p.Status.Message, "lower min_nodes") {
		t.Errorf("status = %s, want InsufficientCapacity naming the fix", p)
	}
	if c := readyCondition(p.Status.Conditions); c == nil || c.Status != api.ConditionFalse || c.Reason != "InsufficientCapacity" {
		t.Errorf("Ready condition = %+v", c)
	}
	pending, err := f.st.Pending(f.ctx, api.KindComputePool)
	if err != nil || len(pending) != 0 {
		t.Errorf("a failed pool is still pending (%d, %v); failed is terminal until the spec changes", len(pending), err)
	}

	t.Run("LoweringMinNodesRecovers", func(t *testing.T) {
		spec.MinNodes = 2
		gen := f.updateSpec(ref, spec)
		f.passUntilSettled(ref, 5)
		p := f.pool(ref)
		if p.Status.Phase != api.PhaseReady || p.Status.CurrentNodes != 2 || p.Status.ObservedGeneration != gen || p.Status.Reason != "" {
			t.Errorf("status = %s, want ready with 2 nodes", p)
		}
	})

	t.Run("RaisingAboveCapacityKeepsNodes", func(t *testing.T) {
		spec.MinNodes = 3
		f.updateSpec(ref, spec)
		f.passUntilSettled(ref, 3)
		p := f.pool(ref)
		if p.Status.Phase != api.PhaseFailed || p.Status.CurrentNodes != 2 {
			t.Errorf("status = %s, want failed with the 2 nodes kept", p)
		}
		spec.MinNodes = 1
		f.updateSpec(ref, spec)
		f.passUntilSettled(ref, 5)
		if p := f.pool(ref); p.Status.Phase != api.PhaseReady || p.Status.CurrentNodes != 1 {
			t.Errorf("status = %s, want ready with 1 node", p)
		}
	})
}

func TestPoolHandler_GracefulDelete(t *testing.T) {
	f := newFixture(t, &runtime.Local{MaxNodesPerPool: 8})
	ref := f.createPool("p", api.ComputePoolSpec{MinNodes: 3, MaxNodes: 3})
	f.passUntilSettled(ref, 5)
	uid := f.pool(ref).Meta.UID

	res, err := f.st.Delete(f.ctx, ref, true, store.WriteOptions{Actor: "alice"})
	if err != nil || res.Removed || res.Object == nil || res.Object.Meta.DeletionRequestedAt == nil {
		t.Fatalf("graceful Delete = %+v, %v; want the object marked", res, err)
	}
	if _, err := f.st.UpdateSpec(f.ctx, ref, mustJSON(t, api.ComputePoolSpec{MinNodes: 1, MaxNodes: 3}), store.WriteOptions{}); !isCode(err, api.ECONFLICT) {
		t.Errorf("UpdateSpec while deleting = %v, want conflict", err)
	}

	for _, want := range []int64{2, 1} {
		f.pass()
		p := f.pool(ref)
		if p.Status.Phase != api.PhaseDeleting || p.Status.CurrentNodes != want || p.Status.DesiredNodes != 0 || p.Status.Settled(p.Meta.Generation) {
			t.Fatalf("status = %s, want deleting with %d nodes left", p, want)
		}
		if c := readyCondition(p.Status.Conditions); c == nil || c.Status != api.ConditionFalse || c.Reason != "Deleting" {
			t.Errorf("Ready condition = %+v", c)
		}
	}
	f.pass()
	if _, err := f.st.Get(f.ctx, ref); !isCode(err, api.ENOTFOUND) {
		t.Fatalf("after the last node was released Get = %v, want not found", err)
	}

	recs, err := f.st.ListAudit(f.ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if r.UID == uid {
			got = append(got, r.Action+"/"+r.Actor)
		}
	}
	if want := "create/alice,delete_requested/alice,delete/reconciler"; strings.Join(got, ",") != want {
		t.Errorf("audit of the pool = %q, want %q", got, want)
	}
	last := recs[len(recs)-1]
	if last.Action != api.AuditDelete || last.BeforeDigest == "" || last.AfterDigest != "" {
		t.Errorf("delete record = %+v, want a before digest only", last)
	}
}

func TestPoolHandler_DeleteInAnyPhase(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxPerPool  int64
		min         int64
		passesFirst int
		// passes is how many passes the teardown takes.
		passes int
	}{
		{"WhileProvisioning", 8, 3, 1, 1}, // 1 node up
		{"Failed", 2, 3, 1, 1},            // no node up
		{"Untouched", 8, 2, 0, 1},         // never reconciled
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, &runtime.Local{MaxNodesPerPool: tc.maxPerPool})
			ref := f.createPool("p", api.ComputePoolSpec{MinNodes: tc.min, MaxNodes: 4})
			for range tc.passesFirst {
				f.pass()
			}
			if _, err := f.st.Delete(f.ctx, ref, true, store.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			for range tc.passes {
				f.pass()
			}
			if _, err := f.st.Get(f.ctx, ref); !isCode(err, api.ENOTFOUND) {
				t.Errorf("after %d teardown passes Get = %v, want not found (%s)", tc.passes, err, f.pool(ref))
			}
		})
	}
}

// interferingDriver is the real local driver plus a hook that runs before
// a chosen Step, to interleave an API write with a reconcile step.
type interferingDriver struct {
	runtime.Local
	beforeStep func()
}

func (d *interferingDriver) Step(ctx context.Context, ref api.Ref, spec api.ComputePoolSpec, current, target int64) (int64, error) {
	if hook := d.beforeStep; hook != nil {
		d.beforeStep = nil
		hook()
	}
	return d.Local.Step(ctx, ref, spec, current, target)
}

func TestPoolHandler_NeverClaimsUnobservedGeneration(t *testing.T) {
	t.Run("SpecChangesDuringAStep", func(t *testing.T) {
		driver := &interferingDriver{Local: runtime.Local{MaxNodesPerPool: 8}}
		f := newFixture(t, driver)
		ref := f.createPool("p", api.ComputePoolSpec{MinNodes: 1, MaxNodes: 5})
		var gen int64
		// While the reconciler brings up the one node generation 1 asks
		// for, a user asks for 4.
		driver.beforeStep = func() { gen = f.updateSpec(ref, api.ComputePoolSpec{MinNodes: 4, MaxNodes: 5}) }
		f.pass()
		p := f.pool(ref)
		if p.Meta.Generation != gen || p.Status.ObservedGeneration != 1 {
			t.Fatalf("status = %s, want generation %d with generation 1 observed", p, gen)
		}
		if p.Status.Settled(gen) {
			t.Fatalf("status claims generation %d, which no pass has read: %s", gen, p)
		}
		f.passUntilSettled(ref, 10)
		if p := f.pool(ref); p.Status.Phase != api.PhaseReady || p.Status.CurrentNodes != 4 || p.Status.ObservedGeneration != gen {
			t.Errorf("status = %s, want ready with 4 nodes at generation %d", p, gen)
		}
	})

	t.Run("EditsBetweenPasses", func(t *testing.T) {
		f := newFixture(t, &runtime.Local{MaxNodesPerPool: 8})
		ref := f.createPool("p", api.ComputePoolSpec{MinNodes: 2, MaxNodes: 8})
		f.pass()
		// Level-based: each pass acts on the latest spec only, so edits
		// in between are never replayed.
		for _, minNodes := range []int64{5, 0, 3, 1, 1, 6, 2} {
			f.updateSpec(ref, api.ComputePoolSpec{MinNodes: minNodes, MaxNodes: 8})
			f.pass()
		}
		f.passUntilSettled(ref, 10)
		p := f.pool(ref)
		if p.Status.Phase != api.PhaseReady || p.Status.CurrentNodes != 2 || p.Status.ObservedGeneration != p.Meta.Generation {
			t.Errorf("status = %s, want ready with 2 nodes at the last generation", p)
		}
	})
}

// failingDriver stands in for a cluster whose API refuses every change.
type failingDriver struct{}

func (failingDriver) Capacity(api.ComputePoolSpec) int64 { return 100 }
func (failingDriver) Step(_ context.Context, _ api.Ref, _ api.ComputePoolSpec, current, _ int64) (int64, error) {
	return current, errors.New("cluster API unreachable")
}

func TestPoolHandler_DriverError(t *testing.T) {
	f := newFixture(t, failingDriver{})
	ref := f.createPool("p", api.ComputePoolSpec{MinNodes: 1, MaxNodes: 2})
	f.passUntilSettled(ref, 3)
	p := f.pool(ref)
	if p.Status.Phase != api.PhaseFailed || p.Status.Reason != "DriverError" || !strings.Contains(p.Status.Message, "unreachable") {
		t.Errorf("status = %s, want failed with the driver's error", p)
	}

	t.Run("DeleteWithNoNodesNeedsNoDriver", func(t *testing.T) {
		if _, err := f.st.Delete(f.ctx, ref, true, store.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		// No node was ever up, so the teardown has nothing to release and
		// a broken driver must not keep the object forever.
		f.pass()
		if _, err := f.st.Get(f.ctx, ref); !isCode(err, api.ENOTFOUND) {
			t.Fatalf("Get = %v, want not found; pool %s", err, f.pool(ref))
		}
	})

	t.Run("DeleteWithNodesRetriesTheDriver", func(t *testing.T) {
		driver := &interferingDriver{Local: runtime.Local{MaxNodesPerPool: 8}}
		f := newFixture(t, driver)
		ref := f.createPool("q", api.ComputePoolSpec{MinNodes: 2, MaxNodes: 2})
		f.passUntilSettled(ref, 5)
		if _, err := f.st.Delete(f.ctx, ref, true, store.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		f.rec = reconcile.New(reconcile.Config{Store: f.st, PoolHandler: &reconcile.PoolHandler{Store: f.st, Driver: failingDriver{}}})
		f.pass()
		p := f.pool(ref)
		if p.Status.Phase != api.PhaseDeleting || p.Status.CurrentNodes != 2 || !strings.Contains(p.Status.Message, "unreachable") {
			t.Fatalf("status = %s, want deleting with 2 nodes and the driver's error", p)
		}
		// The driver recovers; the teardown continues where it stopped.
		f.rec = reconcile.New(reconcile.Config{Store: f.st, PoolHandler: &reconcile.PoolHandler{Store: f.st, Driver: driver}})
		f.pass()
		f.pass()
		if _, err := f.st.Get(f.ctx, ref); !isCode(err, api.ENOTFOUND) {
			t.Fatalf("Get = %v, want not found", err)
		}
	})
}

func TestReconciler_BadObjectDoesNotBlockOthers(t *testing.T) {
	f := newFixture(t, &runtime.Local{MaxNodesPerPool: 8})
	// A spec this version cannot decode (written by a newer one, say).
	f.create(api.KindComputePool, "dev", "a-bad", "", map[string]any{"min_nodes": "many"}, api.ComputePoolStatus{Status: api.Status{Phase: api.PhaseProvisioning}})
	ref := f.createPool("b-good", api.ComputePoolSpec{MinNodes: 1, MaxNodes: 1})
	f.rec.Pass(f.ctx)
	if p := f.pool(ref); p.Status.Phase != api.PhaseReady {
		t.Errorf("good pool = %s, want ready despite the bad one", p)
	}
	if n := counter(t, f.reg, "mlopsd_reconcile_errors_total", api.KindComputePool); n != 1 {
		t.Errorf("reconcile errors = %v, want 1", n)
	}
	if n := counter(t, f.reg, "mlopsd_reconcile_total", api.KindComputePool); n != 2 {
		t.Errorf("reconcile steps = %v, want 2", n)
	}

	t.Run("CanStillBeDeleted", func(t *testing.T) {
		bad := api.Ref{Kind: api.KindComputePool, Environment: "dev", Name: "a-bad"}
		if _, err := f.st.Delete(f.ctx, bad, true, store.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		f.rec.Pass(f.ctx)
		if _, err := f.st.Get(f.ctx, bad); !isCode(err, api.ENOTFOUND) {
			t.Errorf("Get = %v, want not found", err)
		}
	})
}

// counter returns the value of a counter with label kind.
func counter(t *testing.T, reg *prometheus.Registry, name, kind string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestReconciler_Run(t *testing.T) {
	st := MustOpenDB(t)
	rec := reconcile.New(reconcile.Config{
		Store:       st,
		Interval:    time.Hour, // only Notify may wake the loop
		PoolHandler: &reconcile.PoolHandler{Store: st, Driver: &runtime.Local{MaxNodesPerPool: 8, StepNodes: 10}},
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		rec.Run(ctx)
	}()
	f := &fixture{tb: t, ctx: t.Context(), st: st, rec: rec}
	f.create(api.KindEnvironment, "", "dev", "", api.EnvironmentSpec{}, api.EnvironmentStatus{Status: api.Status{Phase: api.PhaseReady, ObservedGeneration: 1}})
	ref := f.createPool("p", api.ComputePoolSpec{MinNodes: 2, MaxNodes: 2})

	deadline := time.Now().Add(5 * time.Second)
	for {
		rec.Notify(api.KindComputePool) // never blocks, however often called
		if p := f.pool(ref); p.Status.Settled(p.Meta.Generation) {
			if p.Status.Phase != api.PhaseReady || p.Status.CurrentNodes != 2 {
				t.Errorf("status = %s, want ready", p)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool not settled by the loop: %s", f.pool(ref))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func isCode(err error, code string) bool {
	var apiErr *api.Error
	return errors.As(err, &apiErr) && apiErr.Code == code
}
