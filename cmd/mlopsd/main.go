// Command mlopsd is the MLOps control plane: the HTTP/JSON API that the
// Terraform provider talks to, its durable store and its reconcilers.
//
// With no flags it serves http://127.0.0.1:8080 from ./mlops.db; with
// -database-url from a PostgreSQL database that several replicas may share;
// with -tls-cert and -tls-key over HTTPS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/daemon"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/telemetry"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal starts a graceful shutdown, a second one ends
	// the process at once, as an impatient operator expects.
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "mlopsd:", err)
		os.Exit(1)
	}
}

// Main is one mlopsd process: its parsed configuration and, between Run and
// Close, the running control plane.
type Main struct {
	Config   daemon.Config
	LogLevel slog.Level

	// Daemon is the running control plane; Run sets it.
	Daemon *daemon.Daemon
	// URL is the base URL the API is served at, e.g. http://127.0.0.1:8080
	// (https:// with -tls-cert);
	// Run sets it, so with -addr 127.0.0.1:0 it names the port chosen.
	URL string

	// done is closed when serving stops; serveErr is why.
	done     chan struct{}
	serveErr error
}

// envOr returns the environment variable's value, or def when it is unset or
// empty (as MLOPSD_TOKEN is read, and as a unit file's "MLOPSD_ADDR=" means).
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ParseFlags reads flags, falling back to MLOPSD_* environment variables so
// the daemon can be configured the same way in a shell and in a unit file.
func (m *Main) ParseFlags(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("MLOPSD_ADDR", "127.0.0.1:8080"), "listen address (env MLOPSD_ADDR)")
	data := fs.String("data", envOr("MLOPSD_DATA", "./mlops.db"), "SQLite database file (env MLOPSD_DATA)")
	databaseURL := fs.String("database-url", envOr("MLOPSD_DATABASE_URL", ""), "PostgreSQL database to use instead of the SQLite file, e.g. postgres://mlops:secret@db:5432/mlops; replicas may share it (env MLOPSD_DATABASE_URL)")
	runsDir := fs.String("runs-dir", envOr("MLOPSD_RUNS_DIR", ""), "directory of pipeline runs: working directories, step logs, registered artifacts; default: runs next to the SQLite file (env MLOPSD_RUNS_DIR)")
	level := fs.String("log-level", envOr("MLOPSD_LOG_LEVEL", "info"), "log level: debug, info, warn or error (env MLOPSD_LOG_LEVEL)")
	tokenFile := fs.String("token-file", envOr("MLOPSD_TOKEN_FILE", ""), "file with one accepted bearer token per line; authentication is off when neither this nor MLOPSD_TOKEN is set (env MLOPSD_TOKEN_FILE)")
	authMode := fs.String("auth", envOr("MLOPSD_AUTH", "off"), "on: every request needs a bearer token from the token table (or -token-file / MLOPSD_TOKEN, which act as admin) and is authorized by role; off: the loopback development default (env MLOPSD_AUTH)")
	bootstrapFile := fs.String("bootstrap-token-file", envOr("MLOPSD_BOOTSTRAP_TOKEN_FILE", ""), "with -auth on: file holding the admin token to store on first start; without it and MLOPSD_BOOTSTRAP_TOKEN one is generated and printed once to stderr (env MLOPSD_BOOTSTRAP_TOKEN_FILE)")
	interval := fs.Duration("reconcile-interval", 500*time.Millisecond, "time between reconcile passes")
	maxNodes := fs.Int64("local-max-nodes", 64, "most nodes one compute pool of the local driver may have")
	shutdown := fs.Duration("shutdown-timeout", 15*time.Second, "how long SIGTERM waits for in-flight requests")
	slurmConf := fs.String("slurm-conf", envOr("MLOPSD_SLURM_CONF", ""), "slurm.conf of a Slurm cluster; compute pools may then use driver slurm, whose steps are submitted with sbatch (the Slurm clients and munge must be set up on this machine) (env MLOPSD_SLURM_CONF)")
	modelRuntime := fs.String("model-runtime", envOr("MLOPSD_MODEL_RUNTIME", daemon.ModelRuntimeProcess), "how model endpoint replicas run: process (each a child process, mlopsd serve-model) or inprocess (each an HTTP server inside mlopsd) (env MLOPSD_MODEL_RUNTIME)")
	tlsCert := fs.String("tls-cert", envOr("MLOPSD_TLS_CERT", ""), "PEM certificate (chain) to serve the API over HTTPS with; needs -tls-key (env MLOPSD_TLS_CERT)")
	tlsKey := fs.String("tls-key", envOr("MLOPSD_TLS_KEY", ""), "PEM private key of -tls-cert; needs -tls-cert (env MLOPSD_TLS_KEY)")
	leaseTTL := fs.Duration("lease-ttl", reconcile.DefaultLeaseTTL, "how long a replica's claim on an object lasts; another replica takes over the objects of one that died after at most this long")
	flushDefault, err := envDuration("MLOPSD_METRICS_FLUSH_INTERVAL", telemetry.DefaultFlushInterval)
	if err != nil {
		return err
	}
	retentionDefault, err := envDuration("MLOPSD_METRICS_RETENTION", telemetry.DefaultRetention)
	if err != nil {
		return err
	}
	metricsFlush := fs.Duration("metrics-flush-interval", flushDefault, "how often the prediction gateway's metrics are written to the database (env MLOPSD_METRICS_FLUSH_INTERVAL)")
	metricsRetention := fs.Duration("metrics-retention", retentionDefault, fmt.Sprintf("how long metric points are kept; at least the longest alarm window, %v (env MLOPSD_METRICS_RETENTION)", api.MaxAlarmWindow))
	consoleMode := fs.String("console", envOr("MLOPSD_CONSOLE", "on"), "on: serve the web console at /ui/ (it acts through the API with each user's token); off: no console, /ui/ answers 404 (env MLOPSD_CONSOLE)")
	ingestDelay := fs.Duration("metrics-ingest-delay", reconcile.DefaultMetricsIngestDelay, "how long after a period ends alarms evaluate it, so the metric points of its last seconds are in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; mlopsd takes only flags (see mlopsd -h), the word version, or a command: runs start, runs list, runs get, runs logs, batch start, batch list, batch get, audit verify, audit export", fs.Arg(0))
	}
	if err := m.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level %q: use debug, info, warn or error", *level)
	}
	// The daemon would replace zero or negative values by its defaults
	// without a word, so an explicit bad value is refused here instead.
	switch {
	case *interval <= 0:
		return fmt.Errorf("-reconcile-interval %v: use a positive duration, e.g. 500ms", *interval)
	case *maxNodes < 1:
		return fmt.Errorf("-local-max-nodes %d: use a whole number of at least 1", *maxNodes)
	case *shutdown <= 0:
		return fmt.Errorf("-shutdown-timeout %v: use a positive duration, e.g. 15s", *shutdown)
	case *modelRuntime != daemon.ModelRuntimeProcess && *modelRuntime != daemon.ModelRuntimeInProcess:
		return fmt.Errorf("-model-runtime %q: use process or inprocess", *modelRuntime)
	case *leaseTTL <= *interval:
		return fmt.Errorf("-lease-ttl %v: use a duration longer than -reconcile-interval (%v), e.g. 15s", *leaseTTL, *interval)
	case *metricsFlush <= 0:
		return fmt.Errorf("-metrics-flush-interval %v: use a positive duration, e.g. 1s", *metricsFlush)
	case *metricsRetention < api.MaxAlarmWindow:
		return fmt.Errorf("-metrics-retention %v: use at least %v, the longest alarm window, e.g. 72h", *metricsRetention, api.MaxAlarmWindow)
	case *ingestDelay <= 0:
		return fmt.Errorf("-metrics-ingest-delay %v: use a positive duration, e.g. 2s", *ingestDelay)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("-tls-cert and -tls-key (MLOPSD_TLS_CERT and MLOPSD_TLS_KEY) go together: set both to serve HTTPS, or neither for plain HTTP")
	}
	if *databaseURL != "" {
		// Naming both would leave one silently unused.
		dataSet := os.Getenv("MLOPSD_DATA") != ""
		fs.Visit(func(f *flag.Flag) { dataSet = dataSet || f.Name == "data" })
		if dataSet {
			return errors.New("-data and -database-url (MLOPSD_DATA and MLOPSD_DATABASE_URL) exclude each other: the SQLite file or the PostgreSQL database, not both")
		}
		*data = ""
	}
	var tokens []string
	if t := os.Getenv("MLOPSD_TOKEN"); t != "" {
		tokens = append(tokens, t)
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("-token-file: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				tokens = append(tokens, line)
			}
		}
	}
	var noConsole bool
	switch strings.ToLower(*consoleMode) {
	case "on":
	case "off":
		noConsole = true
	default:
		return fmt.Errorf("-console %q: use on or off", *consoleMode)
	}
	var authOn bool
	switch strings.ToLower(*authMode) {
	case "on", "true", "1":
		authOn = true
	case "off", "false", "0":
	default:
		return fmt.Errorf("-auth %q: use on or off", *authMode)
	}
	bootstrap := os.Getenv("MLOPSD_BOOTSTRAP_TOKEN")
	if *bootstrapFile != "" {
		b, err := os.ReadFile(*bootstrapFile)
		if err != nil {
			return fmt.Errorf("-bootstrap-token-file: %w", err)
		}
		bootstrap = strings.TrimSpace(string(b))
		if bootstrap == "" {
			return fmt.Errorf("-bootstrap-token-file %s is empty; write the admin token into it", *bootstrapFile)
		}
	}
	// Batch inference runs score with this very executable (mlopsd
	// batch-score), so that scorer and control plane are one version.
	var scorer []string
	if exe, err := os.Executable(); err == nil {
		scorer = []string{exe}
	}
	m.Config = daemon.Config{
		Addr:                 *addr,
		DataPath:             *data,
		DatabaseURL:          *databaseURL,
		RunsDir:              *runsDir,
		Tokens:               tokens,
		Auth:                 authOn,
		BootstrapToken:       bootstrap,
		BootstrapOut:         stderr,
		ReconcileInterval:    *interval,
		LocalMaxNodesPerPool: *maxNodes,
		ShutdownTimeout:      *shutdown,
		LeaseTTL:             *leaseTTL,
		Version:              version,
		SlurmConf:            *slurmConf,
		ModelRuntime:         *modelRuntime,
		TLSCertFile:          *tlsCert,
		TLSKeyFile:           *tlsKey,
		MetricsFlushInterval: *metricsFlush,
		MetricsRetention:     *metricsRetention,
		BatchScorer:          scorer,
	}
	m.Config.MetricsIngestDelay = *ingestDelay
	m.Config.NoConsole = noConsole
	return nil
}

