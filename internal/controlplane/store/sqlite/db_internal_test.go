package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestPragmas checks the settings every connection of both pools must have;
// they are per connection, so only the package itself can look.
func TestPragmas(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "mlops.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()

	for name, pool := range map[string]*sql.DB{"write": db.write, "read": db.read} {
		t.Run(name, func(t *testing.T) {
			for pragma, want := range map[string]string{
				"journal_mode": "wal",
				"synchronous":  "2", // FULL
				"busy_timeout": "5000",
				"foreign_keys": "1",
			} {
				var got string
				if err := pool.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatalf("PRAGMA %s: %v", pragma, err)
				}
				if got != want {
					t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
				}
			}
		})
	}

	t.Run("ReadPoolIsReadOnly", func(t *testing.T) {
		if _, err := db.read.ExecContext(ctx, `DELETE FROM objects`); err == nil {
			t.Fatal("DELETE on the read pool succeeded, want an error")
		}
	})

	t.Run("WritePoolBeginsImmediate", func(t *testing.T) {
		// While a write tx of this DB is open, a second connection must not
		// get the write lock: BEGIN IMMEDIATE took it at begin, not at the
		// first write.
		tx, err := db.beginWrite(ctx)
		if err != nil {
			t.Fatalf("beginWrite: %v", err)
		}
		defer func() { _ = tx.Rollback() }()

		other, err := sql.Open("sqlite", db.path+"?_pragma=busy_timeout(0)&_txlock=immediate")
		if err != nil {
			t.Fatalf("open other: %v", err)
		}
		defer other.Close()
		otx, err := other.BeginTx(ctx, nil)
		if err == nil {
			_ = otx.Rollback()
			t.Fatal("second BEGIN IMMEDIATE succeeded while a write tx was open")
		}
	})
}

// TestMigrate checks that migrations are recorded by name and applied once.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mlops.db")
	for range 3 {
		db, err := Open(path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		rows, err := db.read.QueryContext(ctx, `SELECT name, applied_at FROM schema_migrations ORDER BY name`)
		if err != nil {
			t.Fatalf("query schema_migrations: %v", err)
		}
		var names []string
		for rows.Next() {
			var name, at string
			if err := rows.Scan(&name, &at); err != nil {
				t.Fatalf("scan: %v", err)
			}
			if _, err := time.Parse("2006-01-02T15:04:05.000000Z", at); err != nil {
				t.Errorf("applied_at: %v", err)
			}
			names = append(names, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("rows: %v", err)
		}
		rows.Close()
		if want := migrationNames(t); strings.Join(names, ",") != strings.Join(want, ",") {
			t.Errorf("schema_migrations = %v, want %v", names, want)
		}
		for _, table := range []string{"objects", "idempotency_keys", "audit_log"} {
			var n int
			if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

// migrationNames lists the migrations this package embeds, in order.
func migrationNames(t *testing.T) []string {
	t.Helper()
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, path.Base(f))
	}
	sort.Strings(names)
	return names
}
