// Package daemon wires the control plane together: store, API server and
// reconcilers. cmd/mlopsd adds flags and signals on top; tests use it to run
// a real control plane in-process.
package daemon

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/console"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/server"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/postgres"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/telemetry"
)

// Config is everything mlopsd can be told.
type Config struct {
	// Addr is the listen address, e.g. 127.0.0.1:8080.
	Addr string
	// DataPath is the SQLite file. It is not used when DatabaseURL is set.
	DataPath string
	// DatabaseURL, when set, is the PostgreSQL database to keep objects in
	// instead of the SQLite file, as a postgres:// URL or a libpq
	// "key=value" string. Several daemons may share one database.
	DatabaseURL string
	// Logger receives structured logs.
	Logger *slog.Logger
	// Tokens are accepted bearer tokens in plain text; only their SHA-256
	// digests are kept. Empty turns authentication off.
	Tokens []string
	// Auth turns on the token table and role-based authorization (mlopsd
	// -auth on). Tokens then act as admin.
	Auth bool
	// BootstrapToken, with Auth, is the admin token stored on first start
	// when the token table is empty and Tokens is empty. When it is empty
	// too, one is generated and written once to BootstrapOut.
	BootstrapToken string
	// BootstrapOut receives a generated bootstrap token; nil discards it
	// (then no admin token is known, which only tests want).
	BootstrapOut io.Writer
	// ReconcileInterval is the time between reconcile passes.
	ReconcileInterval time.Duration
	// LocalMaxNodesPerPool bounds pools of the local driver.
	LocalMaxNodesPerPool int64
	// ShutdownTimeout bounds how long Close waits for in-flight requests.
	ShutdownTimeout time.Duration
	// Version is reported by /healthz and /openapi.json.
	Version string
	// RunsDir is where pipeline runs keep their working directories, logs
	// and registered artifacts. Empty means a "runs" directory next to the
	// SQLite file (./runs with DatabaseURL).
	RunsDir string
	// ReplicaID names this daemon in the leases its reconcilers claim on
	// objects; empty means hostname-pid-random, unique per process.
	ReplicaID string
	// LeaseTTL is how long a lease lasts: a replica that dies without
	// releasing its leases has its objects taken over by another after at
	// most this long. Zero means reconcile.DefaultLeaseTTL.
	LeaseTTL time.Duration
	// SlurmConf, when set, is the slurm.conf of a Slurm cluster: compute
	// pools may then use driver slurm, whose steps run as Slurm batch jobs
	// submitted with the Slurm clients (sbatch, squeue, ...) on PATH.
	SlurmConf string
	// ModelRuntime says how model endpoint replicas run: ModelRuntimeProcess
	// (each a child process, mlopsd serve-model) or ModelRuntimeInProcess
	// (each an HTTP server inside mlopsd, the default, which tests use).
	ModelRuntime string
	// TLSCertFile and TLSKeyFile, when both set, are the PEM certificate
	// (chain) and private key the API is served with over HTTPS (TLS 1.2 or
	// later). Both empty serves plain HTTP; one without the other is an
	// error.
	TLSCertFile string
	TLSKeyFile  string
	// MetricsFlushInterval is how often the prediction gateway's metrics
	// are written to the metrics store; zero means 1s.
	MetricsFlushInterval time.Duration
	// MetricsRetention is how long metric points are kept; zero means 48h.
	// It must cover the longest alarm window, api.MaxAlarmWindow.
	MetricsRetention time.Duration
	// MetricsIngestDelay is how long after a period ends alarms evaluate
	// it, so the points of its last seconds are in; zero means
	// reconcile.DefaultMetricsIngestDelay.
	MetricsIngestDelay time.Duration
	// NoConsole leaves the web console out: /ui/ answers 404, for a
	// control plane that only machines talk to.
	NoConsole bool
	// BatchScorer is the program, and any leading arguments, that batch
	// inference runs start with "batch-score ..." appended: mlopsd's own
	// executable (cmd/mlopsd sets it). Empty makes batch runs fail with
	// reason NoScorer, since an embedding program (a test binary) is no
	// scorer unless it says so (mlopsdtest.ServeBatchScorer).
	BatchScorer []string
}

