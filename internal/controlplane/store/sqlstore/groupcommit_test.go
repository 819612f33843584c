package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlstore"
)

// The tests of group commit run on SQLite, the backend that turns it on.

func openSQLite(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "mlops.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func pool(env, name string) *store.Object {
	return &store.Object{Kind: api.KindComputePool, Meta: api.Metadata{Name: name, Environment: env},
		Spec: json.RawMessage(`{"max_nodes":1}`)}
}

func mustCreateGC(t *testing.T, db *sqlite.DB, obj *store.Object) *store.Object {
	t.Helper()
	res, err := db.Create(context.Background(), obj, store.WriteOptions{Actor: "tester"})
	if err != nil {
		t.Fatalf("Create(%s): %v", obj.Ref(), err)
	}
	return res.Object
}

func errCode(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// waitQueued waits until n writes wait for a batch of db.
func waitQueued(t *testing.T, db *sqlite.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for sqlstore.QueuedWrites(db.Store) < n {
		if time.Now().After(deadline) {
			t.Errorf("%d writes queued after 20s, want %d", sqlstore.QueuedWrites(db.Store), n)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// holdBatch starts a write whose Check blocks until want writes queued
// behind it, so that those writes form the next batch together, and
// returns once that write runs. It returns a function that waits for the
// held write and fails the test if it failed.
func holdBatch(t *testing.T, db *sqlite.DB, want int) func() {
	t.Helper()
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := db.Create(context.Background(), pool("dev", "holder"), store.WriteOptions{Actor: "tester",
			Check: func(context.Context, store.View, *store.Object, *store.Object) error {
				close(started)
				waitQueued(t, db, want)
				return nil
			}})
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("held write ended before its check ran: %v", err)
	}
	return func() {
		t.Helper()
		if err := <-done; err != nil {
			t.Fatalf("held write: %v", err)
		}
	}
}

// gcOp is one write of a batch and what it got.
type gcOp struct {
	name  string
	write func(ctx context.Context) (*store.Result, error)
	res   *store.Result
	err   error
	panic any
}

// runOps starts every op in a goroutine of its own and waits for them.
func runOps(ops []*gcOp) {
	var wg sync.WaitGroup
	for _, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { op.panic = recover() }()
			op.res, op.err = op.write(context.Background())
		}()
	}
	wg.Wait()
}

func wantAuditIntact(t *testing.T, db *sqlite.DB, n int) []api.AuditRecord {
	t.Helper()
	ctx := context.Background()
	if brk, err := db.VerifyAudit(ctx); err != nil || brk != nil {
		t.Fatalf("VerifyAudit = %+v, %v; want an intact chain", brk, err)
	}
	recs, err := db.ListAudit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("audit log has %d records, want %d", len(recs), n)
	}
	for i, rec := range recs {
		if rec.Seq != int64(i+1) {
			t.Fatalf("audit record %d has seq %d", i, rec.Seq)
		}
		if i > 0 && rec.Time.Before(recs[i-1].Time) {
			t.Errorf("audit record %d is older than the one before it", rec.Seq)
		}
	}
	return recs
}

