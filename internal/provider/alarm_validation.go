package provider

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Plan-time checks of an alarm that span attributes. They mirror the
// control plane's rules (server/alarm_rules.go) so that a mistake shows in
// terraform plan, next to the attribute, instead of failing the apply; the
// server checks everything again when the spec is written, and also what
// only it can know (that the endpoint, channels and pipelines exist).
// Values Terraform does not know yet are skipped, as is every check that
// would need them.

// Limits of an alarm's spec, the same as the server's.
const (
	alarmMaxChannels   = 10
	alarmMaxPipelines  = 10
	alarmMaxMinSamples = 1000000
	// alarmMaxFeatureLength bounds a feature's name, as in a model
	// version's baseline file.
	alarmMaxFeatureLength = 128
)

// alarmCustomNameRE is the rule of a pushed custom metric's name; a model
// version's metric names follow identifierRE.
var alarmCustomNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// alarmProblem is one mistake in an alarm's configuration: the attribute at
// fault, a summary and a detail that says how to fix it.
type alarmProblem struct {
	Path    path.Path
	Summary string
	Detail  string
}

// alarmCheck is what the plan-time rules look at. A null string means the
// attribute is not set; unknown values skip the checks that need them.
type alarmCheck struct {
	Metric, Statistic, Endpoint, Variant, Feature, MetricName types.String
	PeriodSeconds, EvaluationPeriods, DatapointsToAlarm       types.Int64
	RollbackEndpoint                                          types.Bool
}

// isDriftMetric reports whether metric compares inputs with a baseline.
func isDriftMetric(metric string) bool {
	return metric == api.AlarmMetricFeatureDriftPSI || metric == api.AlarmMetricFeatureDriftKS
}

// alarmDefaultStatistic is the statistic the server fills in for metric:
// the first of api.AlarmStatistics.
func alarmDefaultStatistic(metric string) (string, bool) {
	stats := api.AlarmStatistics[metric]
	if len(stats) == 0 {
		return "", false
	}
	return stats[0], true
}

// alarmDefaultMinSamples is what min_samples 0 means to the evaluator:
// api.DefaultDriftMinSamples for the drift metrics, 1 otherwise.
func alarmDefaultMinSamples(metric string) int64 {
	if isDriftMetric(metric) {
		return api.DefaultDriftMinSamples
	}
	return 1
}

// alarmUnset reports whether a value is known to be null (not set).
func alarmUnset(v attr.Value) bool { return !v.IsUnknown() && v.IsNull() }

// alarmIsSet reports whether a value is known and set.
func alarmIsSet(v attr.Value) bool { return !v.IsUnknown() && !v.IsNull() }

