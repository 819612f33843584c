package reliability_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// TestStepDiesWithMlopsd kills mlopsd (SIGKILL) while a pipeline step runs:
// the step's process dies with it instead of running on as an orphan, and
// the restarted mlopsd retries the step exactly once and finishes the run.
// Without that a restarted mlopsd, or another replica, would run the step a
// second time next to the orphan.
func TestStepDiesWithMlopsd(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("steps die with mlopsd on Linux only (parent-death signal)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	port := freePort(t)
	args := []string{"-data", filepath.Join(dir, "mlops.db"), "-runs-dir", filepath.Join(dir, "runs"),
		"-reconcile-interval", "50ms", "-lease-ttl", "2s"}
	first := startMlopsd(t, port, args...)
	c := newClient(t, first.URL)
	if _, err := c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateComputePool(ctx, "dev", "cpu", api.ComputePoolSpec{MaxNodes: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateModel(ctx, "dev", "m", api.ModelSpec{TaskType: api.TaskOther}); err != nil {
		t.Fatal(err)
	}
	// The first attempt records its PID and sleeps (exec keeps the PID);
	// later ones record theirs and succeed.
	script := fmt.Sprintf(`echo "$MLOPS_STEP_ATTEMPT $$" >> %s
if [ "$MLOPS_STEP_ATTEMPT" = 1 ]; then exec sleep 300; fi`, pidFile)
	spec := api.TrainingPipelineSpec{ComputePool: "cpu", Model: "m", Steps: []api.PipelineStep{
		{Name: "train", Command: []string{"sh", "-c", script}, Retries: 3},
	}}
	if _, err := c.CreateTrainingPipeline(ctx, "dev", "p", spec); err != nil {
		t.Fatal(err)
	}
	var runName string
	eventually(t, 20*time.Second, "a run started", func() error {
		run, err := c.StartPipelineRun(ctx, "dev", "p", nil)
		if err != nil {
			return err
		}
		runName = run.Metadata.Name
		return nil
	})

	var pid int
	eventually(t, 20*time.Second, "the first attempt running", func() error {
		attempts, err := readAttempts(pidFile)
		if err != nil {
			return err
		}
		if len(attempts) == 0 {
			return errors.New("no attempt has started")
		}
		pid = attempts[0].pid
		return nil
	})
	t.Cleanup(func() {
		// Should the step outlive mlopsd, it must not outlive the test.
		if processAlive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if !processAlive(pid) {
		t.Fatalf("the first attempt (pid %d) is not running before the kill", pid)
	}

	first.kill()
	eventually(t, 5*time.Second, fmt.Sprintf("the step (pid %d) gone after mlopsd's SIGKILL", pid), func() error {
		if processAlive(pid) {
			return fmt.Errorf("pid %d still runs", pid)
		}
		return nil
	})

	second := startMlopsd(t, port, args...)
	c = newClient(t, second.URL)
	var run *api.PipelineRun
	eventually(t, 30*time.Second, "the run finished after the restart", func() error {
		var err error
		if run, err = c.GetPipelineRun(ctx, "dev", runName); err != nil {
			return err
		}
		if !api.RunFinished(run.Status.Phase) {
			return fmt.Errorf("run %s is %s", runName, run.Status.Phase)
		}
		return nil
	})
	if run.Status.Phase != api.PhaseSucceeded {
		t.Errorf("run %s is %s (%s), want succeeded", runName, run.Status.Phase, run.Status.Message)
	}
	if len(run.Status.Steps) != 1 || run.Status.Steps[0].Attempts != 2 || run.Status.Steps[0].Phase != api.PhaseSucceeded {
		t.Errorf("steps %+v, want train succeeded at attempt 2", run.Status.Steps)
	}
	attempts, err := readAttempts(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 2 || attempts[0].attempt != 1 || attempts[1].attempt != 2 {
		t.Errorf("attempts started: %+v, want 1 and then 2, once each", attempts)
	}
}

type startedAttempt struct{ attempt, pid int }

// readAttempts reads the "attempt pid" lines the step writes.
func readAttempts(path string) ([]startedAttempt, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []startedAttempt
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var a startedAttempt
		if _, err := fmt.Sscanf(line, "%d %d", &a.attempt, &a.pid); err != nil {
			return nil, fmt.Errorf("line %q of %s: %w", line, path, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// processAlive reports whether pid runs: it exists and is not a zombie (an
// orphan killed in a container whose init does not reap stays one).
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses, which may hold
	// spaces and parentheses itself.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X')
}
