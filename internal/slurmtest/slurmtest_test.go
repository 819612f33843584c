package slurmtest_test

import (
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/slurmtest"
)

func TestMain(m *testing.M) { slurmtest.Main(m) }

func TestClusterRunsAGPUJob(t *testing.T) {
	c := slurmtest.Start(t)
	out, err := c.Run(t.Context(), "srun", "--gres=gpu:1", "sh", "-c", "echo CVD=$CUDA_VISIBLE_DEVICES")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "CVD=0") {
		t.Fatalf("srun output %q lacks CVD=0", out)
	}
	out, err = c.Run(t.Context(), "sinfo", "-h", "-p", slurmtest.GPUPartition, "-o", "%G")
	if err != nil || !strings.Contains(out, "gpu:tesla:2") {
		t.Fatalf("sinfo: %q %v", out, err)
	}
}
