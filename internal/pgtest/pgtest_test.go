package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// query runs a query that returns one string.
func query(t *testing.T, dsn, q string) string {
	t.Helper()
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var s string
	if err := conn.QueryRowContext(context.Background(), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// execSQL runs a statement.
func execSQL(t *testing.T, dsn, stmt string) {
	t.Helper()
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

func TestStart(t *testing.T) {
	var first string
	t.Run("Isolated", func(t *testing.T) {
		a, b := Start(t), Start(t)
		if a == b {
			t.Fatalf("two calls gave the same DSN %s", a)
		}
		first = query(t, a, `SELECT current_database()`)
		if second := query(t, b, `SELECT current_database()`); first == second {
			t.Fatalf("both DSNs name database %s", first)
		}
		// A table made in one database is not in the other.
		execSQL(t, a, `CREATE TABLE t (x TEXT)`)
		if got := query(t, b, `SELECT count(*)::text FROM pg_tables WHERE tablename = 't'`); got != "0" {
			t.Errorf("the table of one database is seen in the other: %s", got)
		}
		if got := query(t, a, `SELECT current_user`); got == "" {
			t.Error("no current user")
		}
	})

	// The databases of the subtest are dropped when it ends.
	dsn := Start(t)
	if got := query(t, dsn, fmt.Sprintf(`SELECT count(*)::text FROM pg_database WHERE datname = '%s'`, first)); got != "0" {
		t.Errorf("database %s still exists after its test ended", first)
	}
	if os.Getenv(EnvDSN) == "" {
		// The server is the one this package started, on loopback.
		if got := query(t, dsn, `SELECT host(inet_server_addr())`); got != "127.0.0.1" {
			t.Errorf("server address = %s, want 127.0.0.1", got)
		}
		if got := query(t, dsn, `SHOW fsync`); got != "off" {
			t.Errorf("fsync = %s, want off for tests", got)
		}
	}
}

func TestFindBinaries(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	old := binDirGlob
	defer func() { binDirGlob = old }()
	binDirGlob = filepath.Join(empty, "postgresql", "*", "bin")

	if _, _, err := findBinaries(); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("findBinaries without PostgreSQL = %v, want not installed", err)
	}

	// Versions under binDirGlob: the newest with both programs wins.
	for _, v := range []string{"9.6", "13", "16"} {
		dir := filepath.Join(empty, "postgresql", v, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		programs := []string{"initdb", "pg_ctl"}
		if v == "16" {
			programs = programs[:1] // incomplete
		}
		for _, p := range programs {
			if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	initdb, pgCtl, err := findBinaries()
	want := filepath.Join(empty, "postgresql", "13", "bin")
	if err != nil || initdb != filepath.Join(want, "initdb") || pgCtl != filepath.Join(want, "pg_ctl") {
		t.Fatalf("findBinaries = %q, %q, %v; want those in %s", initdb, pgCtl, err, want)
	}

	// PATH comes first.
	onPath := filepath.Join(empty, "path")
	if err := os.MkdirAll(onPath, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"initdb", "pg_ctl"} {
		if err := os.WriteFile(filepath.Join(onPath, p), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", onPath)
	if initdb, _, err := findBinaries(); err != nil || initdb != filepath.Join(onPath, "initdb") {
		t.Fatalf("findBinaries = %q, %v; want the one on PATH", initdb, err)
	}
}

// recorder is a testing.TB that records how a test would end.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skipf(format string, a ...any)  { r.skipped = fmt.Sprintf(format, a...) }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...) }

func TestReportStartError(t *testing.T) {
	for _, tc := range []struct {
		name, ci    string
		err         error
		skip, fatal bool
	}{
		{"NotInstalled", "", notInstalledError{}, true, false},
		{"NotInstalledOnCI", "true", notInstalledError{}, false, true},
		{"NotInstalledCIFalse", "false", notInstalledError{}, true, false},
		{"Broken", "", fmt.Errorf("starting PostgreSQL: boom"), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{}
			reportStartError(r, tc.err)
			if (r.skipped != "") != tc.skip || (r.failed != "") != tc.fatal {
				t.Fatalf("skipped %q, failed %q; want skip %v, fail %v", r.skipped, r.failed, tc.skip, tc.fatal)
			}
			if msg := r.skipped + r.failed; !strings.Contains(msg, tc.err.Error()) {
				t.Errorf("message %q does not give the cause", msg)
			}
		})
	}
}

func TestWithDatabase(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:p@127.0.0.1:5432/postgres?sslmode=disable": "postgres://u:p@127.0.0.1:5432/db1?sslmode=disable",
		"postgresql://h/other":             "postgresql://h/db1",
		"host=/tmp user=u dbname=postgres": "host=/tmp user=u dbname=postgres dbname=db1",
	} {
		if got, err := withDatabase(dsn, "db1"); err != nil || got != want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", dsn, got, err, want)
		}
	}
}

// TestStopDropsPrefetched checks that stopping drops the databases made
// ahead of time that no test took, as matters on a server given by
// MLOPS_TEST_POSTGRES_DSN, which outlives the tests.
func TestStopDropsPrefetched(t *testing.T) {
	dsn := Start(t) // makes sure the shared server runs
	count := func() string {
		return query(t, dsn, `SELECT count(*)::text FROM pg_database WHERE datname LIKE 'mlops\_other\_%'`)
	}
	// other has no directory: stopping it leaves the server running.
	other := &server{adminDSN: shared.adminDSN, namePrefix: "mlops_other"}
	if err := other.connect(); err != nil {
		t.Fatal(err)
	}
	other.startPrefetching()
	for i := 0; count() == "0"; i++ {
		if i == 500 {
			t.Fatal("no database was prefetched")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := other.stop(); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != "0" {
		t.Errorf("%s prefetched databases left after stop, want 0", got)
	}
}
