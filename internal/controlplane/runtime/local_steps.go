package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultGrace is how long a cancelled or timed-out step may take to exit
// after SIGTERM before its process group is killed.
const DefaultGrace = 5 * time.Second

// LocalSteps is the StepDriver of the local compute pool driver: every
// attempt is a child process of mlopsd, started in the run's directory
// (RunLayout.RunDir) in a process group of its own, so that a cancel or a
// timeout ends the whole tree it started. Its output (stdout and stderr)
// goes to RunLayout.LogPath. On Linux the step gets SIGKILL when mlopsd
// dies, even by SIGKILL (see local_steps_linux.go).
//
// Jobs are kept in memory only: after a restart of mlopsd every job it ran
// is JobLost, and the run reconciler retries the step.
type LocalSteps struct {
	layout RunLayout
	grace  time.Duration
	base   []string

	mu     sync.Mutex
	jobs   map[JobID]*localJob
	closed bool
}

var _ StepDriver = (*LocalSteps)(nil)

// LocalStepsOption configures NewLocalSteps.
type LocalStepsOption func(*LocalSteps)

// WithGrace sets the time between SIGTERM and SIGKILL (default DefaultGrace).
func WithGrace(d time.Duration) LocalStepsOption {
	return func(l *LocalSteps) { l.grace = d }
}

// WithBaseEnv sets the environment every step starts from, before its own
// variables and the MLOPS_* ones. The default is mlopsd's environment
// without its MLOPS_* and MLOPSD_* variables, which may hold tokens.
func WithBaseEnv(env []string) LocalStepsOption {
	return func(l *LocalSteps) { l.base = env }
}

// NewLocalSteps returns a driver that keeps runs under layout.Root.
func NewLocalSteps(layout RunLayout, opts ...LocalStepsOption) *LocalSteps {
	l := &LocalSteps{layout: layout, grace: DefaultGrace, jobs: map[JobID]*localJob{}}
	for _, o := range opts {
		o(l)
	}
	if l.base == nil {
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "MLOPS_") && !strings.HasPrefix(kv, "MLOPSD_") {
				l.base = append(l.base, kv)
			}
		}
	}
	return l
}

// localJob is one attempt. Its fields are guarded by LocalSteps.mu.
type localJob struct {
	pgid      int
	logPath   string
	timeout   time.Duration
	state     JobState
	cancelled bool
	timedOut  bool
	done      chan struct{}
	timers    []*time.Timer
}

// Submit implements StepDriver.
func (l *LocalSteps) Submit(_ context.Context, job StepJob) (JobID, error) {
	id := job.ID()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return "", errors.New("the local step driver is shut down")
	}
	if _, ok := l.jobs[id]; ok {
		return id, nil
	}
	if job.RunUID == "" || job.Step == "" || job.Attempt < 1 || job.Environment == "" || job.Run == "" {
		return "", fmt.Errorf("job %q lacks its run, step or attempt", id)
	}
	runDir := l.layout.RunDir(job.Environment, job.Run)
	if err := prepareRunDir(runDir, l.layout.OwnerFile(job.Environment, job.Run), job.RunUID); err != nil {
		return "", err
	}
	for _, dir := range []string{l.layout.OutputDir(job.Environment, job.Run), l.layout.LogDir(job.Environment, job.Run)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	logPath := l.layout.LogPath(job.Environment, job.Run, job.Step, job.Attempt)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", fmt.Errorf("opening the step log: %w", err)
	}
	defer logf.Close()

	now := time.Now().UTC()
	j := &localJob{logPath: logPath, timeout: job.Timeout, done: make(chan struct{}), state: JobState{Phase: JobRunning, StartedAt: now}}
	fail := func(msg string) (JobID, error) {
		fmt.Fprintf(logf, "mlopsd: %s\n", msg)
		j.state = JobState{Phase: JobFailed, Message: msg, StartedAt: now, FinishedAt: now}
		close(j.done)
		l.jobs[id] = j
		return id, nil
	}
	if len(job.Command) == 0 {
		if job.Image != "" {
			return fail(fmt.Sprintf("the local driver runs commands, not container images (%s); set command instead of image, or use a pool whose driver runs containers", job.Image))
		}
		return fail("the step has no command")
	}

	cmd := exec.Command(job.Command[0], job.Command[1:]...)
	cmd.Dir = runDir
	cmd.Env = l.environ(job, runDir)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// startStep makes the step die with mlopsd where it can (Linux).
	if err := startStep(cmd); err != nil {
		return fail(fmt.Sprintf("cannot start %q: %v", job.Command[0], err))
	}
	j.pgid = cmd.Process.Pid
	l.jobs[id] = j
	if job.Timeout > 0 {
		j.timers = append(j.timers, time.AfterFunc(job.Timeout, func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if !j.cancelled {
				j.timedOut = true
			}
			l.terminate(j)
		}))
	}
	go l.wait(j, cmd)
	return id, nil
}

