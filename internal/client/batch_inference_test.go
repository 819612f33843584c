package client

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// TestMethods_BatchInference checks the batch inference job and run
// methods the way TestMethods_Pipelines checks the pipeline ones: method,
// path, query, idempotency key and body.
func TestMethods_BatchInference(t *testing.T) {
	type seen struct{ method, path, query, idemKey, body string }
	var mu sync.Mutex
	var last seen
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		var body [1024]byte
		n, _ := r.Body.Read(body[:])
		mu.Lock()
		last = seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get(api.HeaderIdempotencyKey), string(body[:n])}
		mu.Unlock()
		switch r.Method {
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"metadata":{"name":"x"},"spec":{"model_version":"v1"},"status":{"summary":{"rows_total":3}}}`))
		default:
			_, _ = w.Write([]byte(`{"metadata":{"name":"x"},"items":[]}`))
		}
	})
	ctx := context.Background()
	opts := api.ListOptions{Limit: 5}
	spec := api.BatchInferenceJobSpec{ModelVersion: "v1", ComputePool: "cpu", InputURI: "file:///in", OutputURI: "file:///out"}
	specJSON, _ := json.Marshal(spec)
	for _, tc := range []struct {
		name   string
		call   func() error
		method string
		path   string
		query  string
		body   string
	}{
		{"CreateBatchInferenceJob", func() error {
			_, err := c.CreateBatchInferenceJob(ctx, "dev", "score", spec)
			return err
		}, "POST", "/v1/environments/dev/batch-inference-jobs", "", `{"name":"score","spec":` + string(specJSON) + `}`},
		{"GetBatchInferenceJob", func() error { _, err := c.GetBatchInferenceJob(ctx, "dev", "score"); return err }, "GET", "/v1/environments/dev/batch-inference-jobs/score", "", ""},
		{"UpdateBatchInferenceJob", func() error {
			_, err := c.UpdateBatchInferenceJob(ctx, "dev", "score", spec, "")
			return err
		}, "PUT", "/v1/environments/dev/batch-inference-jobs/score", "", `{"spec":` + string(specJSON) + `}`},
		{"DeleteBatchInferenceJob", func() error { _, err := c.DeleteBatchInferenceJob(ctx, "dev", "score"); return err }, "DELETE", "/v1/environments/dev/batch-inference-jobs/score", "", ""},
		{"ListBatchInferenceJobs", func() error { _, err := c.ListBatchInferenceJobs(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/batch-inference-jobs", "limit=5", ""},
		{"StartBatchInferenceRun", func() error {
			run, err := c.StartBatchInferenceRun(ctx, "dev", "score")
			if err == nil && (run.Spec.ModelVersion != "v1" || run.Status.Summary == nil || run.Status.Summary.RowsTotal != 3) {
				t.Errorf("run %+v", run)
			}
			return err
		}, "POST", "/v1/environments/dev/batch-inference-jobs/score/runs", "", ""},
		{"GetBatchInferenceRun", func() error { _, err := c.GetBatchInferenceRun(ctx, "dev", "score-1"); return err }, "GET", "/v1/environments/dev/batch-inference-runs/score-1", "", ""},
		{"ListBatchInferenceRuns", func() error { _, err := c.ListBatchInferenceRuns(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/batch-inference-runs", "limit=5", ""},
		{"DeleteBatchInferenceRun", func() error { _, err := c.DeleteBatchInferenceRun(ctx, "dev", "score-1"); return err }, "DELETE", "/v1/environments/dev/batch-inference-runs/score-1", "", ""},
		{"CancelBatchInferenceRun", func() error { _, err := c.CancelBatchInferenceRun(ctx, "dev", "score-1"); return err }, "POST", "/v1/environments/dev/batch-inference-runs/score-1/cancel", "", ""},
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
			if got.body != tc.body {
				t.Errorf("body %s, want %s", got.body, tc.body)
			}
		})
	}
	// Names that a router would clean away are refused before any request.
	if _, err := c.StartBatchInferenceRun(ctx, "dev", ".."); !IsInvalid(err) {
		t.Errorf("job name ..: %v", err)
	}
	if _, err := c.CancelBatchInferenceRun(ctx, "dev", ""); !IsInvalid(err) {
		t.Errorf("empty run name: %v", err)
	}
}
