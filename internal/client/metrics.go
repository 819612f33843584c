package client

import (
	"context"
	"net/http"
	"net/url"

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