// environ builds a step's environment: the base, the step's own variables,
// then the MLOPS_* variables, which win over both.
func (l *LocalSteps) environ(job StepJob, runDir string) []string {
	env := append([]string(nil), l.base...)
	for _, k := range sortedKeys(job.Env) {
		env = append(env, k+"="+job.Env[k])
	}
	env = append(env,
		"MLOPS_ENVIRONMENT="+job.Environment,
		"MLOPS_RUN_NAME="+job.Run,
		"MLOPS_RUN_DIR="+runDir,
		"MLOPS_OUTPUT_DIR="+l.layout.OutputDir(job.Environment, job.Run),
		"MLOPS_STEP_NAME="+job.Step,
		fmt.Sprintf("MLOPS_STEP_ATTEMPT=%d", job.Attempt),
	)
	for _, k := range sortedKeys(job.Parameters) {
		env = append(env, "MLOPS_PARAM_"+strings.ToUpper(k)+"="+job.Parameters[k])
	}
	return env
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// prepareRunDir makes dir the directory of the run with uid. A directory
// left by an earlier run of the same name is emptied first, so its outputs
// and logs can never pass for this run's.
func prepareRunDir(dir, marker, uid string) error {
	b, err := os.ReadFile(marker)
	switch {
	case err == nil && string(b) == uid:
		return nil
	case err == nil:
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("clearing %s of an earlier run: %w", dir, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("reading %s: %w", marker, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return os.WriteFile(marker, []byte(uid), 0o644)
}

// wait reaps the process and records how it ended.
func (l *LocalSteps) wait(j *localJob, cmd *exec.Cmd) {
	err := cmd.Wait()
	// Whatever the step left running in its group dies with it, so no
	// stray process keeps writing to the run's outputs.
	_ = syscall.Kill(-j.pgid, syscall.SIGKILL)

	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range j.timers {
		t.Stop()
	}
	st := &j.state
	st.FinishedAt = time.Now().UTC()
	code := int64(cmd.ProcessState.ExitCode())
	st.ExitCode = &code
	switch {
	case j.cancelled:
		st.Phase, st.Message = JobCancelled, "cancelled"
	case j.timedOut:
		st.Phase, st.TimedOut, st.Message = JobFailed, true, "timed out after "+formatTimeout(j.timeout)
	case err == nil:
		st.Phase = JobSucceeded
	default:
		st.Phase = JobFailed
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			st.Message = "killed by signal " + ws.Signal().String()
		} else {
			st.Message = fmt.Sprintf("exit code %d", code)
		}
	}
	if st.Phase != JobSucceeded {
		appendLog(j.logPath, "mlopsd: "+st.Message)
	}
	close(j.done)
}

// formatTimeout renders a timeout as whole seconds ("60s") when it is one.
func formatTimeout(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return d.String()
}

func appendLog(path, line string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

// terminate sends SIGTERM to the job's group and SIGKILL after the grace
// period. The caller holds l.mu.
func (l *LocalSteps) terminate(j *localJob) {
	select {
	case <-j.done:
		return
	default:
	}
	_ = syscall.Kill(-j.pgid, syscall.SIGTERM)
	pgid, done := j.pgid, j.done
	j.timers = append(j.timers, time.AfterFunc(l.grace, func() {
		select {
		case <-done:
		default:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}))
}

// Status implements StepDriver.
func (l *LocalSteps) Status(_ context.Context, id JobID) (JobState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, ok := l.jobs[id]
	if !ok {
		return JobState{Phase: JobLost, Message: "the local driver does not know this attempt: mlopsd restarted while it ran"}, nil
	}
	st := j.state
	if st.ExitCode != nil {
		code := *st.ExitCode
		st.ExitCode = &code
	}
	return st, nil
}

// Cancel implements StepDriver.
func (l *LocalSteps) Cancel(_ context.Context, id JobID) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, ok := l.jobs[id]
	if !ok {
		return nil
	}
	select {
	case <-j.done:
		return nil
	default:
	}
	if !j.timedOut {
		j.cancelled = true
	}
	l.terminate(j)
	return nil
}

// Delete implements StepDriver. It kills a running job at once and waits
// for it to be reaped, or until ctx ends.
func (l *LocalSteps) Delete(ctx context.Context, id JobID) error {
	l.mu.Lock()
	j, ok := l.jobs[id]
	if !ok {
		l.mu.Unlock()
		return nil
	}
	select {
	case <-j.done:
	default:
		j.cancelled = true
		_ = syscall.Kill(-j.pgid, syscall.SIGKILL)
	}
	l.mu.Unlock()
	select {
	case <-j.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	l.mu.Lock()
	delete(l.jobs, id)
	l.mu.Unlock()
	return nil
}

// Close kills every running job and waits (up to ctx) until they are
// reaped. Submit fails afterwards. mlopsd calls it on shutdown, so no step
// outlives the control plane that watches it.
func (l *LocalSteps) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	var running []*localJob
	for _, j := range l.jobs {
		select {
		case <-j.done:
		default:
			j.cancelled = true
			_ = syscall.Kill(-j.pgid, syscall.SIGKILL)
			running = append(running, j)
		}
	}
	l.mu.Unlock()
	for _, j := range running {
		select {
		case <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
