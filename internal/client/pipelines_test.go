package client

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// TestMethods_Pipelines checks the training pipeline and run methods the
// way TestMethods checks the others: method, path, query and idempotency key.
func TestMethods_Pipelines(t *testing.T) {
	type seen struct{ method, path, query, idemKey, body string }
	var mu sync.Mutex
	var last seen
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		var body [512]byte
		n, _ := r.Body.Read(body[:])
		mu.Lock()
		last = seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get(api.HeaderIdempotencyKey), string(body[:n])}
		mu.Unlock()
		switch {
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/v1/environments/dev/pipeline-runs/train-1/logs":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("line 1\nline 2\n"))
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"metadata":{"name":"x"}}`))
		default:
			_, _ = w.Write([]byte(`{"metadata":{"name":"x"},"items":[]}`))
		}
	})
	ctx := context.Background()
	opts := api.ListOptions{Limit: 5}
	for _, tc := range []struct {
		name   string
		call   func() error
		method string
		path   string
		query  string
		body   string
	}{
		{"CreateTrainingPipeline", func() error {
			_, err := c.CreateTrainingPipeline(ctx, "dev", "train", api.TrainingPipelineSpec{})
			return err
		}, "POST", "/v1/environments/dev/training-pipelines", "", ""},
		{"GetTrainingPipeline", func() error { _, err := c.GetTrainingPipeline(ctx, "dev", "train"); return err }, "GET", "/v1/environments/dev/training-pipelines/train", "", ""},
		{"UpdateTrainingPipeline", func() error {
			_, err := c.UpdateTrainingPipeline(ctx, "dev", "train", api.TrainingPipelineSpec{}, "")
			return err
		}, "PUT", "/v1/environments/dev/training-pipelines/train", "", ""},
		{"DeleteTrainingPipeline", func() error { _, err := c.DeleteTrainingPipeline(ctx, "dev", "train"); return err }, "DELETE", "/v1/environments/dev/training-pipelines/train", "", ""},
		{"ListTrainingPipelines", func() error { _, err := c.ListTrainingPipelines(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/training-pipelines", "limit=5", ""},
		{"StartPipelineRun", func() error {
			_, err := c.StartPipelineRun(ctx, "dev", "train", map[string]string{"epochs": "3"})
			return err
		}, "POST", "/v1/environments/dev/training-pipelines/train/runs", "", `{"parameters":{"epochs":"3"}}`},
		{"GetPipelineRun", func() error { _, err := c.GetPipelineRun(ctx, "dev", "train-1"); return err }, "GET", "/v1/environments/dev/pipeline-runs/train-1", "", ""},
		{"ListPipelineRuns", func() error { _, err := c.ListPipelineRuns(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/pipeline-runs", "limit=5", ""},
		{"DeletePipelineRun", func() error { _, err := c.DeletePipelineRun(ctx, "dev", "train-1"); return err }, "DELETE", "/v1/environments/dev/pipeline-runs/train-1", "", ""},
		{"CancelPipelineRun", func() error { _, err := c.CancelPipelineRun(ctx, "dev", "train-1"); return err }, "POST", "/v1/environments/dev/pipeline-runs/train-1/cancel", "", ""},
		{"GetPipelineRunLogs", func() error {
			text, err := c.GetPipelineRunLogs(ctx, "dev", "train-1", LogOptions{Step: "fit", Attempt: 2, Tail: 20})
			if err == nil && text != "line 1\nline 2\n" {
				t.Errorf("logs %q", text)
			}
			return err
		}, "GET", "/v1/environments/dev/pipeline-runs/train-1/logs", "attempt=2&step=fit&tail=20", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := last
			mu.Unlock()
			if got.method != tc.method || got.path != tc.path || got.query != tc.query {
				t.Errorf("sent %s %s?%s, want %s %s?%s", got.method, got.path, got.query, tc.method, tc.path, tc.query)
			}
			if (got.method != http.MethodGet) != (got.idemKey != "") {
				t.Errorf("%s sent Idempotency-Key %q", got.method, got.idemKey)
			}
			if tc.body != "" && got.body != tc.body {
				t.Errorf("body %s, want %s", got.body, tc.body)
			}
		})
	}
}
