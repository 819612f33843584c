package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// startWithRun starts a control plane whose pipeline "hello" has one
// finished run, hello-1, and returns its URL.
func startWithRun(t *testing.T) string {
	t.Helper()
	srv := mlopsdtest.Start(t)
	c, err := client.New(client.Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateComputePool(ctx, "dev", "cpu", api.ComputePoolSpec{MaxNodes: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateModel(ctx, "dev", "greeter", api.ModelSpec{TaskType: api.TaskOther}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTrainingPipeline(ctx, "dev", "hello", api.TrainingPipelineSpec{
		ComputePool: "cpu", Model: "greeter",
		Steps: []api.PipelineStep{
			{Name: "greet", Command: []string{"sh", "-c", "echo hello from $MLOPS_RUN_NAME; echo second line"}},
			{Name: "bye", Command: []string{"sh", "-c", "echo bye"}, DependsOn: []string{"greet"}},
		},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartPipelineRun(ctx, "dev", "hello", nil); err != nil {
		t.Fatal(err)
	}
	err = client.Poll(ctx, 10*time.Millisecond, func(ctx context.Context) (bool, error) {
		run, err := c.GetPipelineRun(ctx, "dev", "hello-1")
		return err == nil && api.RunFinished(run.Status.Phase), err
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL
}

// runCLI runs the CLI and returns its standard output; the tests check
// failures through the returned error, not standard error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(t.Context(), args, &out, &errb, nil)
	return out.String(), err
}

func TestRunsCommand(t *testing.T) {
	clearEnv(t)
	t.Setenv("MLOPS_TOKEN", "")
	url := startWithRun(t)

	t.Run("List", func(t *testing.T) {
		out, err := runCLI(t, "runs", "list", "-env", "dev", "-endpoint", url)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") {
			t.Fatalf("output:\n%s", out)
		}
		for _, want := range []string{"hello-1", "hello", "manual", "succeeded"} {
			if !strings.Contains(lines[1], want) {
				t.Errorf("row %q lacks %q", lines[1], want)
			}
		}
	})
	t.Run("ListFilteredByPipeline", func(t *testing.T) {
		t.Setenv("MLOPS_ENDPOINT", url)
		out, err := runCLI(t, "runs", "list", "-env", "dev", "-pipeline", "other")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "hello-1") {
			t.Errorf("filtered list shows hello-1:\n%s", out)
		}
	})
	t.Run("Logs", func(t *testing.T) {
		out, err := runCLI(t, "runs", "logs", "-env", "dev", "-endpoint", url, "hello-1")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"==> step greet attempt 1 (succeeded) <==", "hello from hello-1", "==> step bye attempt 1", "bye"} {
			if !strings.Contains(out, want) {
				t.Errorf("logs lack %q:\n%s", want, out)
			}
		}
	})
	t.Run("LogsOfOneStepFlagsAfterRun", func(t *testing.T) {
		out, err := runCLI(t, "runs", "logs", "-env", "dev", "hello-1", "-endpoint", url, "-step", "greet", "-tail", "1")
		if err != nil {
			t.Fatal(err)
		}
		if out != "second line\n" {
			t.Errorf("output %q, want the last line of greet's log", out)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"runs"}, "start, list, get or logs"},
			{[]string{"runs", "start", "-env", "dev", "-endpoint", url}, "name one training pipeline"},
			{[]string{"runs", "start", "-env", "dev", "-endpoint", url, "nope"}, "does not exist"},
			{[]string{"runs", "start", "-env", "dev", "-endpoint", url, "hello", "-param", "novalue"}, "not NAME=VALUE"},
			{[]string{"runs", "start", "-env", "dev", "-endpoint", url, "hello", "-param", "x=1"}, "x"},
			{[]string{"runs", "get", "-env", "dev", "-endpoint", url}, "name one run"},
			{[]string{"runs", "get", "-env", "dev", "-endpoint", url, "nope-1"}, "does not exist"},
			{[]string{"runs", "rerun"}, "unknown command"},
			{[]string{"runs", "list", "-endpoint", url}, "-env is required"},
			{[]string{"runs", "logs", "-env", "dev", "-endpoint", url}, "name one run"},
			{[]string{"runs", "logs", "-env", "dev", "-endpoint", url, "nope-1"}, "does not exist"},
			{[]string{"runs", "logs", "-env", "dev", "-endpoint", url, "hello-1", "-step", "nope"}, "no step"},
		} {
			_, err := runCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.want)
			}
		}
	})
	t.Run("Get", func(t *testing.T) {
		out, err := runCLI(t, "runs", "get", "-env", "dev", "-endpoint", url, "hello-1")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"name:", "hello-1", "pipeline:", "hello (generation 1)", "trigger:", "manual", "phase:", "succeeded", "step greet:", "exit code 0", "model version:"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		out, err = runCLI(t, "runs", "get", "-env", "dev", "-endpoint", url, "-json", "hello-1")
		if err != nil {
			t.Fatal(err)
		}
		var run api.PipelineRun
		if err := json.Unmarshal([]byte(out), &run); err != nil || run.Metadata.Name != "hello-1" || run.Status.Phase != api.PhaseSucceeded {
			t.Errorf("-json output %q: %v", out, err)
		}
	})
	t.Run("Help", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(t.Context(), []string{"runs", "help"}, &out, io.Discard, nil); err != nil || !strings.Contains(out.String(), "mlopsd runs list") {
			t.Errorf("help: %v\n%s", err, out.String())
		}
	})
}

// TestRunsStartAndGet starts a run that registers a model version and
// reads it back with its lineage, as scripts/quickstart.sh does.
func TestRunsStartAndGet(t *testing.T) {
	clearEnv(t)
	t.Setenv("MLOPS_TOKEN", "")
	srv := mlopsdtest.Start(t)
	c, err := client.New(client.Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateComputePool(ctx, "dev", "cpu", api.ComputePoolSpec{MaxNodes: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateModel(ctx, "dev", "answer", api.ModelSpec{TaskType: api.TaskOther}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTrainingPipeline(ctx, "dev", "fit", api.TrainingPipelineSpec{
		ComputePool: "cpu", Model: "answer",
		Parameters: []api.PipelineParameter{{Name: "answer", Type: api.ParamInt, Default: "41"}},
		Steps: []api.PipelineStep{{Name: "train", Command: []string{"sh", "-c",
			`echo "{\"answer\": $MLOPS_PARAM_ANSWER}" > "$MLOPS_OUTPUT_DIR/model.json"; echo '{"loss": 0.5}' > "$MLOPS_OUTPUT_DIR/metrics.json"`}}},
	}); err != nil {
		t.Fatal(err)
	}

	out, err := runCLI(t, "runs", "start", "-env", "dev", "-endpoint", srv.URL, "fit", "-param", "answer=42")
	if err != nil {
		t.Fatal(err)
	}
	if out != "fit-1\n" {
		t.Fatalf("runs start printed %q, want the run's name", out)
	}
	err = client.Poll(ctx, 10*time.Millisecond, func(ctx context.Context) (bool, error) {
		run, err := c.GetPipelineRun(ctx, "dev", "fit-1")
		return err == nil && api.RunFinished(run.Status.Phase), err
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "runs", "get", "-env", "dev", "-endpoint", srv.URL, "fit-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"phase:", "succeeded", "parameters:", "answer=42", "model version:", "fit-1 of model answer (approval pending)",
		"artifact:", "file:///", "metrics:", "loss=0.5", "lineage run:", "lineage code:", "pipeline:fit@generation:1", "lineage parameters:"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs get lacks %q:\n%s", want, out)
		}
	}
}
