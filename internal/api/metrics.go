package api

import (
	"net/http"
	"time"
)

// Series of the metrics store. The gateway records SeriesPredictions and
// SeriesInputs per endpoint, variant and model version; custom metrics
// pushed through the API are stored as CustomSeriesPrefix + their name.
const (
	// SeriesPredictions holds, per one-second bucket, the number of
	// predictions (count), how many failed (errors) and their latency in
	// milliseconds (sum, min, max and a uniform sample).
	SeriesPredictions = "predictions"
	// SeriesInputs holds a uniform sample of the input vectors the
	// gateway saw, for drift statistics against a model version's baseline.
	SeriesInputs = "inputs"
	// CustomSeriesPrefix prefixes the series of a pushed custom metric.
	CustomSeriesPrefix = "custom/"
)

// MetricBucketSeconds is the width of one bucket of the metrics store:
// every point covers one whole second.
const MetricBucketSeconds = 1

// MaxMetricSamples bounds the uniform sample of values (or input vectors)
// one point keeps; Count, Sum, Min and Max stay exact beyond it.
const MaxMetricSamples = 256

// CustomDatapoint is one observation of a custom metric, e.g. an online
// accuracy measured once ground truth arrived.
type CustomDatapoint struct {
	// Name is the metric's name: lowercase letters, digits and '_',
	// starting with a letter, at most 63 characters.
	Name string `json:"name"`
	// Value is the observed value; it must be finite.
	Value float64 `json:"value"`
	// Timestamp is when it was observed; zero means now. It may lie at
	// most MaxCustomDatapointAge in the past and 5 minutes in the future.
	Timestamp time.Time `json:"timestamp,omitzero"`
	// Endpoint and Variant optionally tie the datapoint to a model
	// endpoint (and one of its variants) in the environment, so that an
	// alarm on the endpoint can select it.
	Endpoint string `json:"endpoint,omitempty"`
	Variant  string `json:"variant,omitempty"`
}

// MaxCustomDatapointAge is how old a pushed datapoint may be.
const MaxCustomDatapointAge = 24 * time.Hour

// MaxCustomDatapoints bounds the datapoints of one push.
const MaxCustomDatapoints = 1000

// PushMetricsRequest is the body of POST /v1/environments/{env}/metrics.
type PushMetricsRequest struct {
	Datapoints []CustomDatapoint `json:"datapoints"`
}

// PushMetricsResponse answers a push.
type PushMetricsResponse struct {
	// Accepted is how many datapoints were stored.
	Accepted int `json:"accepted"`
}

// OpIDPushMetrics is the operation ID of the custom metrics push.
const OpIDPushMetrics = "pushMetrics"

// metricsRoutes push custom metrics.
var metricsRoutes = []Route{
	{Method: http.MethodPost, Path: "/v1/environments/{env}/metrics", OperationID: OpIDPushMetrics,
		Summary: "Push datapoints of custom metrics (role invoker), e.g. an online accuracy; alarms with metric custom evaluate them. " +
			"The datapoints of one push are stored in one transaction, all or none; send Idempotency-Key so that a retried push is stored once.",
		Request: PushMetricsRequest{}, Response: PushMetricsResponse{}, Status: http.StatusOK},
}
