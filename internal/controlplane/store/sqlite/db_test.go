package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		NewDatabase: func(t *testing.T) string { return filepath.Join(t.TempDir(), "mlops.db") },
		Open: func(path string, clock store.Clock) (store.Store, error) {
			return sqlite.Open(path, sqlite.WithClock(clock))
		},
		ExecSQL: execSQL,
	})
}

// TestConformance_NoGroupCommit runs the suite with group commit off, the
// path of one transaction per write that PostgreSQL takes.
func TestConformance_NoGroupCommit(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		NewDatabase: func(t *testing.T) string { return filepath.Join(t.TempDir(), "mlops.db") },
		Open: func(path string, clock store.Clock) (store.Store, error) {
			return sqlite.Open(path, sqlite.WithClock(clock), sqlite.WithGroupCommit(false))
		},
		ExecSQL: execSQL,
	})
}

// execSQL runs query on the SQLite file at path behind the store's back.
func execSQL(t *testing.T, path, query string) {
	t.Helper()
	conn, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestMigrate_ChainsOldAuditRecords opens a database whose audit log was
// written before 0003_audit_chain and checks that the migration chains it.
func TestMigrate_ChainsOldAuditRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mlops.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dev", "prod"} {
		if _, err := db.Create(ctx, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: name},
			Spec: json.RawMessage(`{}`), Status: json.RawMessage(`{}`)}, store.WriteOptions{Actor: "old"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Take the database back to before 0003.
	for _, q := range []string{
		`ALTER TABLE audit_log DROP COLUMN prev_hash`,
		`ALTER TABLE audit_log DROP COLUMN hash`,
		`DROP TABLE tokens`,
		`DELETE FROM schema_migrations WHERE name = '0003_audit_chain.sql'`,
	} {
		execSQL(t, path, q)
	}
	db, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if b, err := db.VerifyAudit(ctx); err != nil || b != nil {
		t.Fatalf("VerifyAudit = %+v, %v; want intact", b, err)
	}
	recs, err := db.ListAudit(ctx, 0, 0)
	if err != nil || len(recs) != 2 || recs[0].Hash == "" || recs[1].PrevHash != recs[0].Hash {
		t.Fatalf("ListAudit = %+v, %v; want two chained records", recs, err)
	}
}

func TestOpen(t *testing.T) {
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
}