// TLS reports whether the API is served over HTTPS.
func (cfg Config) TLS() bool { return cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" }

// loadTLS reads the certificate and key of cfg, or returns nil when TLS is
// off.
func loadTLS(cfg Config) (*tls.Config, error) {
	if !cfg.TLS() {
		return nil, nil
	}
	if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
		return nil, errors.New("TLS needs both a certificate and a private key: set -tls-cert and -tls-key (MLOPSD_TLS_CERT and MLOPSD_TLS_KEY), or neither for plain HTTP")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the TLS certificate %s and key %s: %w", cfg.TLSCertFile, cfg.TLSKeyFile, err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// Model runtimes of Config.ModelRuntime.
const (
	ModelRuntimeInProcess = "inprocess"
	ModelRuntimeProcess   = "process"
)

// Daemon is a running control plane.
type Daemon struct {
	cfg        Config
	Store      store.Store
	Server     *server.Server
	Reconciler *reconcile.Reconciler
	// Steps runs the steps of pipeline runs on local pools.
	Steps *runtime.LocalSteps
	// BatchSteps runs the scoring steps of batch inference runs on local
	// pools, in a directory tree of their own (<runs>/_batch).
	BatchSteps *runtime.LocalSteps
	// Backends runs the model endpoints' replicas.
	Backends runtime.ModelBackends
	// Metrics writes the prediction gateway's metrics to the store.
	Metrics    *telemetry.Recorder
	httpServer *http.Server
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	// Alarms evaluates alarms and sends their notifications.
	Alarms *reconcile.AlarmHandler
}

// New opens the store and builds the server and reconcilers, and starts
// the metrics recorder, which writes the gateway's metrics and prunes old
// ones. Nothing else runs until the caller calls Serve (or serves Server
// itself) and RunReconcilers.
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
	if cfg.RunsDir == "" {
		cfg.RunsDir = "runs"
		if cfg.DatabaseURL == "" && cfg.DataPath != "" {
			cfg.RunsDir = filepath.Join(filepath.Dir(cfg.DataPath), "runs")
		}
	}
	if cfg.ReplicaID == "" {
		cfg.ReplicaID = NewReplicaID()
	}
	if cfg.MetricsFlushInterval < 0 {
		return nil, fmt.Errorf("metrics flush interval %v: use a positive duration, e.g. 1s", cfg.MetricsFlushInterval)
	}
	if cfg.MetricsFlushInterval == 0 {
		cfg.MetricsFlushInterval = telemetry.DefaultFlushInterval
	}
	if cfg.MetricsRetention == 0 {
		cfg.MetricsRetention = telemetry.DefaultRetention
	}
	if cfg.MetricsRetention < api.MaxAlarmWindow {
		return nil, fmt.Errorf("metrics retention %v is shorter than the longest alarm window (%v): alarms would judge too little history; use -metrics-retention %v or more",
			cfg.MetricsRetention, api.MaxAlarmWindow, api.MaxAlarmWindow)
	}
	tlsConfig, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	opened, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	// Every writer (API server, reconcilers, runs) shares one Watched, so
	// a status written by a reconciler answers the API's long polls at once.
	var st store.Store = store.Watch(opened)
	if cfg.Auth {
		if err := bootstrapAdmin(cfg, st); err != nil {
			_ = st.Close()
			return nil, err
		}
	}
	runs := runtime.RunLayout{Root: cfg.RunsDir}
	steps := runtime.NewLocalSteps(runs)
	poolDrivers := runtime.PoolDrivers{api.DriverLocal: &runtime.Local{MaxNodesPerPool: cfg.LocalMaxNodesPerPool}}
	stepDrivers := map[string]runtime.StepDriver{api.DriverLocal: steps}
	// Batch runs are named like pipeline runs (<name>-<n>), so their
	// directories live in a tree of their own; "_batch" is no environment
	// name.
	batchRuns := runtime.RunLayout{Root: filepath.Join(cfg.RunsDir, "_batch")}
	batchSteps := runtime.NewLocalSteps(batchRuns)
	batchDrivers := map[string]runtime.StepDriver{api.DriverLocal: batchSteps}
	if cfg.SlurmConf != "" {
		if _, err := os.Stat(cfg.SlurmConf); err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("slurm configuration: %w", err)
		}
		slurm := &runtime.Slurm{Conf: cfg.SlurmConf}
		poolDrivers[api.DriverSlurm] = &runtime.SlurmPool{Slurm: slurm}
		stepDrivers[api.DriverSlurm] = &runtime.SlurmSteps{Slurm: slurm, Layout: runs, Pools: poolSpecs(st)}
		batchDrivers[api.DriverSlurm] = &runtime.SlurmSteps{Slurm: slurm, Layout: batchRuns, Pools: poolSpecs(st)}
	}
	var backends runtime.ModelBackends
	switch cfg.ModelRuntime {
	case "", ModelRuntimeInProcess:
		backends = runtime.NewLocalBackends()
	case ModelRuntimeProcess:
		exe, err := os.Executable()
		if err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("finding the mlopsd executable for model replicas: %w", err)
		}
		backends = runtime.NewProcessBackends(exe)
	default:
		_ = st.Close()
		return nil, fmt.Errorf("model runtime %q is not %q or %q", cfg.ModelRuntime, ModelRuntimeProcess, ModelRuntimeInProcess)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	recorder, err := telemetry.New(telemetry.Config{
		Store:         st,
		Logger:        cfg.Logger.With("component", "metrics"),
		Registry:      reg,
		FlushInterval: cfg.MetricsFlushInterval,
		Retention:     cfg.MetricsRetention,
	})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	if cfg.MetricsIngestDelay <= 0 {
		cfg.MetricsIngestDelay = reconcile.DefaultMetricsIngestDelay
	}
	alarms := reconcile.NewAlarmHandler(st, reg)
	alarms.IngestDelay = cfg.MetricsIngestDelay
	rec := reconcile.New(reconcile.Config{
		Store:    st,
		Logger:   cfg.Logger.With("component", "reconciler"),
		Interval: cfg.ReconcileInterval,
		Registry: reg,
		Holder:   cfg.ReplicaID,
		LeaseTTL: cfg.LeaseTTL,
		PoolHandler: &reconcile.PoolHandler{
			Store:  st,
			Driver: poolDrivers,
		},
		PipelineHandler: &reconcile.PipelineHandler{Store: st},
		RunHandler: &reconcile.RunHandler{
			Store:   st,
			Drivers: stepDrivers,
			Layout:  runs,
		},
		EndpointHandler: &reconcile.EndpointHandler{Store: st, Backends: backends},
		AlarmHandler:    alarms,
		BatchJobHandler: &reconcile.BatchJobHandler{Store: st},
		BatchRunHandler: &reconcile.BatchRunHandler{
			Store:   st,
			Drivers: batchDrivers,
			Layout:  batchRuns,
			Scorer:  cfg.BatchScorer,
		},
	})
	alarms.Wake = func() { rec.Notify(api.KindAlarm) }
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
		RBAC:        cfg.Auth,
		Notify:      rec.Notify,
		Version:     cfg.Version,
		RunsDir:     cfg.RunsDir,
		Slurm:       cfg.SlurmConf != "",
		Metrics:     recorder,
	})
	// The web console reads and acts through srv itself, with the signed-in
	// user's token, so it has exactly the API's authorization and audit.
	if !cfg.NoConsole {
		srv.Handle(console.Prefix, console.New(console.Config{API: srv, Logger: cfg.Logger.With("component", "console")}))
		srv.Handle("GET /ui", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	}
	// The http.Server exists from the start, so that a Close racing with a
	// Serve that has not begun yet still shuts it down: Serve then returns
	// at once instead of serving a closed database forever.
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         tlsConfig,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	recorder.Start()
	// A shutdown answers long polls at once instead of waiting them out.
	httpServer.RegisterOnShutdown(srv.EndWaits)
	return &Daemon{cfg: cfg, Store: st, Server: srv, Reconciler: rec, Steps: steps, BatchSteps: batchSteps, Backends: backends, Metrics: recorder, Alarms: alarms, httpServer: httpServer}, nil
}

