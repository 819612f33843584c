// Package storetest is the conformance suite of store.Store: the behaviour
// every backend must show, written once and run against each of them
// (store/sqlite, store/postgres) from their tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Backend{
//			NewDatabase: func(t *testing.T) string { return filepath.Join(t.TempDir(), "mlops.db") },
//			Open: func(path string, clock store.Clock) (store.Store, error) {
//				return sqlite.Open(path, sqlite.WithClock(clock))
//			},
//		})
//	}
//
// Tests of what only one backend has (SQLite's pragmas and file paths,
// PostgreSQL's DSNs and locks) stay in the backend's package.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Backend is how the suite reaches the implementation under test.
type Backend struct {
	// NewDatabase creates a new, empty database that is removed when t
	// ends, and returns what Open takes to reach it: a file path, a DSN.
	NewDatabase func(t *testing.T) string
	// Open opens a store on database whose write transactions take their
	// time from clock; with clock nil the store uses the system clock. Each
	// call opens another store, as another mlopsd process or replica would.
	// The suite closes every store it opens.
	Open func(database string, clock store.Clock) (store.Store, error)
	// ExecSQL, when set, runs one SQL statement directly on database,
	// behind the store's back, as an intruder with database access would.
	// Tests that tamper with the audit log are skipped without it.
	ExecSQL func(t *testing.T, database, query string)
}

// suite runs the tests against one backend.
type suite struct {
	b Backend
}

// Run runs the conformance suite against b.
func Run(t *testing.T, b Backend) {
	s := &suite{b: b}
	t.Run("Open", s.testOpen)
	t.Run("Reopen", s.testReopen)
	t.Run("Create", s.testCreate)
	t.Run("Get", s.testGet)
	t.Run("UpdateSpec", s.testUpdateSpec)
	t.Run("Check", s.testCheck)
	t.Run("Delete", s.testDelete)
	t.Run("Finalize", s.testFinalize)
	t.Run("UpdateStatus", s.testUpdateStatus)
	t.Run("Pending", s.testPending)
	t.Run("List", s.testList)
	t.Run("ListAudit", s.testListAudit)
	t.Run("AuditChain", s.testAuditChain)
	t.Run("Tokens", s.testTokens)
	t.Run("Idempotency", s.testIdempotency)
	t.Run("Concurrent", s.testConcurrent)
	t.Run("Leases", s.testLeases)
	t.Run("Metrics", s.testMetrics)
}

// t0 has nanoseconds on purpose: the store keeps microseconds.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)

// stepClock returns t0, t0+1s, t0+2s, ... one step per call, so tests can
// tell transactions apart by their timestamps.
type stepClock struct {
	mu sync.Mutex
	n  int
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := t0.Add(time.Duration(c.n) * time.Second)
	c.n++
	return t
}

// Last returns the time the latest call to Now returned, as the store keeps it.
func (c *stepClock) Last() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return t0.Add(time.Duration(c.n-1) * time.Second).Truncate(time.Microsecond)
}

// open opens a store on a new database, with a stepClock. It is closed when
// the test ends.
func (s *suite) open(t *testing.T) (store.Store, *stepClock) {
	t.Helper()
	clock := &stepClock{}
	return s.openWith(t, clock.Now), clock
}

// openWith opens a store on a new database with clock. It is closed when the
// test ends.
func (s *suite) openWith(t *testing.T, clock store.Clock) store.Store {
	t.Helper()
	db, _ := s.openAt(t, s.b.NewDatabase(t), clock)
	return db
}

