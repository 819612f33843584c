// Package slurmpool_test runs training pipelines end to end on a compute
// pool with driver slurm: a real mlopsd (mlopsdtest), the typed client, and
// a real single-node Slurm cluster (slurmtest).
package slurmpool_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/slurmtest"
)

func TestMain(m *testing.M) {
	// Batch inference runs start this binary again (in a Slurm job) as
	// their scorer: be one then.
	mlopsdtest.ServeBatchScorer()
	slurmtest.Main(m)
}

const waitTimeout = 40 * time.Second

type fixture struct {
	t       *testing.T
	ctx     context.Context
	c       *client.Client
	cluster *slurmtest.Cluster
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cluster := slurmtest.Start(t)
	srv := mlopsdtest.Start(t, mlopsdtest.WithSlurmConf(cluster.Conf))
	c, err := client.New(client.Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: t.Context(), c: c, cluster: cluster}
	if _, err := c.CreateEnvironment(f.ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateModel(f.ctx, "dev", "m", api.ModelSpec{TaskType: api.TaskRegression}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) waitPool(name string, ok func(*api.ComputePool) bool) *api.ComputePool {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		p, err := f.c.GetComputePool(f.ctx, "dev", name)
		if err != nil {
			f.t.Fatal(err)
		}
		if ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("pool %s: %+v", name, p.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) waitRun(name string, ok func(*api.PipelineRun) bool) *api.PipelineRun {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		run, err := f.c.GetPipelineRun(f.ctx, "dev", name)
		if err == nil && ok(run) {
			return run
		}
		if err != nil && !client.IsNotFound(err) {
			f.t.Fatalf("reading run %s: %v", name, err)
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("run %s: condition not met after %v; last: %+v (err %v)", name, waitTimeout, run, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func finished(run *api.PipelineRun) bool { return api.RunFinished(run.Status.Phase) }

func (f *fixture) pipeline(name string, steps ...api.PipelineStep) {
	f.t.Helper()
	if _, err := f.c.CreateTrainingPipeline(f.ctx, "dev", name, api.TrainingPipelineSpec{ComputePool: "gpu", Model: "m", Steps: steps}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.c.StartPipelineRun(f.ctx, "dev", name, nil); err != nil {
		f.t.Fatal(err)
	}
}

func TestSlurmPool_EndToEnd(t *testing.T) {
	f := newFixture(t)
	if _, err := f.c.CreateComputePool(f.ctx, "dev", "gpu", api.ComputePoolSpec{Driver: api.DriverSlurm, AcceleratorType: "nvidia-tesla", AcceleratorCount: 1, MinNodes: 1, MaxNodes: 2}); err != nil {
		t.Fatal(err)
	}
	pool := f.waitPool("gpu", func(p *api.ComputePool) bool { return p.Status.Phase == api.PhaseReady })
	if pool.Status.CurrentNodes != 1 || pool.Status.GPUsTotal != slurmtest.GPUs {
		t.Errorf("pool status %+v, want 1 node and %d GPUs", pool.Status, slurmtest.GPUs)
	}
	t.Logf("pool gpu: %s", pool.Status.Message)

	t.Run("PoolsTheClusterCannotServe", func(t *testing.T) {
		if _, err := f.c.CreateComputePool(f.ctx, "dev", "big", api.ComputePoolSpec{Driver: api.DriverSlurm, SlurmPartition: slurmtest.GPUPartition, AcceleratorType: "nvidia-a100", AcceleratorCount: 4, MaxNodes: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.c.CreateComputePool(f.ctx, "dev", "nowhere", api.ComputePoolSpec{Driver: api.DriverSlurm, MaxNodes: 1}); err != nil {
			t.Fatal(err)
		}
		big := f.waitPool("big", func(p *api.ComputePool) bool { return p.Status.Phase == api.PhaseFailed })
		if big.Status.Reason != "InsufficientAccelerators" || !strings.Contains(big.Status.Message, "gpu:tesla:2") {
			t.Errorf("pool big: %+v", big.Status)
		}
		nowhere := f.waitPool("nowhere", func(p *api.ComputePool) bool { return p.Status.Phase == api.PhaseFailed })
		if nowhere.Status.Reason != "PartitionNotFound" || !strings.Contains(nowhere.Status.Message, `"nowhere" does not exist`) {
			t.Errorf("pool nowhere: %+v", nowhere.Status)
		}
		// Deleting a slurm pool leaves the partition alone and finishes.
		for _, name := range []string{"big", "nowhere"} {
			if _, err := f.c.DeleteComputePool(f.ctx, "dev", name); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(waitTimeout)
		for _, name := range []string{"big", "nowhere"} {
			for {
				_, err := f.c.GetComputePool(f.ctx, "dev", name)
				if client.IsNotFound(err) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("pool %s not gone after delete: %v", name, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})

	t.Run("StepsRunInDAGOrder", func(t *testing.T) {
		f.pipeline("dag",
			api.PipelineStep{Name: "train", Command: []string{"sh", "-c", `test -f "$MLOPS_OUTPUT_DIR/prepared" && echo "training on GPU $CUDA_VISIBLE_DEVICES in job $SLURM_JOB_ID"`}, DependsOn: []string{"prepare"}},
			api.PipelineStep{Name: "prepare", Command: []string{"sh", "-c", `echo prepared > "$MLOPS_OUTPUT_DIR/prepared"; echo "prepared in $SLURM_JOB_PARTITION"`}},
		)
		run := f.waitRun("dag-1", finished)
		if run.Status.Phase != api.PhaseSucceeded {
			t.Fatalf("run: %s (%s)", run.Status.Phase, run.Status.Message)
		}
		train, prepare := run.Status.Steps[0], run.Status.Steps[1]
		if prepare.Name != "prepare" || prepare.FinishedAt.After(*train.StartedAt) {
			t.Errorf("steps ran out of order: %+v", run.Status.Steps)
		}
		logs, err := f.c.GetPipelineRunLogs(f.ctx, "dev", "dag-1", client.LogOptions{Step: "train"})
		if err != nil || !strings.Contains(logs, "training on GPU 0 in job") {
			t.Errorf("train log %q, %v", logs, err)
		}
		logs, err = f.c.GetPipelineRunLogs(f.ctx, "dev", "dag-1", client.LogOptions{Step: "prepare"})
		if err != nil || !strings.Contains(logs, "prepared in gpu") {
			t.Errorf("prepare log %q, %v", logs, err)
		}
	})

	t.Run("FailingJobFailsRun", func(t *testing.T) {
		f.pipeline("diverges",
			api.PipelineStep{Name: "fit", Command: []string{"sh", "-c", `echo "epoch 1: loss=0.5"; echo "error: loss diverged" >&2; exit 3`}},
			api.PipelineStep{Name: "evaluate", Command: []string{"true"}, DependsOn: []string{"fit"}},
		)
		run := f.waitRun("diverges-1", finished)
		if run.Status.Phase != api.PhaseFailed {
			t.Fatalf("run %s, want failed", run.Status.Phase)
		}
		for _, want := range []string{`step "fit"`, "exit code 3", "error: loss diverged"} {
			if !strings.Contains(run.Status.Message, want) {
				t.Errorf("message lacks %q:\n%s", want, run.Status.Message)
			}
		}
		if fit := run.Status.Steps[0]; fit.ExitCode == nil || *fit.ExitCode != 3 {
			t.Errorf("step fit %+v", fit)
		}
	})

	t.Run("CancelStopsTheJob", func(t *testing.T) {
		f.pipeline("long", api.PipelineStep{Name: "sleep", Command: []string{"sh", "-c", "echo sleeping; sleep 120"}})
		f.waitRun("long-1", func(r *api.PipelineRun) bool {
			return len(r.Status.Steps) == 1 && r.Status.Steps[0].Phase == api.PhaseRunning
		})
		// Wait until Slurm runs it, then cancel.
		deadline := time.Now().Add(waitTimeout)
		for {
			out, err := f.cluster.Run(f.ctx, "squeue", "-h", "-t", "running", "-o", "%j")
			if err == nil && strings.Contains(out, ".sleep.1") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the job never ran: %q %v", out, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := f.c.CancelPipelineRun(f.ctx, "dev", "long-1"); err != nil {
			t.Fatal(err)
		}
		run := f.waitRun("long-1", finished)
		if run.Status.Phase != api.PhaseCancelled {
			t.Fatalf("run %s (%s), want cancelled", run.Status.Phase, run.Status.Message)
		}
		// scancel ends the job through COMPLETING (slurmd still killing
		// its processes) before it shows CANCELLED; a 120 s sleep cannot
		// complete by itself meanwhile, so wait for the state to settle.
		deadline = time.Now().Add(waitTimeout)
		for {
			out, err := f.cluster.Run(f.ctx, "squeue", "-h", "-t", "all", "-o", "%j %T")
			if err != nil {
				t.Fatal(err)
			}
			var states []string
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, ".sleep.1") {
					states = append(states, line)
				}
			}
			settling := slices.ContainsFunc(states, func(l string) bool {
				return strings.Contains(l, "COMPLETING") || strings.Contains(l, "RUNNING")
			})
			if settling && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for _, line := range states {
				if !strings.Contains(line, "CANCELLED") {
					t.Errorf("job not cancelled in Slurm: %s", line)
				}
			}
			break
		}
	})
}

// Without -slurm-conf, mlopsd refuses slurm pools and says how to fix it.
func TestSlurmPool_RefusedWithoutCluster(t *testing.T) {
	srv := mlopsdtest.Start(t)
	c, err := client.New(client.Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEnvironment(t.Context(), "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateComputePool(t.Context(), "dev", "gpu", api.ComputePoolSpec{Driver: api.DriverSlurm, MaxNodes: 1})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Field != "spec.driver" || !strings.Contains(apiErr.Message, "-slurm-conf") {
		t.Fatalf("create = %v, want 400 on spec.driver naming -slurm-conf", err)
	}
}