// envDuration returns the duration in the environment variable, or def
// when it is unset or empty.
func envDuration(name string, def time.Duration) (time.Duration, error) {
	v := envOr(name, "")
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not a duration; use e.g. 1s, 90m or 72h", name, v)
	}
	return d, nil
}

// Run opens the database, binds the listen address and starts the API and
// the reconcilers in the background. It returns once the API accepts
// connections (URL says where); Close stops everything.
func (m *Main) Run(ctx context.Context) error {
	if m.Config.Logger == nil {
		m.Config.Logger = slog.New(slog.DiscardHandler)
	}
	log := m.Config.Logger
	d, err := daemon.New(m.Config)
	if err != nil {
		return err
	}
	ln, err := d.Listen()
	if err != nil {
		_ = d.Close()
		return err
	}
	m.Daemon = d
	scheme := "http"
	if m.Config.TLS() {
		scheme = "https"
	}
	m.URL = scheme + "://" + ln.Addr().String()
	auth := "off (no MLOPSD_TOKEN or -token-file)"
	if len(m.Config.Tokens) > 0 {
		auth = fmt.Sprintf("%d bearer token(s)", len(m.Config.Tokens))
	}
	if m.Config.Auth {
		auth = "on (token table and roles)"
	}
	log.InfoContext(ctx, "mlopsd serving", "version", version, "url", m.URL, "data", m.Config.DescribeDatabase(), "auth", auth)
	d.RunReconcilers()
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		m.serveErr = d.Serve(ln)
	}()
	return nil
}

