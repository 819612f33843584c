package api

import (
	"net/http"
	"time"
)

// Metrics an alarm can watch.
const (
	// AlarmMetricLatency is the gateway's latency of the endpoint's
	// predictions, in milliseconds.
	AlarmMetricLatency = "latency"
	// AlarmMetricErrorRate is the percentage (0-100) of the endpoint's
	// predictions that failed in the period.
	AlarmMetricErrorRate = "error_rate"
	// AlarmMetricInvocations is the number of predictions in the period.
	AlarmMetricInvocations = "invocations"
	// AlarmMetricFeatureDriftPSI is the population stability index of the
	// inputs the gateway sampled in the period against the baseline of the
	// model version that served them; the largest over the features unless
	// Feature names one.
	AlarmMetricFeatureDriftPSI = "feature_drift_psi"
	// AlarmMetricFeatureDriftKS is the two-sample Kolmogorov–Smirnov
	// statistic (0-1) of the same samples against the same baseline.
	AlarmMetricFeatureDriftKS = "feature_drift_ks"
	// AlarmMetricModelMetric is a metric recorded with the model version
	// that serves the endpoint's variant (spec.metrics, e.g. rmse).
	AlarmMetricModelMetric = "model_metric"
	// AlarmMetricCustom is a metric pushed through POST .../metrics.
	AlarmMetricCustom = "custom"
)

// AlarmMetrics lists every metric an alarm can watch.
var AlarmMetrics = []string{
	AlarmMetricLatency, AlarmMetricErrorRate, AlarmMetricInvocations, AlarmMetricFeatureDriftPSI,
	AlarmMetricFeatureDriftKS, AlarmMetricModelMetric, AlarmMetricCustom,
}

// Statistics an alarm computes over one period's observations.
const (
	StatisticP50         = "p50"
	StatisticP90         = "p90"
	StatisticP99         = "p99"
	StatisticAverage     = "average"
	StatisticMinimum     = "minimum"
	StatisticMaximum     = "maximum"
	StatisticSum         = "sum"
	StatisticSampleCount = "sample_count"
)

// AlarmStatistics lists, per metric, the statistics it takes; the first is
// the default.
var AlarmStatistics = map[string][]string{
	AlarmMetricLatency:         {StatisticP99, StatisticP90, StatisticP50, StatisticAverage, StatisticMaximum},
	AlarmMetricErrorRate:       {StatisticAverage},
	AlarmMetricInvocations:     {StatisticSum},
	AlarmMetricFeatureDriftPSI: {StatisticMaximum},
	AlarmMetricFeatureDriftKS:  {StatisticMaximum},
	AlarmMetricModelMetric:     {StatisticAverage},
	AlarmMetricCustom:          {StatisticAverage, StatisticSum, StatisticMinimum, StatisticMaximum, StatisticSampleCount, StatisticP50, StatisticP90, StatisticP99},
}

// Comparisons of an alarm's statistic with its threshold.
const (
	ComparisonGreaterThan          = "greater_than"
	ComparisonGreaterThanOrEqualTo = "greater_than_or_equal_to"
	ComparisonLessThan             = "less_than"
	ComparisonLessThanOrEqualTo    = "less_than_or_equal_to"
)

// AlarmComparisons lists every comparison.
var AlarmComparisons = []string{ComparisonGreaterThan, ComparisonGreaterThanOrEqualTo, ComparisonLessThan, ComparisonLessThanOrEqualTo}

// Breaches reports whether value v compared with threshold as comparison
// says holds: the breach the alarm evaluator counts, and the console
// marks. An unknown comparison never holds.
func Breaches(comparison string, v, threshold float64) bool {
	switch comparison {
	case ComparisonGreaterThan:
		return v > threshold
	case ComparisonGreaterThanOrEqualTo:
		return v >= threshold
	case ComparisonLessThan:
		return v < threshold
	case ComparisonLessThanOrEqualTo:
		return v <= threshold
	}
	return false
}

// Treatments of a period without enough observations (fewer than
// MinSamples), as in CloudWatch.
const (
	// MissingDataMissing: the period is left out; with no period left the
	// alarm is INSUFFICIENT_DATA. The default.
	MissingDataMissing = "missing"
	// MissingDataBreaching counts the period as breaching.
	MissingDataBreaching = "breaching"
	// MissingDataNotBreaching counts the period as not breaching.
	MissingDataNotBreaching = "not_breaching"
	// MissingDataIgnore keeps the current state when no period has data.
	MissingDataIgnore = "ignore"
)