// poolSpecs looks compute pools up in st, for step drivers that need the
// pool's spec (the Slurm partition and GPUs of a step).
func poolSpecs(st store.Store) runtime.PoolSpecFunc {
	return func(ctx context.Context, env, pool string) (api.ComputePoolSpec, error) {
		var spec api.ComputePoolSpec
		obj, err := st.Get(ctx, api.Ref{Kind: api.KindComputePool, Environment: env, Name: pool})
		if err != nil {
			return spec, err
		}
		if err := json.Unmarshal(obj.Spec, &spec); err != nil {
			return spec, fmt.Errorf("decoding %s: %w", obj.Ref(), err)
		}
		return spec, nil
	}
}

// ReplicaID returns the name this daemon claims leases under.
func (d *Daemon) ReplicaID() string { return d.cfg.ReplicaID }

// NewReplicaID returns hostname-pid-random: unique to this process, and
// telling an operator which host and process hold a lease.
func NewReplicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// bootstrapAdmin stores the first admin token when -auth on finds the token
// table empty and no token configured, so that a fresh control plane can be
// administered at all.
func bootstrapAdmin(cfg Config, st store.Store) error {
	ctx := context.Background()
	if len(cfg.Tokens) > 0 {
		return nil
	}
	n, err := st.CountTokens(ctx)
	if err != nil {
		return fmt.Errorf("counting tokens: %w", err)
	}
	if n > 0 {
		return nil
	}
	secret, id, err := server.GenerateToken()
	if err != nil {
		return fmt.Errorf("generating the bootstrap token: %w", err)
	}
	generated := cfg.BootstrapToken == ""
	if !generated {
		secret = cfg.BootstrapToken
	}
	sum := sha256.Sum256([]byte(secret))
	tok := store.Token{SHA256: hex.EncodeToString(sum[:]), ID: id, Subject: api.SubjectAdmin}
	if err := st.CreateToken(ctx, tok, "mlopsd-bootstrap"); err != nil {
		return fmt.Errorf("storing the bootstrap token: %w", err)
	}
	if generated && cfg.BootstrapOut != nil {
		fmt.Fprintf(cfg.BootstrapOut, "mlopsd: bootstrap admin token (shown once; only its SHA-256 is stored): %s\n", secret)
	}
	cfg.Logger.Info("stored the bootstrap admin token", "token_id", id, "generated", generated)
	return nil
}

