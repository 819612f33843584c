package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// gateway routes predictions to the replicas of an endpoint's variants and
// records per-variant metrics.
type gateway struct {
	client      *http.Client
	invocations *prometheus.CounterVec
	errors      *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	// shadows tracks the mirrored requests in flight, so tests and shutdown
	// can wait for them.
	shadows sync.WaitGroup
}

func newGateway(reg prometheus.Registerer) *gateway {
	labels := []string{"env", "endpoint", "variant"}
	g := &gateway{
		client: &http.Client{Timeout: 30 * time.Second},
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlopsd_endpoint_invocations_total", Help: "Predictions routed to a model endpoint's variant (shadow copies included).",
		}, labels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlopsd_endpoint_errors_total", Help: "Predictions of a model endpoint's variant that failed.",
		}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mlopsd_endpoint_latency_seconds", Help: "Latency of a model endpoint's variant, as the gateway measured it.",
			Buckets: prometheus.DefBuckets,
		}, labels),
	}
	reg.MustRegister(g.invocations, g.errors, g.latency)
	return g
}

// handlePredict is POST /v1/environments/{env}/model-endpoints/{name}/predict.
func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	env, name := r.PathValue("env"), r.PathValue("name")
	if err := validateName("environment", env); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req api.PredictRequest
	if err := readBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Inputs) == 0 {
		s.writeError(w, r, api.NewError(api.EINVALID, "inputs", "inputs is required: the model's numeric inputs, e.g. {\"inputs\": [72.5]}"))
		return
	}
	obj, err := s.store.Get(r.Context(), api.Ref{Kind: api.KindModelEndpoint, Environment: env, Name: name})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var spec api.ModelEndpointSpec
	var st api.ModelEndpointStatus
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		s.writeError(w, r, fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err))
		return
	}
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		s.writeError(w, r, fmt.Errorf("decoding status of %s: %w", obj.Ref(), err))
		return
	}
	variant, ok := pickVariant(spec.Variants, st.Variants)
	if !ok {
		s.writeError(w, r, api.Errorf(api.EUNAVAILABLE, "", "model endpoint %q has no serving replicas yet (phase %q); wait until it is ready", name, st.Phase))
		return
	}
	version, backends := variant.ModelVersion, variant.Backends
	if len(variant.CanaryBackends) > 0 && rand.Int64N(100) < variant.CanaryPercent {
		version, backends = variant.CanaryVersion, variant.CanaryBackends
	}
	body, _ := json.Marshal(req)
	if st.Shadow != nil && len(st.Shadow.Backends) > 0 {
		shadow := *st.Shadow
		s.gw.shadows.Add(1)
		go func() {
			defer s.gw.shadows.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// The shadow's answer is discarded; only its metrics count.
			_, _ = s.gw.call(ctx, env, name, shadow.Name, shadow.Backends, body)
		}()
	}
	pred, err := s.gw.call(r.Context(), env, name, variant.Name, backends, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if spec.RequestLogSampleRatePercent > 0 && rand.Int64N(100) < spec.RequestLogSampleRatePercent {
		s.log.InfoContext(r.Context(), "prediction", "environment", env, "endpoint", name, "variant", variant.Name,
			"model_version", version, "inputs", req.Inputs, "prediction", pred)
	}
	writeJSON(w, http.StatusOK, api.PredictResponse{Variant: variant.Name, ModelVersion: version, Prediction: pred})
}

// pickVariant chooses a serving variant by the spec's traffic weights.
func pickVariant(spec []api.EndpointVariant, status []api.EndpointVariantStatus) (api.EndpointVariantStatus, bool) {
	serving := map[string]api.EndpointVariantStatus{}
	for _, v := range status {
		if len(v.Backends) > 0 {
			serving[v.Name] = v
		}
	}
	var total int64
	for _, v := range spec {
		if _, ok := serving[v.Name]; ok {
			total += v.TrafficPercent
		}
	}
	if total == 0 {
		return api.EndpointVariantStatus{}, false
	}
	n := rand.Int64N(total)
	for _, v := range spec {
		if _, ok := serving[v.Name]; !ok {
			continue
		}
		if n < v.TrafficPercent {
			return serving[v.Name], true
		}
		n -= v.TrafficPercent
	}
	return api.EndpointVariantStatus{}, false
}

// call sends one prediction to a random replica and records its metrics.
func (g *gateway) call(ctx context.Context, env, endpoint, variant string, backends []string, body []byte) (float64, error) {
	labels := prometheus.Labels{"env": env, "endpoint": endpoint, "variant": variant}
	start := time.Now()
	g.invocations.With(labels).Inc()
	errs := g.errors.With(labels) // the series exists from the first call on, at 0
	pred, err := g.post(ctx, backends[rand.IntN(len(backends))], body)
	g.latency.With(labels).Observe(time.Since(start).Seconds())
	// Bad inputs are the caller's errors, not the variant's.
	if err != nil && !isCode(err, api.EINVALID) {
		errs.Inc()
	}
	return pred, err
}

func (g *gateway) post(ctx context.Context, backend string, body []byte) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, backend+"/predict", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, api.Errorf(api.EUNAVAILABLE, "", "the model replica did not answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusBadRequest {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return 0, api.NewError(api.EINVALID, "inputs", e.Error)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, api.Errorf(api.EUNAVAILABLE, "", "the model replica answered %s", resp.Status)
	}
	var out struct {
		Prediction float64 `json:"prediction"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return 0, api.Errorf(api.EUNAVAILABLE, "", "the model replica answered no prediction: %v", err)
	}
	return out.Prediction, nil
}
