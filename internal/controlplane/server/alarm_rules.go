package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/drift"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Limits of an alarm's spec.
const (
	maxAlarmChannels   = 10
	maxAlarmPipelines  = 10
	maxAlarmMinSamples = 1000000
	maxThresholdLength = 64
)

// alarmCustomNameRE is the rule of a custom metric's name
// (api.CustomDatapoint.Name).
var alarmCustomNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

func alarmKind() *kind[api.AlarmSpec] {
	return &kind[api.AlarmSpec]{
		name:       api.KindAlarm,
		validate:   validateAlarm,
		crossCheck: alarmRefsCheck,
		mergeOwned: mergeAcknowledgements,
		initialStatus: func(*api.AlarmSpec) any {
			return api.AlarmStatus{
				Status:      api.Status{Phase: api.PhasePending, Reason: "Created", Message: "waiting for the first evaluation"},
				State:       api.AlarmStateInsufficientData,
				StateReason: "not evaluated yet",
			}
		},
	}
}

// isDriftMetric reports whether metric compares inputs with a baseline.
func isDriftMetric(metric string) bool {
	return metric == api.AlarmMetricFeatureDriftPSI || metric == api.AlarmMetricFeatureDriftKS
}

// validateAlarm checks an alarm's spec on its own and fills the defaults
// the api documents: the metric's first statistic, M = N, missing data
// "missing" and notify_on [ALARM, OK]. min_samples 0 stays 0 (the
// evaluator reads it as 1, or api.DefaultDriftMinSamples for drift), so
// that a spec switched to or from a drift metric keeps the right default.
func validateAlarm(s *api.AlarmSpec) error {
	if err := validateDescription("spec.description", s.Description); err != nil {
		return err
	}
	if err := oneOf("spec.metric", s.Metric, api.AlarmMetrics...); err != nil {
		return err
	}
	stats := api.AlarmStatistics[s.Metric]
	if s.Statistic == "" {
		s.Statistic = stats[0]
	}
	if !slices.Contains(stats, s.Statistic) {
		return api.Errorf(api.EINVALID, "spec.statistic", "%q is not a statistic of metric %s; use one of %q (the first is the default)", s.Statistic, s.Metric, stats)
	}
	if err := validateAlarmTarget(s); err != nil {
		return err
	}
	if err := oneOf("spec.comparison", s.Comparison, api.AlarmComparisons...); err != nil {
		return err
	}
	if err := validateThreshold(s.Threshold); err != nil {
		return err
	}
	if err := validateAlarmWindow(s); err != nil {
		return err
	}
	if s.MissingData == "" {
		s.MissingData = api.MissingDataMissing
	}
	if err := oneOf("spec.missing_data", s.MissingData, api.MissingDataTreatments...); err != nil {
		return err
	}
	if err := validateRange("spec.min_samples", s.MinSamples, 0, maxAlarmMinSamples); err != nil {
		return err
	}
	return validateAlarmActions(s)
}

