package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// startWithBatchJob starts a control plane with batch inference job
// "score" (model version v1, y = 2x + 1) over a folder holding in.csv, one
// of whose three rows is bad, and returns its URL and a client.
func startWithBatchJob(t *testing.T) (string, *client.Client) {
	t.Helper()
	srv := mlopsdtest.Start(t)
	c, err := client.New(client.Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	dir := t.TempDir()
	model := []byte(`{"slope": 2, "intercept": 1}`)
	artifact := filepath.Join(dir, "model.json")
	in := filepath.Join(dir, "in")
	for _, err := range []error{os.WriteFile(artifact, model, 0o644), os.Mkdir(in, 0o755), os.WriteFile(filepath.Join(in, "in.csv"), []byte("x\n1\nabc\n3\n"), 0o644)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(model)
	if _, err := c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateComputePool(ctx, "dev", "cpu", api.ComputePoolSpec{MaxNodes: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateModel(ctx, "dev", "answer", api.ModelSpec{TaskType: api.TaskRegression}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateModelVersion(ctx, "dev", "v1", api.ModelVersionSpec{Model: "answer", ArtifactURI: "file://" + artifact, ArtifactSHA256: hex.EncodeToString(sum[:]), Framework: api.FrameworkMLOpsLinear}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBatchInferenceJob(ctx, "dev", "score", api.BatchInferenceJobSpec{ModelVersion: "v1", ComputePool: "cpu",
		InputURI: "file://" + in, OutputURI: "file://" + filepath.Join(dir, "out"), MaxFailedRowsPercent: 50}); err != nil {
		t.Fatal(err)
	}
	return srv.URL, c
}

func TestBatchCommand(t *testing.T) {
	clearEnv(t)
	t.Setenv("MLOPS_TOKEN", "")
	url, c := startWithBatchJob(t)
	ctx := t.Context()

	out, err := runCLI(t, "batch", "start", "-env", "dev", "-endpoint", url, "score")
	if err != nil {
		t.Fatal(err)
	}
	if out != "score-1\n" {
		t.Fatalf("batch start printed %q, want the run's name", out)
	}
	err = client.Poll(ctx, 10*time.Millisecond, func(ctx context.Context) (bool, error) {
		run, err := c.GetBatchInferenceRun(ctx, "dev", "score-1")
		return err == nil && api.RunFinished(run.Status.Phase), err
	})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Get", func(t *testing.T) {
		out, err := runCLI(t, "batch", "get", "-env", "dev", "-endpoint", url, "score-1")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"name:", "score-1", "job:", "score (generation 1)", "trigger:", "manual", "phase:", "succeeded",
			"model version:", "v1", "artifact:", "file:///", "input:", "output:", "score-1", "step score:", "exit code 0",
			"rows:", "3 total, 2 scored, 1 failed", "file:", "in.csv (3 row(s), 1 failed)", "failed row:", `in.csv row 2: column "x": "abc" is not a number`} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		out, err = runCLI(t, "batch", "get", "-env", "dev", "-endpoint", url, "-json", "score-1")
		if err != nil {
			t.Fatal(err)
		}
		var run api.BatchInferenceRun
		if err := json.Unmarshal([]byte(out), &run); err != nil || run.Metadata.Name != "score-1" || run.Status.Summary == nil || run.Status.Summary.RowsScored != 2 {
			t.Errorf("-json output %q: %v", out, err)
		}
	})
	t.Run("List", func(t *testing.T) {
		out, err := runCLI(t, "batch", "list", "-env", "dev", "-endpoint", url)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "ROWS") {
			t.Fatalf("output:\n%s", out)
		}
		for _, want := range []string{"score-1", "score", "manual", "succeeded", "v1", "3", "1"} {
			if !strings.Contains(lines[1], want) {
				t.Errorf("row %q lacks %q", lines[1], want)
			}
		}
	})
	t.Run("ListFilteredByJob", func(t *testing.T) {
		t.Setenv("MLOPS_ENDPOINT", url)
		out, err := runCLI(t, "batch", "list", "-env", "dev", "-job", "other")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "score-1") {
			t.Errorf("filtered list shows score-1:\n%s", out)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"batch"}, "start, list or get"},
			{[]string{"batch", "rerun"}, "unknown command"},
			{[]string{"batch", "start", "-env", "dev", "-endpoint", url}, "name one batch inference job"},
			{[]string{"batch", "start", "-env", "dev", "-endpoint", url, "nope"}, "does not exist"},
			{[]string{"batch", "get", "-env", "dev", "-endpoint", url}, "name one run"},
			{[]string{"batch", "get", "-env", "dev", "-endpoint", url, "nope-1"}, "does not exist"},
			{[]string{"batch", "list", "-endpoint", url}, "-env is required"},
			{[]string{"batch", "list", "-env", "dev", "-endpoint", url, "extra"}, "unexpected argument"},
		} {
			_, err := runCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
			}
		}
	})
	t.Run("Help", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(t.Context(), []string{"batch", "help"}, &out, io.Discard, nil); err != nil || !strings.Contains(out.String(), "mlopsd batch list") {
			t.Errorf("help: %v\n%s", err, out.String())
		}
	})
}

// TestBatchScoreSubcommand runs the hidden subcommand as mlopsd does.
func TestBatchScoreSubcommand(t *testing.T) {
	dir := t.TempDir()
	model := []byte(`{"slope": 2, "intercept": 1}`)
	artifact := filepath.Join(dir, "model.json")
	in := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(artifact, model, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte(`{"inputs": [4]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	stdout, err := runCLI(t, "batch-score", "-artifact", "file://"+artifact, "-input", in, "-output", out, "-model-version", "v1")
	if err != nil || !strings.Contains(stdout, "scored 1 of 1 row(s)") {
		t.Fatalf("batch-score: %v\n%s", err, stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "in.jsonl"))
	if err != nil || string(b) != `{"inputs":[4],"prediction":9}`+"\n" {
		t.Errorf("predictions %q, %v", b, err)
	}
	// A digest that is not the artifact's fails, with a non-zero exit.
	_, err = runCLI(t, "batch-score", "-artifact", "file://"+artifact, "-artifact-sha256", strings.Repeat("0", 64), "-input", in, "-output", out)
	if err == nil || !strings.Contains(err.Error(), "changed after registration") {
		t.Errorf("wrong digest: %v", err)
	}
}

func TestParseFlags_BatchScorerIsThisExecutable(t *testing.T) {
	clearEnv(t)
	var m Main
	if err := m.ParseFlags(nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if len(m.Config.BatchScorer) != 1 || m.Config.BatchScorer[0] != exe {
		t.Errorf("batch scorer %q, want this executable %q", m.Config.BatchScorer, exe)
	}
}
