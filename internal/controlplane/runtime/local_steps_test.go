package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
)

// newDriver returns a local step driver over a temporary directory, closed
// when the test ends so that no child process outlives it.
func newDriver(t *testing.T, opts ...runtime.LocalStepsOption) (*runtime.LocalSteps, runtime.RunLayout) {
	t.Helper()
	layout := runtime.RunLayout{Root: t.TempDir()}
	d := runtime.NewLocalSteps(layout, opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("closing the driver: %v", err)
		}
	})
	return d, layout
}

func shJob(step string, attempt int64, script string) runtime.StepJob {
	return runtime.StepJob{
		RunUID: "uid-1", Step: step, Attempt: attempt, Environment: "dev", Run: "train-1", Pool: "cpu",
		Command: []string{"sh", "-c", script},
	}
}

// waitDone polls Status until the job ended, failing the test after 10s.
func waitDone(t *testing.T, d runtime.StepDriver, id runtime.JobID) runtime.JobState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := d.Status(t.Context(), id)
		if err != nil {
			t.Fatalf("Status(%s): %v", id, err)
		}
		if st.Phase.Done() {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after 10s", id, st.Phase)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLocalSteps_Success(t *testing.T) {
	d, layout := newDriver(t)
	job := shJob("prep", 1, `echo "run=$MLOPS_RUN_NAME step=$MLOPS_STEP_NAME attempt=$MLOPS_STEP_ATTEMPT lr=$MLOPS_PARAM_LEARNING_RATE greeting=$GREETING"
pwd
echo 42 > "$MLOPS_OUTPUT_DIR/answer"
echo oops >&2`)
	job.Env = map[string]string{"GREETING": "hello"}
	job.Parameters = map[string]string{"learning_rate": "0.1"}
	id, err := d.Submit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if id != runtime.NewJobID("uid-1", "prep", 1) {
		t.Errorf("id %q is not NewJobID", id)
	}
	st := waitDone(t, d, id)
	if st.Phase != runtime.JobSucceeded || st.ExitCode == nil || *st.ExitCode != 0 {
		t.Fatalf("state %+v, want succeeded with exit code 0", st)
	}
	if st.StartedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
		t.Errorf("times %v .. %v", st.StartedAt, st.FinishedAt)
	}
	log := readFile(t, layout.LogPath("dev", "train-1", "prep", 1))
	for _, want := range []string{"run=train-1 step=prep attempt=1 lr=0.1 greeting=hello", layout.RunDir("dev", "train-1"), "oops"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if got := readFile(t, filepath.Join(layout.OutputDir("dev", "train-1"), "answer")); got != "42\n" {
		t.Errorf("output %q", got)
	}
}

func TestLocalSteps_SecretsNotInherited(t *testing.T) {
	t.Setenv("MLOPSD_TOKEN", "s3cret")
	t.Setenv("MLOPS_TOKEN", "s3cret")
	d, layout := newDriver(t)
	id, err := d.Submit(t.Context(), shJob("env", 1, `env`))
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, d, id)
	if log := readFile(t, layout.LogPath("dev", "train-1", "env", 1)); strings.Contains(log, "s3cret") || !strings.Contains(log, "PATH=") {
		t.Errorf("step environment leaks a token or lacks PATH:\n%s", log)
	}
}

func TestLocalSteps_FailureExitCode(t *testing.T) {
	d, layout := newDriver(t)
	id, err := d.Submit(t.Context(), shJob("train", 2, `echo about to fail; exit 3`))
	if err != nil {
		t.Fatal(err)
	}
	st := waitDone(t, d, id)
	if st.Phase != runtime.JobFailed || st.ExitCode == nil || *st.ExitCode != 3 || st.Message != "exit code 3" {
		t.Fatalf("state %+v, want failed with exit code 3", st)
	}
	if log := readFile(t, layout.LogPath("dev", "train-1", "train", 2)); !strings.Contains(log, "about to fail") || !strings.Contains(log, "mlopsd: exit code 3") {
		t.Errorf("log:\n%s", log)
	}
}

func TestLocalSteps_CannotStart(t *testing.T) {
	d, _ := newDriver(t)
	job := shJob("x", 1, "")
	job.Command = []string{"/no/such/program"}
	id, err := d.Submit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	st := waitDone(t, d, id)
	if st.Phase != runtime.JobFailed || !strings.Contains(st.Message, "cannot start") {
		t.Errorf("state %+v", st)
	}

	job = shJob("img", 1, "")
	job.Command, job.Image = nil, "busybox:1"
	id, err = d.Submit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitDone(t, d, id); st.Phase != runtime.JobFailed || !strings.Contains(st.Message, "runs commands") {
		t.Errorf("image job: state %+v", st)
	}
}

