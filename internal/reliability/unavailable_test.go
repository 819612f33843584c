package reliability_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/daemon"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/pgtest"
)

// TestDatabaseUnavailable stops mlopsd's PostgreSQL under it: the API
// answers 503 unavailable with a message that says so, /readyz too; once
// the database is back, mlopsd serves again by itself.
func TestDatabaseUnavailable(t *testing.T) {
	pg := pgtest.StartInstance(t)
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mlopsd's log:\n%s", tail(logs.String(), 5000))
		}
	})
	d, err := daemon.New(daemon.Config{
		DatabaseURL:       pg.DSN + "&connect_timeout=2",
		RunsDir:           t.TempDir(),
		ReconcileInterval: 50 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(d.Server)
	d.RunReconcilers()
	t.Cleanup(func() {
		ts.Close()
		_ = d.Close()
	})

	call := func(method, path, body string) (int, api.Error) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e api.Error
		if resp.StatusCode >= 400 {
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("%s %s: %d %s is no API error", method, path, resp.StatusCode, b)
			}
		}
		return resp.StatusCode, e
	}

	if status, e := call("POST", "/v1/environments", `{"name":"dev","spec":{}}`); status != http.StatusCreated {
		t.Fatalf("create with the database up: %d %v", status, e)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/environments/dev", ""},
		{"GET", "/v1/environments", ""},
		{"POST", "/v1/environments", `{"name":"prod","spec":{}}`},
		{"GET", "/readyz", ""},
	} {
		status, e := call(c.method, c.path, c.body)
		if status != http.StatusServiceUnavailable || e.Code != api.EUNAVAILABLE || !strings.Contains(e.Message, "database is not answering") {
			t.Errorf("%s %s with the database down: %d %+v, want 503 %s saying the database is not answering", c.method, c.path, status, e, api.EUNAVAILABLE)
		}
	}
	if status, _ := call("GET", "/healthz", ""); status != http.StatusOK {
		t.Errorf("/healthz with the database down: %d, want 200: the process is alive", status)
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "mlopsd serves again", func() error {
		if status, e := call("GET", "/readyz", ""); status != http.StatusOK {
			return &e
		}
		if status, e := call("POST", "/v1/environments", `{"name":"prod","spec":{}}`); status != http.StatusCreated {
			return &e
		}
		return nil
	})
	if status, e := call("GET", "/v1/environments/dev", ""); status != http.StatusOK {
		t.Errorf("the environment created before the outage: %d %v", status, e)
	}
}
