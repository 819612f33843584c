package reliability_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/pgtest"
)

// TestReplicaFailover runs two mlopsd processes on one PostgreSQL
// database. Replica a alone takes the leases of ten compute pools that need
// many steps to converge; then b starts, clients write through both, and a
// is killed with SIGKILL. Writes through b go on; the pools are scaled up
// through b, which takes a's leases over once they expire, and every pool
// converges; nothing acknowledged is lost.
func TestReplicaFailover(t *testing.T) {
	const (
		pools    = 10
		minNodes = 40
		// maxNodes is what the pools are scaled to after the kill: the local
		// driver's limit per pool.
		maxNodes = 64
		leaseTTL = 2 * time.Second
	)
	ctx := context.Background()
	dsn := pgtest.Start(t)
	args := []string{"-database-url", dsn, "-reconcile-interval", "100ms", "-lease-ttl", leaseTTL.String()}
	a := startMlopsd(t, freePort(t), args...)
	ca := newClient(t, a.URL)
	if _, err := ca.CreateEnvironment(ctx, "prod", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	for i := range pools {
		if _, err := ca.CreateComputePool(ctx, "prod", fmt.Sprintf("pool-%02d", i), api.ComputePoolSpec{MinNodes: minNodes, MaxNodes: minNodes}); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	aHolder := fmt.Sprintf("-%d-", a.cmd.Process.Pid)
	eventually(t, 10*time.Second, "a holds the leases of every pool", func() error {
		return holdersOf(ctx, db, pools, aHolder)
	})

	b := startMlopsd(t, freePort(t), args...)
	cb := newClient(t, b.URL)

	// Writers: one client per replica, creating feature stores; what was
	// acknowledged is kept.
	var mu sync.Mutex
	acked := map[string]string{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	writerErrs := make([]error, 2)
	for w, url := range []string{a.URL, b.URL} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(t, url)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("fs-%d-%03d", w, i)
				fs, err := c.CreateFeatureStore(ctx, "prod", name, api.FeatureStoreSpec{OfflineStoreURI: "file:///tmp/features"})
				if err != nil {
					if w == 0 {
						// a is killed under its writer; it stops there.
						return
					}
					writerErrs[w] = fmt.Errorf("create %s through b: %w", name, err)
					return
				}
				mu.Lock()
				acked[name] = fs.Metadata.UID
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}

	time.Sleep(500 * time.Millisecond)
	// b may not step a's pools while a is alive.
	if err := holdersOf(ctx, db, pools, aHolder); err != nil {
		t.Errorf("before the kill: %v", err)
	}
	a.kill()
	killedAt := time.Now()
	bHolder := fmt.Sprintf("-%d-", b.cmd.Process.Pid)
	// Scale every pool up through b, so each has work whether or not a got
	// it ready before it died: b must take over a's leases to do it.
	for i := range pools {
		name := fmt.Sprintf("pool-%02d", i)
		p, err := cb.GetComputePool(ctx, "prod", name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cb.UpdateComputePool(ctx, "prod", name, api.ComputePoolSpec{MinNodes: maxNodes, MaxNodes: maxNodes}, p.Metadata.ETag); err != nil {
			t.Fatal(err)
		}
	}

	// Every pool converges through b.
	eventually(t, leaseTTL+20*time.Second, "every pool ready through b", func() error {
		l, err := cb.ListComputePools(ctx, "prod", api.ListOptions{Limit: api.MaxPageSize})
		if err != nil {
			return err
		}
		for _, p := range l.Items {
			if p.Status.Phase != api.PhaseReady || p.Status.CurrentNodes != maxNodes || p.Status.ObservedGeneration != 2 {
				return fmt.Errorf("pool %s: %s with %d nodes", p.Metadata.Name, p.Status.Phase, p.Status.CurrentNodes)
			}
		}
		return nil
	})
	t.Logf("pools converged %v after the kill", time.Since(killedAt).Round(time.Millisecond))
	if err := holdersOf(ctx, db, pools, bHolder); err != nil {
		t.Errorf("after the takeover: %v", err)
	}
	close(stop)
	wg.Wait()
	for _, err := range writerErrs {
		if err != nil {
			t.Error(err)
		}
	}

	names, err := listNames(ctx, t, cb, "prod")
	if err != nil {
		t.Fatal(err)
	}
	writesB := 0
	for name, uid := range acked {
		if strings.HasPrefix(name, "fs-1-") {
			writesB++
		}
		if got := names[api.KindFeatureStore+"/"+name]; got != uid {
			t.Errorf("%s acknowledged with uid %s, now %q", name, uid, got)
		}
	}
	if writesB < 10 {
		t.Errorf("only %d writes through b went through", writesB)
	}
	if len(names) != len(acked)+pools {
		t.Errorf("%d objects, want %d acknowledged feature stores and %d pools", len(names), len(acked), pools)
	}
}

// holdersOf fails unless the leases of n compute pools are held by a holder
// whose name contains holder.
func holdersOf(ctx context.Context, db *sql.DB, n int, holder string) error {
	rows, err := db.QueryContext(ctx, `SELECT l.holder FROM leases l JOIN objects o ON o.uid = l.uid WHERE o.kind = $1`, api.KindComputePool)
	if err != nil {
		return err
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return err
		}
		if !strings.Contains(h, holder) {
			return fmt.Errorf("a pool's lease is held by %s, want a holder with %s", h, holder)
		}
		got++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("%d pool leases, want %d", got, n)
	}
	return nil
}
