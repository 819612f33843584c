package server

import (
	"net/http"
	"slices"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// endpointMetricsWindow reads since, until and step_seconds of an endpoint
// metrics query, filling the defaults.
func endpointMetricsWindow(r *http.Request, now time.Time) (since, until time.Time, step time.Duration, err error) {
	q := r.URL.Query()
	until = now.Truncate(time.Second)
	if v := q.Get(api.MetricsParamUntil); v != "" {
		if until, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return since, until, 0, api.Errorf(api.EINVALID, api.MetricsParamUntil, "until=%q is not an RFC 3339 time; use e.g. 2030-01-02T15:04:05Z", v)
		}
	}
	since = until.Add(-api.DefaultEndpointMetricsWindow)
	if v := q.Get(api.MetricsParamSince); v != "" {
		if since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return since, until, 0, api.Errorf(api.EINVALID, api.MetricsParamSince, "since=%q is not an RFC 3339 time; use e.g. 2030-01-02T15:04:05Z", v)
		}
	}
	since, until = since.UTC().Truncate(time.Second), until.UTC().Truncate(time.Second)
	if !until.After(since) {
		return since, until, 0, api.NewError(api.EINVALID, api.MetricsParamUntil, "until must be later than since")
	}
	if until.Sub(since) > api.MaxEndpointMetricsWindow {
		return since, until, 0, api.Errorf(api.EINVALID, api.MetricsParamSince, "the window from since to until may be at most %s", api.MaxEndpointMetricsWindow)
	}
	step = max(time.Second, (until.Sub(since) / 60).Truncate(time.Second))
	if v := q.Get(api.MetricsParamStep); v != "" {
		n, perr := parseInt(v)
		if perr != nil || n < 1 {
			return since, until, 0, api.NewError(api.EINVALID, api.MetricsParamStep, "step_seconds must be a whole number >= 1")
		}
		step = time.Duration(n) * time.Second
	}
	if until.Sub(since)/step > api.MaxEndpointMetricsPoints {
		return since, until, 0, api.Errorf(api.EINVALID, api.MetricsParamStep,
			"the window over step_seconds gives more than %d points; choose a larger step_seconds or a shorter window", api.MaxEndpointMetricsPoints)
	}
	return since, until, step, nil
}

// handleGetEndpointMetrics answers the gateway's predictions of one
// endpoint per step: what the console charts, and what a viewer may read
// without reaching the Prometheus endpoint.
func (s *Server) handleGetEndpointMetrics(w http.ResponseWriter, r *http.Request) {
	ref, err := pathRef(r, api.KindModelEndpoint)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	since, until, step, err := endpointMetricsWindow(r, time.Now().UTC())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.store.Get(r.Context(), ref); err != nil {
		s.writeError(w, r, err)
		return
	}
	variant := r.URL.Query().Get(api.MetricsParamVariant)
	points, err := s.store.QueryMetrics(r.Context(), store.MetricQuery{
		Environment: ref.Environment, Series: api.SeriesPredictions, Endpoint: ref.Name, Variant: variant, From: since, To: until,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := api.EndpointMetrics{Endpoint: ref.Name, Variant: variant, Since: since, Until: until, StepSeconds: int64(step / time.Second)}
	out.Points = stepPoints(points, since, until, step)
	writeJSON(w, http.StatusOK, out)
}

// stepPoints sums the one-second points into steps of [since, until).
func stepPoints(points []store.MetricPoint, since, until time.Time, step time.Duration) []api.EndpointMetricPoint {
	n := int((until.Sub(since) + step - 1) / step)
	type acc struct {
		count, errors int64
		sum, max      float64
		samples       []float64
	}
	accs := make([]acc, n)
	for _, p := range points {
		i := int(p.Time.Sub(since) / step)
		if i < 0 || i >= n {
			continue
		}
		a := &accs[i]
		if a.count == 0 || p.Max > a.max {
			a.max = p.Max
		}
		a.count += p.Count
		a.errors += p.Errors
		a.sum += p.Sum
		a.samples = append(a.samples, p.Samples...)
	}
	out := make([]api.EndpointMetricPoint, n)
	for i, a := range accs {
		pt := api.EndpointMetricPoint{Start: since.Add(time.Duration(i) * step), Count: a.count, Errors: a.errors}
		if a.count > 0 {
			rate := 100 * float64(a.errors) / float64(a.count)
			avg := a.sum / float64(a.count)
			maxMs := a.max
			pt.ErrorRatePercent, pt.LatencyAvgMs, pt.LatencyMaxMs = &rate, &avg, &maxMs
			if len(a.samples) > 0 {
				slices.Sort(a.samples)
				p50, p99 := nearestRank(a.samples, 0.50), nearestRank(a.samples, 0.99)
				pt.LatencyP50Ms, pt.LatencyP99Ms = &p50, &p99
			}
		}
		out[i] = pt
	}
	return out
}

// nearestRank is the q-quantile of sorted values by the nearest-rank method.
func nearestRank(sorted []float64, q float64) float64 {
	i := int(q*float64(len(sorted))+0.999999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