// openStore opens the PostgreSQL database when cfg names one, and the
// SQLite file otherwise.
func openStore(cfg Config) (store.Store, error) {
	if cfg.DatabaseURL != "" {
		st, err := postgres.Open(cfg.DatabaseURL)
		if err != nil {
			// The URL may hold a password: name the database without it.
			return nil, fmt.Errorf("opening database %s: %w", postgres.Describe(cfg.DatabaseURL), err)
		}
		return st, nil
	}
	st, err := sqlite.Open(cfg.DataPath)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", cfg.DataPath, err)
	}
	return st, nil
}

// DescribeDatabase names the database cfg uses, for logs: the SQLite file,
// or the PostgreSQL database without its password.
func (cfg Config) DescribeDatabase() string {
	if cfg.DatabaseURL != "" {
		return postgres.Describe(cfg.DatabaseURL)
	}
	return cfg.DataPath
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

// Serve serves the API on ln until Close, and closes ln: over HTTPS when
// the configuration has a TLS certificate. It returns nil after a clean
// Close, also when Close came first.
func (d *Daemon) Serve(ln net.Listener) error {
	var err error
	if d.httpServer.TLSConfig != nil {
		// The certificate is in TLSConfig already.
		err = d.httpServer.ServeTLS(ln, "", "")
	} else {
		err = d.httpServer.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close drains in-flight requests (bounded by ShutdownTimeout), writes the
// metrics still in memory, stops the reconcilers, kills the steps still
// running (a restarted mlopsd retries them) and closes the database, in
// that order, so no acknowledged write is cut off.
func (d *Daemon) Close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	if err := d.httpServer.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("draining HTTP requests: %w", err))
	}
	cancel()
	// The shadow copies of the last predictions are recorded too.
	d.Server.WaitShadows()
	metricsCtx, cancelMetrics := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	if err := d.Metrics.Close(metricsCtx); err != nil {
		errs = append(errs, fmt.Errorf("writing the last metrics: %w", err))
	}
	cancelMetrics()
	if d.cancel != nil {
		d.cancel()
		d.wg.Wait()
	}
	// The steps still running die below: hand their runs, and every other
	// object, to the other replicas now rather than after the lease TTL.
	leaseCtx, cancelLeases := context.WithTimeout(context.Background(), 5*time.Second)
	if err := d.Reconciler.ReleaseLeases(leaseCtx); err != nil {
		d.cfg.Logger.Warn("releasing leases", "err", err)
	}
	cancelLeases()
	stepsCtx, cancelSteps := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	if err := d.Steps.Close(stepsCtx); err != nil {
		errs = append(errs, fmt.Errorf("stopping pipeline steps: %w", err))
	}
	if err := d.BatchSteps.Close(stepsCtx); err != nil {
		errs = append(errs, fmt.Errorf("stopping batch scoring steps: %w", err))
	}
	cancelSteps()
	d.Backends.Close()
	d.Alarms.Close()
	if err := d.Store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing database: %w", err))
	}
	return errors.Join(errs...)
}