// TestGroupCommit_Batch runs writes that succeed, conflict, replay and fail
// in one batch and checks that each gets the answer it would have got had
// they run one after another, in some order.
func TestGroupCommit_Batch(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	mustCreateGC(t, db, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}, Spec: json.RawMessage(`{}`)})
	target := mustCreateGC(t, db, pool("dev", "target"))

	var ops []*gcOp
	add := func(name string, write func(ctx context.Context) (*store.Result, error)) {
		ops = append(ops, &gcOp{name: name, write: write})
	}
	for i := range 10 {
		add("distinct", func(ctx context.Context) (*store.Result, error) {
			return db.Create(ctx, pool("dev", fmt.Sprintf("pool-%02d", i)), store.WriteOptions{Actor: "tester"})
		})
	}
	for range 5 {
		add("dup", func(ctx context.Context) (*store.Result, error) {
			return db.Create(ctx, pool("dev", "dup"), store.WriteOptions{Actor: "tester"})
		})
	}
	for range 5 {
		add("samekey", func(ctx context.Context) (*store.Result, error) {
			return db.Create(ctx, pool("dev", "idem"), store.WriteOptions{Actor: "tester", IdempotencyKey: "k1", Fingerprint: "f"})
		})
	}
	for i := range 3 {
		add("otherfingerprint", func(ctx context.Context) (*store.Result, error) {
			return db.Create(ctx, pool("dev", fmt.Sprintf("fp-%d", i)), store.WriteOptions{Actor: "tester",
				IdempotencyKey: "k2", Fingerprint: fmt.Sprintf("f%d", i)})
		})
	}
	for range 3 {
		add("ifmatch", func(ctx context.Context) (*store.Result, error) {
			return db.UpdateSpec(ctx, target.Ref(), json.RawMessage(`{"max_nodes":2}`),
				store.WriteOptions{Actor: "tester", IfMatch: target.Meta.ETag})
		})
	}
	for i := range 3 {
		add("noenv", func(ctx context.Context) (*store.Result, error) {
			return db.Create(ctx, pool("nope", fmt.Sprintf("noenv-%d", i)), store.WriteOptions{Actor: "tester"})
		})
	}
	errRefused := errors.New("refused by the check")
	for i := range 3 {
		add("refused", func(ctx context.Context) (*store.Result, error) {
			return db.Create(ctx, pool("dev", fmt.Sprintf("refused-%d", i)), store.WriteOptions{Actor: "tester",
				Check: func(context.Context, store.View, *store.Object, *store.Object) error { return errRefused }})
		})
	}
	errLate := errors.New("failed after writing")
	for i := range 3 {
		add("latefail", func(ctx context.Context) (*store.Result, error) {
			return nil, sqlstore.CreateThenFail(ctx, db.Store, pool("dev", fmt.Sprintf("latefail-%d", i)), errLate)
		})
	}
	add("panics", func(ctx context.Context) (*store.Result, error) {
		return db.Create(ctx, pool("dev", "panics"), store.WriteOptions{Actor: "tester",
			Check: func(context.Context, store.View, *store.Object, *store.Object) error { panic("check panicked") }})
	})
	// A write whose context ends once it has started still completes.
	add("canceledlate", func(ctx context.Context) (*store.Result, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		return db.Create(ctx, pool("dev", "late"), store.WriteOptions{Actor: "tester",
			Check: func(context.Context, store.View, *store.Object, *store.Object) error { cancel(); return nil }})
	})

	release := holdBatch(t, db, len(ops))
	runOps(ops)
	release()
	if got := sqlstore.LargestBatch(db.Store); got < len(ops) {
		t.Fatalf("largest batch held %d writes, want %d", got, len(ops))
	}

	count := map[string]map[string]int{}
	var idemUID string
	for _, op := range ops {
		outcome := "ok"
		switch {
		case op.panic != nil:
			outcome = "panic"
		case op.err != nil:
			outcome = errCode(op.err)
			if errors.Is(op.err, errRefused) {
				outcome = "refused"
			}
			if errors.Is(op.err, errLate) {
				outcome = "latefail"
			}
		case op.res.Replayed:
			outcome = "replayed"
		}
		if count[op.name] == nil {
			count[op.name] = map[string]int{}
		}
		count[op.name][outcome]++
		if op.name == "samekey" && op.err == nil {
			if idemUID != "" && op.res.Object.Meta.UID != idemUID {
				t.Errorf("writes with one idempotency key got objects %s and %s", idemUID, op.res.Object.Meta.UID)
			}
			idemUID = op.res.Object.Meta.UID
		}
	}
	want := map[string]map[string]int{
		"distinct":         {"ok": 10},
		"dup":              {"ok": 1, api.EALREADYEXISTS: 4},
		"samekey":          {"ok": 1, "replayed": 4},
		"otherfingerprint": {"ok": 1, api.ECONFLICT: 2},
		"ifmatch":          {"ok": 1, api.ECONFLICT: 2},
		"noenv":            {api.EINVALID: 3},
		"refused":          {"refused": 3},
		"latefail":         {"latefail": 3},
		"panics":           {"panic": 1},
		"canceledlate":     {"ok": 1},
	}
	for name, w := range want {
		if fmt.Sprint(count[name]) != fmt.Sprint(w) {
			t.Errorf("%s: outcomes %v, want %v", name, count[name], w)
		}
	}
	for _, op := range ops {
		if op.name == "distinct" && op.err != nil {
			t.Errorf("create of a distinct name: %v", op.err)
		}
	}

	// What failed left nothing behind; what succeeded is there.
	for _, name := range []string{"refused-0", "refused-1", "refused-2", "latefail-0", "latefail-1", "latefail-2", "panics"} {
		if _, err := db.Get(ctx, pool("dev", name).Ref()); errCode(err) != api.ENOTFOUND {
			t.Errorf("Get(%s) after a failed create: %v, want not found", name, err)
		}
	}
	for i := range 10 {
		if _, err := db.Get(ctx, pool("dev", fmt.Sprintf("pool-%02d", i)).Ref()); err != nil {
			t.Errorf("Get(pool-%02d): %v", i, err)
		}
	}
	got, err := db.Get(ctx, target.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.Generation != 2 {
		t.Errorf("target has generation %d after one update, want 2", got.Meta.Generation)
	}

	// env, target, holder, 10 distinct, dup, idem, one fp-*, one update, late.
	wantAuditIntact(t, db, 2+1+10+1+1+1+1+1)
}

