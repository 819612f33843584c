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

// Query parameters of GET .../model-endpoints/{name}/metrics.
const (
	MetricsParamSince   = "since"
	MetricsParamUntil   = "until"
	MetricsParamStep    = "step_seconds"
	MetricsParamVariant = "variant"
)

// Bounds of an endpoint metrics query.
const (
	// DefaultEndpointMetricsWindow is the window when since is not given.
	DefaultEndpointMetricsWindow = time.Hour
	// MaxEndpointMetricsWindow is the longest window one query may cover.
	MaxEndpointMetricsWindow = 48 * time.Hour
	// MaxEndpointMetricsPoints bounds the steps of one answer.
	MaxEndpointMetricsPoints = 1000
)

// EndpointMetrics is the answer of GET .../model-endpoints/{name}/metrics:
// the gateway's predictions of the endpoint, one point per step.
type EndpointMetrics struct {
	Endpoint    string    `json:"endpoint"`
	Variant     string    `json:"variant,omitempty"`
	Since       time.Time `json:"since"`
	Until       time.Time `json:"until"`
	StepSeconds int64     `json:"step_seconds"`
	// Points cover [Since, Until) in steps, oldest first; steps without
	// predictions are included with Count 0 and no latency.
	Points []EndpointMetricPoint `json:"points"`
}

// EndpointMetricPoint is one step of an endpoint's predictions.
type EndpointMetricPoint struct {
	Start  time.Time `json:"start"`
	Count  int64     `json:"count"`
	Errors int64     `json:"errors"`
	// ErrorRatePercent is 100 × Errors / Count; nil without predictions.
	ErrorRatePercent *float64 `json:"error_rate_percent,omitempty"`
	// Latency in milliseconds: exact average and maximum, and p50 and p99
	// of the gateway's uniform sample; nil without predictions.
	LatencyAvgMs *float64 `json:"latency_avg_ms,omitempty"`
	LatencyP50Ms *float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms *float64 `json:"latency_p99_ms,omitempty"`
	LatencyMaxMs *float64 `json:"latency_max_ms,omitempty"`
}

// OpIDGetEndpointMetrics is the operation ID of the endpoint metrics query.
const OpIDGetEndpointMetrics = "getModelEndpointMetrics"

// endpointMetricsRoutes read the gateway's metrics of one endpoint.
var endpointMetricsRoutes = []Route{
	{Method: http.MethodGet, Path: "/v1/environments/{env}/" + KindModelEndpoint + "/{name}/metrics", OperationID: OpIDGetEndpointMetrics,
		Summary:  "The gateway's predictions of the endpoint (role viewer): count, errors, error rate and latency per step.",
		Response: EndpointMetrics{}, Status: http.StatusOK,
		Query: []QueryParam{
			{Name: MetricsParamSince, Type: "string", Description: "Start of the window (RFC 3339); default an hour before until."},
			{Name: MetricsParamUntil, Type: "string", Description: "End of the window (RFC 3339), exclusive; default now."},
			{Name: MetricsParamStep, Type: "integer", Description: "Seconds per point; default the window over 60, at least 1."},
			{Name: MetricsParamVariant, Type: "string", Description: "Only this variant's predictions."},
		}},
}
