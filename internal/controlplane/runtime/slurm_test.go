package runtime_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/slurmtest"
)

// TestMain stops the test Slurm cluster the Slurm tests start.
func TestMain(m *testing.M) { slurmtest.Main(m) }

// slurmFixture is a Slurm step driver on the test cluster, over a
// temporary runs directory, with pools looked up in pools.
type slurmFixture struct {
	cluster *slurmtest.Cluster
	slurm   *runtime.Slurm
	steps   *runtime.SlurmSteps
	layout  runtime.RunLayout
	pools   map[string]api.ComputePoolSpec
	// runUID is the UID of the run whose steps the tests submit.
	runUID string
}

func newSlurm(t *testing.T) *slurmFixture {
	t.Helper()
	c := slurmtest.Start(t)
	f := &slurmFixture{
		cluster: c,
		slurm:   &runtime.Slurm{Conf: c.Conf},
		layout:  runtime.RunLayout{Root: t.TempDir()},
		// The Slurm cluster outlives one test (go test -count=N runs it
		// again), and a job named as an earlier run's would be taken for
		// it, as Submit is idempotent by job name: real run UIDs never
		// repeat, and neither does this one.
		runUID: strings.ReplaceAll(t.Name(), "/", "-") + "-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		pools: map[string]api.ComputePoolSpec{
			"gpu":  {Driver: api.DriverSlurm, AcceleratorType: "nvidia-tesla", AcceleratorCount: 1, MaxNodes: 1},
			"cpu":  {Driver: api.DriverSlurm, AcceleratorType: "none", MaxNodes: 1},
			"huge": {Driver: api.DriverSlurm, AcceleratorType: "nvidia-tesla", AcceleratorCount: 5, MaxNodes: 1, SlurmPartition: slurmtest.GPUPartition},
		},
	}
	f.steps = &runtime.SlurmSteps{Slurm: f.slurm, Layout: f.layout, Pools: func(_ context.Context, _, pool string) (api.ComputePoolSpec, error) {
		spec, ok := f.pools[pool]
		if !ok {
			return spec, errors.New("no pool " + pool)
		}
		return spec, nil
	}}
	return f
}

// job is a job of the fixture's run.
func (f *slurmFixture) job(pool, step string, script string) runtime.StepJob {
	return runtime.StepJob{
		RunUID: f.runUID, Step: step, Attempt: 1, Environment: "dev", Run: "train", Pool: pool,
		Command: []string{"sh", "-c", script},
	}
}

func waitSlurm(t *testing.T, d runtime.StepDriver, id runtime.JobID, phase runtime.JobPhase) runtime.JobState {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := d.Status(t.Context(), id)
		if err != nil {
			t.Fatalf("Status(%s): %v", id, err)
		}
		if st.Phase == phase || (phase != runtime.JobRunning && st.Phase.Done()) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s (%s) after 30s, want %s", id, st.Phase, st.Message, phase)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSlurmSteps_SubmitIdempotentStatusLogs(t *testing.T) {
	f := newSlurm(t)
	job := f.job("gpu", "train", `echo "step=$MLOPS_STEP_NAME lr=$MLOPS_PARAM_LR greeting=$GREETING gpus=$CUDA_VISIBLE_DEVICES partition=$SLURM_JOB_PARTITION"; pwd; echo 42 > "$MLOPS_OUTPUT_DIR/answer"`)
	job.Env = map[string]string{"GREETING": "hello"}
	job.Parameters = map[string]string{"lr": "0.1"}
	id, err := f.steps.Submit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	// A second submit, e.g. after a crash before the ID was recorded,
	// finds the job instead of starting another.
	if id2, err := f.steps.Submit(t.Context(), job); err != nil || id2 != id {
		t.Fatalf("resubmit = %s, %v", id2, err)
	}
	out, err := f.cluster.Run(t.Context(), "squeue", "-h", "-t", "all", "--name="+f.steps.JobName(id), "-o", "%i")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(out)); n != 1 {
		t.Fatalf("%d Slurm jobs named %s, want 1:\n%s", n, f.steps.JobName(id), out)
	}
	st := waitSlurm(t, f.steps, id, runtime.JobSucceeded)
	if st.Phase != runtime.JobSucceeded || st.ExitCode == nil || *st.ExitCode != 0 {
		t.Fatalf("state = %+v", st)
	}
	log := readFile(t, f.layout.LogPath("dev", "train", "train", 1))
	for _, want := range []string{"step=train lr=0.1 greeting=hello gpus=0 partition=gpu", f.layout.RunDir("dev", "train")} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if got := strings.TrimSpace(readFile(t, f.layout.OutputDir("dev", "train")+"/answer")); got != "42" {
		t.Errorf("output = %q", got)
	}
	// Submitting the finished attempt again does nothing either.
	if _, err := f.steps.Submit(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	out, _ = f.cluster.Run(t.Context(), "squeue", "-h", "-t", "all", "--name="+f.steps.JobName(id), "-o", "%i")
	if n := len(strings.Fields(out)); n != 1 {
		t.Fatalf("%d Slurm jobs after resubmitting a finished attempt, want 1", n)
	}
	// Once Slurm forgot the job, its exit file still tells.
	if err := f.steps.Delete(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.layout.LogPath("dev", "train", "train", 1)); err != nil {
		t.Errorf("Delete removed the log: %v", err)
	}
}