// MissingDataTreatments lists every treatment of missing data.
var MissingDataTreatments = []string{MissingDataMissing, MissingDataBreaching, MissingDataNotBreaching, MissingDataIgnore}

// Alarm states.
const (
	AlarmStateOK               = "OK"
	AlarmStateAlarm            = "ALARM"
	AlarmStateInsufficientData = "INSUFFICIENT_DATA"
)

// AlarmStates lists every alarm state.
var AlarmStates = []string{AlarmStateOK, AlarmStateAlarm, AlarmStateInsufficientData}

// Bounds of an alarm's evaluation.
const (
	MaxAlarmPeriodSeconds = 86400
	MaxEvaluationPeriods  = 100
	// MaxAlarmWindow bounds period_seconds × evaluation_periods: the
	// metrics store keeps at least this much history.
	MaxAlarmWindow = 48 * time.Hour
	// DefaultDriftMinSamples is the default MinSamples of the drift
	// metrics. Fewer sampled inputs read as drift by chance: against 500
	// training values, inputs drawn from the very same distribution give a
	// PSI above 0.25 in about 69 % of periods of 30 inputs and 1 % of
	// periods of 100, and in none of 2000 periods of 200 (mean 0.055;
	// drift.TestPSI_DefaultMinSamplesDoNotReadAsDrift).
	DefaultDriftMinSamples = 200
)

// AlarmSpec is what a user declares about an alarm: a statistic of a
// metric over periods, compared with a threshold, M out of N periods.
type AlarmSpec struct {
	// Description is free text for people.
	Description string `json:"description,omitempty"`
	// Metric is one of AlarmMetrics.
	Metric string `json:"metric"`
	// Statistic is one of AlarmStatistics[Metric]; empty means its first.
	Statistic string `json:"statistic"`
	// Endpoint is the model endpoint in the same environment whose metric
	// is watched. Required for every metric but custom, where it
	// optionally selects the datapoints pushed with that endpoint.
	Endpoint string `json:"endpoint,omitempty"`
	// Variant, when set, narrows the endpoint's metric to one variant.
	Variant string `json:"variant,omitempty"`
	// Feature, for the drift metrics, names one feature of the baseline;
	// empty watches the most drifted feature.
	Feature string `json:"feature,omitempty"`
	// MetricName is the model version's metric (model_metric) or the
	// pushed metric's name (custom); empty otherwise.
	MetricName string `json:"metric_name,omitempty"`
	// Comparison is one of AlarmComparisons: the state is ALARM when
	// "statistic <comparison> threshold" holds in DatapointsToAlarm of the
	// last EvaluationPeriods periods.
	Comparison string `json:"comparison"`
	// Threshold is a decimal number as a string (the spec holds no
	// floats), e.g. "0.2" or "250".
	Threshold string `json:"threshold"`
	// PeriodSeconds is the length of one period, 1..MaxAlarmPeriodSeconds.
	// Periods are aligned to multiples of it since the Unix epoch.
	PeriodSeconds int64 `json:"period_seconds"`
	// EvaluationPeriods (N) is how many of the latest periods are looked
	// at, 1..MaxEvaluationPeriods.
	EvaluationPeriods int64 `json:"evaluation_periods"`
	// DatapointsToAlarm (M) is how many of them must breach, 1..N; 0
	// means N.
	DatapointsToAlarm int64 `json:"datapoints_to_alarm"`
	// MissingData is one of MissingDataTreatments; empty means missing.
	MissingData string `json:"missing_data"`
	// MinSamples is the number of observations (predictions, sampled
	// inputs, pushed datapoints) below which a period counts as missing
	// data; 0 means 1, or DefaultDriftMinSamples for the drift metrics.
	MinSamples int64 `json:"min_samples"`
	// Actions run when the state changes.
	Actions AlarmActions `json:"actions"`
	// Acknowledgements is written by the server only (POST
	// .../alarms/{name}/acknowledge): who acknowledged which transition
	// into ALARM, oldest first, at most MaxAlarmAcknowledgements. Values
	// sent by clients are ignored and the stored ones kept.
	Acknowledgements []AlarmAcknowledgement `json:"acknowledgements,omitempty"`
}

