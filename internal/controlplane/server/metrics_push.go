package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/telemetry"
)

// metricNameRE is the pattern of a custom metric's name.
var metricNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// maxDatapointSkew is how far in the future a pushed datapoint may lie:
// the pushing machine's clock may be a little ahead of mlopsd's.
const maxDatapointSkew = 5 * time.Minute

// handlePushMetrics is POST /v1/environments/{env}/metrics: it checks every
// datapoint before it stores any, aggregates them into one point per
// metric, endpoint, variant and second, and stores those in one
// transaction together with the request's Idempotency-Key.
func (s *Server) handlePushMetrics(w http.ResponseWriter, r *http.Request) {
	env := r.PathValue("env")
	if err := validateName("environment", env); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req api.PushMetricsRequest
	if err := readBody(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	canonical, _ := json.Marshal(req)
	opts, err := s.writeOptions(r, canonical)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	points, err := s.customPoints(r.Context(), env, req.Datapoints, clock())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	replayed, err := s.store.AppendMetricsOnce(r.Context(), points, store.MetricWriteOptions{
		IdempotencyKey: opts.IdempotencyKey, Fingerprint: opts.Fingerprint,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if replayed {
		// The same key and body: the first push accepted them all.
		w.Header().Set(api.HeaderIdempotentReplay, "true")
	}
	writeJSON(w, http.StatusOK, api.PushMetricsResponse{Accepted: len(req.Datapoints)})
}

// customPoints checks the datapoints of a push into env and aggregates them
// into the points of their custom series. now is the time of datapoints
// without a timestamp.
func (s *Server) customPoints(ctx context.Context, env string, dps []api.CustomDatapoint, now time.Time) ([]store.MetricPoint, error) {
	if len(dps) == 0 {
		return nil, api.NewError(api.EINVALID, "datapoints",
			`datapoints is required: at least one {"name": "online_accuracy", "value": 0.93}`)
	}
	if len(dps) > api.MaxCustomDatapoints {
		return nil, api.Errorf(api.EINVALID, "datapoints", "has %d datapoints; push at most %d at a time", len(dps), api.MaxCustomDatapoints)
	}
	for i, dp := range dps {
		if err := checkDatapoint(fmt.Sprintf("datapoints[%d]", i), dp, now); err != nil {
			return nil, err
		}
	}
	if _, err := s.store.Get(ctx, api.Ref{Kind: api.KindEnvironment, Name: env}); err != nil {
		return nil, err
	}
	// Each endpoint named is looked up once; the first datapoint naming a
	// missing one is the one the error points at.
	checked := map[string]bool{}
	for i, dp := range dps {
		if dp.Endpoint == "" || checked[dp.Endpoint] {
			continue
		}
		_, err := s.store.Get(ctx, api.Ref{Kind: api.KindModelEndpoint, Environment: env, Name: dp.Endpoint})
		if isCode(err, api.ENOTFOUND) {
			return nil, api.Errorf(api.EINVALID, fmt.Sprintf("datapoints[%d].endpoint", i),
				"model endpoint %q does not exist in environment %q; name an existing endpoint or leave endpoint out", dp.Endpoint, env)
		}
		if err != nil {
			return nil, err
		}
		checked[dp.Endpoint] = true
	}
	b := telemetry.NewBatch(nil)
	for _, dp := range dps {
		at := dp.Timestamp
		if at.IsZero() {
			at = now
		}
		b.AddValue(telemetry.Key{Environment: env, Series: api.CustomSeriesPrefix + dp.Name, Endpoint: dp.Endpoint, Variant: dp.Variant, Time: at}, dp.Value, false)
	}
	return b.Points(), nil
}

// checkDatapoint checks one datapoint on its own; field is its path.
func checkDatapoint(field string, dp api.CustomDatapoint, now time.Time) error {
	if !metricNameRE.MatchString(dp.Name) {
		return api.Errorf(api.EINVALID, field+".name",
			"%q is not a valid metric name; use 1-63 lowercase letters, digits and '_', starting with a letter, e.g. online_accuracy", dp.Name)
	}
	if math.IsNaN(dp.Value) || math.IsInf(dp.Value, 0) {
		return api.NewError(api.EINVALID, field+".value", "value must be a finite number")
	}
	if !dp.Timestamp.IsZero() {
		if dp.Timestamp.Before(now.Add(-api.MaxCustomDatapointAge)) {
			return api.Errorf(api.EINVALID, field+".timestamp",
				"%s is more than %v before the server's time %s; push datapoints within %v of their observation",
				dp.Timestamp.UTC().Format(time.RFC3339), api.MaxCustomDatapointAge, now.UTC().Format(time.RFC3339), api.MaxCustomDatapointAge)
		}
		if dp.Timestamp.After(now.Add(maxDatapointSkew)) {
			return api.Errorf(api.EINVALID, field+".timestamp",
				"%s is more than %v after the server's time %s; check the clock of the machine that pushes, or leave timestamp out for now",
				dp.Timestamp.UTC().Format(time.RFC3339), maxDatapointSkew, now.UTC().Format(time.RFC3339))
		}
	}
	if dp.Endpoint != "" {
		if err := validateName(field+".endpoint", dp.Endpoint); err != nil {
			return err
		}
	}
	if dp.Variant != "" {
		if dp.Endpoint == "" {
			return api.NewError(api.EINVALID, field+".variant",
				"variant needs endpoint: name the model endpoint the variant belongs to, or leave variant out")
		}
		if err := validateName(field+".variant", dp.Variant); err != nil {
			return err
		}
	}
	return nil
}
