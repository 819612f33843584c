package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/telemetry"
)

// These tests drive the gateway against replicas whose failures they
// script (a replica that dies mid-request, one that answers 500), which a
// running reconciler would repair before the gateway sees them: the
// endpoint's status is written straight into a real SQLite store, and no
// reconciler runs.

// gatewayFixture is a server with a metrics recorder on a SQLite store
// holding environment dev and endpoint api with the given status.
type gatewayFixture struct {
	t   *testing.T
	st  store.Store
	srv *Server
	rec *telemetry.Recorder
	reg *prometheus.Registry
}

func newGatewayFixture(t *testing.T, status api.ModelEndpointStatus) *gatewayFixture {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "mlops.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	if _, err := st.Create(ctx, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}, Spec: json.RawMessage(`{}`), Status: json.RawMessage(`{}`)}, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v2", TrafficPercent: 100}},
	})
	b, _ := json.Marshal(status)
	if _, err := st.Create(ctx, &store.Object{Kind: api.KindModelEndpoint, Meta: api.Metadata{Name: "api", Environment: "dev"}, Spec: spec, Status: b}, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	rec, err := telemetry.New(telemetry.Config{Store: st, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return &gatewayFixture{t: t, st: st, srv: New(Config{Store: st, Registry: reg, Metrics: rec}), rec: rec, reg: reg}
}

// setStatus replaces the endpoint's status, as the reconciler does.
func (f *gatewayFixture) setStatus(status api.ModelEndpointStatus) {
	f.t.Helper()
	ctx := context.Background()
	obj, err := f.st.Get(ctx, api.Ref{Kind: api.KindModelEndpoint, Environment: "dev", Name: "api"})
	if err != nil {
		f.t.Fatal(err)
	}
	b, _ := json.Marshal(status)
	if _, err := f.st.UpdateStatus(ctx, obj.Ref(), obj.Meta.UID, b); err != nil {
		f.t.Fatal(err)
	}
}

func (f *gatewayFixture) predict(inputs ...float64) *httptest.ResponseRecorder {
	f.t.Helper()
	body, _ := json.Marshal(api.PredictRequest{Inputs: inputs})
	req := httptest.NewRequest(http.MethodPost, "/v1/environments/dev/model-endpoints/api:predict", strings.NewReader(string(body)))
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	return w
}

// points flushes the recorder and returns the endpoint's points of series.
func (f *gatewayFixture) points(series string) []store.MetricPoint {
	f.t.Helper()
	f.srv.WaitShadows()
	if err := f.rec.Flush(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	now := time.Now()
	got, err := f.st.QueryMetrics(context.Background(), store.MetricQuery{Environment: "dev", Series: series, Endpoint: "api", From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

// counter reads one series of a counter vector of the registry.
func (f *gatewayFixture) counter(name string, labels map[string]string) float64 {
	f.t.Helper()
	families, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
		for _, m := range fam.GetMetric() {
			if hasLabels(m, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// liveReplica is a real model replica (the built-in runtime) predicting
// 2x+1.
func liveReplica(t *testing.T) string {
	t.Helper()
	m, err := runtime.ParseLinearModel([]byte(`{"slope": 2, "intercept": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(runtime.ModelHandler(m))
	t.Cleanup(ts.Close)
	return ts.URL
}

// goneReplica is the URL of a replica whose port nobody listens on any more.
func goneReplica(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close()
	return url
}

// failingReplica answers every request with status and body, and counts
// them.
func failingReplica(t *testing.T, status int, body string) (string, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	return ts.URL, &hits
}

// primaryV2 is variant primary serving model version v2 on backends.
func primaryV2(backends ...string) api.EndpointVariantStatus {
	return api.EndpointVariantStatus{Name: "primary", ModelVersion: "v2", Replicas: int64(len(backends)), Backends: backends}
}

func wantPrediction(t *testing.T, w *httptest.ResponseRecorder, want api.PredictResponse) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("predict = %d %s, want 200", w.Code, w.Body)
	}
	var got api.PredictResponse
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got != want {
		t.Fatalf("predict = %s (%v), want %+v", w.Body, err, want)
	}
	if w.Header().Get(api.HeaderVariant) != want.Variant || w.Header().Get(api.HeaderModelVersion) != want.ModelVersion {
		t.Fatalf("headers %v; want %s %s and %s %s", w.Header(), api.HeaderVariant, want.Variant, api.HeaderModelVersion, want.ModelVersion)
	}
}

func wantGatewayError(t *testing.T, w *httptest.ResponseRecorder, status int, message string) {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != status || !strings.HasPrefix(e.Message, message) {
		t.Fatalf("predict = %d %s; want %d with a message starting %q", w.Code, w.Body, status, message)
	}
	if w.Header().Get(api.HeaderVariant) != "primary" || w.Header().Get(api.HeaderModelVersion) != "v2" {
		t.Fatalf("headers %v; want the variant and model version that failed", w.Header())
	}
}

func TestGateway_RetriesOnAnotherReplicaWhenOneIsGone(t *testing.T) {
	live := liveReplica(t)
	var f *gatewayFixture
	// This replica dies while it has the request: the reconciler has
	// replaced it by the live one in the status, and it hangs up without
	// an answer.
	dying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.setStatus(api.ModelEndpointStatus{Variants: []api.EndpointVariantStatus{primaryV2(live)}})
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		_ = conn.Close()
	}))
	t.Cleanup(dying.Close)
	f = newGatewayFixture(t, api.ModelEndpointStatus{Variants: []api.EndpointVariantStatus{primaryV2(dying.URL)}})

	wantPrediction(t, f.predict(10), api.PredictResponse{Variant: "primary", ModelVersion: "v2", Prediction: 21})
	if got := f.counter("mlopsd_endpoint_retries_total", map[string]string{"variant": "primary"}); got != 1 {
		t.Errorf("retries = %v, want 1", got)
	}
	p := f.points(api.SeriesPredictions)
	if len(p) != 1 || p[0].Count != 1 || p[0].Errors != 0 {
		t.Fatalf("points = %+v; want one prediction, no error", p)
	}
}

func TestGateway_RetriesAreBounded(t *testing.T) {
	gone := []string{goneReplica(t), goneReplica(t), goneReplica(t), goneReplica(t)}
	f := newGatewayFixture(t, api.ModelEndpointStatus{Variants: []api.EndpointVariantStatus{primaryV2(gone...)}})
	w := f.predict(10)
	wantGatewayError(t, w, http.StatusServiceUnavailable, `variant "primary" (model version "v2"): the model replica did not answer: `)
	if !strings.Contains(w.Body.String(), "(tried 3 replicas)") {
		t.Errorf("message %s does not say that 3 replicas were tried", w.Body)
	}
	if got := f.counter("mlopsd_endpoint_errors_total", map[string]string{"variant": "primary", "model_version": "v2"}); got != 1 {
		t.Errorf("errors = %v, want 1", got)
	}
	if p := f.points(api.SeriesPredictions); len(p) != 1 || p[0].Count != 1 || p[0].Errors != 1 {
		t.Fatalf("points = %+v; want one failed prediction", p)
	}
}

func TestGateway_ReplicaErrorIsNotRetriedAndNamesTheVersion(t *testing.T) {
	broken, hits := failingReplica(t, http.StatusInternalServerError, "boom:\n  weights not loaded")
	f := newGatewayFixture(t, api.ModelEndpointStatus{Variants: []api.EndpointVariantStatus{primaryV2(broken, broken+"/")}})
	w := f.predict(10)
	wantGatewayError(t, w, http.StatusServiceUnavailable,
		`variant "primary" (model version "v2"): the model replica answered 500 Internal Server Error: boom: weights not loaded`)
	if hits.Load() != 1 {
		t.Errorf("the failing replica got %d requests, want 1 (an HTTP error is not retried)", hits.Load())
	}
	if got := f.counter("mlopsd_endpoint_errors_total", map[string]string{"variant": "primary", "model_version": "v2"}); got != 1 {
		t.Errorf("errors = %v, want 1", got)
	}
	if p := f.points(api.SeriesPredictions); len(p) != 1 || p[0].Count != 1 || p[0].Errors != 1 || p[0].ModelVersion != "v2" {
		t.Fatalf("points = %+v; want one failed prediction of v2", p)
	}
	// The inputs the model saw are sampled even so; a caller's bad ones
	// are not, and are no error.
	bad, _ := failingReplica(t, http.StatusBadRequest, `{"error": "the model takes 1 input, got 2"}`)
	f.setStatus(api.ModelEndpointStatus{Variants: []api.EndpointVariantStatus{primaryV2(bad)}})
	w = f.predict(1, 2)
	wantGatewayError(t, w, http.StatusBadRequest, `variant "primary" (model version "v2"): the model takes 1 input, got 2`)
	var count, errs int64
	for _, p := range f.points(api.SeriesPredictions) {
		count, errs = count+p.Count, errs+p.Errors
	}
	if count != 2 || errs != 1 {
		t.Fatalf("predictions %d, errors %d; want 2 and 1", count, errs)
	}
	if in := f.points(api.SeriesInputs); len(in) != 1 || in[0].Count != 1 || len(in[0].Inputs) != 1 || in[0].Inputs[0][0] != 10 {
		t.Fatalf("inputs = %+v; want the one vector [10]", in)
	}
}

func TestGateway_RecordsCanaryAndShadowVersions(t *testing.T) {
	live := liveReplica(t)
	broken, _ := failingReplica(t, http.StatusBadGateway, "")
	f := newGatewayFixture(t, api.ModelEndpointStatus{
		Variants: []api.EndpointVariantStatus{{Name: "primary", ModelVersion: "v2", Backends: []string{live},
			CanaryVersion: "v3", CanaryPercent: 100, CanaryBackends: []string{live}}},
		Shadow: &api.EndpointVariantStatus{Name: "challenger", ModelVersion: "v9", Backends: []string{broken}},
	})
	for range 3 {
		wantPrediction(t, f.predict(1), api.PredictResponse{Variant: "primary", ModelVersion: "v3", Prediction: 3})
	}
	byVariant := map[string]store.MetricPoint{}
	for _, p := range f.points(api.SeriesPredictions) {
		q := byVariant[p.Variant+"/"+p.ModelVersion]
		q.Count, q.Errors = q.Count+p.Count, q.Errors+p.Errors
		byVariant[p.Variant+"/"+p.ModelVersion] = q
	}
	if len(byVariant) != 2 || byVariant["primary/v3"].Count != 3 || byVariant["primary/v3"].Errors != 0 ||
		byVariant["challenger/v9"].Count != 3 || byVariant["challenger/v9"].Errors != 3 {
		t.Fatalf("predictions by variant/version = %+v; want primary/v3 3 ok, challenger/v9 3 failed", byVariant)
	}
}

func TestGateway_ActionRoute(t *testing.T) {
	f := newGatewayFixture(t, api.ModelEndpointStatus{Variants: []api.EndpointVariantStatus{primaryV2(liveReplica(t))}})
	for _, path := range []string{"/v1/environments/dev/model-endpoints/api:explain", "/v1/environments/dev/model-endpoints/api", "/v1/environments/dev/model-endpoints/:predict"} {
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"inputs": [1]}`)))
		var e api.Error
		_ = json.Unmarshal(w.Body.Bytes(), &e)
		switch {
		case path == "/v1/environments/dev/model-endpoints/:predict":
			// An empty name is no name.
			if w.Code != http.StatusBadRequest || e.Field != "name" {
				t.Errorf("POST %s = %d %s; want 400 on name", path, w.Code, w.Body)
			}
		case w.Code != http.StatusNotFound || !strings.Contains(e.Message, "{name}:predict") || !strings.Contains(e.Message, "{name}/predict"):
			t.Errorf("POST %s = %d %s; want 404 naming both predict paths", path, w.Code, w.Body)
		}
	}
}