// AlarmAcknowledgement is one person's acknowledgement of an alarm in
// ALARM, as the server recorded it. By and At come from the authenticated
// caller and the server's clock.
type AlarmAcknowledgement struct {
	// Transition is the Seq of the transition into ALARM it acknowledges.
	Transition int64     `json:"transition"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
	Reason     string    `json:"reason,omitempty"`
}

// MaxAlarmAcknowledgements bounds an alarm's acknowledgements; older ones
// stay in the audit log.
const MaxAlarmAcknowledgements = 50

// MaxAcknowledgeReasonBytes bounds the reason of an acknowledgement.
const MaxAcknowledgeReasonBytes = 1024

// AcknowledgeAlarmRequest is the body of POST .../alarms/{name}/acknowledge.
type AcknowledgeAlarmRequest struct {
	// Reason says what is being done about it, for the people who come
	// next; optional.
	Reason string `json:"reason,omitempty"`
}

// OpIDAcknowledgeAlarm is the operation ID of the alarm acknowledgement.
const OpIDAcknowledgeAlarm = "acknowledgeAlarm"

// alarmRoutes are the alarm routes beyond the object routes.
var alarmRoutes = []Route{
	{Method: http.MethodPost, Path: "/v1/environments/{env}/" + KindAlarm + "/{name}/acknowledge", OperationID: OpIDAcknowledgeAlarm,
		Summary: "Acknowledge an alarm in ALARM (role invoker): records who and why in spec.acknowledgements, an audited write. " +
			"409 when the alarm is not in ALARM; acknowledging the same transition again changes nothing.",
		Request: AcknowledgeAlarmRequest{}, Response: Alarm{}, Status: http.StatusOK},
}

// AlarmActions are what an alarm does when its state changes.
type AlarmActions struct {
	// NotificationChannels name notification channels in the same
	// environment; each is sent every transition into a state of NotifyOn.
	NotificationChannels []string `json:"notification_channels,omitempty"`
	// NotifyOn lists the states whose entry notifies; empty means ALARM
	// and OK.
	NotifyOn []string `json:"notify_on,omitempty"`
	// RollbackEndpoint, when true, rolls back a rollout of Endpoint that
	// is in progress while the alarm is in ALARM (the same as naming the
	// alarm in the endpoint's rollout.rollback_alarms).
	RollbackEndpoint bool `json:"rollback_endpoint,omitempty"`
	// StartPipelines name training pipelines in the same environment; each
	// starts one run (trigger alarm) every time the alarm enters ALARM
	// (the same as naming the alarm in the pipeline's triggers.on_alarm).
	StartPipelines []string `json:"start_pipelines,omitempty"`
}

// AlarmStatus is what the evaluator observed about an alarm. Phase is ready
// once the alarm is evaluated; its State says what it found.
type AlarmStatus struct {
	Status
	// State is one of AlarmStates.
	State string `json:"state"`
	// StateReason says why the alarm is in State, with the numbers.
	StateReason string `json:"state_reason,omitempty"`
	// StateChangedAt is when State last changed.
	StateChangedAt *time.Time `json:"state_changed_at,omitempty"`
	// TransitionCount counts state changes since the alarm was created;
	// the newest transition in History has this Seq.
	TransitionCount int64 `json:"transition_count"`
	// LastEvaluatedAt is the end of the newest period evaluated.
	LastEvaluatedAt *time.Time `json:"last_evaluated_at,omitempty"`
	// Datapoints are the last evaluation's periods, oldest first.
	Datapoints []AlarmDatapoint `json:"datapoints,omitempty"`
	// History lists the latest transitions (at most MaxAlarmHistory),
	// oldest first.
	History []AlarmTransition `json:"history,omitempty"`
	// Notifications are the latest deliveries to notification channels
	// (at most MaxAlarmNotifications), oldest first; pending ones are
	// retried until delivered or out of attempts.
	Notifications []AlarmNotification `json:"notifications,omitempty"`
}

// Settled reports whether the evaluator has evaluated the alarm's spec of
// the given generation: phase ready, whatever the state. Clients that
// create or change an alarm wait for it.
func (s AlarmStatus) Settled(generation int64) bool {
	return s.ObservedGeneration >= generation && s.Phase == PhaseReady
}

// Bounds of an alarm's status.
const (
	MaxAlarmHistory             = 50
	MaxAlarmNotifications       = 50
	MaxFeatureDriftPerDatapoint = 50
)

// AlarmDatapoint is one evaluated period.
type AlarmDatapoint struct {
	// Start is the period's start; it ends PeriodSeconds later.
	Start time.Time `json:"start"`
	// Value is the statistic; nil when the period had missing data.
	Value *float64 `json:"value,omitempty"`
	// Samples is how many observations the period had.
	Samples int64 `json:"samples"`
	// Breaching says whether the period counted as breaching, after the
	// treatment of missing data.
	Breaching bool `json:"breaching"`
	// Detail says what the value is of, e.g. the feature that drifted most.
	Detail string `json:"detail,omitempty"`
	// FeatureDrift is set for the drift metrics (feature_drift_psi,
	// feature_drift_ks) only: each feature's statistic in the period, by
	// feature name, the largest over the model versions serving with at
	// least min_samples inputs. Value is the largest of these. Only the
	// named feature appears when the alarm names one; absent when the
	// period had no value and for the other metrics. At most
	// MaxFeatureDriftPerDatapoint features, those that drifted most, so a
	// model with a thousand inputs does not make a status of megabytes.
	FeatureDrift map[string]float64 `json:"feature_drift,omitempty"`
}

// AlarmTransition is one change of an alarm's state.
type AlarmTransition struct {
	// Seq numbers the transitions of the alarm from 1.
	Seq  int64     `json:"seq"`
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
	// Reason is the StateReason the transition set.
	Reason string `json:"reason"`
	// Value is the newest period's statistic, when it had one.
	Value *float64 `json:"value,omitempty"`
}

// Delivery states of an alarm notification.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// MaxDeliveryAttempts is how often a notification is tried before it is
// recorded as failed.
const MaxDeliveryAttempts = 5

// AlarmNotification is one delivery of one transition to one channel.
type AlarmNotification struct {
	// ID is unique per delivery and sent as the X-Mlops-Delivery header,
	// so a receiver can drop a retried delivery it already processed.
	ID            string `json:"id"`
	Channel       string `json:"channel"`
	TransitionSeq int64  `json:"transition_seq"`
	// State is one of DeliveryPending, DeliveryDelivered, DeliveryFailed.
	State         string     `json:"state"`
	Attempts      int64      `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// Alarm watches one metric of an environment.
type Alarm struct {
	Metadata Metadata    `json:"metadata"`
	Spec     AlarmSpec   `json:"spec"`
	Status   AlarmStatus `json:"status"`
}

// AlarmList is one page of alarms.
type AlarmList struct {
	Items         []Alarm `json:"items"`
	NextPageToken string  `json:"next_page_token,omitempty"`
}

// CreateAlarmRequest is the body of POST .../alarms.
type CreateAlarmRequest struct {
	Name string    `json:"name"`
	Spec AlarmSpec `json:"spec"`
}

// UpdateAlarmRequest is the body of PUT .../alarms/{name}.
type UpdateAlarmRequest struct {
	Spec AlarmSpec `json:"spec"`
}

// AlarmNotificationBody is the JSON a webhook channel receives for one
// transition. The request carries the headers X-Mlops-Delivery (the
// notification's ID), X-Mlops-Timestamp (Unix seconds) and, when the
// channel has a signing secret, X-Mlops-Signature:
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
type AlarmNotificationBody struct {
	DeliveryID    string    `json:"delivery_id"`
	Environment   string    `json:"environment"`
	Alarm         string    `json:"alarm"`
	Description   string    `json:"description,omitempty"`
	PreviousState string    `json:"previous_state"`
	State         string    `json:"state"`
	Reason        string    `json:"reason"`
	Value         *float64  `json:"value,omitempty"`
	TransitionSeq int64     `json:"transition_seq"`
	At            time.Time `json:"at"`
}

// Headers of a notification delivery.
const (
	HeaderDeliveryID = "X-Mlops-Delivery"
	HeaderTimestamp  = "X-Mlops-Timestamp"
	HeaderSignature  = "X-Mlops-Signature"
)
