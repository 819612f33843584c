package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// clearEnv makes the MLOPSD_* variables empty for the test, which mlopsd
// treats as unset.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{"MLOPSD_ADDR", "MLOPSD_DATA", "MLOPSD_DATABASE_URL", "MLOPSD_LOG_LEVEL", "MLOPSD_TOKEN", "MLOPSD_TOKEN_FILE", "MLOPSD_AUTH", "MLOPSD_BOOTSTRAP_TOKEN", "MLOPSD_BOOTSTRAP_TOKEN_FILE", "MLOPSD_TLS_CERT", "MLOPSD_TLS_KEY", "MLOPSD_METRICS_FLUSH_INTERVAL", "MLOPSD_METRICS_RETENTION", "MLOPSD_CONSOLE"} {
		t.Setenv(name, "")
	}
}

func TestParseFlags_Defaults(t *testing.T) {
	clearEnv(t)
	var m Main
	if err := m.ParseFlags(nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	c := m.Config
	if c.Addr != "127.0.0.1:8080" || c.DataPath != "./mlops.db" || c.DatabaseURL != "" {
		t.Errorf("addr %q, data %q, database URL %q; want 127.0.0.1:8080, ./mlops.db and none", c.Addr, c.DataPath, c.DatabaseURL)
	}
	if m.LogLevel != slog.LevelInfo {
		t.Errorf("log level %v, want info", m.LogLevel)
	}
	if len(c.Tokens) != 0 {
		t.Errorf("tokens %q, want none (authentication off)", c.Tokens)
	}
	if c.ReconcileInterval != 500*time.Millisecond || c.LocalMaxNodesPerPool != 64 || c.ShutdownTimeout != 15*time.Second {
		t.Errorf("config = %+v", c)
	}
	if c.Version != version {
		t.Errorf("version %q, want %q", c.Version, version)
	}
	if c.MetricsFlushInterval != time.Second || c.MetricsRetention != 48*time.Hour {
		t.Errorf("metrics flush interval %v, retention %v; want 1s and 48h", c.MetricsFlushInterval, c.MetricsRetention)
	}
	if c.NoConsole {
		t.Error("the console is off by default")
	}
}

// The console is served unless -console off (or MLOPSD_CONSOLE=off) says
// otherwise; the API is served either way.
func TestRun_Console(t *testing.T) {
	clearEnv(t)
	on := MustRunMain(t, "-reconcile-interval", "10ms")
	if status, body := httpDo(t, "GET", on.URL+"/ui/", ""); status != http.StatusOK || !strings.Contains(string(body), "mlopsd console") {
		t.Errorf("/ui/ with the console on = %d %.200s", status, body)
	}
	t.Setenv("MLOPSD_CONSOLE", "off")
	off := MustRunMain(t, "-reconcile-interval", "10ms")
	if status, _ := httpDo(t, "GET", off.URL+"/ui/", ""); status != http.StatusNotFound {
		t.Errorf("/ui/ with MLOPSD_CONSOLE=off = %d, want 404", status)
	}
	if status, _ := httpDo(t, "GET", off.URL+"/v1/environments", ""); status != http.StatusOK {
		t.Errorf("/v1/environments with the console off = %d", status)
	}
}

func TestParseFlags_Metrics(t *testing.T) {
	clearEnv(t)
	t.Setenv("MLOPSD_METRICS_FLUSH_INTERVAL", "250ms")
	t.Setenv("MLOPSD_METRICS_RETENTION", "72h")
	var m Main
	if err := m.ParseFlags(nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if m.Config.MetricsFlushInterval != 250*time.Millisecond || m.Config.MetricsRetention != 72*time.Hour {
		t.Errorf("from the environment: flush %v, retention %v; want 250ms and 72h", m.Config.MetricsFlushInterval, m.Config.MetricsRetention)
	}
	if err := m.ParseFlags([]string{"-metrics-flush-interval", "2s", "-metrics-retention", "96h"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if m.Config.MetricsFlushInterval != 2*time.Second || m.Config.MetricsRetention != 96*time.Hour {
		t.Errorf("flags: flush %v, retention %v; want 2s and 96h", m.Config.MetricsFlushInterval, m.Config.MetricsRetention)
	}
}

func TestParseFlags_Environment(t *testing.T) {
	clearEnv(t)
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokenFile, []byte("# ops team\n  tok2  \n\ntok3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MLOPSD_ADDR", "0.0.0.0:9090")
	t.Setenv("MLOPSD_DATA", "/var/lib/mlops/mlops.db")
	t.Setenv("MLOPSD_LOG_LEVEL", "debug")
	t.Setenv("MLOPSD_TOKEN", "tok1")
	t.Setenv("MLOPSD_TOKEN_FILE", tokenFile)

	t.Run("FromEnvironment", func(t *testing.T) {
		var m Main
		if err := m.ParseFlags(nil, io.Discard); err != nil {
			t.Fatal(err)
		}
		if m.Config.Addr != "0.0.0.0:9090" || m.Config.DataPath != "/var/lib/mlops/mlops.db" || m.LogLevel != slog.LevelDebug {
			t.Errorf("addr %q, data %q, level %v", m.Config.Addr, m.Config.DataPath, m.LogLevel)
		}
		if got := strings.Join(m.Config.Tokens, ","); got != "tok1,tok2,tok3" {
			t.Errorf("tokens %q, want tok1, tok2, tok3", got)
		}
	})

	t.Run("FlagsWin", func(t *testing.T) {
		var m Main
		err := m.ParseFlags([]string{"-addr", "127.0.0.1:1", "-data", "x.db", "-log-level", "ERROR", "-local-max-nodes", "3", "-reconcile-interval", "1s", "-shutdown-timeout", "2s"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		c := m.Config
		if c.Addr != "127.0.0.1:1" || c.DataPath != "x.db" || m.LogLevel != slog.LevelError || c.LocalMaxNodesPerPool != 3 || c.ReconcileInterval != time.Second || c.ShutdownTimeout != 2*time.Second {
			t.Errorf("config = %+v, level %v", c, m.LogLevel)
		}
	})
}

func TestParseFlags_Errors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		// want occurs in the error.
		want string
	}{
		{"BadLogLevel", []string{"-log-level", "loud"}, nil, "-log-level"},
		{"BadLogLevelFromEnv", nil, map[string]string{"MLOPSD_LOG_LEVEL": "loud"}, "-log-level"},
		{"UnknownFlag", []string{"-port", "80"}, nil, "port"},
		{"PositionalArgument", []string{"serve"}, nil, `"serve"`},
		{"MissingTokenFile", []string{"-token-file", "/nonexistent/tokens"}, nil, "-token-file"},
		{"ZeroMaxNodes", []string{"-local-max-nodes", "0"}, nil, "-local-max-nodes"},
		{"ZeroInterval", []string{"-reconcile-interval", "0s"}, nil, "-reconcile-interval"},
		{"NegativeShutdownTimeout", []string{"-shutdown-timeout", "-1s"}, nil, "-shutdown-timeout"},
		{"BadDuration", []string{"-shutdown-timeout", "soon"}, nil, "shutdown-timeout"},
		{"DataAndDatabaseURL", []string{"-data", "x.db", "-database-url", "postgres://db/mlops"}, nil, "exclude each other"},
		{"DataFromEnvAndDatabaseURL", []string{"-database-url", "postgres://db/mlops"}, map[string]string{"MLOPSD_DATA": "x.db"}, "exclude each other"},
		{"ZeroMetricsFlush", []string{"-metrics-flush-interval", "0s"}, nil, "-metrics-flush-interval"},
		{"ShortMetricsRetention", []string{"-metrics-retention", "1h"}, nil, "-metrics-retention 1h0m0s: use at least 48h0m0s"},
		{"BadMetricsRetentionFromEnv", nil, map[string]string{"MLOPSD_METRICS_RETENTION": "two days"}, "MLOPSD_METRICS_RETENTION"},
		{"BadConsole", []string{"-console", "maybe"}, nil, `-console "maybe": use on or off`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var m Main
			var stderr bytes.Buffer
			err := m.ParseFlags(tc.args, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseFlags(%q) = %v, want an error mentioning %s", tc.args, err, tc.want)
			}
		})
	}
}

func TestRun_VersionAndHelp(t *testing.T) {
	clearEnv(t)
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"version"}, &stdout, &stderr, nil); err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); got != "mlopsd "+version+"\n" {
		t.Errorf("version prints %q", got)
	}
	stdout.Reset()
	if err := run(t.Context(), []string{"-h"}, &stdout, &stderr, nil); err != nil {
		t.Errorf("-h = %v, want nil", err)
	}
	if !strings.Contains(stderr.String(), "-addr") || !strings.Contains(stderr.String(), "MLOPSD_DATA") {
		t.Errorf("-h printed %q", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer that the logger and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is one run of mlopsd's main in a goroutine.
type process struct {
	URL    string
	cancel context.CancelFunc
	errc   chan error
	stderr *syncBuffer
}

// startRun calls run as main does, and returns once the API is served. The
// returned process stops when ctx is cancelled, like SIGTERM does through
// signal.NotifyContext.
func startRun(t *testing.T, args ...string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	p := &process{cancel: cancel, errc: make(chan error, 1), stderr: &syncBuffer{}}
	urls := make(chan string, 1)
	go func() {
		p.errc <- run(ctx, args, io.Discard, p.stderr, func(url string) { urls <- url })
	}()
	select {
	case p.URL = <-urls:
	case err := <-p.errc:
		cancel()
		t.Fatalf("run(%q) returned before serving: %v\n%s", args, err, p.stderr)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("run(%q) did not start serving\n%s", args, p.stderr)
	}
	t.Cleanup(func() { _ = p.stop(t) })
	return p
}

// stop cancels the run and returns what run returned; it is safe to call
// more than once.
func (p *process) stop(t *testing.T) error {
	t.Helper()
	p.cancel()
	select {
	case err, ok := <-p.errc:
		if !ok {
			return nil
		}
		close(p.errc)
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not return after its context was cancelled\n%s", p.stderr)
		return nil
	}
}

func httpDo(t *testing.T, method, url, body string, headers ...string) (int, []byte) {
	t.Helper()
	var rdr io.Reader
	if body != "" {
		rdr = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rdr)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestRun_RestartLosesNothing(t *testing.T) {
	clearEnv(t)
	data := filepath.Join(t.TempDir(), "mlops.db")
	args := []string{"-addr", "127.0.0.1:0", "-data", data, "-reconcile-interval", "10ms"}

	p := startRun(t, args...)
	if !strings.Contains(p.stderr.String(), "url="+p.URL) {
		t.Errorf("the log does not name the URL %s:\n%s", p.URL, p.stderr)
	}
	status, body := httpDo(t, "POST", p.URL+"/v1/environments", `{"name":"dev","spec":{"description":"kept"}}`)
	if status != http.StatusCreated {
		t.Fatalf("create environment = %d %s", status, body)
	}
	var env api.Environment
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	status, body = httpDo(t, "POST", p.URL+"/v1/environments/dev/compute-pools", `{"name":"p","spec":{"min_nodes":1,"max_nodes":2}}`)
	if status != http.StatusCreated {
		t.Fatalf("create pool = %d %s", status, body)
	}

	if err := p.stop(t); err != nil {
		t.Fatalf("run after SIGTERM = %v, want nil\n%s", err, p.stderr)
	}
	if log := p.stderr.String(); !strings.Contains(log, "stopped cleanly") {
		t.Errorf("the log does not report a clean stop:\n%s", log)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(p.URL, "http://"), time.Second); err == nil {
		t.Errorf("%s still accepts connections after run returned", p.URL)
	}

	p2 := startRun(t, args...)
	status, body = httpDo(t, "GET", p2.URL+"/v1/environments/dev", "")
	if status != http.StatusOK {
		t.Fatalf("after a restart GET = %d %s", status, body)
	}
	var again api.Environment
	if err := json.Unmarshal(body, &again); err != nil {
		t.Fatal(err)
	}
	if again.Metadata.UID != env.Metadata.UID || again.Spec.Description != "kept" {
		t.Errorf("after a restart: %+v, want uid %s", again, env.Metadata.UID)
	}
	if status, body := httpDo(t, "GET", p2.URL+"/v1/environments/dev/compute-pools/p", ""); status != http.StatusOK {
		t.Errorf("pool after a restart = %d %s", status, body)
	}
	status, body = httpDo(t, "GET", p2.URL+"/v1/audit", "")
	var audit api.AuditRecordList
	if status != http.StatusOK || json.Unmarshal(body, &audit) != nil || len(audit.Items) != 2 {
		t.Errorf("audit after a restart = %d %s, want the 2 creates", status, body)
	}
}

func TestRun_Auth(t *testing.T) {
	clearEnv(t)
	t.Setenv("MLOPSD_TOKEN", "s3cret")
	p := startRun(t, "-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "mlops.db"))
	if status, _ := httpDo(t, "GET", p.URL+"/v1/environments", ""); status != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", status)
	}
	if status, _ := httpDo(t, "GET", p.URL+"/v1/environments", "", "Authorization", "Bearer s3cret"); status != http.StatusOK {
		t.Errorf("with the token: %d, want 200", status)
	}
	if strings.Contains(p.stderr.String(), "s3cret") {
		t.Errorf("the token appears in the log:\n%s", p.stderr)
	}
}

func TestRun_StartupErrors(t *testing.T) {
	clearEnv(t)
	t.Run("AddressInUse", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		err = run(t.Context(), []string{"-addr", ln.Addr().String(), "-data", filepath.Join(t.TempDir(), "mlops.db")}, io.Discard, io.Discard, nil)
		if err == nil {
			t.Fatal("run on a taken address succeeded")
		}
	})
	t.Run("DataDirectoryMissing", func(t *testing.T) {
		err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "no", "such", "dir", "mlops.db")}, io.Discard, io.Discard, nil)
		if err == nil {
			t.Fatal("run with an unusable data path succeeded")
		}
	})
	t.Run("BadFlag", func(t *testing.T) {
		if err := run(t.Context(), []string{"-log-level", "loud"}, io.Discard, io.Discard, nil); err == nil {
			t.Fatal("run with a bad flag succeeded")
		}
	})
}

