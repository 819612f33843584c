package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

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

// MustOpenDB opens a new database file in a temporary directory, with a
// stepClock.
func MustOpenDB(tb testing.TB) (*sqlite.DB, *stepClock) {
	tb.Helper()
	clock := &stepClock{}
	db := MustOpenDBAt(tb, filepath.Join(tb.TempDir(), "mlops.db"), sqlite.WithClock(clock.Now))
	return db, clock
}

// MustOpenDBAt opens the database file at path.
func MustOpenDBAt(tb testing.TB, path string, opts ...sqlite.Option) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(path, opts...)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	return db
}

// MustCloseDB closes db.
func MustCloseDB(tb testing.TB, db *sqlite.DB) {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
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
func mustCreate(tb testing.TB, db *sqlite.DB, r api.Ref, parent, spec string) *store.Object {
	tb.Helper()
	res, err := db.Create(context.Background(), newObject(r, parent, spec), store.WriteOptions{Actor: "tester"})
	if err != nil {
		tb.Fatalf("Create(%s): %v", r, err)
	}
	return res.Object
}

// mustCreateEnv creates an environment and fails the test on error.
func mustCreateEnv(tb testing.TB, db *sqlite.DB, name string) *store.Object {
	tb.Helper()
	return mustCreate(tb, db, envRef(name), "", `{"policy":{}}`)
}

// mustGet reads an object and fails the test on error.
func mustGet(tb testing.TB, db *sqlite.DB, r api.Ref) *store.Object {
	tb.Helper()
	obj, err := db.Get(context.Background(), r)
	if err != nil {
		tb.Fatalf("Get(%s): %v", r, err)
	}
	return obj
}

// mustAudit reads the whole audit log.
func mustAudit(tb testing.TB, db *sqlite.DB) []api.AuditRecord {
	tb.Helper()
	recs, err := db.ListAudit(context.Background(), 0, api.MaxPageSize)
	if err != nil {
		tb.Fatalf("ListAudit: %v", err)
	}
	return recs
}

// wantCode fails the test unless err is an *api.Error with code, and
// returns it.
func wantCode(tb testing.TB, err error, code string) *api.Error {
	tb.Helper()
	var apiErr *api.Error
	if !errors.As(err, &apiErr) {
		tb.Fatalf("err = %v (%T), want *api.Error with code %q", err, err, code)
	}
	if apiErr.Code != code {
		tb.Fatalf("code = %q (%v), want %q", apiErr.Code, apiErr, code)
	}
	return apiErr
}

// wantEqual fails the test unless got and want are deeply equal.
func wantEqual(tb testing.TB, what string, got, want any) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func TestOpen(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		defer MustCloseDB(t, db)
		if err := db.Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})

	t.Run("ErrNoPath", func(t *testing.T) {
		for _, path := range []string{"", ":memory:", "file::memory:", filepath.Join(t.TempDir(), "a?b.db")} {
			if db, err := sqlite.Open(path); err == nil {
				_ = db.Close()
				t.Errorf("Open(%q) succeeded, want an error", path)
			}
		}
	})

	t.Run("ErrMissingDirectory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "no", "such", "dir", "mlops.db")
		if db, err := sqlite.Open(path); err == nil {
			_ = db.Close()
			t.Fatalf("Open(%q) succeeded, want an error", path)
		}
	})

	t.Run("DefaultClockIsUTC", func(t *testing.T) {
		db := MustOpenDBAt(t, filepath.Join(t.TempDir(), "mlops.db"))
		defer MustCloseDB(t, db)
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
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		defer MustCloseDB(t, db)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := db.Create(ctx, newObject(envRef("dev"), "", `{}`), store.WriteOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Create with canceled context: err = %v, want context.Canceled wrapped", err)
		}
		if _, err := db.Get(ctx, envRef("dev")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with canceled context: err = %v, want context.Canceled wrapped", err)
		}
	})
}

// TestReopen checks that everything written survives Close and Open: objects,
// marks, statuses, the audit log and idempotency keys.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mlops.db")
	clock := &stepClock{}

	db := MustOpenDBAt(t, path, sqlite.WithClock(clock.Now))
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
	MustCloseDB(t, db)

	// Reopening applies no migration twice and finds everything.
	for range 2 {
		db = MustOpenDBAt(t, path, sqlite.WithClock(clock.Now))
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
		MustCloseDB(t, db)
	}
}
