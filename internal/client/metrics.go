package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// PushMetrics stores datapoints of custom metrics in environment env (POST
// /v1/environments/{env}/metrics); it needs role invoker. The push is
// stored all or none, and its Idempotency-Key makes the client's retries
// safe: a push whose answer was lost is stored once. Returns an error that
// IsInvalid (ErrorField e.g. "datapoints[3].value") when a datapoint is
// refused, and then nothing is stored.
func (c *Client) PushMetrics(ctx context.Context, env string, datapoints []api.CustomDatapoint) (*api.PushMetricsResponse, error) {
	if err := checkSegment("environment", env); err != nil {
		return nil, err
	}
	return doJSON[api.PushMetricsResponse](ctx, c, request{
		method: http.MethodPost,
		path:   "/v1/environments/" + url.PathEscape(env) + "/metrics",
		body:   api.PushMetricsRequest{Datapoints: datapoints},
	})
}

// EndpointMetricsOptions select the window of GetEndpointMetrics; zero
// values let mlopsd choose (the last hour, 60 points).
type EndpointMetricsOptions struct {
	Since, Until time.Time
	StepSeconds  int64
	Variant      string
}

// GetEndpointMetrics returns the gateway's predictions of endpoint name per
// step (role viewer): count, errors, error rate and latency.
func (c *Client) GetEndpointMetrics(ctx context.Context, env, name string, opts EndpointMetricsOptions) (*api.EndpointMetrics, error) {
	path, err := objectPath(api.KindModelEndpoint, env, name)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if !opts.Since.IsZero() {
		q.Set(api.MetricsParamSince, opts.Since.Format(time.RFC3339Nano))
	}
	if !opts.Until.IsZero() {
		q.Set(api.MetricsParamUntil, opts.Until.Format(time.RFC3339Nano))
	}
	if opts.StepSeconds > 0 {
		q.Set(api.MetricsParamStep, strconv.FormatInt(opts.StepSeconds, 10))
	}
	if opts.Variant != "" {
		q.Set(api.MetricsParamVariant, opts.Variant)
	}
	return doJSON[api.EndpointMetrics](ctx, c, request{method: http.MethodGet, path: path + "/metrics", query: q})
}
