package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

const pushPath = "/v1/environments/dev/metrics"

// customPoints returns the stored points of custom metric name in dev.
func customPoints(c *apiClient, name string) []store.MetricPoint {
	c.tb.Helper()
	now := time.Now()
	got, err := c.srv.Daemon.Store.QueryMetrics(context.Background(), store.MetricQuery{
		Environment: "dev", Series: api.CustomSeriesPrefix + name, From: now.Add(-48 * time.Hour), To: now.Add(time.Hour),
	})
	if err != nil {
		c.tb.Fatal(err)
	}
	return got
}

func push(dps ...api.CustomDatapoint) api.PushMetricsRequest {
	return api.PushMetricsRequest{Datapoints: dps}
}

func TestPushMetrics_StoresAggregates(t *testing.T) {
	_, c := endpointFixture(t)
	invoker := c["invoker"]
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	r := invoker.must(http.StatusOK, http.MethodPost, pushPath, push(
		api.CustomDatapoint{Name: "online_accuracy", Value: 0.75, Timestamp: at, Endpoint: "api", Variant: "primary"},
		api.CustomDatapoint{Name: "online_accuracy", Value: 0.25, Timestamp: at.Add(300 * time.Millisecond), Endpoint: "api", Variant: "primary"},
		api.CustomDatapoint{Name: "online_accuracy", Value: 1, Timestamp: at.Add(900 * time.Millisecond), Endpoint: "api", Variant: "primary"},
		api.CustomDatapoint{Name: "online_accuracy", Value: 0.5, Timestamp: at.Add(time.Second), Endpoint: "api", Variant: "primary"},
		api.CustomDatapoint{Name: "online_accuracy", Value: -2, Timestamp: at, Endpoint: "api"},
		api.CustomDatapoint{Name: "online_accuracy", Value: 3, Timestamp: at},
		api.CustomDatapoint{Name: "batch_size", Value: 64}, // now
	))
	if got := decode[api.PushMetricsResponse](t, r); got.Accepted != 7 {
		t.Fatalf("accepted = %d, want 7", got.Accepted)
	}
	type dims struct {
		endpoint, variant string
		at                time.Time
	}
	got := map[dims]store.MetricPoint{}
	for _, p := range customPoints(invoker, "online_accuracy") {
		d := dims{p.Endpoint, p.Variant, p.Time}
		if _, dup := got[d]; dup {
			t.Fatalf("two points for %+v: one push is aggregated per endpoint, variant and second", d)
		}
		p.Environment, p.Series, p.Endpoint, p.Variant, p.ModelVersion, p.Time = "", "", "", "", "", time.Time{}
		got[d] = p
	}
	want := map[dims]store.MetricPoint{
		{"api", "primary", at}:                  {Count: 3, Sum: 2, Min: 0.25, Max: 1, Samples: []float64{0.75, 0.25, 1}},
		{"api", "primary", at.Add(time.Second)}: {Count: 1, Sum: 0.5, Min: 0.5, Max: 0.5, Samples: []float64{0.5}},
		{"api", "", at}:                         {Count: 1, Sum: -2, Min: -2, Max: -2, Samples: []float64{-2}},
		{"", "", at}:                            {Count: 1, Sum: 3, Min: 3, Max: 3, Samples: []float64{3}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("points = %+v\nwant %+v", got, want)
	}
	now := customPoints(invoker, "batch_size")
	if len(now) != 1 || now[0].Sum != 64 || time.Since(now[0].Time) > time.Hour || time.Until(now[0].Time) > time.Minute {
		t.Fatalf("batch_size points = %+v; want one of 64 at the server's time", now)
	}
}

func TestPushMetrics_Validation(t *testing.T) {
	admin, c := endpointFixture(t)
	invoker := c["invoker"]
	now := time.Now().UTC()
	ok := api.CustomDatapoint{Name: "acc", Value: 0.5, Endpoint: "api"}
	with := func(f func(*api.CustomDatapoint)) api.CustomDatapoint {
		dp := ok
		f(&dp)
		return dp
	}
	var tooMany []api.CustomDatapoint
	for range api.MaxCustomDatapoints + 1 {
		tooMany = append(tooMany, ok)
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
		// want occurs in the message.
		want string
	}{
		{"NoDatapoints", push(), "datapoints", "at least one"},
		{"TooMany", push(tooMany...), "datapoints", "at most 1000"},
		{"BadName", push(ok, ok, ok, with(func(d *api.CustomDatapoint) { d.Name = "Online-Accuracy" })), "datapoints[3].name", "not a valid metric name"},
		{"NameStartsWithDigit", push(with(func(d *api.CustomDatapoint) { d.Name = "1acc" })), "datapoints[0].name", "starting with a letter"},
		{"NameTooLong", push(with(func(d *api.CustomDatapoint) { d.Name = "a" + strings.Repeat("b", 63) })), "datapoints[0].name", "1-63"},
		{"NoName", push(with(func(d *api.CustomDatapoint) { d.Name = "" })), "datapoints[0].name", ""},
		{"ValueNotANumber", `{"datapoints": [{"name": "acc", "value": 1}, {"name": "acc", "value": "high"}]}`, "datapoints[1].value", ""},
		{"ValueOverflows", `{"datapoints": [{"name": "acc", "value": 1e999}]}`, "datapoints[0].value", ""},
		{"TooOld", push(ok, with(func(d *api.CustomDatapoint) { d.Timestamp = now.Add(-api.MaxCustomDatapointAge - time.Minute) })), "datapoints[1].timestamp", "within 24h0m0s"},
		{"InTheFuture", push(with(func(d *api.CustomDatapoint) { d.Timestamp = now.Add(10 * time.Minute) })), "datapoints[0].timestamp", "clock"},
		{"BadEndpointName", push(with(func(d *api.CustomDatapoint) { d.Endpoint = "API_1" })), "datapoints[0].endpoint", "not a valid name"},
		{"MissingEndpoint", push(ok, ok, with(func(d *api.CustomDatapoint) { d.Endpoint = "churn-api" })), "datapoints[2].endpoint", `model endpoint "churn-api" does not exist in environment "dev"`},
		{"VariantWithoutEndpoint", push(with(func(d *api.CustomDatapoint) { d.Endpoint, d.Variant = "", "primary" })), "datapoints[0].variant", "needs endpoint"},
		{"BadVariantName", push(with(func(d *api.CustomDatapoint) { d.Variant = "Primary" })), "datapoints[0].variant", "not a valid name"},
		{"NotJSON", `{"datapoints": [`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := wantError(t, invoker.do(http.MethodPost, pushPath, tc.body), http.StatusBadRequest, api.EINVALID, tc.field)
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("message %q lacks %q", e.Message, tc.want)
			}
			if got := customPoints(invoker, "acc"); len(got) != 0 {
				t.Fatalf("a refused push stored %d points", len(got))
			}
		})
	}
	wantError(t, admin.do(http.MethodPost, "/v1/environments/Dev/metrics", push(ok)), http.StatusBadRequest, api.EINVALID, "environment")
}