// validateAlarmTarget checks what the alarm watches: endpoint, variant,
// feature and metric_name, each only where the metric takes it.
func validateAlarmTarget(s *api.AlarmSpec) error {
	switch {
	case s.Endpoint == "" && s.Metric != api.AlarmMetricCustom:
		return api.Errorf(api.EINVALID, "spec.endpoint", "metric %s watches a model endpoint; name one in the same environment", s.Metric)
	case s.Endpoint != "":
		if err := validateName("spec.endpoint", s.Endpoint); err != nil {
			return err
		}
	}
	if s.Variant != "" {
		if s.Endpoint == "" {
			return api.NewError(api.EINVALID, "spec.variant", "variant narrows an endpoint's metric to one variant; set endpoint too, or remove variant")
		}
		if err := validateName("spec.variant", s.Variant); err != nil {
			return err
		}
	}
	if s.Feature != "" {
		if !isDriftMetric(s.Metric) {
			return api.Errorf(api.EINVALID, "spec.feature", "feature selects an input of a drift metric (%s or %s), not of %s; remove it", api.AlarmMetricFeatureDriftPSI, api.AlarmMetricFeatureDriftKS, s.Metric)
		}
		if err := drift.CheckFeatureName(s.Feature); err != nil {
			return api.Errorf(api.EINVALID, "spec.feature", "%v", err)
		}
	}
	switch s.Metric {
	case api.AlarmMetricModelMetric:
		if s.MetricName == "" {
			return api.NewError(api.EINVALID, "spec.metric_name", "metric model_metric needs metric_name: a metric of the serving model version's spec.metrics, e.g. rmse")
		}
		if !identifierRE.MatchString(s.MetricName) {
			return api.Errorf(api.EINVALID, "spec.metric_name", "%q is not a model metric name; use lowercase letters, digits and '_', starting with a letter or '_', e.g. rmse", s.MetricName)
		}
	case api.AlarmMetricCustom:
		if s.MetricName == "" {
			return api.NewError(api.EINVALID, "spec.metric_name", "metric custom needs metric_name: the name the datapoints are pushed with (POST .../metrics)")
		}
		if !alarmCustomNameRE.MatchString(s.MetricName) {
			return api.Errorf(api.EINVALID, "spec.metric_name", "%q is not a custom metric name; use 1-63 lowercase letters, digits and '_', starting with a letter", s.MetricName)
		}
	default:
		if s.MetricName != "" {
			return api.Errorf(api.EINVALID, "spec.metric_name", "metric_name names a model metric or a custom metric; metric %s takes none, remove it", s.Metric)
		}
	}
	return nil
}

// validateThreshold checks that the threshold is a finite decimal number.
// It is stored as sent, so a configuration reads back what it wrote.
func validateThreshold(t string) error {
	if t == "" {
		return api.NewError(api.EINVALID, "spec.threshold", `threshold is required: a decimal number as a string, e.g. "0.2" or "250"`)
	}
	f, err := strconv.ParseFloat(t, 64)
	if len(t) > maxThresholdLength || !decimalRE.MatchString(t) || err != nil || math.IsInf(f, 0) {
		return api.Errorf(api.EINVALID, "spec.threshold", `%q is not a decimal number; write it as a string such as "0.2", "250" or "1e-3"`, t)
	}
	return nil
}

// validateAlarmWindow checks the periods and fills M = N when M is 0.
func validateAlarmWindow(s *api.AlarmSpec) error {
	if err := validateRange("spec.period_seconds", s.PeriodSeconds, 1, api.MaxAlarmPeriodSeconds); err != nil {
		return err
	}
	if err := validateRange("spec.evaluation_periods", s.EvaluationPeriods, 1, api.MaxEvaluationPeriods); err != nil {
		return err
	}
	if s.DatapointsToAlarm == 0 {
		s.DatapointsToAlarm = s.EvaluationPeriods
	}
	if s.DatapointsToAlarm < 1 || s.DatapointsToAlarm > s.EvaluationPeriods {
		return api.Errorf(api.EINVALID, "spec.datapoints_to_alarm", "is %d; it must be between 1 and evaluation_periods (%d), or 0 for all of them", s.DatapointsToAlarm, s.EvaluationPeriods)
	}
	if window := time.Duration(s.PeriodSeconds*s.EvaluationPeriods) * time.Second; window > api.MaxAlarmWindow {
		return api.Errorf(api.EINVALID, "spec.evaluation_periods",
			"period_seconds × evaluation_periods is %s, longer than the %s of metrics kept; use fewer or shorter periods", window, api.MaxAlarmWindow)
	}
	return nil
}