// Done is closed when the API stops serving: after Close, or early when
// serving fails (Close then reports why).
func (m *Main) Done() <-chan struct{} { return m.done }

// Close drains in-flight requests (bounded by -shutdown-timeout), stops the
// reconcilers and closes the database, so no acknowledged write is lost. It
// returns any error that stopped serving early.
func (m *Main) Close() error {
	if m.Daemon == nil {
		return nil
	}
	err := m.Daemon.Close()
	<-m.done
	m.Daemon = nil
	return errors.Join(err, m.serveErr)
}

// run is mlopsd's main: it serves until ctx is cancelled (SIGINT or SIGTERM)
// and then shuts down gracefully. ready, when not nil, is called with the
// base URL once the API accepts connections.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(url string)) error {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, "mlopsd", version)
		return nil
	}
	if len(args) > 0 && args[0] == "runs" {
		return runsCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "audit" {
		return auditCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == runtime.ServeModelCommand {
		return serveModelCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "batch" {
		return batchCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == batch.ScoreCommand {
		return batchScoreCommand(ctx, args[1:], stdout, stderr)
	}
	var m Main
	if err := m.ParseFlags(args, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: m.LogLevel}))
	m.Config.Logger = log
	if err := m.Run(ctx); err != nil {
		return err
	}
	if ready != nil {
		ready(m.URL)
	}
	select {
	case <-m.Done():
		log.Error("serving stopped unexpectedly; shutting down")
		return m.Close()
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests")
	if err := m.Close(); err != nil {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}
