package reconcile_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// recordingHandler records which replica reconciled which object.
type recordingHandler struct {
	mu   sync.Mutex
	seen map[string][]string // uid -> replicas
}

type namedHandler struct {
	h    *recordingHandler
	name string
}

func (n namedHandler) Reconcile(_ context.Context, obj *store.Object) error {
	n.h.mu.Lock()
	defer n.h.mu.Unlock()
	n.h.seen[obj.Meta.UID] = append(n.h.seen[obj.Meta.UID], n.name)
	return nil
}

// TestReconciler_Leases runs two reconcilers, as two replicas would, on one
// store: the one that claims an object's lease first is the only one to
// reconcile it until it releases its leases.
func TestReconciler_Leases(t *testing.T) {
	f := newFixture(t, &runtime.Local{MaxNodesPerPool: 4})
	for i := range 5 {
		f.create(api.KindComputePool, "dev", fmt.Sprintf("p%d", i), "", api.ComputePoolSpec{MaxNodes: 1}, api.ComputePoolStatus{})
	}
	rec := &recordingHandler{seen: map[string][]string{}}
	replica := func(name string) *reconcile.Reconciler {
		return reconcile.New(reconcile.Config{
			Store:       f.st,
			PoolHandler: namedHandler{h: rec, name: name},
			Holder:      name,
			LeaseTTL:    time.Minute,
		})
	}
	a, b := replica("a"), replica("b")
	for range 3 {
		a.Pass(f.ctx)
		b.Pass(f.ctx)
	}
	if len(rec.seen) != 5 {
		t.Fatalf("%d pools reconciled, want 5", len(rec.seen))
	}
	for uid, by := range rec.seen {
		for _, r := range by {
			if r != "a" {
				t.Errorf("pool %s reconciled by %v, want only by a, which holds its lease", uid, by)
			}
		}
	}
	if err := a.ReleaseLeases(f.ctx); err != nil {
		t.Fatal(err)
	}
	rec.seen = map[string][]string{}
	b.Pass(f.ctx)
	a.Pass(f.ctx)
	for uid, by := range rec.seen {
		if len(by) != 1 || by[0] != "b" {
			t.Errorf("after a released its leases, pool %s reconciled by %v, want b alone", uid, by)
		}
	}
	if len(rec.seen) != 5 {
		t.Errorf("%d pools reconciled after the release, want 5", len(rec.seen))
	}
}
