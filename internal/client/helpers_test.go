package client

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// MustNewClient builds a client for endpoint whose retries do not sleep for
// long, so retry tests stay fast without changing what is retried.
func MustNewClient(tb testing.TB, cfg Config) *Client {
	tb.Helper()
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("New(%+v): %v", cfg, err)
	}
	c.backoffBase = time.Millisecond
	c.backoffMax = 5 * time.Millisecond
	return c
}

// MustServe starts an httptest server with h and a client pointed at it.
func MustServe(tb testing.TB, h http.HandlerFunc) (*httptest.Server, *Client) {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv, MustNewClient(tb, Config{Endpoint: srv.URL})
}

func writeJSON(tb testing.TB, w http.ResponseWriter, status int, v any) {
	tb.Helper()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		tb.Errorf("encoding response: %v", err)
	}
}

func writeError(tb testing.TB, w http.ResponseWriter, status int, code, field, message string) {
	tb.Helper()
	writeJSON(tb, w, status, api.NewError(code, field, message))
}

// hangUp closes the connection without an answer, as a crashing mlopsd or a
// reset connection would.
func hangUp(tb testing.TB, w http.ResponseWriter) {
	tb.Helper()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		tb.Errorf("hijack: %v", err)
		return
	}
	conn.Close()
}

func testEnvironment(name string) *api.Environment {
	return &api.Environment{
		Metadata: api.Metadata{Name: name, UID: "uid-" + name, Generation: 1, ETag: "e1"},
		Spec:     api.EnvironmentSpec{Description: "test"},
		Status:   api.EnvironmentStatus{Status: api.Status{Phase: api.PhaseReady, ObservedGeneration: 1}},
	}
}
