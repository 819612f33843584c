package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// manualClock is a clock tests move by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// leaseTTL is how long the leases of the lease tests last.
const leaseTTL = 10 * time.Second

// mustClaim claims leases for leaseTTL and fails the test on error.
func mustClaim(tb testing.TB, db store.Store, holder string, uids []string) []string {
	tb.Helper()
	got, err := db.ClaimLeases(context.Background(), holder, uids, leaseTTL)
	if err != nil {
		tb.Fatalf("ClaimLeases(%s): %v", holder, err)
	}
	return got
}

func (s *suite) testLeases(t *testing.T) {
	ctx := context.Background()

	t.Run("ClaimRenewExpireRelease", func(t *testing.T) {
		clock := &manualClock{t: t0}
		db := s.openWith(t, clock.Now)
		mustCreateEnv(t, db, "dev")
		a := mustCreate(t, db, ref(api.KindComputePool, "dev", "a"), "", `{}`).Meta.UID
		b := mustCreate(t, db, ref(api.KindComputePool, "dev", "b"), "", `{}`).Meta.UID
		both := []string{a, b}

		wantEqual(t, "first claim", mustClaim(t, db, "r1", both), both)
		wantEqual(t, "claim of held leases", mustClaim(t, db, "r2", both), []string(nil))
		wantEqual(t, "claim of no object", mustClaim(t, db, "r2", []string{"no-such-uid"}), []string(nil))
		wantEqual(t, "claim with duplicates", mustClaim(t, db, "r1", []string{b, b, a}), []string{b, a})

		// Renewed at t0+6s, so the leases last until t0+16s.
		clock.Advance(6 * time.Second)
		wantEqual(t, "renewal", mustClaim(t, db, "r1", both), both)
		clock.Advance(9 * time.Second)
		wantEqual(t, "claim before expiry", mustClaim(t, db, "r2", both), []string(nil))
		clock.Advance(2 * time.Second)
		wantEqual(t, "takeover after expiry", mustClaim(t, db, "r2", []string{a}), []string{a})
		wantEqual(t, "old holder after takeover", mustClaim(t, db, "r1", both), []string{b})

		if err := db.ReleaseLeases(ctx, "r1", []string{a, b}); err != nil {
			t.Fatalf("ReleaseLeases: %v", err)
		}
		// r1 held only b; a stays r2's.
		wantEqual(t, "claim after release", mustClaim(t, db, "r3", both), []string{b})
		if err := db.ReleaseLeases(ctx, "r3", nil); err != nil {
			t.Fatalf("ReleaseLeases(all): %v", err)
		}
		wantEqual(t, "claim after release of all", mustClaim(t, db, "r1", both), []string{b})
		wantEqual(t, "empty claim", mustClaim(t, db, "r1", nil), []string(nil))
	})

	t.Run("GoneWithObject", func(t *testing.T) {
		clock := &manualClock{t: t0}
		db := s.openWith(t, clock.Now)
		mustCreateEnv(t, db, "dev")
		r := ref(api.KindComputePool, "dev", "a")
		uid := mustCreate(t, db, r, "", `{}`).Meta.UID
		wantEqual(t, "claim", mustClaim(t, db, "r1", []string{uid}), []string{uid})
		if _, err := db.Delete(ctx, r, false, store.WriteOptions{Actor: "tester"}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantEqual(t, "claim of a deleted object", mustClaim(t, db, "r1", []string{uid}), []string(nil))
		// A new object of the same name has a new uid and a free lease.
		uid2 := mustCreate(t, db, r, "", `{}`).Meta.UID
		wantEqual(t, "claim of the new object", mustClaim(t, db, "r2", []string{uid2}), []string{uid2})
	})

	t.Run("BadArguments", func(t *testing.T) {
		db, _ := s.open(t)
		if _, err := db.ClaimLeases(ctx, "", []string{"x"}, leaseTTL); err == nil {
			t.Error("ClaimLeases with no holder: no error")
		}
		if _, err := db.ClaimLeases(ctx, "r1", []string{"x"}, 0); err == nil {
			t.Error("ClaimLeases with ttl 0: no error")
		}
	})

	// Replicas (one store each, as separate processes would have) race for
	// the same objects: each lease goes to exactly one of them.
	t.Run("Concurrent", func(t *testing.T) {
		database := s.b.NewDatabase(t)
		clock := &manualClock{t: t0}
		first, _ := s.openAt(t, database, clock.Now)
		mustCreateEnv(t, first, "dev")
		var uids []string
		for i := range 20 {
			uids = append(uids, mustCreate(t, first, ref(api.KindComputePool, "dev", fmt.Sprintf("p%02d", i)), "", `{}`).Meta.UID)
		}
		const replicas = 4
		dbs := []store.Store{first}
		for range replicas - 1 {
			db, _ := s.openAt(t, database, clock.Now)
			dbs = append(dbs, db)
		}
		for round := range 3 {
			owners := map[string]string{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			errs := make([]error, replicas*2)
			for i := range replicas * 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					holder := fmt.Sprintf("replica-%d", i%replicas)
					got, err := dbs[i%replicas].ClaimLeases(ctx, holder, uids, leaseTTL)
					errs[i] = err
					mu.Lock()
					defer mu.Unlock()
					for _, uid := range got {
						if o, ok := owners[uid]; ok && o != holder {
							t.Errorf("round %d: lease %s claimed by %s and %s", round, uid, o, holder)
						}
						owners[uid] = holder
					}
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: claim %d: %v", round, i, err)
				}
			}
			// Every lease was free at the start of the round, so every
			// one went to someone... unless every claimer skipped a row
			// locked by another that then gave it up; that cannot happen,
			// as the claimer that locked it takes it.
			if len(owners) != len(uids) {
				t.Errorf("round %d: %d of %d leases claimed", round, len(owners), len(uids))
			}
			clock.Advance(2 * leaseTTL)
		}
	})
}
