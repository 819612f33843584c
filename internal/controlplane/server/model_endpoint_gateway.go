package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/telemetry"
)

// maxReplicaRetries bounds how often one prediction is sent to another
// replica after a replica gave no answer. Predictions are pure functions of
// their inputs, so sending one again is safe.
const maxReplicaRetries = 2

// replicaTimeout bounds one attempt at a replica.
const replicaTimeout = 30 * time.Second

// gateway routes predictions to the replicas of an endpoint's variants and
// records per-variant, per-version metrics: Prometheus series, and the
// points of the metrics store through the recorder.
type gateway struct {
	client      *http.Client
	store       store.Store
	recorder    *telemetry.Recorder
	invocations *prometheus.CounterVec
	errors      *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	// shadows tracks the mirrored requests in flight, so tests and shutdown
	// can wait for them.
	shadows sync.WaitGroup
}

func newGateway(reg prometheus.Registerer, st store.Store, rec *telemetry.Recorder) *gateway {
	labels := []string{"env", "endpoint", "variant", "model_version"}
	g := &gateway{
		client:   &http.Client{Timeout: replicaTimeout},
		store:    st,
		recorder: rec,
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlopsd_endpoint_invocations_total", Help: "Predictions routed to a model endpoint's variant and model version (shadow copies included).",
		}, labels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlopsd_endpoint_errors_total", Help: "Predictions of a model endpoint's variant and model version that failed.",
		}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mlopsd_endpoint_latency_seconds", Help: "Latency of a model endpoint's variant and model version, as the gateway measured it (retries included).",
			Buckets: prometheus.DefBuckets,
		}, labels),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlopsd_endpoint_retries_total", Help: "Predictions sent to another replica because a replica of the variant gave no answer.",
		}, []string{"env", "endpoint", "variant"}),
	}
	reg.MustRegister(g.invocations, g.errors, g.latency, g.retries)
	return g
}

// WaitShadows waits for the shadow copies of predictions still in flight,
// so that their metrics are recorded before the recorder's last flush.
func (s *Server) WaitShadows() { s.gw.shadows.Wait() }

// predictAction serves POST /v1/environments/{env}/model-endpoints/{target}
// where target is "{name}:predict": ServeMux cannot match a wildcard that
// is part of a segment, so the route takes the whole segment and the
// suffix is checked here, before authentication, as for any unknown route.
func (s *Server) predictAction(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		target := r.PathValue("target")
		name, action, ok := strings.Cut(target, ":")
		if !ok || action != "predict" {
			s.writeError(w, r, api.Errorf(api.ENOTFOUND, "",
				"no route for %s %s: predictions go to POST /v1/environments/{env}/%s/{name}:predict or POST /v1/environments/{env}/%s/{name}/predict; see /openapi.json",
				r.Method, r.URL.Path, api.KindModelEndpoint, api.KindModelEndpoint))
			return
		}
		r.SetPathValue("name", name)
		next(w, r)
	}
}

