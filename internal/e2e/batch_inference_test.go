package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// Batch inference runs start this test binary again as their scorer (the
// control plane runs "<its executable> batch-score ..."): be one then.
func TestMain(m *testing.M) {
	mlopsdtest.ServeBatchScorer()
	os.Exit(m.Run())
}

// waitBatchRun polls a batch run until it finished.
func (f *fixture) waitBatchRun(name string) *api.BatchInferenceRun {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		run, err := f.c.GetBatchInferenceRun(f.ctx, "dev", name)
		if err == nil && api.RunFinished(run.Status.Phase) {
			return run
		}
		if err != nil && !client.IsNotFound(err) {
			f.t.Fatalf("reading batch run %s: %v", name, err)
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("batch run %s did not finish after %v; last: %+v (err %v)", name, waitTimeout, run, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// put writes a file into dir under a hidden name and renames it into
// place, as a producer of new data should, so no half-written file is
// ever scored.
func put(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(dir, ".incoming-"+name)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestBatchInference_EndToEnd trains a model with the example pipeline,
// serves the registered version behind an endpoint, points alias champion
// at it and scores new data with a batch job: every batch prediction is
// exactly the endpoint's online prediction for the same row, as both use
// the same model runtime. Then bad rows: counted, numbered, and failing a
// strict job.
func TestBatchInference_EndToEnd(t *testing.T) {
	f := newFixture(t)
	data := filepath.Join(t.TempDir(), "houses.csv")
	orig, err := os.ReadFile(testdata(t, "data.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateTrainingPipeline(f.ctx, "dev", "houses", api.TrainingPipelineSpec{
		ComputePool: "cpu",
		Model:       "house-prices",
		Parameters:  []api.PipelineParameter{{Name: "min_rows", Type: api.ParamInt, Default: "3"}},
		Steps: []api.PipelineStep{
			{Name: "prepare", Command: []string{"sh", testdata(t, "prepare.sh"), data}, Inputs: []string{fileURI(data)}, TimeoutSeconds: 60},
			{Name: "train", Command: []string{"sh", testdata(t, "train.sh")}, DependsOn: []string{"prepare"}, TimeoutSeconds: 60},
		},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.StartPipelineRun(f.ctx, "dev", "houses", nil); err != nil {
		t.Fatal(err)
	}
	trained := f.waitRun("houses-1", finished)
	if trained.Status.Phase != api.PhaseSucceeded || trained.Status.ModelVersion != "houses-1" {
		t.Fatalf("training run: %s, version %q: %s", trained.Status.Phase, trained.Status.ModelVersion, trained.Status.Message)
	}
	if _, err := f.c.CreateModelAlias(f.ctx, "dev", "champion", api.ModelAliasSpec{Model: "house-prices", Version: "houses-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateModelEndpoint(f.ctx, "dev", "prices", api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "houses-1", ComputePool: "cpu", Replicas: 1, TrafficPercent: 100}},
		Rollout:  api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 100},
	}); err != nil {
		t.Fatal(err)
	}
	err = client.Poll(f.ctx, 20*time.Millisecond, func(context.Context) (bool, error) { return f.endpointReady("prices") })
	if err != nil {
		t.Fatal(err)
	}

	in := filepath.Join(t.TempDir(), "incoming")
	out := filepath.Join(t.TempDir(), "predictions")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	job, err := f.c.CreateBatchInferenceJob(f.ctx, "dev", "nightly", api.BatchInferenceJobSpec{
		Model: "house-prices", Alias: "champion", ComputePool: "cpu",
		InputURI: fileURI(in), OutputURI: fileURI(out), FeatureColumns: []string{"x"},
		MaxFailedRowsPercent: 10, Triggers: api.BatchTriggers{OnNewData: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The job settles with the empty folder as its baseline.
	deadline := time.Now().Add(waitTimeout)
	for job.Status.Phase != api.PhaseReady || job.Status.InputSHA256 == "" {
		if time.Now().After(deadline) {
			t.Fatalf("job did not become ready: %+v", job.Status)
		}
		time.Sleep(20 * time.Millisecond)
		if job, err = f.c.GetBatchInferenceJob(f.ctx, "dev", "nightly"); err != nil {
			t.Fatal(err)
		}
	}
	if job.Status.RunCount != 0 {
		t.Fatalf("a run started before any data: %+v", job.Status)
	}

	t.Run("NewDataIsScoredAsOnline", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("id,x,city\n")
		for i := range 60 {
			fmt.Fprintf(&b, "h%d,%s,c%d\n", i, strconv.FormatFloat(float64(i)*0.731+0.0137*float64(i*i%7), 'f', -1, 64), i%3)
		}
		put(t, in, "day1.csv", b.String())
		run := f.waitBatchRun("nightly-1")
		if run.Status.Phase != api.PhaseSucceeded {
			t.Fatalf("run nightly-1: %s (%s): %s", run.Status.Phase, run.Status.Reason, run.Status.Message)
		}
		t.Logf("run nightly-1: %s", run.Status.Message)
		if run.Spec.Trigger != api.TriggerNewData || run.Spec.ModelVersion != "houses-1" || run.Spec.ArtifactSHA256 == "" {
			t.Errorf("run spec %+v", run.Spec)
		}
		sum := run.Status.Summary
		if sum == nil || sum.RowsTotal != 60 || sum.RowsScored != 60 || sum.RowsFailed != 0 {
			t.Fatalf("summary %+v", sum)
		}
		if run.Status.InputSHA256 != sum.InputSHA256 || sum.Files[0].InputSHA256 != sha256File(t, filepath.Join(in, "day1.csv")) {
			t.Errorf("input digests: run %s, summary %+v", run.Status.InputSHA256, sum.Files)
		}
		recs := readCSVFile(t, filepath.Join(out, "nightly-1", "day1.csv"))
		if len(recs) != 61 || strings.Join(recs[0], ",") != "id,x,city,prediction" {
			t.Fatalf("predictions file: %d records, header %q", len(recs), recs[0])
		}
		for i, rec := range recs[1:] {
			x, err := strconv.ParseFloat(rec[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			batchY, err := strconv.ParseFloat(rec[3], 64)
			if err != nil {
				t.Fatalf("row %d: prediction %q: %v", i+1, rec[3], err)
			}
			online, err := f.c.Predict(f.ctx, "dev", "prices", []float64{x})
			if err != nil {
				t.Fatal(err)
			}
			if online.Prediction != batchY || online.ModelVersion != "houses-1" {
				t.Errorf("row %d (%s, x=%v): batch %v, online %v (version %s)", i+1, rec[0], x, batchY, online.Prediction, online.ModelVersion)
			}
		}
		if job, _ := f.c.GetBatchInferenceJob(f.ctx, "dev", "nightly"); job.Status.RunCount != 1 || job.Status.LastRun != "nightly-1" || job.Status.InputSHA256 != sum.InputSHA256 {
			t.Errorf("job status %+v", job.Status)
		}
	})

	t.Run("BadRowsWithinTheAllowedShare", func(t *testing.T) {
		put(t, in, "day2.csv", "id,x,city\nh100,1.5,a\nh101,n/a,b\nh102,2,c\nh103\nh104,3,d\n")
		run := f.waitBatchRun("nightly-2")
		if run.Status.Phase != api.PhaseSucceeded {
			t.Fatalf("run nightly-2: %s: %s", run.Status.Phase, run.Status.Message)
		}
		sum := run.Status.Summary
		// The folder now holds both days: 60 + 5 rows, 2 bad (3% <= 10%).
		if sum.RowsTotal != 65 || sum.RowsFailed != 2 || sum.RowsScored != 63 || len(sum.Files) != 2 {
			t.Fatalf("summary %+v", sum)
		}
		if len(sum.Errors) != 2 || sum.Errors[0].File != "day2.csv" || sum.Errors[0].Row != 2 || sum.Errors[1].Row != 4 ||
			!strings.Contains(sum.Errors[0].Message, `"n/a" is not a number`) || !strings.Contains(sum.Errors[1].Message, "has 1 field(s)") {
			t.Errorf("errors %+v", sum.Errors)
		}
		if recs := readCSVFile(t, filepath.Join(out, "nightly-2", "day2.csv")); len(recs) != 4 {
			t.Errorf("day2 predictions %q, want the header and the 3 good rows", recs)
		}
	})

	t.Run("TooManyBadRowsFailTheRun", func(t *testing.T) {
		strictIn := filepath.Join(t.TempDir(), "strict.csv")
		if err := os.WriteFile(strictIn, []byte("x\n1\nbad\n3\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := f.c.CreateBatchInferenceJob(f.ctx, "dev", "strict", api.BatchInferenceJobSpec{
			ModelVersion: "houses-1", ComputePool: "cpu", InputURI: fileURI(strictIn), OutputURI: fileURI(out),
		}); err != nil {
			t.Fatal(err)
		}
		started, err := f.c.StartBatchInferenceRun(f.ctx, "dev", "strict")
		if err != nil {
			t.Fatal(err)
		}
		run := f.waitBatchRun(started.Metadata.Name)
		if run.Status.Phase != api.PhaseFailed || !strings.Contains(run.Status.Message, "1 of 3 row(s) (33.3%) failed to score, more than max_failed_rows_percent (0%)") {
			t.Fatalf("run %s: %s: %s", run.Metadata.Name, run.Status.Phase, run.Status.Message)
		}
		if s := run.Status.Summary; s == nil || s.RowsFailed != 1 || s.Errors[0].Row != 2 || s.Files[0].Output != "" {
			t.Errorf("summary %+v", s)
		}
		if _, err := os.Stat(filepath.Join(out, run.Metadata.Name, "strict.csv")); !os.IsNotExist(err) {
			t.Errorf("a failed run left predictions: %v", err)
		}
	})
}

// endpointReady reports whether the endpoint serves its current spec.
func (f *fixture) endpointReady(name string) (bool, error) {
	ep, err := f.c.GetModelEndpoint(f.ctx, "dev", name)
	if err != nil {
		return false, err
	}
	if ep.Status.Phase == api.PhaseFailed {
		return false, fmt.Errorf("endpoint %s failed: %s", name, ep.Status.Message)
	}
	return ep.Status.Phase == api.PhaseReady && ep.Status.ObservedGeneration == ep.Metadata.Generation, nil
}
