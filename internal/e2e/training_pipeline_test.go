// Package e2e holds end-to-end tests of the control plane: a real mlopsd
// (mlopsdtest), the typed client, and real child processes.
package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/url"
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

// waitTimeout bounds every wait of these tests; runs of the scripts in
// testdata take milliseconds.
const waitTimeout = 20 * time.Second

// fixture is a control plane with environment dev, compute pool cpu and
// model house-prices, and a client of it.
type fixture struct {
	t   *testing.T
	ctx context.Context
	c   *client.Client
	srv *mlopsdtest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := mlopsdtest.Start(t)
	c, err := client.New(client.Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: t.Context(), c: c, srv: srv}
	if _, err := c.CreateEnvironment(f.ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateComputePool(f.ctx, "dev", "cpu", api.ComputePoolSpec{Driver: api.DriverLocal, MaxNodes: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateModel(f.ctx, "dev", "house-prices", api.ModelSpec{TaskType: api.TaskRegression}); err != nil {
		t.Fatal(err)
	}
	return f
}

// testdata returns the absolute path of a file in testdata.
func testdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fileURI(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// waitRun polls a run until done accepts it.
func (f *fixture) waitRun(name string, done func(*api.PipelineRun) bool) *api.PipelineRun {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		run, err := f.c.GetPipelineRun(f.ctx, "dev", name)
		if err == nil && done(run) {
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

// linearFit is what train.sh computes, for checking its model.
func linearFit(t *testing.T, csvPath string) (slope, intercept float64) {
	t.Helper()
	b, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	var n, sx, sy, sxx, sxy float64
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		xs, ys, _ := strings.Cut(line, ",")
		x, _ := strconv.ParseFloat(xs, 64)
		y, _ := strconv.ParseFloat(ys, 64)
		n++
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	slope = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return slope, (sy - slope*sx) / n
}

// checkVersion checks the model version a run registered: its artifact is
// the file train.sh wrote, copied to an immutable place, with the right
// digest, its lineage names the run, the data as used and the code, and its
// baseline holds the training data's x values when it has 10 rows or more.
func (f *fixture) checkVersion(run *api.PipelineRun, dataPath string) {
	f.t.Helper()
	t := f.t
	if run.Status.ModelVersion != run.Metadata.Name {
		t.Fatalf("run %s registered model version %q, want one named after the run", run.Metadata.Name, run.Status.ModelVersion)
	}
	mv, err := f.c.GetModelVersion(f.ctx, "dev", run.Status.ModelVersion)
	if err != nil {
		t.Fatal(err)
	}
	s := mv.Spec
	t.Logf("run %s: %s; version %s: %s sha256 %s metrics %v", run.Metadata.Name, run.Status.Message, mv.Metadata.Name, s.ArtifactURI, s.ArtifactSHA256, s.Metrics)
	if s.Model != "house-prices" || s.Framework != "mlops-linear" || s.Approval.Status != api.ApprovalPending {
		t.Errorf("version spec %+v", s)
	}
	artifact := strings.TrimPrefix(s.ArtifactURI, "file://")
	if !strings.HasPrefix(s.ArtifactURI, "file:///") || !strings.HasPrefix(artifact, f.srv.RunsDir) {
		t.Errorf("artifact_uri %q is not a file below the runs directory %s", s.ArtifactURI, f.srv.RunsDir)
	}
	if got := sha256File(t, artifact); got != s.ArtifactSHA256 {
		t.Errorf("artifact_sha256 %s, but the artifact's digest is %s", s.ArtifactSHA256, got)
	}
	if info, err := os.Stat(artifact); err != nil || info.Mode().Perm()&0o222 != 0 {
		t.Errorf("artifact %s is writable or missing: %v", artifact, err)
	}
	var model struct{ Slope, Intercept float64 }
	b, _ := os.ReadFile(artifact)
	if err := json.Unmarshal(b, &model); err != nil {
		t.Fatalf("artifact %s: %v", b, err)
	}
	slope, intercept := linearFit(t, dataPath)
	if math.Abs(model.Slope-slope) > 1e-5 || math.Abs(model.Intercept-intercept) > 1e-5 {
		t.Errorf("model %+v, want slope %.6f intercept %.6f", model, slope, intercept)
	}
	if _, err := strconv.ParseFloat(s.Metrics["rmse"], 64); err != nil || s.Metrics["rows"] == "" {
		t.Errorf("metrics %v", s.Metrics)
	}
	f.checkBaseline(mv, dataPath)
	want := api.ModelLineage{
		PipelineRun:   run.Metadata.Name,
		DatasetURI:    fileURI(dataPath),
		DatasetSHA256: sha256File(t, dataPath),
		CodeRef:       "pipeline:" + run.Spec.Pipeline + "@generation:" + strconv.FormatInt(run.Spec.PipelineGeneration, 10),
		Parameters:    map[string]string{"min_rows": "3"},
	}
	gotJSON, _ := json.Marshal(s.Lineage)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("lineage\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

// checkBaseline checks a version's baseline against the training data:
// none below 10 rows, else feature x with the data's x values, in a
// read-only copy next to the artifact whose digest the version names.
func (f *fixture) checkBaseline(mv *api.ModelVersion, dataPath string) {
	t := f.t
	t.Helper()
	b, err := os.ReadFile(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	var xs []float64
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i > 0 {
			x, _, _ := strings.Cut(line, ",")
			v, _ := strconv.ParseFloat(x, 64)
			xs = append(xs, v)
		}
	}
	s := mv.Spec
	if len(xs) < api.MinBaselineValues {
		if s.BaselineURI != "" || s.BaselineSHA256 != "" {
			t.Errorf("version %s of %d rows has baseline %q", mv.Metadata.Name, len(xs), s.BaselineURI)
		}
		return
	}
	path := strings.TrimPrefix(s.BaselineURI, "file://")
	if filepath.Dir(path) != filepath.Dir(strings.TrimPrefix(s.ArtifactURI, "file://")) || sha256File(t, path) != s.BaselineSHA256 {
		t.Fatalf("baseline %q (sha256 %s) is not a verified copy next to the artifact %q", s.BaselineURI, s.BaselineSHA256, s.ArtifactURI)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm()&0o222 != 0 {
		t.Errorf("baseline %s is writable or missing: %v", path, err)
	}
	raw, _ := os.ReadFile(path)
	var fb api.FeatureBaseline
	if err := json.Unmarshal(raw, &fb); err != nil {
		t.Fatalf("baseline %s: %v", raw, err)
	}
	gotJSON, _ := json.Marshal(fb)
	wantJSON, _ := json.Marshal(api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "x", Values: xs}}})
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("baseline\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

// TestTrainingPipeline_EndToEnd runs a two-step pipeline of shell scripts:
// a manual run fits a linear model and registers it; changing the training
// data starts a new run by itself; a failing step fails its run with the
// end of its log in the message.
func TestTrainingPipeline_EndToEnd(t *testing.T) {
	f := newFixture(t)
	data := filepath.Join(t.TempDir(), "houses.csv")
	orig, err := os.ReadFile(testdata(t, "data.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := api.TrainingPipelineSpec{
		ComputePool: "cpu",
		Model:       "house-prices",
		Parameters:  []api.PipelineParameter{{Name: "min_rows", Type: api.ParamInt, Default: "3"}},
		Steps: []api.PipelineStep{
			{Name: "train", Command: []string{"sh", testdata(t, "train.sh")}, DependsOn: []string{"prepare"}, Outputs: []string{"model.json", "metrics.json"}, TimeoutSeconds: 60},
			{Name: "prepare", Command: []string{"sh", testdata(t, "prepare.sh"), data}, Inputs: []string{fileURI(data)}, Outputs: []string{"train.csv"}, TimeoutSeconds: 60},
		},
		Triggers: api.PipelineTriggers{OnNewData: []string{fileURI(data)}},
	}
	p, err := f.c.CreateTrainingPipeline(f.ctx, "dev", "houses", spec)
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.Steps[0].Retries != 0 || p.Spec.Steps[0].TimeoutSeconds != 60 {
		t.Errorf("steps %+v", p.Spec.Steps)
	}
	// The pipeline settles with the data's hash as the baseline: that
	// starts no run.
	deadline := time.Now().Add(waitTimeout)
	for {
		p, err = f.c.GetTrainingPipeline(f.ctx, "dev", "houses")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status.Phase == api.PhaseReady && p.Status.DataHashes[fileURI(data)] != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipeline did not become ready: %+v", p.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p.Status.DataHashes[fileURI(data)] != sha256File(t, data) || p.Status.RunCount != 0 {
		t.Fatalf("status %+v, want the data's sha256 and no run", p.Status)
	}

	t.Run("ManualRunRegistersVersion", func(t *testing.T) {
		run, err := f.c.StartPipelineRun(f.ctx, "dev", "houses", nil)
		if err != nil {
			t.Fatal(err)
		}
		if run.Metadata.Name != "houses-1" || run.Spec.Trigger != api.TriggerManual || run.Spec.Parameters["min_rows"] != "3" {
			t.Fatalf("run %+v", run)
		}
		run = f.waitRun("houses-1", finished)
		if run.Status.Phase != api.PhaseSucceeded {
			t.Fatalf("run %s: %s (%s)", run.Metadata.Name, run.Status.Phase, run.Status.Message)
		}
		for _, s := range run.Status.Steps {
			if s.Phase != api.PhaseSucceeded || s.Attempts != 1 || s.ExitCode == nil || *s.ExitCode != 0 {
				t.Errorf("step %+v", s)
			}
		}
		// prepare ran before train, as train depends on it.
		if run.Status.Steps[1].Name != "prepare" || run.Status.Steps[1].FinishedAt.After(*run.Status.Steps[0].StartedAt) {
			t.Errorf("steps ran out of order: %+v", run.Status.Steps)
		}
		f.checkVersion(run, data)
		logs, err := f.c.GetPipelineRunLogs(f.ctx, "dev", "houses-1", client.LogOptions{Step: "train"})
		if err != nil || !strings.Contains(logs, "fitted y = ") {
			t.Errorf("train log %q, %v", logs, err)
		}
	})

	t.Run("NewDataStartsRun", func(t *testing.T) {
		// Ten rows: enough for train.sh to write a baseline as well.
		more := append(append([]byte(nil), orig...), "6,13.2\n7,14.8\n8,17.1\n9,18.9\n10,21.2\n"...)
		if err := os.WriteFile(data, more, 0o644); err != nil {
			t.Fatal(err)
		}
		run := f.waitRun("houses-2", finished)
		if run.Spec.Trigger != api.TriggerNewData || run.Status.Phase != api.PhaseSucceeded {
			t.Fatalf("run houses-2: trigger %s, %s (%s)", run.Spec.Trigger, run.Status.Phase, run.Status.Message)
		}
		f.checkVersion(run, data)
		p, err := f.c.GetTrainingPipeline(f.ctx, "dev", "houses")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status.DataHashes[fileURI(data)] != sha256File(t, data) {
			t.Errorf("data_hashes %v, want the new content's digest", p.Status.DataHashes)
		}
		// One change, one run.
		time.Sleep(200 * time.Millisecond)
		if _, err := f.c.GetPipelineRun(f.ctx, "dev", "houses-3"); !client.IsNotFound(err) {
			t.Errorf("a third run started: %v", err)
		}
		if p, _ = f.c.GetTrainingPipeline(f.ctx, "dev", "houses"); p.Status.RunCount != 2 || p.Status.LastRun != "houses-2" {
			t.Errorf("run_count %d, last_run %q; want 2, houses-2", p.Status.RunCount, p.Status.LastRun)
		}
	})

	t.Run("FailingStepFailsRun", func(t *testing.T) {
		_, err := f.c.CreateTrainingPipeline(f.ctx, "dev", "diverges", api.TrainingPipelineSpec{
			ComputePool: "cpu",
			Model:       "house-prices",
			Steps: []api.PipelineStep{
				{Name: "fit", Command: []string{"sh", testdata(t, "fail.sh")}, Retries: 1},
				{Name: "evaluate", Command: []string{"true"}, DependsOn: []string{"fit"}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.c.StartPipelineRun(f.ctx, "dev", "diverges", nil); err != nil {
			t.Fatal(err)
		}
		run := f.waitRun("diverges-1", finished)
		if run.Status.Phase != api.PhaseFailed {
			t.Fatalf("run %s, want failed", run.Status.Phase)
		}
		msg := run.Status.Message
		t.Logf("run diverges-1: %s", msg)
		for _, want := range []string{`step "fit"`, "exit code 3", "after 2 attempt(s)", "error: loss diverged", "epoch 25: loss=nan"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q:\n%s", want, msg)
			}
		}
		if strings.Contains(msg, "epoch 1:") {
			t.Errorf("message quotes more than the end of the log:\n%s", msg)
		}
		fit, eval := run.Status.Steps[0], run.Status.Steps[1]
		if fit.Phase != api.PhaseFailed || fit.Attempts != 2 || fit.ExitCode == nil || *fit.ExitCode != 3 {
			t.Errorf("step fit %+v", fit)
		}
		if eval.Phase != api.PhaseCancelled || eval.Attempts != 0 {
			t.Errorf("step evaluate %+v, want cancelled without an attempt", eval)
		}
		if run.Status.ModelVersion != "" {
			t.Errorf("a failed run registered %q", run.Status.ModelVersion)
		}
	})
}
