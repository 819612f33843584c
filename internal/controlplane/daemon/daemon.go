// Package daemon wires the control plane together: store, API server and
// reconcilers. cmd/mlopsd adds flags and signals on top; tests use it to run
// a real control plane in-process.
package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/server"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

// Config is everything mlopsd can be told.
type Config struct {
	// Addr is the listen address, e.g. 127.0.0.1:8080.
	Addr string
	// DataPath is the SQLite file.
	DataPath string
	// Logger receives structured logs.
	Logger *slog.Logger
	// Tokens are accepted bearer tokens in plain text; only their SHA-256
	// digests are kept. Empty turns authentication off.
	Tokens []string
	// ReconcileInterval is the time between reconcile passes.
	ReconcileInterval time.Duration
	// LocalMaxNodesPerPool bounds pools of the local driver.
	LocalMaxNodesPerPool int64
	// ShutdownTimeout bounds how long Close waits for in-flight requests.
	ShutdownTimeout time.Duration
	// Version is reported by /healthz and /openapi.json.
	Version string
}

// Daemon is a running control plane.
type Daemon struct {
	cfg        Config
	Store      store.Store
	Server     *server.Server
	Reconciler *reconcile.Reconciler
	httpServer *http.Server
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// New opens the store and builds the server and reconcilers. Nothing runs
// until the caller calls Serve (or serves Server itself) and RunReconcilers.
func New(cfg Config) (*Daemon, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	if cfg.LocalMaxNodesPerPool <= 0 {
		cfg.LocalMaxNodesPerPool = 64
	}
	st, err := sqlite.Open(cfg.DataPath)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", cfg.DataPath, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rec := reconcile.New(reconcile.Config{
		Store:    st,
		Logger:   cfg.Logger.With("component", "reconciler"),
		Interval: cfg.ReconcileInterval,
		Registry: reg,
		PoolHandler: &reconcile.PoolHandler{
			Store:  st,
			Driver: &runtime.Local{MaxNodesPerPool: cfg.LocalMaxNodesPerPool},
		},
	})
	var digests []string
	for _, t := range cfg.Tokens {
		sum := sha256.Sum256([]byte(t))
		digests = append(digests, hex.EncodeToString(sum[:]))
	}
	srv := server.New(server.Config{
		Store:       st,
		Logger:      cfg.Logger.With("component", "api"),
		Registry:    reg,
		TokenSHA256: digests,
		Notify:      rec.Notify,
		Version:     cfg.Version,
	})
	// The http.Server exists from the start, so that a Close racing with a
	// Serve that has not begun yet still shuts it down: Serve then returns
	// at once instead of serving a closed database forever.
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return &Daemon{cfg: cfg, Store: st, Server: srv, Reconciler: rec, httpServer: httpServer}, nil
}

// RunReconcilers starts the reconcile loop in the background; Close stops it.
func (d *Daemon) RunReconcilers() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.Reconciler.Run(ctx)
	}()
}

// Listen binds the configured address, so a caller knows the port before
// serving (Addr may end in :0).
func (d *Daemon) Listen() (net.Listener, error) {
	return net.Listen("tcp", d.cfg.Addr)
}

// Serve serves the API on ln until Close, and closes ln. It returns nil
// after a clean Close, also when Close came first.
func (d *Daemon) Serve(ln net.Listener) error {
	err := d.httpServer.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close drains in-flight requests (bounded by ShutdownTimeout), stops the
// reconcilers and closes the database, in that order, so no acknowledged
// write is cut off.
func (d *Daemon) Close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	if err := d.httpServer.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("draining HTTP requests: %w", err))
	}
	cancel()
	if d.cancel != nil {
		d.cancel()
		d.wg.Wait()
	}
	if err := d.Store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing database: %w", err))
	}
	return errors.Join(errs...)
}