func TestPushMetrics_MissingEnvironment(t *testing.T) {
	c := MustStart(t)
	wantError(t, c.do(http.MethodPost, "/v1/environments/qa/metrics", push(api.CustomDatapoint{Name: "acc", Value: 1})), http.StatusNotFound, api.ENOTFOUND, "")
}

func TestPushMetrics_Idempotency(t *testing.T) {
	_, c := endpointFixture(t)
	invoker, editor := c["invoker"], c["editor"]
	count := func() int64 {
		var n int64
		for _, p := range customPoints(invoker, "acc") {
			n += p.Count
		}
		return n
	}
	body := push(api.CustomDatapoint{Name: "acc", Value: 0.5}, api.CustomDatapoint{Name: "acc", Value: 0.7, Endpoint: "api"})
	first := invoker.must(http.StatusOK, http.MethodPost, pushPath, body, api.HeaderIdempotencyKey, "push-1")
	if first.Header.Get(api.HeaderIdempotentReplay) != "" || count() != 2 {
		t.Fatalf("first push: replay header %q, %d datapoints stored; want a fresh push of 2", first.Header.Get(api.HeaderIdempotentReplay), count())
	}
	// The retry is answered as the first push was, and stores nothing.
	retry := invoker.must(http.StatusOK, http.MethodPost, pushPath, body, api.HeaderIdempotencyKey, "push-1")
	if retry.Header.Get(api.HeaderIdempotentReplay) != "true" || string(retry.Body) != string(first.Body) {
		t.Fatalf("retry = %s (replay %q); want the first answer %s, replayed", retry, retry.Header.Get(api.HeaderIdempotentReplay), first)
	}
	if got := count(); got != 2 {
		t.Fatalf("after the retry %d datapoints are stored, want 2", got)
	}
	// The same key for another body is a client bug.
	other := push(api.CustomDatapoint{Name: "acc", Value: 0.9})
	wantError(t, invoker.do(http.MethodPost, pushPath, other, api.HeaderIdempotencyKey, "push-1"), http.StatusConflict, api.ECONFLICT, "")
	if got := count(); got != 2 {
		t.Fatalf("after the conflict %d datapoints are stored, want 2", got)
	}
	// Keys are the caller's own: another caller's "push-1" is a new push.
	editor.must(http.StatusOK, http.MethodPost, pushPath, body, api.HeaderIdempotencyKey, "push-1")
	if got := count(); got != 4 {
		t.Fatalf("after another caller's push %d datapoints are stored, want 4", got)
	}
	// Without a key every push is stored.
	invoker.must(http.StatusOK, http.MethodPost, pushPath, other)
	invoker.must(http.StatusOK, http.MethodPost, pushPath, other)
	if got := count(); got != 6 {
		t.Fatalf("after two pushes without a key %d datapoints are stored, want 6", got)
	}
	wantError(t, invoker.do(http.MethodPost, pushPath, other, api.HeaderIdempotencyKey, strings.Repeat("k", 201)), http.StatusBadRequest, api.EINVALID, "Idempotency-Key")
}