// pidAlive reports whether a process with pid runs. A zombie counts as
// gone: a killed grandchild is reparented to PID 1, which in a container
// may never reap it.
func pidAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: trust kill(2)
	}
	// The state follows the command name in parentheses: "pid (comm) S ...".
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// grandchildPID reads the pid a step wrote of the background process it
// started.
func grandchildPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not written", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for pidAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d of the step's group is still alive", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLocalSteps_TimeoutKillsProcessGroup(t *testing.T) {
	// The step ignores SIGTERM, so only the SIGKILL after the grace period
	// ends it; its background child must die with it.
	d, layout := newDriver(t, runtime.WithGrace(100*time.Millisecond))
	job := shJob("slow", 1, `trap '' TERM; sleep 300 & echo $! > "$MLOPS_OUTPUT_DIR/child.pid"; wait`)
	job.Timeout = 300 * time.Millisecond
	start := time.Now()
	id, err := d.Submit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	child := grandchildPID(t, filepath.Join(layout.OutputDir("dev", "train-1"), "child.pid"))
	st := waitDone(t, d, id)
	if st.Phase != runtime.JobFailed || !st.TimedOut || st.Message != "timed out after 300ms" {
		t.Fatalf("state %+v, want failed, timed out", st)
	}
	if elapsed := time.Since(start); elapsed > 8*time.Second {
		t.Errorf("the timeout took %v to end the job", elapsed)
	}
	waitGone(t, child)
	if log := readFile(t, layout.LogPath("dev", "train-1", "slow", 1)); !strings.Contains(log, "mlopsd: timed out after 300ms") {
		t.Errorf("log:\n%s", log)
	}

	job = shJob("whole", 1, `sleep 5`)
	job.Timeout = 2 * time.Second
	// Only the message format is checked here: whole seconds read "2s".
	id, err = d.Submit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitDone(t, d, id); st.Message != "timed out after 2s" {
		t.Errorf("message %q, want timed out after 2s", st.Message)
	}
}

func TestLocalSteps_Cancel(t *testing.T) {
	d, layout := newDriver(t, runtime.WithGrace(5*time.Second))
	id, err := d.Submit(t.Context(), shJob("long", 1, `sleep 300 & echo $! > "$MLOPS_OUTPUT_DIR/child.pid"; wait`))
	if err != nil {
		t.Fatal(err)
	}
	child := grandchildPID(t, filepath.Join(layout.OutputDir("dev", "train-1"), "child.pid"))
	if st, _ := d.Status(t.Context(), id); st.Phase != runtime.JobRunning {
		t.Fatalf("state %+v, want running", st)
	}
	for range 2 { // idempotent
		if err := d.Cancel(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	st := waitDone(t, d, id)
	if st.Phase != runtime.JobCancelled {
		t.Fatalf("state %+v, want cancelled", st)
	}
	waitGone(t, child)
	// Cancelling a finished or unknown job does nothing.
	if err := d.Cancel(t.Context(), id); err != nil {
		t.Error(err)
	}
	if err := d.Cancel(t.Context(), "nope"); err != nil {
		t.Error(err)
	}
}

func TestLocalSteps_IdempotentSubmit(t *testing.T) {
	d, layout := newDriver(t)
	job := shJob("count", 1, `echo ran >> "$MLOPS_OUTPUT_DIR/count"`)
	id1, err := d.Submit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := d.Submit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != id2 {
		t.Errorf("ids %q and %q differ", id1, id2)
	}
	waitDone(t, d, id1)
	if _, err := d.Submit(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(layout.OutputDir("dev", "train-1"), "count")); got != "ran\n" {
		t.Errorf("the step ran %d times, want once", strings.Count(got, "ran"))
	}
}

func TestLocalSteps_LostAndDelete(t *testing.T) {
	d, layout := newDriver(t)
	st, err := d.Status(t.Context(), runtime.NewJobID("uid-0", "x", 1))
	if err != nil || st.Phase != runtime.JobLost || st.Message == "" {
		t.Errorf("unknown job: %+v, %v; want lost", st, err)
	}
	id, err := d.Submit(t.Context(), shJob("long", 1, `echo started; sleep 300`))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := d.Delete(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := d.Status(t.Context(), id); st.Phase != runtime.JobLost {
		t.Errorf("deleted job: %+v, want lost (forgotten)", st)
	}
	// The log stays for people to read.
	if _, err := os.Stat(layout.LogPath("dev", "train-1", "long", 1)); err != nil {
		t.Error(err)
	}
}

func TestLocalSteps_NewRunOfSameNameStartsClean(t *testing.T) {
	d, layout := newDriver(t)
	id, err := d.Submit(t.Context(), shJob("a", 1, `echo old > "$MLOPS_OUTPUT_DIR/model.json"`))
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, d, id)
	job := shJob("a", 1, `ls "$MLOPS_OUTPUT_DIR"`)
	job.RunUID = "uid-2"
	id, err = d.Submit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, d, id)
	if _, err := os.Stat(filepath.Join(layout.OutputDir("dev", "train-1"), "model.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an earlier run's output survived into a new run of the same name: %v", err)
	}
}

func TestLocalSteps_Closed(t *testing.T) {
	d, _ := newDriver(t)
	if err := d.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Submit(t.Context(), shJob("a", 1, "true")); err == nil {
		t.Error("Submit after Close succeeded")
	}
}