// validateAlarmActions checks the actions and fills notify_on.
func validateAlarmActions(s *api.AlarmSpec) error {
	a := &s.Actions
	if err := validateNameList("spec.actions.notification_channels", a.NotificationChannels, maxAlarmChannels); err != nil {
		return err
	}
	if len(a.NotifyOn) == 0 {
		a.NotifyOn = []string{api.AlarmStateAlarm, api.AlarmStateOK}
	}
	for i, st := range a.NotifyOn {
		field := fmt.Sprintf("spec.actions.notify_on[%d]", i)
		if err := oneOf(field, st, api.AlarmStates...); err != nil {
			return err
		}
		if j := slices.Index(a.NotifyOn, st); j < i {
			return api.Errorf(api.EINVALID, field, "%q is already listed at spec.actions.notify_on[%d]", st, j)
		}
	}
	if a.RollbackEndpoint && s.Endpoint == "" {
		return api.NewError(api.EINVALID, "spec.actions.rollback_endpoint", "rollback_endpoint rolls back a rollout of the alarm's endpoint; set endpoint, or remove rollback_endpoint")
	}
	return validateNameList("spec.actions.start_pipelines", a.StartPipelines, maxAlarmPipelines)
}

// validateNameList checks a list of object names: at most limit of them,
// each valid and listed once.
func validateNameList(field string, names []string, limit int) error {
	if len(names) > limit {
		return api.Errorf(api.EINVALID, field, "names %d objects; use at most %d", len(names), limit)
	}
	for i, n := range names {
		at := fmt.Sprintf("%s[%d]", field, i)
		if err := validateName(at, n); err != nil {
			return err
		}
		if j := slices.Index(names, n); j < i {
			return api.Errorf(api.EINVALID, at, "%q is already listed at %s[%d]", n, field, j)
		}
	}
	return nil
}

// alarmRefsCheck checks, inside the write transaction, that the objects the
// alarm names exist in its environment: the endpoint (and the variant in
// it), each notification channel and each pipeline to start. Deleting them
// later stays allowed; the evaluator then reports what is missing.
func alarmRefsCheck(ctx context.Context, v store.View, ref api.Ref, s *api.AlarmSpec) error {
	if s.Endpoint != "" {
		obj, err := v.Get(ctx, api.Ref{Kind: api.KindModelEndpoint, Environment: ref.Environment, Name: s.Endpoint})
		if isCode(err, api.ENOTFOUND) {
			return api.Errorf(api.EINVALID, "spec.endpoint", "model endpoint %q does not exist in environment %q; create it first (mlops_model_endpoint) or fix the name", s.Endpoint, ref.Environment)
		}
		if err != nil {
			return err
		}
		if s.Variant != "" {
			var ep api.ModelEndpointSpec
			if err := json.Unmarshal(obj.Spec, &ep); err != nil {
				return fmt.Errorf("decoding %s: %w", obj.Ref(), err)
			}
			var names []string
			for _, vr := range ep.Variants {
				names = append(names, vr.Name)
			}
			if ep.Shadow != nil {
				names = append(names, ep.Shadow.Name)
			}
			if !slices.Contains(names, s.Variant) {
				return api.Errorf(api.EINVALID, "spec.variant", "model endpoint %q has no variant %q; its variants are %q", s.Endpoint, s.Variant, names)
			}
		}
	}
	for i, name := range s.Actions.NotificationChannels {
		if _, err := v.Get(ctx, api.Ref{Kind: api.KindNotificationChannel, Environment: ref.Environment, Name: name}); isCode(err, api.ENOTFOUND) {
			return api.Errorf(api.EINVALID, fmt.Sprintf("spec.actions.notification_channels[%d]", i),
				"notification channel %q does not exist in environment %q; create it first (mlops_notification_channel) or fix the name", name, ref.Environment)
		} else if err != nil {
			return err
		}
	}
	for i, name := range s.Actions.StartPipelines {
		if _, err := v.Get(ctx, api.Ref{Kind: api.KindTrainingPipeline, Environment: ref.Environment, Name: name}); isCode(err, api.ENOTFOUND) {
			return api.Errorf(api.EINVALID, fmt.Sprintf("spec.actions.start_pipelines[%d]", i),
				"training pipeline %q does not exist in environment %q; create it first (mlops_training_pipeline) or fix the name", name, ref.Environment)
		} else if err != nil {
			return err
		}
	}
	return nil
}
