package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// ServeModelCommand is the hidden mlopsd subcommand that serves one model
// replica: mlopsd serve-model -artifact <uri> -addr 127.0.0.1:0. It prints
// "listening on <url>" on its first line of output once it serves.
const ServeModelCommand = "serve-model"

// ServeModel loads an mlops-linear artifact and serves it on addr until ctx
// ends, writing "listening on http://host:port" to out once it listens.
// When ctx ends it stops listening and lets the requests in flight finish,
// for at most drainTimeout (0 means DefaultDrainTimeout).
func ServeModel(ctx context.Context, artifactURI, addr string, drainTimeout time.Duration, out io.Writer) error {
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
	drained := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), orDefault(drainTimeout, DefaultDrainTimeout))
		defer cancel()
		err := srv.Shutdown(sctx)
		if err != nil {
			_ = srv.Close()
		}
		drained <- err
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := <-drained; err != nil {
		return fmt.Errorf("draining requests: %w", err)
	}
	return nil
}

// ProcessBackends runs each model replica as a child process: a built-in
// replica is the mlopsd executable started again with the serve-model
// subcommand, a replica with a user command that command. Every replica is
// in a process group of its own and, on Linux, dies with mlopsd. A replica
// whose process died is reported not running, so the reconciler starts it
// again. Stopping a replica sends it SIGTERM, and SIGKILL after the drain
// timeout.
type ProcessBackends struct {
	// Executable is the mlopsd binary (os.Executable()).
	Executable string
	// StartTimeout bounds how long a replica may take to serve; 0 means
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// DrainTimeout bounds how long a stopped replica's requests in flight
	// may take; 0 means DefaultDrainTimeout.
	DrainTimeout time.Duration

	set replicaSet
}

var _ ModelBackends = (*ProcessBackends)(nil)

// NewProcessBackends returns replicas run by executable.
func NewProcessBackends(executable string) *ProcessBackends {
	return &ProcessBackends{Executable: executable, set: newReplicaSet()}
}

// serveModelReplica is a built-in replica in an mlopsd serve-model process.
type serveModelReplica struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

func (r *serveModelReplica) baseURL() string   { return r.url }
func (r *serveModelReplica) userCommand() bool { return false }

func (r *serveModelReplica) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// drain sends SIGTERM, on which serve-model drains its requests for the
// same timeout; SIGKILL follows if it has not exited a little after.
func (r *serveModelReplica) drain(timeout time.Duration) {
	terminateGroup(r.cmd.Process.Pid, r.done, timeout+2*time.Second)
}

// Ensure implements ModelBackends.
func (p *ProcessBackends) Ensure(ctx context.Context, key BackendKey, spec BackendSpec) (string, error) {
	return p.set.ensure(ctx, key, spec, p.StartTimeout, func(ctx context.Context) (replica, error) {
		return p.startServeModel(ctx, spec.ArtifactURI, spec.Resources)
	})
}

// startServeModel starts mlopsd serve-model for artifactURI, with
// GOMAXPROCS and GOMEMLIMIT from res when it sets them (in place of any
// mlopsd itself runs with).
func (p *ProcessBackends) startServeModel(ctx context.Context, artifactURI string, res api.ReplicaResources) (*serveModelReplica, error) {
	timeout := orDefault(p.StartTimeout, DefaultStartTimeout)
	drain := orDefault(p.DrainTimeout, DefaultDrainTimeout)
	cmd := exec.Command(p.Executable, ServeModelCommand, "-artifact", artifactURI, "-addr", "127.0.0.1:0", "-drain-timeout", drain.String())
	if env := resourceEnv(res, true); len(env) > 0 {
		for _, kv := range os.Environ() {
			if (res.CPUMillicores > 0 && strings.HasPrefix(kv, "GOMAXPROCS=")) || (res.MemoryMiB > 0 && strings.HasPrefix(kv, "GOMEMLIMIT=")) {
				continue
			}
			cmd.Env = append(cmd.Env, kv)
		}
		cmd.Env = append(cmd.Env, env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr := newTailBuffer(4096)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := startStep(cmd); err != nil {
		return nil, fmt.Errorf("starting a model replica: %w", err)
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
	kill := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	var line string
	select {
	case line = <-first:
	case <-time.After(timeout):
		kill()
		return nil, fmt.Errorf("the model replica did not listen within %v", timeout)
	case <-ctx.Done():
		kill()
		return nil, ctx.Err()
	}
	url, ok := strings.CutPrefix(line, "listening on ")
	if !ok {
		<-done
		msg := strings.TrimPrefix(stderr.String(), "mlopsd: ")
		if msg == "" {
			msg = "it exited without a message"
		}
		return nil, errors.New(msg)
	}
	return &serveModelReplica{url: url, cmd: cmd, done: done}, nil
}

// Running implements ModelBackends; a replica whose process ended is
// forgotten.
func (p *ProcessBackends) Running(key BackendKey) string { return p.set.running(key) }

// Stop implements ModelBackends.
func (p *ProcessBackends) Stop(key BackendKey) { p.set.stop(key, p.DrainTimeout) }

// Keys implements ModelBackends.
func (p *ProcessBackends) Keys(endpointUID string) []BackendKey { return p.set.keys(endpointUID) }

// Check implements ModelBackends.
func (p *ProcessBackends) Check(ctx context.Context, baseURL string) error {
	return p.set.check(ctx, baseURL)
}

// Close implements ModelBackends: every replica is stopped gracefully.
func (p *ProcessBackends) Close() { p.set.close(p.DrainTimeout) }