func TestSlurmSteps_FailureAndCancel(t *testing.T) {
	f := newSlurm(t)
	failing, err := f.steps.Submit(t.Context(), f.job("cpu", "bad", `echo about to fail; exit 3`))
	if err != nil {
		t.Fatal(err)
	}
	long, err := f.steps.Submit(t.Context(), f.job("cpu", "long", `echo started; sleep 60`))
	if err != nil {
		t.Fatal(err)
	}
	st := waitSlurm(t, f.steps, failing, runtime.JobFailed)
	if st.Phase != runtime.JobFailed || st.ExitCode == nil || *st.ExitCode != 3 || st.Message != "exit code 3" {
		t.Fatalf("failing job: %+v", st)
	}
	if log := readFile(t, f.layout.LogPath("dev", "train", "bad", 1)); !strings.Contains(log, "about to fail") || !strings.Contains(log, "mlopsd: exit code 3") {
		t.Errorf("log:\n%s", log)
	}
	waitSlurm(t, f.steps, long, runtime.JobRunning)
	if err := f.steps.Cancel(t.Context(), long); err != nil {
		t.Fatal(err)
	}
	if st := waitSlurm(t, f.steps, long, runtime.JobCancelled); st.Phase != runtime.JobCancelled {
		t.Fatalf("cancelled job: %+v", st)
	}
	// Cancelling again, or an unknown job, does nothing.
	if err := f.steps.Cancel(t.Context(), long); err != nil {
		t.Fatal(err)
	}
	if err := f.steps.Cancel(t.Context(), "nope.x.1"); err != nil {
		t.Fatal(err)
	}
	if st, err := f.steps.Status(t.Context(), "nope.x.1"); err != nil || st.Phase != runtime.JobLost {
		t.Fatalf("unknown job: %+v, %v", st, err)
	}
}

func TestSlurmSteps_GPUsBeyondThePartition(t *testing.T) {
	f := newSlurm(t)
	// sbatch refuses the job outright: the attempt fails with Slurm's
	// reason at once, instead of being submitted again and again.
	id, err := f.steps.Submit(t.Context(), f.job("huge", "train", "true"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.steps.Status(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != runtime.JobFailed || !strings.Contains(st.Message, "Requested node configuration is not available") {
		t.Fatalf("state = %+v, want failed with sbatch's refusal", st)
	}
	if log := readFile(t, f.layout.LogPath("dev", "train", "train", 1)); !strings.Contains(log, "Requested node configuration is not available") {
		t.Errorf("log:\n%s", log)
	}
	t.Logf("refused as expected: %s", st.Message)
}

func TestSlurmPool_Observe(t *testing.T) {
	f := newSlurm(t)
	pool := &runtime.SlurmPool{Slurm: f.slurm}
	ref := func(name string) api.Ref { return api.Ref{Kind: api.KindComputePool, Environment: "dev", Name: name} }

	obs, err := pool.Observe(t.Context(), ref("gpu"), api.ComputePoolSpec{Driver: api.DriverSlurm, AcceleratorType: "nvidia-tesla", AcceleratorCount: 2, MinNodes: 1, MaxNodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if obs.NodesUp != 1 || obs.GPUsTotal != slurmtest.GPUs || obs.GPUsFree > slurmtest.GPUs {
		t.Fatalf("observation = %+v", obs)
	}
	t.Logf("gpu pool: %s", obs.Detail)

	cases := []struct {
		name, reason, msg string
		spec              api.ComputePoolSpec
	}{
		{"missing", "PartitionNotFound", `Slurm partition "missing" does not exist`, api.ComputePoolSpec{Driver: api.DriverSlurm, AcceleratorType: "none", MaxNodes: 1}},
		{"a100", "InsufficientAccelerators", "4 × nvidia-a100 per node: its nodes have GRES gpu:tesla:2", api.ComputePoolSpec{Driver: api.DriverSlurm, AcceleratorType: "nvidia-a100", AcceleratorCount: 4, MaxNodes: 1, SlurmPartition: "gpu"}},
		{"three", "InsufficientAccelerators", "3 × nvidia-tesla", api.ComputePoolSpec{Driver: api.DriverSlurm, AcceleratorType: "nvidia-tesla", AcceleratorCount: 3, MaxNodes: 1, SlurmPartition: "gpu"}},
		{"many", "InsufficientCapacity", "min_nodes 2", api.ComputePoolSpec{Driver: api.DriverSlurm, AcceleratorType: "none", MinNodes: 2, MaxNodes: 2, SlurmPartition: "cpu"}},
	}
	for _, c := range cases {
		_, err := pool.Observe(t.Context(), ref(c.name), c.spec)
		var pe *runtime.PoolError
		if !errors.As(err, &pe) || pe.Reason != c.reason || !strings.Contains(pe.Message, c.msg) {
			t.Errorf("%s: Observe = %v, want %s with %q", c.name, err, c.reason, c.msg)
		}
	}
}
