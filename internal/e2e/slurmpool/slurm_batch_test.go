package slurmpool_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// TestSlurmPool_BatchInference scores a file on a pool with driver slurm:
// the scoring step is a Slurm batch job running mlopsd batch-score.
func TestSlurmPool_BatchInference(t *testing.T) {
	f := newFixture(t)
	if _, err := f.c.CreateComputePool(f.ctx, "dev", "gpu", api.ComputePoolSpec{Driver: api.DriverSlurm, AcceleratorType: "nvidia-tesla", AcceleratorCount: 1, MinNodes: 1, MaxNodes: 1}); err != nil {
		t.Fatal(err)
	}
	f.waitPool("gpu", func(p *api.ComputePool) bool { return p.Status.Phase == api.PhaseReady })
	dir := t.TempDir()
	model := []byte(`{"weights": [0.5, 2], "bias": -1}`)
	artifact := filepath.Join(dir, "model.json")
	in := filepath.Join(dir, "rows.jsonl")
	if err := os.WriteFile(artifact, model, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte(`{"a": 4, "b": 1.25}`+"\n"+`{"a": "x", "b": 1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(model)
	if _, err := f.c.CreateModelVersion(f.ctx, "dev", "v1", api.ModelVersionSpec{Model: "m", ArtifactURI: "file://" + artifact, ArtifactSHA256: hex.EncodeToString(sum[:]), Framework: api.FrameworkMLOpsLinear}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateBatchInferenceJob(f.ctx, "dev", "score", api.BatchInferenceJobSpec{ModelVersion: "v1", ComputePool: "gpu",
		InputURI: "file://" + in, OutputURI: "file://" + filepath.Join(dir, "out"), FeatureColumns: []string{"a", "b"}, MaxFailedRowsPercent: 50}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.StartBatchInferenceRun(f.ctx, "dev", "score"); err != nil {
		t.Fatal(err)
	}
	var run *api.BatchInferenceRun
	deadline := time.Now().Add(waitTimeout)
	for {
		var err error
		run, err = f.c.GetBatchInferenceRun(f.ctx, "dev", "score-1")
		if err != nil && !client.IsNotFound(err) {
			t.Fatal(err)
		}
		if err == nil && api.RunFinished(run.Status.Phase) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run not finished: %+v", run)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if run.Status.Phase != api.PhaseSucceeded {
		t.Fatalf("run: %s (%s): %s", run.Status.Phase, run.Status.Reason, run.Status.Message)
	}
	if s := run.Status.Summary; s == nil || s.RowsScored != 1 || s.RowsFailed != 1 || s.Errors[0].Row != 2 {
		t.Errorf("summary %+v", s)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "score-1", "rows.jsonl"))
	if err != nil || strings.TrimSpace(string(b)) != `{"a":4,"b":1.25,"prediction":3.5}` {
		t.Errorf("predictions %q, %v", b, err)
	}
}
