package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// concurrency is how many goroutines the tests below race.
const concurrency = 16

// runConcurrently calls fn(i) for i in 0..concurrency-1 from as many
// goroutines released at once, and returns their errors.
func runConcurrently(fn func(i int) error) []error {
	n := concurrency
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

// wantGaplessAudit fails the test unless the audit log holds n records with
// seq 1..n.
func wantGaplessAudit(tb testing.TB, db store.Store, n int) {
	tb.Helper()
	recs := mustAudit(tb, db)
	if len(recs) != n {
		tb.Fatalf("audit log has %d records, want %d", len(recs), n)
	}
	for i, rec := range recs {
		if rec.Seq != int64(i+1) {
			tb.Fatalf("audit record %d has seq %d, want %d", i, rec.Seq, i+1)
		}
	}
}

func (s *suite) testConcurrent(t *testing.T) {
	ctx := context.Background()

	t.Run("DistinctNames", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")

		errs := runConcurrently(func(i int) error {
			_, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", fmt.Sprintf("pool-%02d", i)), "", `{}`),
				store.WriteOptions{Actor: "tester"})
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("Create %d: %v", i, err)
			}
		}
		objs, _, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{})
		if err != nil || len(objs) != concurrency {
			t.Fatalf("List = %d objects, %v; want %d", len(objs), err, concurrency)
		}
		wantGaplessAudit(t, db, concurrency+1)
	})

	t.Run("SameIdempotencyKey", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")

		results := make([]*store.Result, concurrency)
		errs := runConcurrently(func(i int) error {
			var err error
			results[i], err = db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "gpu"), "", `{}`),
				store.WriteOptions{IdempotencyKey: "retry-me", Fingerprint: "f"})
			return err
		})
		fresh := 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Create %d: %v", i, err)
			}
			if !results[i].Replayed {
				fresh++
			}
			if results[i].Object.Meta.UID != results[0].Object.Meta.UID {
				t.Errorf("Create %d returned uid %s, want %s", i, results[i].Object.Meta.UID, results[0].Object.Meta.UID)
			}
		}
		if fresh != 1 {
			t.Errorf("%d results were not replays, want exactly 1", fresh)
		}
		objs, _, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{})
		if err != nil || len(objs) != 1 {
			t.Fatalf("List = %d objects, %v; want 1", len(objs), err)
		}
		wantGaplessAudit(t, db, 2)
	})

	t.Run("SameName", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		errs := runConcurrently(func(int) error {
			_, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "gpu"), "", `{}`), store.WriteOptions{})
			return err
		})
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !isCode(err, api.EALREADYEXISTS) {
				t.Errorf("Create: %v, want nil or EALREADYEXISTS", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d creates succeeded, want exactly 1", ok)
		}
	})

	t.Run("UpdatesWithIfMatch", func(t *testing.T) {
		// Of several writers holding the same etag exactly one wins; the
		// others get ECONFLICT instead of silently overwriting.
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{"n":0}`)
		errs := runConcurrently(func(i int) error {
			_, err := db.UpdateSpec(ctx, v1.Ref(), []byte(fmt.Sprintf(`{"n":%d}`, i+1)), store.WriteOptions{IfMatch: v1.Meta.ETag})
			return err
		})
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !isCode(err, api.ECONFLICT) {
				t.Errorf("UpdateSpec: %v, want nil or ECONFLICT", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d updates succeeded, want exactly 1", ok)
		}
		if got := mustGet(t, db, v1.Ref()); got.Meta.Generation != 2 {
			t.Errorf("Generation = %d, want 2", got.Meta.Generation)
		}
	})

	t.Run("TwoHandles", func(t *testing.T) {
		// Two stores on one database behave like two mlopsd processes (or
		// replicas): their writers contend for the database, and every
		// write must still see the other's and keep the audit log gapless.
		database := s.b.NewDatabase(t)
		a, _ := s.openAt(t, database, nil)
		b, _ := s.openAt(t, database, nil)
		mustCreateEnv(t, a, "dev")

		errs := runConcurrently(func(i int) error {
			db := a
			if i%2 == 1 {
				db = b
			}
			name := fmt.Sprintf("pool-%02d", i)
			if _, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", name), "", `{}`), store.WriteOptions{}); err != nil {
				return err
			}
			_, err := db.Delete(ctx, ref(api.KindComputePool, "dev", name), true, store.WriteOptions{})
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		}
		for _, db := range []store.Store{a, b} {
			objs, _, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{})
			if err != nil || len(objs) != concurrency {
				t.Fatalf("List = %d objects, %v; want %d", len(objs), err, concurrency)
			}
		}
		wantGaplessAudit(t, a, 1+2*concurrency)
	})
}
