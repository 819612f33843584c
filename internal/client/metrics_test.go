package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// TestPushMetrics_RetryAfterLostAnswerStoresOnce pushes through a proxy in
// front of a real mlopsd that loses the answer to the first push after
// mlopsd stored it: the client retries with the same Idempotency-Key, and
// the datapoints are stored once.
func TestPushMetrics_RetryAfterLostAnswerStoresOnce(t *testing.T) {
	srv := mlopsdtest.Start(t)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var pushes atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/environments/dev/metrics" || pushes.Add(1) > 1 {
			proxy.ServeHTTP(w, r)
			return
		}
		// mlopsd answers; the answer is lost on the way back.
		proxy.ServeHTTP(httptest.NewRecorder(), r)
		hangUp(t, w)
	}))
	t.Cleanup(front.Close)
	c := MustNewClient(t, Config{Endpoint: front.URL})
	ctx := context.Background()
	if _, err := c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}

	got, err := c.PushMetrics(ctx, "dev", []api.CustomDatapoint{{Name: "online_accuracy", Value: 0.5}, {Name: "online_accuracy", Value: 0.75}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Accepted != 2 || pushes.Load() != 2 {
		t.Fatalf("accepted %d after %d attempts; want 2 after 2", got.Accepted, pushes.Load())
	}
	now := time.Now()
	points, err := srv.Daemon.Store.QueryMetrics(ctx, store.MetricQuery{Environment: "dev", Series: api.CustomSeriesPrefix + "online_accuracy", From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range points {
		n += p.Count
	}
	if n != 2 {
		t.Fatalf("stored datapoints = %d, want 2 (the retry stored nothing)", n)
	}

	// A refused push names the datapoint's field.
	_, err = c.PushMetrics(ctx, "dev", []api.CustomDatapoint{{Name: "ok", Value: 1}, {Name: "Not OK", Value: 1}})
	if !IsInvalid(err) || ErrorField(err) != "datapoints[1].name" {
		t.Fatalf("bad push: %v (field %q); want invalid on datapoints[1].name", err, ErrorField(err))
	}
}
