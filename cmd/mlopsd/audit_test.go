package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/postgres"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/pgtest"
)

// writeEnvironments creates and updates environments, three audited writes.
func writeEnvironments(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, name := range []string{"dev", "prod"} {
		if _, err := st.Create(ctx, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: name},
			Spec: json.RawMessage(`{}`), Status: json.RawMessage(`{}`)}, store.WriteOptions{Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.UpdateSpec(ctx, api.Ref{Kind: api.KindEnvironment, Name: "dev"}, json.RawMessage(`{"x":1}`), store.WriteOptions{Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// testAuditCommands runs audit export and verify with dbArgs, tampers with
// the database through conn, and runs verify again.
func testAuditCommands(t *testing.T, dbArgs []string, conn *sql.DB) {
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, append([]string{"audit", "export"}, dbArgs...), &out, &errOut, nil); err != nil {
		t.Fatalf("audit export: %v\n%s", err, errOut.String())
	}
	var recs []api.AuditRecord
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var rec api.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		recs = append(recs, rec)
	}
	if len(recs) != 3 || recs[2].Actor != "bob" || recs[2].PrevHash != recs[1].Hash {
		t.Fatalf("export = %+v; want three chained records", recs)
	}

	out.Reset()
	if err := run(ctx, append([]string{"audit", "verify"}, dbArgs...), &out, &errOut, nil); err != nil {
		t.Fatalf("audit verify of an intact log: %v\n%s", err, out.String())
	}

	if _, err := conn.Exec(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := run(ctx, append([]string{"audit", "verify"}, dbArgs...), &out, &errOut, nil)
	if !errors.Is(err, errAuditBroken) {
		t.Fatalf("audit verify after tampering = %v; want %v", err, errAuditBroken)
	}
	if got := out.String(); !strings.Contains(got, "broken at seq 2") || !strings.Contains(got, `"actor":"mallory"`) {
		t.Fatalf("verify printed %q; want the break at seq 2 and the record", got)
	}
}

func TestAudit_SQLite(t *testing.T) {
	clearEnv(t)
	path := filepath.Join(t.TempDir(), "mlops.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	writeEnvironments(t, st)
	// A second writer beside the store's own: wait for its lock rather
	// than fail with SQLITE_BUSY.
	conn, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	testAuditCommands(t, []string{"-data", path}, conn)

	t.Run("ErrMissingFile", func(t *testing.T) {
		err := run(context.Background(), []string{"audit", "verify", "-data", filepath.Join(t.TempDir(), "none.db")}, &bytes.Buffer{}, &bytes.Buffer{}, nil)
		if err == nil {
			t.Fatal("verify of a missing file succeeded")
		}
	})
}

func TestAudit_Postgres(t *testing.T) {
	clearEnv(t)
	dsn := pgtest.Start(t)
	st, err := postgres.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	writeEnvironments(t, st)
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	testAuditCommands(t, []string{"-database-url", dsn}, conn)
}