// alarmProblems checks the rules that span an alarm's attributes.
func alarmProblems(c alarmCheck) []alarmProblem {
	var problems []alarmProblem
	add := func(p path.Path, summary, format string, args ...any) {
		problems = append(problems, alarmProblem{p, summary, fmt.Sprintf(format, args...)})
	}
	metricKnown := alarmIsSet(c.Metric) && slices.Contains(api.AlarmMetrics, c.Metric.ValueString())
	metric := c.Metric.ValueString()

	if metricKnown && alarmIsSet(c.Statistic) {
		if stats := api.AlarmStatistics[metric]; !slices.Contains(stats, c.Statistic.ValueString()) {
			add(path.Root("statistic"), "Invalid statistic",
				"statistic %q is not a statistic of metric %s; use one of %q, or remove statistic for the default %q",
				c.Statistic.ValueString(), metric, stats, stats[0])
		}
	}

	if metricKnown && metric != api.AlarmMetricCustom && alarmUnset(c.Endpoint) {
		add(path.Root("endpoint"), "Missing endpoint",
			"metric %s watches a model endpoint; set endpoint to the name of a model endpoint (mlops_model_endpoint) in the same environment", metric)
	}
	if alarmIsSet(c.Variant) && alarmUnset(c.Endpoint) {
		add(path.Root("variant"), "Variant without endpoint",
			"variant narrows an endpoint's metric to one variant; set endpoint too, or remove variant")
	}
	if alarmIsSet(c.Feature) {
		if metricKnown && !isDriftMetric(metric) {
			add(path.Root("feature"), "Feature without a drift metric",
				"feature selects an input of a drift metric (%s or %s), not of %s; remove feature, or use a drift metric",
				api.AlarmMetricFeatureDriftPSI, api.AlarmMetricFeatureDriftKS, metric)
		} else if msg := alarmFeatureProblem(c.Feature.ValueString()); msg != "" {
			add(path.Root("feature"), "Invalid feature", "feature %s", msg)
		}
	}
	if metricKnown && !c.MetricName.IsUnknown() {
		name := c.MetricName.ValueString()
		switch metric {
		case api.AlarmMetricModelMetric:
			if c.MetricName.IsNull() {
				add(path.Root("metric_name"), "Missing metric_name",
					"metric model_metric needs metric_name: a metric of the serving model version's metrics, e.g. rmse")
			} else if !identifierRE.MatchString(name) {
				add(path.Root("metric_name"), "Invalid metric_name",
					"metric_name %q is not a model metric name; use lowercase letters, digits and '_', starting with a letter or '_', e.g. rmse", name)
			}
		case api.AlarmMetricCustom:
			if c.MetricName.IsNull() {
				add(path.Root("metric_name"), "Missing metric_name",
					"metric custom needs metric_name: the name the datapoints are pushed with (POST .../metrics)")
			} else if !alarmCustomNameRE.MatchString(name) {
				add(path.Root("metric_name"), "Invalid metric_name",
					"metric_name %q is not a custom metric name; use 1-63 lowercase letters, digits and '_', starting with a letter", name)
			}
		default:
			if !c.MetricName.IsNull() {
				add(path.Root("metric_name"), "Unexpected metric_name",
					"metric_name names a model metric (model_metric) or a pushed metric (custom); metric %s takes none, remove metric_name", metric)
			}
		}
	}

	periodsKnown := alarmIsSet(c.EvaluationPeriods)
	if periodsKnown && alarmIsSet(c.DatapointsToAlarm) &&
		c.DatapointsToAlarm.ValueInt64() > c.EvaluationPeriods.ValueInt64() {
		add(path.Root("datapoints_to_alarm"), "Invalid datapoints_to_alarm",
			"datapoints_to_alarm is %d, more than evaluation_periods (%d): M of N periods must breach, so lower datapoints_to_alarm to at most %d, raise evaluation_periods, or remove datapoints_to_alarm for all of them",
			c.DatapointsToAlarm.ValueInt64(), c.EvaluationPeriods.ValueInt64(), c.EvaluationPeriods.ValueInt64())
	}
	if periodsKnown && alarmIsSet(c.PeriodSeconds) {
		p, n := c.PeriodSeconds.ValueInt64(), c.EvaluationPeriods.ValueInt64()
		// Each factor is bounded by its own validator; this only guards
		// the product against overflow before those have run.
		if p > 0 && n > 0 && p <= api.MaxAlarmPeriodSeconds && n <= api.MaxEvaluationPeriods {
			if window := time.Duration(p*n) * time.Second; window > api.MaxAlarmWindow {
				add(path.Root("evaluation_periods"), "Alarm window too long",
					"period_seconds × evaluation_periods is %s, longer than the %s of metrics the control plane keeps; use fewer or shorter periods (at most %d periods of %d seconds)",
					window, api.MaxAlarmWindow, int64(api.MaxAlarmWindow/time.Second)/p, p)
			}
		}
	}

	if alarmIsSet(c.RollbackEndpoint) && c.RollbackEndpoint.ValueBool() && alarmUnset(c.Endpoint) {
		add(path.Root("actions").AtName("rollback_endpoint"), "Rollback without endpoint",
			"rollback_endpoint rolls back a rollout of the alarm's endpoint; set endpoint, or remove rollback_endpoint")
	}
	return problems
}

// alarmFeatureProblem checks a feature name as the server does: 1-128
// bytes of printable characters. It returns "" when the name is fine.
func alarmFeatureProblem(name string) string {
	switch {
	case name == "":
		return "is empty; name the feature as the model's input is named, e.g. sqft, or remove feature to watch the most drifted one"
	case len(name) > alarmMaxFeatureLength:
		return fmt.Sprintf("is %d bytes long; use at most %d", len(name), alarmMaxFeatureLength)
	case strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }):
		return fmt.Sprintf("%q contains control or non-printable characters; use a plain name such as sqft", name)
	}
	return ""
}

// finiteValidator rejects infinite numbers, which the API cannot carry as
// a decimal threshold. Terraform numbers beyond float64 are refused by the
// framework's conversion before validators run; this states the rule on
// the attribute all the same, so it holds whatever the conversion does.
type finiteValidator struct{}

var _ validator.Float64 = finiteValidator{}

func (finiteValidator) Description(context.Context) string {
	return "value must be a finite number"
}

func (v finiteValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (finiteValidator) ValidateFloat64(_ context.Context, req validator.Float64Request, resp *validator.Float64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if f := req.ConfigValue.ValueFloat64(); math.IsInf(f, 0) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid threshold",
			fmt.Sprintf("%s is %v; use a finite number such as 0.2 or 250", req.Path, f))
	}
}

// uniqueStringsValidator rejects a list of strings that names an entry
// twice, saying which entries clash; the framework's UniqueValues does not
// name the attribute, which Terraform cannot point at inside an object.
type uniqueStringsValidator struct{}

var _ validator.List = uniqueStringsValidator{}

func (uniqueStringsValidator) Description(context.Context) string {
	return "each entry must be listed once"
}

func (v uniqueStringsValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (uniqueStringsValidator) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	seen := map[string]int{}
	for i, el := range req.ConfigValue.Elements() {
		s, ok := el.(types.String)
		if !ok || s.IsNull() || s.IsUnknown() {
			continue
		}
		if j, dup := seen[s.ValueString()]; dup {
			at := req.Path.AtListIndex(i)
			resp.Diagnostics.AddAttributeError(at, "Duplicate list entry",
				fmt.Sprintf("%s is %q, which %s already is; list each entry once", at, s.ValueString(), req.Path.AtListIndex(j)))
			continue
		}
		seen[s.ValueString()] = i
	}
}