func TestPushMetrics_NeedsInvoker(t *testing.T) {
	admin, c := rbacFixture(t)
	body := push(api.CustomDatapoint{Name: "acc", Value: 1})
	wantError(t, admin.as("").do(http.MethodPost, pushPath, body), http.StatusUnauthorized, api.EUNAUTHORIZED, "")
	wantError(t, c["viewer"].do(http.MethodPost, pushPath, body), http.StatusForbidden, api.EFORBIDDEN, "")
	c["invoker"].must(http.StatusOK, http.MethodPost, pushPath, body)
	if got := customPoints(admin, "acc"); len(got) != 1 {
		t.Fatalf("points = %d, want 1 (only the invoker's push)", len(got))
	}
}

func TestPredict_ActionRoute(t *testing.T) {
	admin, c := endpointFixture(t)
	item := objPath("dev", api.KindModelEndpoint, "api")
	for _, who := range []string{"invoker", "owner"} {
		r := c[who].must(http.StatusOK, http.MethodPost, item+":predict", api.PredictRequest{Inputs: []float64{10}})
		got := decode[api.PredictResponse](t, r)
		if got != (api.PredictResponse{Variant: "primary", ModelVersion: "v1", Prediction: 21}) {
			t.Fatalf("%s: :predict = %+v", who, got)
		}
		if r.Header.Get(api.HeaderVariant) != "primary" || r.Header.Get(api.HeaderModelVersion) != "v1" {
			t.Fatalf("headers = %v", r.Header)
		}
	}
	wantError(t, c["viewer"].do(http.MethodPost, item+":predict", api.PredictRequest{Inputs: []float64{10}}), http.StatusForbidden, api.EFORBIDDEN, "")
	wantError(t, admin.as("").do(http.MethodPost, item+":predict", api.PredictRequest{Inputs: []float64{10}}), http.StatusUnauthorized, api.EUNAUTHORIZED, "")
	wantError(t, c["invoker"].do(http.MethodPost, objPath("dev", api.KindModelEndpoint, "missing")+":predict", api.PredictRequest{Inputs: []float64{10}}), http.StatusNotFound, api.ENOTFOUND, "")
	// Another action, or none, is no route; it says which are.
	for _, path := range []string{item + ":explain", item, item + ":"} {
		e := wantError(t, admin.do(http.MethodPost, path, api.PredictRequest{Inputs: []float64{10}}), http.StatusNotFound, api.ENOTFOUND, "")
		for _, hint := range []string{"{name}:predict", "{name}/predict", "/openapi.json"} {
			if !strings.Contains(e.Message, hint) {
				t.Errorf("POST %s: message %q lacks %q", path, e.Message, hint)
			}
		}
	}
}