// openAt opens a store on database with clock, and returns it with a
// function that closes it. Unless that was called, the store is closed when
// the test ends.
func (s *suite) openAt(t *testing.T, database string, clock store.Clock) (store.Store, func()) {
	t.Helper()
	db, err := s.b.Open(database, clock)
	if err != nil {
		t.Fatalf("Open(%q): %v", database, err)
	}
	var once sync.Once
	closeDB := func() {
		once.Do(func() {
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(closeDB)
	return db, closeDB
}

// envRef names environment name.
func envRef(name string) api.Ref {
	return api.Ref{Kind: api.KindEnvironment, Name: name}
}

// ref names an object of kind in env.
func ref(kind, env, name string) api.Ref {
	return api.Ref{Kind: kind, Environment: env, Name: name}
}

// newObject builds an object to create.
func newObject(r api.Ref, parent, spec string) *store.Object {
	return &store.Object{
		Kind:   r.Kind,
		Meta:   api.Metadata{Name: r.Name, Environment: r.Environment},
		Parent: parent,
		Spec:   json.RawMessage(spec),
	}
}

// mustCreate creates an object and fails the test on error.
func mustCreate(tb testing.TB, db store.Store, r api.Ref, parent, spec string) *store.Object {
	tb.Helper()
	res, err := db.Create(context.Background(), newObject(r, parent, spec), store.WriteOptions{Actor: "tester"})
	if err != nil {
		tb.Fatalf("Create(%s): %v", r, err)
	}
	return res.Object
}

// mustCreateEnv creates an environment and fails the test on error.
func mustCreateEnv(tb testing.TB, db store.Store, name string) *store.Object {
	tb.Helper()
	return mustCreate(tb, db, envRef(name), "", `{"policy":{}}`)
}

// mustGet reads an object and fails the test on error.
func mustGet(tb testing.TB, db store.Store, r api.Ref) *store.Object {
	tb.Helper()
	obj, err := db.Get(context.Background(), r)
	if err != nil {
		tb.Fatalf("Get(%s): %v", r, err)
	}
	return obj
}

// mustAudit reads the whole audit log.
func mustAudit(tb testing.TB, db store.Store) []api.AuditRecord {
	tb.Helper()
	recs, err := db.ListAudit(context.Background(), 0, api.MaxPageSize)
	if err != nil {
		tb.Fatalf("ListAudit: %v", err)
	}
	return recs
}

// wantCode fails the test unless err is an *api.Error with code, and
// returns a copy of it.
func wantCode(tb testing.TB, err error, code string) api.Error {
	tb.Helper()
	var apiErr *api.Error
	if !errors.As(err, &apiErr) {
		tb.Fatalf("err = %v (%T), want *api.Error with code %q", err, err, code)
	}
	if apiErr.Code != code {
		tb.Fatalf("code = %q (%v), want %q", apiErr.Code, apiErr, code)
	}
	return *apiErr
}

// wantEqual fails the test unless got and want are deeply equal.
func wantEqual(tb testing.TB, what string, got, want any) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func (s *suite) testOpen(t *testing.T) {
	t.Run("Ping", func(t *testing.T) {
		db, _ := s.open(t)
		if err := db.Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})

	t.Run("DefaultClockIsUTC", func(t *testing.T) {
		db := s.openWith(t, nil)
		before := time.Now().Add(-time.Second)
		env := mustCreateEnv(t, db, "dev")
		if env.Meta.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt location = %v, want UTC", env.Meta.CreatedAt.Location())
		}
		if env.Meta.CreatedAt.Before(before) || env.Meta.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("CreatedAt = %v, want about now", env.Meta.CreatedAt)
		}
		if env.Meta.CreatedAt.Nanosecond()%1000 != 0 {
			t.Errorf("CreatedAt = %v, want microsecond precision", env.Meta.CreatedAt)
		}
		wantEqual(t, "Get", mustGet(t, db, env.Ref()), env)
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		db, _ := s.open(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := db.Create(ctx, newObject(envRef("dev"), "", `{}`), store.WriteOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Create with canceled context: err = %v, want context.Canceled wrapped", err)
		}
		if _, err := db.Get(ctx, envRef("dev")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with canceled context: err = %v, want context.Canceled wrapped", err)
		}
		// The store is still usable afterwards.
		mustCreateEnv(t, db, "dev")
	})
}

// testReopen checks that everything written survives Close and a new open
// of the same database: objects, marks, statuses, the audit log and
// idempotency keys.
func (s *suite) testReopen(t *testing.T) {
	ctx := context.Background()
	clock := &stepClock{}
	database := s.b.NewDatabase(t)

	db, closeDB := s.openAt(t, database, clock.Now)
	mustCreateEnv(t, db, "dev")
	createOpts := store.WriteOptions{Actor: "alice", IdempotencyKey: "key-1", Fingerprint: "POST /pool a"}
	created, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "a"), "", `{"x":1}`), createOpts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	pool := created.Object
	if _, err := db.UpdateStatus(ctx, pool.Ref(), pool.Meta.UID, json.RawMessage(`{"phase":"ready","observed_generation":1}`)); err != nil {
		t.Fatalf("UpdateStatus: %v", err)
	}
	mustCreate(t, db, ref(api.KindComputePool, "dev", "b"), "", `{}`)
	if _, err := db.Delete(ctx, ref(api.KindComputePool, "dev", "b"), true, store.WriteOptions{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantObjs, _, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	wantAudit := mustAudit(t, db)
	closeDB()

	// Reopening applies no migration twice and finds everything.
	for range 2 {
		db, closeDB = s.openAt(t, database, clock.Now)
		gotObjs, _, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{})
		if err != nil {
			t.Fatalf("List after reopen: %v", err)
		}
		wantEqual(t, "objects after reopen", gotObjs, wantObjs)
		wantEqual(t, "audit after reopen", mustAudit(t, db), wantAudit)

		replay, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "a"), "", `{"x":1}`), createOpts)
		if err != nil {
			t.Fatalf("replayed Create after reopen: %v", err)
		}
		if !replay.Replayed || replay.Object.Meta.UID != pool.Meta.UID {
			t.Fatalf("replayed Create after reopen = %+v, want Replayed with uid %s", replay, pool.Meta.UID)
		}
		closeDB()
	}
}
