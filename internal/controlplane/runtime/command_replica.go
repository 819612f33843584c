package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// commandReplica is a model replica served by a user command
// (api.EndpointVariant.Command): a child process of mlopsd in a process
// group of its own, started with MLOPS_MODEL_URI, MLOPS_ARTIFACT_PATH (for
// file:// artifacts), PORT and, when the variant sets them,
// MLOPS_CPU_MILLICORES and MLOPS_MEMORY_MIB in its environment. On Linux it gets SIGKILL
// when mlopsd dies (see local_steps_linux.go). Its stdout and stderr go to
// a bounded tail that error messages quote.
type commandReplica struct {
	url     string
	command []string
	cmd     *exec.Cmd
	tail    *tailBuffer
	// done is closed once the process exited; waitErr is its exit status.
	done    chan struct{}
	waitErr error
}

// replicaPollInterval is how often a starting replica's health is asked.
const replicaPollInterval = 50 * time.Millisecond

// startCommandReplica starts spec.Command and waits until it answers
// GET /healthz with 200 on its port, for at most timeout. A command that
// exits first or does not answer in time is an error that names it and
// quotes the end of its output; nothing is left running.
func startCommandReplica(ctx context.Context, spec BackendSpec, timeout time.Duration, client *http.Client) (*commandReplica, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, fmt.Errorf("finding a free port for a model replica: %w", err)
	}
	r := &commandReplica{
		url:     "http://127.0.0.1:" + strconv.Itoa(port),
		command: spec.Command,
		tail:    newTailBuffer(4096),
		done:    make(chan struct{}),
	}
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Env = append(replicaBaseEnv(), "MLOPS_MODEL_URI="+spec.ArtifactURI, "PORT="+strconv.Itoa(port))
	cmd.Env = append(cmd.Env, resourceEnv(spec.Resources, false)...)
	if u, err := url.Parse(spec.ArtifactURI); err == nil && u.Scheme == "file" && strings.HasPrefix(u.Path, "/") {
		cmd.Env = append(cmd.Env, "MLOPS_ARTIFACT_PATH="+u.Path)
	}
	cmd.Stdout = r.tail
	cmd.Stderr = r.tail
	// Output copying ends this long after the process, even when a child
	// it started keeps the pipes open.
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := startStep(cmd); err != nil {
		return nil, fmt.Errorf("cannot start model command %q: %w", r.commandLine(), err)
	}
	r.cmd = cmd
	go func() {
		r.waitErr = cmd.Wait()
		close(r.done)
	}()

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(replicaPollInterval)
	defer tick.Stop()
	for {
		if r.healthy(ctx, client) {
			return r, nil
		}
		select {
		case <-r.done:
			return nil, fmt.Errorf("model command %q exited (%v) before it answered GET /healthz with 200 on port %d%s",
				r.commandLine(), r.waitErr, port, r.tail.quote())
		case <-deadline.C:
			r.kill()
			return nil, fmt.Errorf("model command %q did not answer GET /healthz with 200 on 127.0.0.1:$PORT (%d) within %v%s",
				r.commandLine(), port, timeout, r.tail.quote())
		case <-ctx.Done():
			r.kill()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

func (r *commandReplica) healthy(ctx context.Context, client *http.Client) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (r *commandReplica) commandLine() string { return strings.Join(r.command, " ") }

func (r *commandReplica) baseURL() string   { return r.url }
func (r *commandReplica) userCommand() bool { return true }

func (r *commandReplica) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// drain sends the process group SIGTERM, so the command can finish its
// requests in flight, and SIGKILL once timeout passed.
func (r *commandReplica) drain(timeout time.Duration) {
	terminateGroup(r.cmd.Process.Pid, r.done, timeout)
}

func (r *commandReplica) kill() {
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.done
}

// terminateGroup sends process group pgid SIGTERM and, unless done closes
// within timeout, SIGKILL; it returns once done closed.
func terminateGroup(pgid int, done <-chan struct{}, timeout time.Duration) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		// The leader exited; whatever it left in its group goes too.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	case <-t.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// freeLoopbackPort returns a TCP port on 127.0.0.1 that was free a moment
// ago.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("not a TCP address")
	}
	return addr.Port, nil
}

// replicaBaseEnv is the environment a model command starts from: mlopsd's
// own without its MLOPS_* and MLOPSD_* variables, which may hold tokens,
// and without PORT.
func replicaBaseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "MLOPS_") || strings.HasPrefix(kv, "MLOPSD_") || strings.HasPrefix(kv, "PORT=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// tailBuffer keeps the last bytes written to it.
type tailBuffer struct {
	mu        sync.Mutex
	buf       []byte
	max       int
	truncated bool
}

func newTailBuffer(maxBytes int) *tailBuffer { return &tailBuffer{max: maxBytes} }

// Write implements io.Writer; it never fails.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
	return len(p), nil
}

// String returns the tail, marked when older output was dropped.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(strings.ToValidUTF8(string(t.buf), "?"))
	if t.truncated && s != "" {
		s = "…" + s
	}
	return s
}

// quote is the tail for an error message: "; its output ends: ..." or
// "; it wrote no output".
func (t *tailBuffer) quote() string {
	s := t.String()
	if len(s) > 1024 {
		s = "…" + strings.ToValidUTF8(s[len(s)-1024:], "")
	}
	if s == "" {
		return "; it wrote no output"
	}
	return "; its output ends: " + s
}