// TestRun_CancelledAtOnce is a SIGTERM that arrives while mlopsd is still
// starting: run must shut down and return, not serve forever.
func TestRun_CancelledAtOnce(t *testing.T) {
	clearEnv(t)
	for i := range 5 {
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() {
			errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(t.TempDir(), "mlops.db")}, io.Discard, io.Discard, func(string) { cancel() })
		}()
		select {
		case err := <-errc:
			if err != nil {
				t.Fatalf("attempt %d: run = %v, want nil", i, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("attempt %d: run did not return after an immediate cancel", i)
		}
		cancel()
	}
}

// TestRun_DrainsInFlightRequest starts a request, stops mlopsd while the
// handler waits for the body, and then sends the body: the request must
// still be served and its write kept.
func TestRun_DrainsInFlightRequest(t *testing.T) {
	clearEnv(t)
	data := filepath.Join(t.TempDir(), "mlops.db")
	args := []string{"-addr", "127.0.0.1:0", "-data", data}
	p := startRun(t, args...)

	// A shutdown drains the requests being handled, not those whose header
	// net/http has not read yet (it closes those connections unanswered),
	// so this returns only once the handler reads the body.
	finish := mlopsdtest.StartInFlight(t, p.URL, "/v1/environments", `{"name":"late","spec":{"description":"sent during shutdown"}}`)
	if status, b := httpDo(t, "GET", p.URL+"/metrics", ""); status != http.StatusOK || !strings.Contains(string(b), "\nmlopsd_http_requests_in_flight 1\n") {
		t.Errorf("/metrics with one request in flight = %d, without mlopsd_http_requests_in_flight 1:\n%s", status, b)
	}
	p.cancel()
	// Shutdown has begun once the listener is closed.
	mlopsdtest.WaitRefused(t, p.URL)
	if status, body := finish(); status != http.StatusCreated {
		t.Fatalf("in-flight request = %d %s, want 201", status, body)
	}
	if err := p.stop(t); err != nil {
		t.Fatalf("run = %v, want nil", err)
	}

	p2 := startRun(t, args...)
	if status, b := httpDo(t, "GET", p2.URL+"/v1/environments/late", ""); status != http.StatusOK {
		t.Errorf("the drained write is lost after a restart: %d %s", status, b)
	}
}

// MustRunMain runs a Main bound to a free loopback port with a database in
// a temporary directory, and closes it when the test ends.
func MustRunMain(tb testing.TB, args ...string) *Main {
	tb.Helper()
	m := &Main{}
	args = append([]string{"-addr", "127.0.0.1:0", "-data", filepath.Join(tb.TempDir(), "mlops.db")}, args...)
	if err := m.ParseFlags(args, io.Discard); err != nil {
		tb.Fatal(err)
	}
	if err := m.Run(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("closing mlopsd: %v", err)
		}
	})
	return m
}

func TestMainStruct_RunAndClose(t *testing.T) {
	clearEnv(t)
	m := MustRunMain(t, "-reconcile-interval", "10ms")
	if !strings.HasPrefix(m.URL, "http://127.0.0.1:") || strings.HasSuffix(m.URL, ":0") {
		t.Fatalf("URL = %q, want the bound loopback port", m.URL)
	}
	if status, _ := httpDo(t, "GET", m.URL+"/readyz", ""); status != http.StatusOK {
		t.Errorf("/readyz = %d", status)
	}
	select {
	case <-m.Done():
		t.Fatal("Done closed while serving")
	default:
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	select {
	case <-m.Done():
	default:
		t.Error("Done still open after Close")
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