// predictionsByVersion sums the endpoint's stored predictions per
// "variant/version": count and errors.
func predictionsByVersion(c *apiClient) map[string][2]int64 {
	c.tb.Helper()
	now := time.Now()
	points, err := c.srv.Daemon.Store.QueryMetrics(context.Background(), store.MetricQuery{
		Environment: "dev", Series: api.SeriesPredictions, Endpoint: "api", From: now.Add(-time.Hour), To: now.Add(time.Hour),
	})
	if err != nil {
		c.tb.Fatal(err)
	}
	out := map[string][2]int64{}
	for _, p := range points {
		v := out[p.Variant+"/"+p.ModelVersion]
		out[p.Variant+"/"+p.ModelVersion] = [2]int64{v[0] + p.Count, v[1] + p.Errors}
	}
	return out
}

// TestGateway_RecordsPredictionsDuringACanary sends predictions through an
// endpoint whose canary rollout is under way, and finds them in the
// metrics store split by the variant and model version that answered.
func TestGateway_RecordsPredictionsDuringACanary(t *testing.T) {
	admin, _ := endpointFixture(t)
	item := objPath("dev", api.KindModelEndpoint, "api")
	v1 := decode[api.ModelVersion](t, admin.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindModelVersion, "v1"), nil))
	v2 := v1.Spec
	v2.ApprovalHistory = nil
	admin.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: "v2", Spec: v2})
	spec := endpointSpec(100)
	spec.Variants[0].ModelVersion = "v2"
	spec.Rollout = api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 25, BakeTimeSeconds: 3600}
	admin.must(http.StatusOK, http.MethodPut, item, api.UpdateModelEndpointRequest{Spec: spec})
	admin.waitFor(item, 20*time.Second, func(r response) bool {
		ep := decode[api.ModelEndpoint](t, r)
		return ep.Status.Phase == api.PhaseRollingOut && ep.Status.Variants[0].CanaryPercent == 25
	})

	const n = 60
	answered := map[string]int64{}
	sent := map[float64]bool{}
	for i := range n {
		x := float64(i)
		r := admin.must(http.StatusOK, http.MethodPost, item+":predict", api.PredictRequest{Inputs: []float64{x}})
		got := decode[api.PredictResponse](t, r)
		if got.Prediction != 2*x+1 || r.Header.Get(api.HeaderModelVersion) != got.ModelVersion {
			t.Fatalf("prediction %+v, header version %q", got, r.Header.Get(api.HeaderModelVersion))
		}
		answered[got.Variant+"/"+got.ModelVersion]++
		sent[x] = true
	}
	// A bad input is an invocation of the version that refused it, but no
	// error, and not sampled as an input.
	r := admin.do(http.MethodPost, item+"/predict", api.PredictRequest{Inputs: []float64{1, 2}})
	wantError(t, r, http.StatusBadRequest, api.EINVALID, "inputs")
	answered["primary/"+r.Header.Get(api.HeaderModelVersion)]++
	if answered["primary/v1"] == 0 || answered["primary/v2"] == 0 {
		t.Fatalf("answers by version = %v; want both v1 and the canary v2", answered)
	}

	want := map[string][2]int64{"shadow/v1": {n + 1, 0}}
	for k, v := range answered {
		want[k] = [2]int64{v, 0}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := predictionsByVersion(admin)
		if reflect.DeepEqual(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored predictions by variant/version = %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	now := time.Now()
	inputs, err := admin.srv.Daemon.Store.QueryMetrics(context.Background(), store.MetricQuery{
		Environment: "dev", Series: api.SeriesInputs, Endpoint: "api", Variant: "primary", From: now.Add(-time.Hour), To: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	var vectors int64
	for _, p := range inputs {
		vectors += p.Count
		for _, in := range p.Inputs {
			if len(in) != 1 || !sent[in[0]] {
				t.Fatalf("sampled input %v was never sent", in)
			}
		}
		if len(p.Inputs) != int(p.Count) {
			t.Fatalf("a point of %d vectors samples %d; want all (fewer than %d)", p.Count, len(p.Inputs), api.MaxMetricSamples)
		}
	}
	if vectors != n {
		t.Fatalf("input vectors = %d, want %d", vectors, n)
	}
	m := string(admin.must(http.StatusOK, http.MethodGet, "/metrics", nil).Body)
	for _, s := range []string{
		fmt.Sprintf(`mlopsd_endpoint_invocations_total{endpoint="api",env="dev",model_version="v2",variant="primary"} %d`, answered["primary/v2"]),
		"mlopsd_metrics_points_written_total",
		"mlopsd_metrics_flush_errors_total 0",
		"mlopsd_metrics_dropped_points_total 0",
	} {
		if !strings.Contains(m, s) {
			t.Errorf("/metrics lacks %q", s)
		}
	}
}

// TestGateway_SurvivesAKilledReplica kills the server of one of the two
// replicas of a running endpoint: no request fails, as the gateway sends
// the requests that reach the dead one to the other.
func TestGateway_SurvivesAKilledReplica(t *testing.T) {
	admin, _ := endpointFixture(t)
	item := objPath("dev", api.KindModelEndpoint, "api")
	ep := decode[api.ModelEndpoint](t, admin.must(http.StatusOK, http.MethodGet, item, nil))
	backends := admin.srv.Daemon.Backends
	for round := range 3 {
		var killed bool
		for _, k := range backends.Keys(ep.Metadata.UID) {
			if k.Variant == "primary" && k.Replica == round%2 {
				backends.Stop(k)
				killed = true
			}
		}
		if !killed {
			t.Fatalf("round %d: no replica %d of variant primary among %v", round, round%2, backends.Keys(ep.Metadata.UID))
		}
		for i := range 20 {
			r := admin.do(http.MethodPost, item+":predict", api.PredictRequest{Inputs: []float64{float64(i)}})
			if r.Status != http.StatusOK {
				t.Fatalf("round %d, request %d after a replica was killed: %s", round, i, r)
			}
		}
		// The reconciler starts the replica again, and lists it in the
		// status, before the next round kills the other one.
		admin.waitFor(item, 20*time.Second, func(r response) bool {
			listed := map[string]bool{}
			for _, u := range decode[api.ModelEndpoint](t, r).Status.Variants[0].Backends {
				listed[u] = true
			}
			running := 0
			for _, k := range backends.Keys(ep.Metadata.UID) {
				if u := backends.Running(k); k.Variant == "primary" && listed[u] {
					running++
				}
			}
			return running == 2 && len(listed) == 2
		})
	}
	got := predictionsByVersion(admin)
	t.Logf("predictions %v; retries on another replica: %v", got, metricLine(admin, "mlopsd_endpoint_retries_total"))
}

// metricLine is the first line of /metrics that starts with name.
func metricLine(c *apiClient, name string) string {
	for _, line := range strings.Split(string(c.must(http.StatusOK, http.MethodGet, "/metrics", nil).Body), "\n") {
		if strings.HasPrefix(line, name) {
			return line
		}
	}
	return ""
}

// TestPushMetrics_OpenAPI checks that the push documents its body and the
// Idempotency-Key header.
func TestPushMetrics_OpenAPI(t *testing.T) {
	doc, err := json.Marshal(api.OpenAPI("test"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name string `json:"name"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	op := d.Paths["/v1/environments/{env}/metrics"]["post"]
	var names []string
	for _, p := range op.Parameters {
		names = append(names, p.Name)
	}
	if op.OperationID != api.OpIDPushMetrics || !strings.Contains(strings.Join(names, ","), api.HeaderIdempotencyKey) {
		t.Fatalf("push operation %q with parameters %v", op.OperationID, names)
	}
	if d.Paths["/v1/environments/{env}/model-endpoints/{name}:predict"]["post"].OperationID != api.OpIDPredictAction {
		t.Fatalf("paths lack the :predict route")
	}
}
