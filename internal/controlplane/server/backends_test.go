package server_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/pgtest"
)

// The handler tests run once per store backend: TestMain runs the whole
// package on SQLite, then again on PostgreSQL (one new database per control
// plane, from pgtest). startServer, which MustStart and every other fixture
// go through, starts the control plane on the backend of the current pass,
// so a test written for one backend runs on both without saying so.
//
// MLOPS_TEST_BACKENDS=sqlite (or postgres) runs one pass only. Without
// PostgreSQL installed the PostgreSQL pass skips the tests that start a
// control plane, unless CI is "true": then they fail (see pgtest).

const (
	backendSQLite   = "sqlite"
	backendPostgres = "postgres"
)

// envBackends names the backends to run, comma-separated; empty means all.
const envBackends = "MLOPS_TEST_BACKENDS"

// backend is the backend of the pass that runs; TestMain sets it between
// passes, when no test runs.
var backend = backendSQLite

func TestMain(m *testing.M) {
	// Batch inference runs start this binary again as their scorer.
	mlopsdtest.ServeBatchScorer()
	os.Exit(pgtest.Main(backendPasses{m}))
}

// backendPasses runs the tests once per backend.
type backendPasses struct{ m *testing.M }

// Run runs every pass, even after one fails, and returns the first
// failing pass's code.
func (p backendPasses) Run() int {
	flag.Parse()
	backends, err := selectedBackends()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// Listing tests and fuzzing are not per backend.
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		backends = backends[:1]
	}
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		backends = backends[:1]
	}
	code := 0
	for _, b := range backends {
		backend = b
		if len(backends) > 1 {
			fmt.Printf("store backend %s: running the tests\n", b)
		}
		if c := p.m.Run(); c != 0 && code == 0 {
			code = c
		}
	}
	return code
}

// selectedBackends reads MLOPS_TEST_BACKENDS.
func selectedBackends() ([]string, error) {
	v := os.Getenv(envBackends)
	if v == "" {
		return []string{backendSQLite, backendPostgres}, nil
	}
	var out []string
	for _, b := range strings.Split(v, ",") {
		switch b = strings.TrimSpace(b); b {
		case backendSQLite, backendPostgres:
			out = append(out, b)
		default:
			return nil, fmt.Errorf("%s=%q: want a comma-separated list of %s and %s", envBackends, v, backendSQLite, backendPostgres)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s=%q names no backend", envBackends, v)
	}
	return out, nil
}

// startServer starts a control plane on the backend of the current pass
// and logs which, so that a failure says which pass it came from.
func startServer(tb testing.TB, opts ...mlopsdtest.Option) *mlopsdtest.Server {
	tb.Helper()
	tb.Logf("store backend: %s", backend)
	if backend == backendPostgres {
		// First, so that a test's own options still win.
		opts = append([]mlopsdtest.Option{mlopsdtest.WithDatabaseURL(pgtest.Start(tb))}, opts...)
	}
	return mlopsdtest.Start(tb, opts...)
}
