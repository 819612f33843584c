package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/postgres"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/storetest"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		NewDatabase: func(t *testing.T) string { return pgtest.Start(t) },
		Open: func(dsn string, clock store.Clock) (store.Store, error) {
			return postgres.Open(dsn, postgres.WithClock(clock))
		},
		ExecSQL: func(t *testing.T, dsn, query string) {
			t.Helper()
			if _, err := mustSQL(t, dsn).Exec(query); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		},
	})
}

// mustOpen opens the database at dsn and closes it when the test ends.
func mustOpen(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// mustSQL opens a plain connection pool on dsn for looking behind the store.
func mustSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestOpen_Errors(t *testing.T) {
	for _, tc := range []struct {
		name, dsn string
		// want occurs in the error.
		want string
	}{
		{"Empty", "", "no database URL"},
		{"NotADSN", "postgres://u:hunter2@[::1", "cannot parse"},
		{"BadPort", "postgres://u:hunter2@localhost:99999/db", "cannot parse"},
		// Port 1 on loopback refuses at once.
		{"Unreachable", "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=5", "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := postgres.Open(tc.dsn)
			if err == nil {
				_ = db.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tc.dsn)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%q) = %v, want an error mentioning %q", tc.dsn, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://alice:hunter2@db.example:6543/mlops?sslmode=require": "postgres://alice@db.example:6543/mlops",
		"host=10.0.0.1 user=bob password=hunter2 dbname=x":               "postgres://bob@10.0.0.1:5432/x",
		"postgres://u:hunter2@[::1":                                      "(unparsable database URL)",
	} {
		if got := postgres.Describe(dsn); got != want {
			t.Errorf("Describe(%q) = %q, want %q", dsn, got, want)
		}
	}
}

// TestMigrate checks that migrations are recorded by name and applied once,
// also when several replicas open a new database at the same moment.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)

	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(dsn)
			if err == nil {
				err = db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	mustOpen(t, dsn) // and once more, after the others

	conn := mustSQL(t, dsn)
	rows, err := conn.QueryContext(ctx, `SELECT name, applied_at FROM schema_migrations ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name, at string
		if err := rows.Scan(&name, &at); err != nil {
			t.Fatal(err)
		}
		names = append(names, name+" "+fmt.Sprint(len(at)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("listing migrations: %v", err)
	}
	sort.Strings(files)
	var want []string
	for _, f := range files {
		want = append(want, filepath.Base(f)+" 27")
	}
	if got := strings.Join(names, ","); got != strings.Join(want, ",") {
		t.Errorf("schema_migrations = %q, want %q: each migration applied once with a timestamp", got, strings.Join(want, ","))
	}
}

// TestCollation checks that the columns that lists and pages are ordered
// by compare as bytes, whatever the database's default collation is.
func TestCollation(t *testing.T) {
	dsn := pgtest.Start(t)
	mustOpen(t, dsn)
	conn := mustSQL(t, dsn)
	rows, err := conn.QueryContext(context.Background(), `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema()
		  AND table_name IN ('objects', 'idempotency_keys', 'audit_log')
		  AND column_name IN ('kind', 'environment', 'name', 'parent', 'created_at', 'time')
		  AND collation_name IS DISTINCT FROM 'C'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s.%s does not use COLLATE \"C\"", table, column)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestReplicasShareWrites runs writes through two stores on one database,
// as two mlopsd replicas would, and checks that each sees the other's
// writes at once and that If-Match and idempotency keys hold across them.
func TestReplicasShareWrites(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)

	if _, err := a.Create(ctx, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}},
		store.WriteOptions{IdempotencyKey: "k", Fingerprint: "f"}); err != nil {
		t.Fatal(err)
	}
	res, err := b.Create(ctx, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}},
		store.WriteOptions{IdempotencyKey: "k", Fingerprint: "f"})
	if err != nil || !res.Replayed {
		t.Fatalf("the same key on the other replica = %+v, %v; want a replay", res, err)
	}
	env, err := b.Get(ctx, api.Ref{Kind: api.KindEnvironment, Name: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateSpec(ctx, env.Ref(), []byte(`{"description":"b"}`), store.WriteOptions{IfMatch: env.Meta.ETag}); err != nil {
		t.Fatal(err)
	}
	_, err = a.UpdateSpec(ctx, env.Ref(), []byte(`{"description":"a"}`), store.WriteOptions{IfMatch: env.Meta.ETag})
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Code != api.ECONFLICT {
		t.Fatalf("a stale If-Match on the other replica = %v, want ECONFLICT", err)
	}
}