// handlePredict is POST /v1/environments/{env}/model-endpoints/{name}:predict
// and its twin .../{name}/predict.
func (s *Server) handlePredict(w http.ResponseWriter, r *http.Request) {
	env, name := r.PathValue("env"), r.PathValue("name")
	if err := validateName("environment", env); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := validateName("name", name); err != nil {
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
	spec, st, err := s.gw.endpoint(r.Context(), env, name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	variant, ok := pickVariant(spec.Variants, st.Variants)
	if !ok {
		s.writeError(w, r, api.Errorf(api.EUNAVAILABLE, "", "model endpoint %q has no serving replicas yet (phase %q); wait until it is ready", name, st.Phase))
		return
	}
	rt := replicaSet{variant: variant.Name, version: variant.ModelVersion, backends: variant.Backends}
	if len(variant.CanaryBackends) > 0 && rand.Int64N(100) < variant.CanaryPercent {
		rt = replicaSet{variant: variant.Name, version: variant.CanaryVersion, backends: variant.CanaryBackends}
	}
	body, _ := json.Marshal(req)
	if st.Shadow != nil && len(st.Shadow.Backends) > 0 {
		shadow := replicaSet{variant: st.Shadow.Name, version: st.Shadow.ModelVersion, backends: st.Shadow.Backends, shadow: true}
		s.gw.shadows.Add(1)
		go func() {
			defer s.gw.shadows.Done()
			ctx, cancel := context.WithTimeout(context.Background(), replicaTimeout)
			defer cancel()
			// The shadow's answer is discarded; only its metrics count.
			_, _, _ = s.gw.serve(ctx, env, name, shadow, req.Inputs, body)
		}()
	}
	pred, served, err := s.gw.serve(r.Context(), env, name, rt, req.Inputs, body)
	w.Header().Set(api.HeaderVariant, served.variant)
	w.Header().Set(api.HeaderModelVersion, served.version)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if spec.RequestLogSampleRatePercent > 0 && rand.Int64N(100) < spec.RequestLogSampleRatePercent {
		s.log.InfoContext(r.Context(), "prediction", "environment", env, "endpoint", name, "variant", served.variant,
			"model_version", served.version, "inputs", req.Inputs, "prediction", pred)
	}
	writeJSON(w, http.StatusOK, api.PredictResponse{Variant: served.variant, ModelVersion: served.version, Prediction: pred})
}

// endpoint reads an endpoint's spec and status.
func (g *gateway) endpoint(ctx context.Context, env, name string) (api.ModelEndpointSpec, api.ModelEndpointStatus, error) {
	var spec api.ModelEndpointSpec
	var st api.ModelEndpointStatus
	obj, err := g.store.Get(ctx, api.Ref{Kind: api.KindModelEndpoint, Environment: env, Name: name})
	if err != nil {
		return spec, st, err
	}
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return spec, st, fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		return spec, st, fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	return spec, st, nil
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

// replicaSet is where one prediction goes: the replicas of one model version
// of a variant (its primary replicas or its canary's, or the shadow's).
type replicaSet struct {
	variant, version string
	backends         []string
	shadow           bool
}

// serve sends one prediction to a replica of t and records it under the
// variant and model version that answered. When a replica gives no answer
// at all (refused, reset, gone) the endpoint's status is read again and the
// prediction goes to a replica not tried yet, at most maxReplicaRetries
// times; an answer that is an HTTP error is final. It returns the replica set
// that served (or last failed) the prediction.
func (g *gateway) serve(ctx context.Context, env, endpoint string, t replicaSet, inputs []float64, body []byte) (float64, replicaSet, error) {
	start := time.Now()
	tried := map[string]bool{}
	var pred float64
	var err error
	for attempt := 0; ; attempt++ {
		backend, ok := untried(t.backends, tried)
		if !ok {
			if err == nil {
				err = api.NewError(api.EUNAVAILABLE, "", "no replica serves it; wait until the endpoint is ready")
			}
			// After a retry, err is why the last replica failed.
			break
		}
		if attempt > 0 {
			g.retries.WithLabelValues(env, endpoint, t.variant).Inc()
		}
		tried[backend] = true
		pred, err = g.post(ctx, backend, body)
		var gone *replicaGoneError
		if !errors.As(err, &gone) || attempt == maxReplicaRetries || ctx.Err() != nil {
			break
		}
		if next, ok := g.reroute(ctx, env, endpoint, t); ok {
			t = next
		}
	}
	latency := time.Since(start)
	labels := prometheus.Labels{"env": env, "endpoint": endpoint, "variant": t.variant, "model_version": t.version}
	g.invocations.With(labels).Inc()
	errs := g.errors.With(labels) // the series exists from the first call on, at 0
	g.latency.With(labels).Observe(latency.Seconds())
	// A caller's bad input is an invocation but not the variant's error,
	// and neither is a caller who went away before the answer.
	callerFault := isCode(err, api.EINVALID) || (err != nil && errors.Is(ctx.Err(), context.Canceled))
	if err != nil && !callerFault {
		errs.Inc()
	}
	g.recorder.RecordPrediction(env, endpoint, t.variant, t.version, latency, err != nil && !callerFault)
	if !isCode(err, api.EINVALID) {
		g.recorder.RecordInputs(env, endpoint, t.variant, t.version, inputs)
	}
	if err != nil {
		return 0, t, variantError(t, err, len(tried))
	}
	return pred, t, nil
}

// untried picks a random backend not in tried.
func untried(backends []string, tried map[string]bool) (string, bool) {
	var left []string
	for _, b := range backends {
		if !tried[b] {
			left = append(left, b)
		}
	}
	if len(left) == 0 {
		return "", false
	}
	return left[rand.IntN(len(left))], true
}

// reroute reads the endpoint's status again and returns where t's
// prediction goes now: the replicas that serve t's model version in the
// same variant, or, when the variant moved on to another version (a
// rollout finished meanwhile), the variant's primary replicas.
func (g *gateway) reroute(ctx context.Context, env, endpoint string, t replicaSet) (replicaSet, bool) {
	_, st, err := g.endpoint(ctx, env, endpoint)
	if err != nil {
		return t, false
	}
	var v *api.EndpointVariantStatus
	if t.shadow {
		if st.Shadow != nil && st.Shadow.Name == t.variant {
			v = st.Shadow
		}
	} else {
		for i := range st.Variants {
			if st.Variants[i].Name == t.variant {
				v = &st.Variants[i]
			}
		}
	}
	switch {
	case v == nil:
		return t, false
	case v.CanaryVersion == t.version && len(v.CanaryBackends) > 0:
		return replicaSet{variant: t.variant, version: v.CanaryVersion, backends: v.CanaryBackends, shadow: t.shadow}, true
	case len(v.Backends) > 0:
		return replicaSet{variant: t.variant, version: v.ModelVersion, backends: v.Backends, shadow: t.shadow}, true
	}
	return t, false
}

// replicaGoneError is a replica that gave no answer at all: the one
// failure after which the prediction is sent to another replica.
type replicaGoneError struct{ err error }

func (e *replicaGoneError) Error() string {
	return "the model replica did not answer: " + e.err.Error()
}

func (e *replicaGoneError) Unwrap() error { return e.err }

// variantError says which variant and model version failed: an api.Error
// keeps its code and field, anything else is the variant being
// unavailable.
func variantError(t replicaSet, err error, tried int) error {
	prefix := fmt.Sprintf("variant %q (model version %q): ", t.variant, t.version)
	var apiErr *api.Error
	if errors.As(err, &apiErr) {
		return api.NewError(apiErr.Code, apiErr.Field, prefix+apiErr.Message)
	}
	var gone *replicaGoneError
	if errors.As(err, &gone) && tried > 1 {
		return api.Errorf(api.EUNAVAILABLE, "", "%s%v (tried %d replicas)", prefix, err, tried)
	}
	return api.Errorf(api.EUNAVAILABLE, "", "%s%v", prefix, err)
}

// post sends one prediction to one replica. A failure to get any answer is
// a *replicaGoneError, but a timeout: that replica is there but slow, and
// another attempt would double the caller's wait and the replicas' load.
func (g *gateway) post(ctx context.Context, backend string, body []byte) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, backend+"/predict", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		// *url.Error repeats the method and URL; the cause says enough.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		if isTimeout(err) || ctx.Err() != nil {
			return 0, fmt.Errorf("the model replica did not answer: %w", err)
		}
		return 0, &replicaGoneError{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		// Cut off mid-answer: the replica went away.
		if isTimeout(err) || ctx.Err() != nil {
			return 0, fmt.Errorf("the model replica's answer was cut off: %w", err)
		}
		return 0, &replicaGoneError{err: fmt.Errorf("reading its answer: %w", err)}
	}
	if resp.StatusCode == http.StatusBadRequest {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = "the model refused the inputs: " + excerpt(b)
		}
		return 0, api.NewError(api.EINVALID, "inputs", e.Error)
	}
	if resp.StatusCode != http.StatusOK {
		msg := "the model replica answered " + resp.Status
		if x := excerpt(b); x != "" {
			msg += ": " + x
		}
		return 0, api.NewError(api.EUNAVAILABLE, "", msg)
	}
	var out struct {
		Prediction *float64 `json:"prediction"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Prediction == nil {
		return 0, api.Errorf(api.EUNAVAILABLE, "", "the model replica answered no prediction: %s", excerpt(b))
	}
	return *out.Prediction, nil
}

// excerpt is the start of a replica's answer, on one line, for an error
// message.
func excerpt(b []byte) string {
	const limit = 200
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// isTimeout reports whether err is a deadline that passed.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &t) && t.Timeout())
}
