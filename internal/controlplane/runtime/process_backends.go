package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ServeModelCommand is the hidden mlopsd subcommand that serves one model
// replica: mlopsd serve-model -artifact <uri> -addr 127.0.0.1:0. It prints
// "listening on <url>" on its first line of output once it serves.
const ServeModelCommand = "serve-model"

// ServeModel loads an mlops-linear artifact and serves it on addr until ctx
// ends, writing "listening on http://host:port" to out once it listens.
func ServeModel(ctx context.Context, artifactURI, addr string, out io.Writer) error {
	m, err := LoadLinearModel(artifactURI)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: ModelHandler(m), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ProcessBackends runs each model replica as a child process: the mlopsd
// executable started again with the serve-model subcommand. A replica whose
// process died is reported not running, so the reconciler starts it again.
type ProcessBackends struct {
	// Executable is the mlopsd binary (os.Executable()).
	Executable string
	// StartTimeout bounds how long a replica may take to listen; 0 means 15s.
	StartTimeout time.Duration

	mu       sync.Mutex
	replicas map[BackendKey]*processReplica
	client   *http.Client
}

type processReplica struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

var _ ModelBackends = (*ProcessBackends)(nil)

// NewProcessBackends returns replicas run by executable.
func NewProcessBackends(executable string) *ProcessBackends {
	return &ProcessBackends{Executable: executable, replicas: map[BackendKey]*processReplica{}, client: &http.Client{Timeout: 5 * time.Second}}
}

// Ensure implements ModelBackends.
func (p *ProcessBackends) Ensure(ctx context.Context, key BackendKey, artifactURI string) (string, error) {
	if u := p.Running(key); u != "" {
		return u, nil
	}
	timeout := p.StartTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	cmd := exec.Command(p.Executable, ServeModelCommand, "-artifact", artifactURI, "-addr", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting a model replica: %w", err)
	}
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		first <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return "", fmt.Errorf("the model replica did not listen within %v", timeout)
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return "", ctx.Err()
	}
	url, ok := strings.CutPrefix(line, "listening on ")
	if !ok {
		<-done
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimPrefix(msg, "mlopsd: ")
		if msg == "" {
			msg = "it exited without a message"
		}
		return "", errors.New(msg)
	}
	p.mu.Lock()
	p.replicas[key] = &processReplica{url: url, cmd: cmd, done: done}
	p.mu.Unlock()
	return url, nil
}

// Running implements ModelBackends; a replica whose process ended is
// forgotten.
func (p *ProcessBackends) Running(key BackendKey) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.replicas[key]
	if r == nil {
		return ""
	}
	select {
	case <-r.done:
		delete(p.replicas, key)
		return ""
	default:
		return r.url
	}
}

// Stop implements ModelBackends.
func (p *ProcessBackends) Stop(key BackendKey) {
	p.mu.Lock()
	r := p.replicas[key]
	delete(p.replicas, key)
	p.mu.Unlock()
	if r != nil {
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// Keys implements ModelBackends.
func (p *ProcessBackends) Keys(endpointUID string) []BackendKey {
	p.mu.Lock()
	var out []BackendKey
	for k := range p.replicas {
		if k.EndpointUID == endpointUID {
			out = append(out, k)
		}
	}
	p.mu.Unlock()
	sortKeys(out)
	return out
}

// Check implements ModelBackends.
func (p *ProcessBackends) Check(ctx context.Context, baseURL string) error {
	return checkReplica(ctx, p.client, baseURL)
}

// Close implements ModelBackends: every replica process is killed.
func (p *ProcessBackends) Close() {
	p.mu.Lock()
	rs := p.replicas
	p.replicas = map[BackendKey]*processReplica{}
	p.mu.Unlock()
	for _, r := range rs {
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}
