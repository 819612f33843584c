package reliability_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/pgtest"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/tfcli"
)

// binDir holds the binaries the tests build, once per test binary.
var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "mlops-reliability-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pgtest.Main(m)
	_ = os.RemoveAll(binDir)
}

var (
	mlopsdOnce sync.Once
	mlopsdPath string
	mlopsdErr  error
)

// mlopsdBinary builds cmd/mlopsd once and returns its path.
func mlopsdBinary(t *testing.T) string {
	t.Helper()
	mlopsdOnce.Do(func() {
		mlopsdPath = filepath.Join(binDir, "mlopsd")
		out, err := exec.Command("go", "build", "-o", mlopsdPath, "../../cmd/mlopsd").CombinedOutput()
		if err != nil {
			mlopsdErr = fmt.Errorf("building mlopsd: %v\n%s", err, out)
		}
	})
	if mlopsdErr != nil {
		t.Fatal(mlopsdErr)
	}
	return mlopsdPath
}

// providerVersion is the version the mirror holds the provider under,
// which the tests' configurations pin.
const providerVersion = tfcli.ProviderVersion

var (
	providerOnce sync.Once
	providerCfg  string
	providerErr  error
)

// providerMirror builds the provider into a filesystem mirror once per test
// binary (internal/tfcli) and returns the terraform CLI config that
// installs it from there.
func providerMirror(t *testing.T) string {
	t.Helper()
	providerOnce.Do(func() {
		providerCfg, providerErr = tfcli.BuildMirror("../..", filepath.Join(binDir, "tf"))
	})
	if providerErr != nil {
		t.Fatal(providerErr)
	}
	return providerCfg
}

// syncBuffer is a bytes.Buffer safe for a process to write and a test to
// read at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// process is a running mlopsd.
type process struct {
	cmd    *exec.Cmd
	URL    string
	stderr *syncBuffer
	done   chan struct{}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address is a %T, not a TCP address", ln.Addr())
	}
	return addr.Port
}

// startMlopsd runs the mlopsd binary on 127.0.0.1:port with args and waits
// until /healthz answers. The process is killed when the test ends.
func startMlopsd(t *testing.T, port int, args ...string) *process {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(mlopsdBinary(t), append([]string{"-addr", addr}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "MLOPSD_TOKEN=", "MLOPSD_TOKEN_FILE=")
	p := &process{cmd: cmd, URL: "http://" + addr, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("mlopsd exited at start:\n%s", p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mlopsd does not answer on %s:\n%s", p.URL, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// newClient returns an API client of url with the client's default retries.
func newClient(t *testing.T, url string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoint: url, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listNames returns name -> uid of every feature store and compute pool in
// env, and fails the test when a name comes twice.
func listNames(ctx context.Context, t *testing.T, c *client.Client, env string) (map[string]string, error) {
	t.Helper()
	out := map[string]string{}
	add := func(kind, name, uid string) {
		key := kind + "/" + name
		if _, dup := out[key]; dup {
			t.Errorf("%s listed twice", key)
		}
		out[key] = uid
	}
	token := ""
	for {
		l, err := c.ListFeatureStores(ctx, env, api.ListOptions{Limit: api.MaxPageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, o := range l.Items {
			add(api.KindFeatureStore, o.Metadata.Name, o.Metadata.UID)
		}
		if token = l.NextPageToken; token == "" {
			break
		}
	}
	for {
		l, err := c.ListComputePools(ctx, env, api.ListOptions{Limit: api.MaxPageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, o := range l.Items {
			add(api.KindComputePool, o.Metadata.Name, o.Metadata.UID)
		}
		if token = l.NextPageToken; token == "" {
			break
		}
	}
	return out, nil
}

// eventually calls fn until it returns nil or timeout passes, and then fails
// the test with fn's last error.
func eventually(t *testing.T, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
