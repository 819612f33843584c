// Package mlopsdtest starts a real, in-process mlopsd for tests: a SQLite
// file in a temporary directory, the real API server on an httptest
// listener, and the real reconcilers on a fast tick. It is the one package
// through which provider tests reach the control plane. WithDatabaseURL
// puts the objects in PostgreSQL instead; WithTLS serves the API over HTTPS.
package mlopsdtest

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/daemon"
)

// scorer is this test binary when ServeBatchScorer made it a batch scorer.
var scorer []string

// ServeBatchScorer makes this test binary the batch scorer of the control
// planes Start runs; call it first in TestMain. Batch inference runs start
// their scoring step as "<scorer> batch-score ...", which mlopsd does with
// its own executable: in a test that executable is the test binary, so
// when the binary was started that way, ServeBatchScorer scores as mlopsd
// batch-score does and exits. Otherwise it returns, and Start's control
// planes start batch runs with this binary. Without it their batch runs
// fail with reason NoScorer, rather than start the tests again.
func ServeBatchScorer() {
	if len(os.Args) > 1 && os.Args[1] == batch.ScoreCommand {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := batch.Command(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "mlopsd:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if exe, err := os.Executable(); err == nil {
		scorer = []string{exe}
	}
}

// Server is a running test control plane.
type Server struct {
	// URL is the base URL to point a client or the provider at.
	URL string
	// Daemon gives tests direct access to the store and reconcilers.
	Daemon *daemon.Daemon
	// RunsDir holds the pipeline runs' directories, logs and artifacts.
	RunsDir string
	// CACertFile, with WithTLS, is a PEM file of the certificate that signs
	// (and is) the server's certificate, for a client's CA certificate
	// setting. It is empty without TLS.
	CACertFile string
}

// config is the test configuration options change.
type config struct {
	daemon.Config
	tls bool
}

// Option changes the test configuration.
type Option func(*config)

// WithTLS serves the API over HTTPS (TLS 1.2 or later) with a self-signed
// certificate for 127.0.0.1; Server.CACertFile is that certificate.
func WithTLS() Option {
	return func(c *config) { c.tls = true }
}

// WithTokens turns on authentication with the given plain-text tokens.
func WithTokens(tokens ...string) Option {
	return func(c *config) { c.Tokens = tokens }
}

// WithAuth turns on the token table and roles (mlopsd -auth on) with
// adminToken as the bootstrap admin token.
func WithAuth(adminToken string) Option {
	return func(c *config) { c.Auth, c.BootstrapToken = true, adminToken }
}

// WithDatabaseURL keeps the objects in the PostgreSQL database dsn (e.g.
// one from pgtest.Start) instead of a SQLite file.
func WithDatabaseURL(dsn string) Option {
	return func(c *config) { c.DatabaseURL = dsn }
}

// WithLocalMaxNodes bounds local pools, to provoke capacity failures.
func WithLocalMaxNodes(n int64) Option {
	return func(c *config) { c.LocalMaxNodesPerPool = n }
}

// WithSlurmConf configures the Slurm cluster of slurm.conf conf, so that
// compute pools may use driver slurm (see internal/slurmtest).
func WithSlurmConf(conf string) Option {
	return func(c *config) { c.SlurmConf = conf }
}

// Start runs a control plane until the test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	dir := tb.TempDir()
	cfg := config{Config: daemon.Config{
		DataPath:          filepath.Join(dir, "mlops.db"),
		RunsDir:           filepath.Join(dir, "runs"),
		ReconcileInterval: 20 * time.Millisecond,
		// Tests read the gateway's metrics from the store soon after.
		MetricsFlushInterval: 50 * time.Millisecond,
		// Alarms wait this long after a period ends for its last points.
		MetricsIngestDelay: 500 * time.Millisecond,
		Version:            "test",
		BatchScorer:        scorer,
	}}
	for _, o := range opts {
		o(&cfg)
	}
	d, err := daemon.New(cfg.Config)
	if err != nil {
		tb.Fatalf("starting mlopsd: %v", err)
	}
	ts := httptest.NewUnstartedServer(d.Server)
	caFile := ""
	if cfg.tls {
		ts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		ts.StartTLS()
		caFile = filepath.Join(dir, "ca.pem")
		block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
		if err := os.WriteFile(caFile, block, 0o600); err != nil {
			ts.Close()
			_ = d.Close()
			tb.Fatalf("writing the CA certificate: %v", err)
		}
	} else {
		ts.Start()
	}
	d.RunReconcilers()
	tb.Cleanup(func() {
		// httptest's Close waits for every request in flight: end long
		// polls first rather than wait out their timeouts.
		d.Server.EndWaits()
		ts.Close()
		if err := d.Close(); err != nil {
			tb.Errorf("closing mlopsd: %v", err)
		}
	})
	return &Server{URL: ts.URL, Daemon: d, RunsDir: cfg.RunsDir, CACertFile: caFile}
}