// TestGroupCommit_CommitFails checks that a batch whose COMMIT fails gives
// the error to each of its writes and keeps none of them, and that the
// store goes on working.
func TestGroupCommit_CommitFails(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	mustCreateGC(t, db, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}, Spec: json.RawMessage(`{}`)})
	mustCreateGC(t, db, pool("dev", "taken"))

	errCommit := errors.New("disk on fire")
	sqlstore.SetBeforeCommit(db.Store, func(_ *sql.Tx, writes int) error {
		if writes > 1 {
			return errCommit
		}
		return nil
	})
	var ops []*gcOp
	for i := range 8 {
		ops = append(ops, &gcOp{name: "create", write: func(ctx context.Context) (*store.Result, error) {
			return db.Create(ctx, pool("dev", fmt.Sprintf("pool-%d", i)), store.WriteOptions{Actor: "tester",
				IdempotencyKey: fmt.Sprintf("key-%d", i), Fingerprint: "f"})
		}})
	}
	ops = append(ops, &gcOp{name: "taken", write: func(ctx context.Context) (*store.Result, error) {
		return db.Create(ctx, pool("dev", "taken"), store.WriteOptions{Actor: "tester"})
	}})
	release := holdBatch(t, db, len(ops))
	runOps(ops)
	release()
	sqlstore.SetBeforeCommit(db.Store, nil)

	for _, op := range ops {
		switch op.name {
		case "create":
			if !errors.Is(op.err, errCommit) {
				t.Errorf("write of a batch whose commit failed: %v, want the commit's error", op.err)
			}
		case "taken":
			// It failed on its own before the COMMIT, and says so.
			if errCode(op.err) != api.EALREADYEXISTS {
				t.Errorf("create of a taken name: %v, want already exists", op.err)
			}
		}
	}
	for i := range 8 {
		if _, err := db.Get(ctx, pool("dev", fmt.Sprintf("pool-%d", i)).Ref()); errCode(err) != api.ENOTFOUND {
			t.Errorf("Get(pool-%d) after a failed commit: %v, want not found", i, err)
		}
	}
	// The keys were not kept either: a retry runs the write.
	res, err := db.Create(ctx, pool("dev", "pool-0"), store.WriteOptions{Actor: "tester", IdempotencyKey: "key-0", Fingerprint: "f"})
	if err != nil || res.Replayed {
		t.Fatalf("retry after a failed commit: %+v, %v; want a new write", res, err)
	}
	// env, taken, holder, the retry.
	wantAuditIntact(t, db, 4)
}

