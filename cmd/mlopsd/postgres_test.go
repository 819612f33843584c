package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/pgtest"
)

func TestMain(m *testing.M) {
	// The process model runtime starts this binary again as a replica
	// (serve_model_test.go): be mlopsd serve-model then.
	if len(os.Args) > 1 && os.Args[1] == runtime.ServeModelCommand {
		serveModelMain()
	}
	// Batch inference runs start this binary again as their scorer: be
	// mlopsd batch-score then, through mlopsd's own main (serveModelMain
	// runs it with the arguments given). Otherwise make it the scorer of
	// the control planes the tests start.
	if len(os.Args) > 1 && os.Args[1] == batch.ScoreCommand {
		serveModelMain()
	}
	mlopsdtest.ServeBatchScorer()
	pgtest.Main(m)
}

func TestParseFlags_DatabaseURL(t *testing.T) {
	clearEnv(t)
	const fromEnv = "postgres://mlops:secret@db:5432/mlops"
	t.Setenv("MLOPSD_DATABASE_URL", fromEnv)

	var m Main
	if err := m.ParseFlags(nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if m.Config.DatabaseURL != fromEnv || m.Config.DataPath != "" {
		t.Errorf("database URL %q, data %q; want %q and no SQLite file", m.Config.DatabaseURL, m.Config.DataPath, fromEnv)
	}
	if got := m.Config.DescribeDatabase(); got != "postgres://mlops@db:5432/mlops" {
		t.Errorf("DescribeDatabase = %q, want the URL without its password", got)
	}

	if err := m.ParseFlags([]string{"-database-url", "postgres://other/x"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if m.Config.DatabaseURL != "postgres://other/x" {
		t.Errorf("database URL %q, want the flag's", m.Config.DatabaseURL)
	}
}

// TestRun_PostgresReplicas runs two mlopsd processes on one PostgreSQL
// database: what one writes, the other serves at once.
func TestRun_PostgresReplicas(t *testing.T) {
	clearEnv(t)
	dsn := pgtest.Start(t)
	args := []string{"-addr", "127.0.0.1:0", "-database-url", dsn, "-reconcile-interval", "50ms"}
	a, b := startRun(t, args...), startRun(t, args...)
	if log := a.stderr.String(); !strings.Contains(log, "data=postgres://") {
		t.Errorf("the log does not name the database:\n%s", log)
	}

	status, body := httpDo(t, "POST", a.URL+"/v1/environments", `{"name":"dev","spec":{"description":"shared"}}`,
		"Idempotency-Key", "create-dev")
	if status != http.StatusCreated {
		t.Fatalf("create environment on a = %d %s\n%s", status, body, a.stderr)
	}
	var env api.Environment
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	// A retry that lands on the other replica replays the first answer.
	status, body = httpDo(t, "POST", b.URL+"/v1/environments", `{"name":"dev","spec":{"description":"shared"}}`,
		"Idempotency-Key", "create-dev")
	var replayed api.Environment
	if status != http.StatusCreated || json.Unmarshal(body, &replayed) != nil || replayed.Metadata.UID != env.Metadata.UID {
		t.Fatalf("retried create on b = %d %s, want the replayed 201 of uid %s", status, body, env.Metadata.UID)
	}
	status, body = httpDo(t, "GET", b.URL+"/v1/environments/dev", "")
	var got api.Environment
	if status != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Metadata.UID != env.Metadata.UID {
		t.Fatalf("GET on b = %d %s, want uid %s", status, body, env.Metadata.UID)
	}
	status, body = httpDo(t, "GET", b.URL+"/v1/audit", "")
	var audit api.AuditRecordList
	if status != http.StatusOK || json.Unmarshal(body, &audit) != nil || len(audit.Items) != 1 || audit.Items[0].Seq != 1 {
		t.Errorf("audit on b = %d %s, want the one create", status, body)
	}
	for _, p := range []*process{a, b} {
		if err := p.stop(t); err != nil {
			t.Errorf("run = %v, want nil\n%s", err, p.stderr)
		}
	}
}

func TestRun_PostgresUnreachable(t *testing.T) {
	clearEnv(t)
	err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-database-url", "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=5"}, io.Discard, io.Discard, nil)
	if err == nil {
		t.Fatal("run with an unreachable database succeeded")
	}
	if !strings.Contains(err.Error(), "postgres://u@127.0.0.1:1/db") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error = %v, want the database named without its password", err)
	}
}
