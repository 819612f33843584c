package client

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// TestMethods checks that every typed method sends the method, path and
// query mlopsd serves, and decodes what comes back.
func TestMethods(t *testing.T) {
	type seen struct{ method, path, query, idemKey string }
	var mu sync.Mutex
	var last seen
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get(api.HeaderIdempotencyKey)}
		mu.Unlock()
		switch r.Method {
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"metadata":{"name":"x"}}`))
		default:
			_, _ = w.Write([]byte(`{"metadata":{"name":"x"},"items":[]}`))
		}
	})
	ctx := context.Background()
	opts := api.ListOptions{Limit: 10, PageToken: "next page/2"}
	const q = "limit=10&page_token=next+page%2F2"
	for _, tc := range []struct {
		name   string
		call   func() error
		method string
		path   string
		query  string
	}{
		{"CreateEnvironment", func() error { _, err := c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); return err }, "POST", "/v1/environments", ""},
		{"GetEnvironment", func() error { _, err := c.GetEnvironment(ctx, "dev"); return err }, "GET", "/v1/environments/dev", ""},
		{"UpdateEnvironment", func() error { _, err := c.UpdateEnvironment(ctx, "dev", api.EnvironmentSpec{}, ""); return err }, "PUT", "/v1/environments/dev", ""},
		{"DeleteEnvironment", func() error { _, err := c.DeleteEnvironment(ctx, "dev"); return err }, "DELETE", "/v1/environments/dev", ""},
		{"ListEnvironments", func() error { _, err := c.ListEnvironments(ctx, opts); return err }, "GET", "/v1/environments", q},
		{"ListEnvironmentsDefaults", func() error { _, err := c.ListEnvironments(ctx, api.ListOptions{}); return err }, "GET", "/v1/environments", ""},

		{"CreateComputePool", func() error { _, err := c.CreateComputePool(ctx, "dev", "gpu", api.ComputePoolSpec{}); return err }, "POST", "/v1/environments/dev/compute-pools", ""},
		{"GetComputePool", func() error { _, err := c.GetComputePool(ctx, "dev", "gpu"); return err }, "GET", "/v1/environments/dev/compute-pools/gpu", ""},
		{"UpdateComputePool", func() error { _, err := c.UpdateComputePool(ctx, "dev", "gpu", api.ComputePoolSpec{}, ""); return err }, "PUT", "/v1/environments/dev/compute-pools/gpu", ""},
		{"DeleteComputePool", func() error { _, err := c.DeleteComputePool(ctx, "dev", "gpu"); return err }, "DELETE", "/v1/environments/dev/compute-pools/gpu", ""},
		{"ListComputePools", func() error { _, err := c.ListComputePools(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/compute-pools", q},

		{"CreateFeatureStore", func() error { _, err := c.CreateFeatureStore(ctx, "dev", "fs", api.FeatureStoreSpec{}); return err }, "POST", "/v1/environments/dev/feature-stores", ""},
		{"GetFeatureStore", func() error { _, err := c.GetFeatureStore(ctx, "dev", "fs"); return err }, "GET", "/v1/environments/dev/feature-stores/fs", ""},
		{"UpdateFeatureStore", func() error { _, err := c.UpdateFeatureStore(ctx, "dev", "fs", api.FeatureStoreSpec{}, ""); return err }, "PUT", "/v1/environments/dev/feature-stores/fs", ""},
		{"DeleteFeatureStore", func() error { _, err := c.DeleteFeatureStore(ctx, "dev", "fs"); return err }, "DELETE", "/v1/environments/dev/feature-stores/fs", ""},
		{"ListFeatureStores", func() error { _, err := c.ListFeatureStores(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/feature-stores", q},

		{"CreateFeatureGroup", func() error { _, err := c.CreateFeatureGroup(ctx, "dev", "fg", api.FeatureGroupSpec{}); return err }, "POST", "/v1/environments/dev/feature-groups", ""},
		{"GetFeatureGroup", func() error { _, err := c.GetFeatureGroup(ctx, "dev", "fg"); return err }, "GET", "/v1/environments/dev/feature-groups/fg", ""},
		{"UpdateFeatureGroup", func() error { _, err := c.UpdateFeatureGroup(ctx, "dev", "fg", api.FeatureGroupSpec{}, ""); return err }, "PUT", "/v1/environments/dev/feature-groups/fg", ""},
		{"DeleteFeatureGroup", func() error { _, err := c.DeleteFeatureGroup(ctx, "dev", "fg"); return err }, "DELETE", "/v1/environments/dev/feature-groups/fg", ""},
		{"ListFeatureGroups", func() error { _, err := c.ListFeatureGroups(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/feature-groups", q},

		{"ListAudit", func() error { _, err := c.ListAudit(ctx, 42, 7); return err }, "GET", "/v1/audit", "after_seq=42&limit=7"},
		{"ListAuditDefaults", func() error { _, err := c.ListAudit(ctx, 0, 0); return err }, "GET", "/v1/audit", "after_seq=0"},
		{"Health", func() error { return c.Health(ctx) }, "GET", "/healthz", ""},

		{"PushMetrics", func() error {
			_, err := c.PushMetrics(ctx, "dev", []api.CustomDatapoint{{Name: "acc", Value: 1}})
			return err
		}, "POST", "/v1/environments/dev/metrics", ""},
		{"Predict", func() error { _, err := c.Predict(ctx, "dev", "api", []float64{1}); return err }, "POST", "/v1/environments/dev/model-endpoints/api/predict", ""},
		{"PredictAction", func() error { _, err := c.PredictAction(ctx, "dev", "api", []float64{1}); return err }, "POST", "/v1/environments/dev/model-endpoints/api:predict", ""},

		{"AcknowledgeAlarm", func() error { _, err := c.AcknowledgeAlarm(ctx, "dev", "slow", "on it"); return err }, "POST", "/v1/environments/dev/alarms/slow/acknowledge", ""},
		{"VerifyAudit", func() error { _, err := c.VerifyAudit(ctx); return err }, "GET", "/v1/audit/verify", ""},
		{"WhoAmI", func() error { _, err := c.WhoAmI(ctx); return err }, "GET", "/v1/whoami", ""},
		{"GetEndpointMetrics", func() error {
			_, err := c.GetEndpointMetrics(ctx, "dev", "api", EndpointMetricsOptions{
				Since: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), Until: time.Date(2030, 1, 2, 4, 4, 5, 0, time.UTC), StepSeconds: 30, Variant: "primary"})
			return err
		}, "GET", "/v1/environments/dev/model-endpoints/api/metrics", "since=2030-01-02T03%3A04%3A05Z&step_seconds=30&until=2030-01-02T04%3A04%3A05Z&variant=primary"},
		{"GetEndpointMetricsDefaults", func() error { _, err := c.GetEndpointMetrics(ctx, "dev", "api", EndpointMetricsOptions{}); return err }, "GET", "/v1/environments/dev/model-endpoints/api/metrics", ""},

		{"PathEscaped", func() error { _, err := c.GetFeatureGroup(ctx, "d v", "a/b?c"); return err }, "GET", "/v1/environments/d%20v/feature-groups/a%2Fb%3Fc", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := last
			mu.Unlock()
			if got.method != tc.method || got.path != tc.path {
				t.Errorf("sent %s %s, want %s %s", got.method, got.path, tc.method, tc.path)
			}
			if wantQ, _ := url.ParseQuery(tc.query); mustParseQuery(t, got.query).Encode() != wantQ.Encode() {
				t.Errorf("query = %q, want %q", got.query, tc.query)
			}
			if isWrite := tc.method != http.MethodGet; isWrite != (got.idemKey != "") {
				t.Errorf("Idempotency-Key = %q on %s", got.idemKey, got.method)
			}
		})
	}
}

func mustParseQuery(tb testing.TB, raw string) url.Values {
	tb.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		tb.Fatalf("query %q: %v", raw, err)
	}
	return v
}

func TestMethods_ErrBadName(t *testing.T) {
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request was sent: %s %s", r.Method, r.URL)
	})
	ctx := context.Background()
	for _, tc := range []struct {
		name, field string
		call        func() error
	}{
		{"EmptyName", "name", func() error { _, err := c.GetEnvironment(ctx, ""); return err }},
		{"DotDot", "name", func() error { _, err := c.DeleteComputePool(ctx, "dev", ".."); return err }},
		{"Dot", "name", func() error { _, err := c.UpdateFeatureStore(ctx, "dev", ".", api.FeatureStoreSpec{}, ""); return err }},
		{"EmptyEnvironment", "environment", func() error { _, err := c.ListFeatureGroups(ctx, "", api.ListOptions{}); return err }},
		{"EmptyEnvironmentOnCreate", "environment", func() error {
			_, err := c.CreateComputePool(ctx, "", "gpu", api.ComputePoolSpec{})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !IsInvalid(err) || ErrorField(err) != tc.field {
				t.Errorf("err = %v (field %q), want IsInvalid on %q", err, ErrorField(err), tc.field)
			}
		})
	}
}