// TestGroupCommit_CommitRefusedBySQLite makes SQLite itself refuse a
// batch's COMMIT (a deferred foreign key left broken) rather than failing
// before it, and checks that the one write connection is not left inside
// the refused transaction: every later write would fail if it were.
func TestGroupCommit_CommitRefusedBySQLite(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	mustCreateGC(t, db, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}, Spec: json.RawMessage(`{}`)})

	sqlstore.SetBeforeCommit(db.Store, func(tx *sql.Tx, _ int) error {
		if _, err := tx.Exec(`PRAGMA defer_foreign_keys = ON`); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO leases (uid, holder, expires_at) VALUES ('no-such-object', 'tester', '9999')`)
		return err
	})
	_, err := db.Create(ctx, pool("dev", "refused"), store.WriteOptions{Actor: "tester"})
	sqlstore.SetBeforeCommit(db.Store, nil)
	if err == nil || !strings.Contains(err.Error(), "commit") {
		t.Fatalf("create in a batch whose COMMIT SQLite refused: %v, want the commit's error", err)
	}
	if _, err := db.Get(ctx, pool("dev", "refused").Ref()); errCode(err) != api.ENOTFOUND {
		t.Errorf("Get after a refused commit: %v, want not found", err)
	}
	for i := range 3 {
		if _, err := db.Create(ctx, pool("dev", fmt.Sprintf("after-%d", i)), store.WriteOptions{Actor: "tester"}); err != nil {
			t.Fatalf("write %d after a refused commit: %v", i, err)
		}
	}
	// env and the three writes after it; the refused one left no record.
	wantAuditIntact(t, db, 4)
}

// TestGroupCommit_CanceledWhileQueued checks that a write whose context
// ends while it waits for its batch returns at once and is not run.
func TestGroupCommit_CanceledWhileQueued(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	mustCreateGC(t, db, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}, Spec: json.RawMessage(`{}`)})

	// The holder's batch runs until gate closes.
	gate, started, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := db.Create(ctx, pool("dev", "holder"), store.WriteOptions{Actor: "tester",
			Check: func(context.Context, store.View, *store.Object, *store.Object) error {
				close(started)
				<-gate
				return nil
			}})
		held <- err
	}()
	<-started

	cctx, cancel := context.WithCancel(ctx)
	canceled := make(chan error, 1)
	go func() {
		_, err := db.Create(cctx, pool("dev", "canceled"), store.WriteOptions{Actor: "tester"})
		canceled <- err
	}()
	waitQueued(t, db, 1)
	cancel()
	select {
	case err := <-canceled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("write canceled while queued: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		close(gate)
		t.Fatal("a write canceled while queued did not return while the batch before it ran")
	}
	if n := sqlstore.QueuedWrites(db.Store); n != 0 {
		t.Errorf("%d writes queued after the canceled one left, want 0", n)
	}

	other := make(chan error, 1)
	go func() {
		_, err := db.Create(ctx, pool("dev", "other"), store.WriteOptions{Actor: "tester"})
		other <- err
	}()
	waitQueued(t, db, 1)
	close(gate)
	if err := <-held; err != nil {
		t.Errorf("held write: %v", err)
	}
	if err := <-other; err != nil {
		t.Errorf("write queued after the canceled one: %v", err)
	}
	if _, err := db.Get(ctx, pool("dev", "canceled").Ref()); errCode(err) != api.ENOTFOUND {
		t.Errorf("Get(canceled): %v, want not found", err)
	}
	// env, holder, other.
	wantAuditIntact(t, db, 3)
}

// TestGroupCommit_CanceledInBatch checks that a write whose context ended
// after its batch took it, but before the batch reached it, is not run,
// and that the rest of the batch is.
func TestGroupCommit_CanceledInBatch(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	mustCreateGC(t, db, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}, Spec: json.RawMessage(`{}`)})

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ops := []*gcOp{{name: "first", write: func(ctx context.Context) (*store.Result, error) {
		// It runs first in its batch and ends the others' context.
		return db.Create(ctx, pool("dev", "first"), store.WriteOptions{Actor: "tester",
			Check: func(context.Context, store.View, *store.Object, *store.Object) error { cancel(); return nil }})
	}}}
	for i := range 2 {
		ops = append(ops, &gcOp{name: "canceled", write: func(context.Context) (*store.Result, error) {
			return db.Create(cctx, pool("dev", fmt.Sprintf("canceled-%d", i)), store.WriteOptions{Actor: "tester"})
		}})
	}
	ops = append(ops, &gcOp{name: "last", write: func(ctx context.Context) (*store.Result, error) {
		return db.Create(ctx, pool("dev", "last"), store.WriteOptions{Actor: "tester"})
	}})

	release := holdBatch(t, db, len(ops))
	var wg sync.WaitGroup
	for i, op := range ops {
		// One after another, so the batch holds them in this order.
		wg.Add(1)
		go func() {
			defer wg.Done()
			runOps([]*gcOp{op})
		}()
		// Not after the last: the held write waits for it, and its batch
		// may take the whole queue before this would see it full.
		if i < len(ops)-1 {
			waitQueued(t, db, i+1)
		}
	}
	wg.Wait()
	release()

	for _, op := range ops {
		switch op.name {
		case "canceled":
			if !errors.Is(op.err, context.Canceled) {
				t.Errorf("write canceled before its batch reached it: %v, want context.Canceled", op.err)
			}
		default:
			if op.err != nil {
				t.Errorf("%s: %v", op.name, op.err)
			}
		}
	}
	for _, name := range []string{"canceled-0", "canceled-1"} {
		if _, err := db.Get(ctx, pool("dev", name).Ref()); errCode(err) != api.ENOTFOUND {
			t.Errorf("Get(%s): %v, want not found", name, err)
		}
	}
	// env, holder, first, last.
	wantAuditIntact(t, db, 4)
}

// TestGroupCommit_Concurrent races many writers of every kind of write and
// checks the audit chain and the objects afterwards.
func TestGroupCommit_Concurrent(t *testing.T) {
	db := openSQLite(t)
	ctx := context.Background()
	mustCreateGC(t, db, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}, Spec: json.RawMessage(`{}`)})

	const writers, rounds = 32, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				name := fmt.Sprintf("w%02d-%d", w, r)
				res, err := db.Create(ctx, pool("dev", name), store.WriteOptions{Actor: "tester"})
				if err != nil {
					errs <- fmt.Errorf("create %s: %w", name, err)
					continue
				}
				// Every second object is updated with its etag, then deleted.
				if r%2 == 0 {
					continue
				}
				up, err := db.UpdateSpec(ctx, res.Object.Ref(), json.RawMessage(`{"max_nodes":3}`),
					store.WriteOptions{Actor: "tester", IfMatch: res.Object.Meta.ETag})
				if err != nil {
					errs <- fmt.Errorf("update %s: %w", name, err)
					continue
				}
				if _, err := db.UpdateStatus(ctx, up.Object.Ref(), up.Object.Meta.UID, json.RawMessage(`{"phase":"ready"}`)); err != nil {
					errs <- fmt.Errorf("status %s: %w", name, err)
				}
				if _, err := db.Delete(ctx, up.Object.Ref(), false, store.WriteOptions{Actor: "tester", IfMatch: up.Object.Meta.ETag}); err != nil {
					errs <- fmt.Errorf("delete %s: %w", name, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	objs, _, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{Limit: api.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != writers*rounds/2 {
		t.Errorf("%d pools left, want %d", len(objs), writers*rounds/2)
	}
	// The environment, a create of each, and an update and a delete of half.
	wantAuditIntact(t, db, 1+writers*rounds+writers*rounds)
	t.Logf("largest batch: %d writes", sqlstore.LargestBatch(db.Store))
}
