package provider

import (
	"context"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// okAlarmCheck is a valid error-rate alarm on endpoint api.
func okAlarmCheck() alarmCheck {
	return alarmCheck{
		Metric: types.StringValue("error_rate"), Statistic: types.StringNull(), Endpoint: types.StringValue("api"),
		Variant: types.StringNull(), Feature: types.StringNull(), MetricName: types.StringNull(),
		PeriodSeconds: types.Int64Value(60), EvaluationPeriods: types.Int64Value(5), DatapointsToAlarm: types.Int64Null(),
		RollbackEndpoint: types.BoolValue(true),
	}
}

func TestAlarmProblems(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *alarmCheck)
		// path and detail of the one problem expected; empty path: none.
		path   string
		detail string
	}{
		{"OK", func(*alarmCheck) {}, "", ""},
		{"DefaultStatisticIsFine", func(c *alarmCheck) { c.Statistic = types.StringValue("average") }, "", ""},
		{"StatisticNotOfMetric", func(c *alarmCheck) { c.Statistic = types.StringValue("p99") },
			"statistic", `statistic "p99" is not a statistic of metric error_rate; use one of ["average"]`},
		{"LatencyTakesP90", func(c *alarmCheck) { c.Metric, c.Statistic = types.StringValue("latency"), types.StringValue("p90") }, "", ""},
		{"MissingEndpoint", func(c *alarmCheck) { c.Endpoint, c.RollbackEndpoint = types.StringNull(), types.BoolValue(false) },
			"endpoint", "metric error_rate watches a model endpoint; set endpoint"},
		{"UnknownEndpointIsSkipped", func(c *alarmCheck) { c.Endpoint = types.StringUnknown() }, "", ""},
		{"CustomNeedsNoEndpoint", func(c *alarmCheck) {
			c.Metric, c.MetricName, c.Endpoint, c.RollbackEndpoint = types.StringValue("custom"), types.StringValue("accuracy"), types.StringNull(), types.BoolNull()
		}, "", ""},
		{"VariantWithoutEndpoint", func(c *alarmCheck) {
			c.Metric, c.MetricName, c.Endpoint, c.RollbackEndpoint = types.StringValue("custom"), types.StringValue("accuracy"), types.StringNull(), types.BoolNull()
			c.Variant = types.StringValue("blue")
		}, "variant", "set endpoint too, or remove variant"},
		{"FeatureWithoutDrift", func(c *alarmCheck) { c.Feature = types.StringValue("sqft") },
			"feature", "feature selects an input of a drift metric (feature_drift_psi or feature_drift_ks), not of error_rate; remove feature"},
		{"FeatureWithDrift", func(c *alarmCheck) {
			c.Metric, c.Feature = types.StringValue("feature_drift_ks"), types.StringValue("sqft")
		}, "", ""},
		{"FeatureNotPrintable", func(c *alarmCheck) {
			c.Metric, c.Feature = types.StringValue("feature_drift_psi"), types.StringValue("a\x00b")
		}, "feature", "non-printable"},
		{"ModelMetricNeedsName", func(c *alarmCheck) { c.Metric = types.StringValue("model_metric") },
			"metric_name", "metric model_metric needs metric_name"},
		{"ModelMetricName", func(c *alarmCheck) {
			c.Metric, c.MetricName = types.StringValue("model_metric"), types.StringValue("rmse")
		}, "", ""},
		{"ModelMetricBadName", func(c *alarmCheck) {
			c.Metric, c.MetricName = types.StringValue("model_metric"), types.StringValue("RMSE")
		},
			"metric_name", `metric_name "RMSE" is not a model metric name`},
		{"CustomNeedsName", func(c *alarmCheck) {
			c.Metric, c.Endpoint, c.RollbackEndpoint = types.StringValue("custom"), types.StringNull(), types.BoolNull()
		}, "metric_name", "metric custom needs metric_name"},
		{"CustomBadName", func(c *alarmCheck) { c.Metric, c.MetricName = types.StringValue("custom"), types.StringValue("_x") },
			"metric_name", `metric_name "_x" is not a custom metric name`},
		{"NameNotTaken", func(c *alarmCheck) { c.MetricName = types.StringValue("rmse") },
			"metric_name", "metric error_rate takes none, remove metric_name"},
		{"DatapointsAboveN", func(c *alarmCheck) { c.DatapointsToAlarm = types.Int64Value(6) },
			"datapoints_to_alarm", "datapoints_to_alarm is 6, more than evaluation_periods (5)"},
		{"DatapointsEqualN", func(c *alarmCheck) { c.DatapointsToAlarm = types.Int64Value(5) }, "", ""},
		{"WindowTooLong", func(c *alarmCheck) {
			c.PeriodSeconds, c.EvaluationPeriods = types.Int64Value(86400), types.Int64Value(3)
		},
			"evaluation_periods", "period_seconds × evaluation_periods is 72h0m0s, longer than the 48h0m0s"},
		{"WindowAtLimit", func(c *alarmCheck) {
			c.PeriodSeconds, c.EvaluationPeriods = types.Int64Value(86400), types.Int64Value(2)
		}, "", ""},
		{"WindowUnknownPeriod", func(c *alarmCheck) {
			c.PeriodSeconds, c.EvaluationPeriods = types.Int64Unknown(), types.Int64Value(100)
		}, "", ""},
		{"RollbackWithoutEndpoint", func(c *alarmCheck) {
			c.Metric, c.MetricName, c.Endpoint = types.StringValue("custom"), types.StringValue("accuracy"), types.StringNull()
		}, "actions.rollback_endpoint", "rollback_endpoint rolls back a rollout of the alarm's endpoint; set endpoint"},
		{"UnknownMetricSkipsAll", func(c *alarmCheck) {
			c.Metric, c.Statistic, c.MetricName = types.StringUnknown(), types.StringValue("p99"), types.StringValue("rmse")
		}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := okAlarmCheck()
			tc.change(&c)
			problems := alarmProblems(c)
			if tc.path == "" {
				if len(problems) != 0 {
					t.Fatalf("problems = %+v; want none", problems)
				}
				return
			}
			if len(problems) != 1 {
				t.Fatalf("problems = %+v; want one at %s", problems, tc.path)
			}
			if got := problems[0].Path.String(); got != tc.path {
				t.Errorf("path = %s; want %s", got, tc.path)
			}
			if !strings.Contains(problems[0].Detail, tc.detail) {
				t.Errorf("detail = %q; want it to contain %q", problems[0].Detail, tc.detail)
			}
		})
	}
}

func TestFiniteValidator(t *testing.T) {
	for _, tc := range []struct {
		value types.Float64
		ok    bool
	}{
		{types.Float64Value(0.2), true},
		{types.Float64Value(-1e300), true},
		{types.Float64Null(), true},
		{types.Float64Unknown(), true},
		{types.Float64Value(math.Inf(1)), false},
		{types.Float64Value(math.Inf(-1)), false},
	} {
		var resp validator.Float64Response
		finiteValidator{}.ValidateFloat64(context.Background(), validator.Float64Request{Path: path.Root("threshold"), ConfigValue: tc.value}, &resp)
		if got := !resp.Diagnostics.HasError(); got != tc.ok {
			t.Errorf("%v: ok = %v; want %v (%v)", tc.value, got, tc.ok, resp.Diagnostics)
		}
	}
}

func TestThresholdRoundTrip(t *testing.T) {
	for _, f := range []float64{0.1, 0.2, 2.5, 250, 1e-7, 1e21, -3, 0.30000000000000004, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		s := thresholdToAPI(f)
		if len(s) > 64 || !serverDecimalRE.MatchString(s) {
			t.Errorf("thresholdToAPI(%v) = %q; not a decimal the server takes", f, s)
		}
		var diags diag.Diagnostics
		got := thresholdFromAPI(s, "alarm", &diags)
		if diags.HasError() {
			t.Fatalf("thresholdFromAPI(%q): %v", s, diags)
		}
		if got.ValueFloat64() != f {
			t.Errorf("%v → %q → %v", f, s, got.ValueFloat64())
		}
	}
}

// serverDecimalRE is the server's rule for a threshold (decimalRE in
// server/model_rules.go), written out again so that the test fails when
// the formatting stops matching it.
var serverDecimalRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

func TestAlarmSpecFromAPI_defaults(t *testing.T) {
	ctx := context.Background()
	var diags diag.Diagnostics
	// What a spec written before the server filled every default reads as.
	v := alarmSpecFromAPI(ctx, api.AlarmSpec{
		Metric: "feature_drift_psi", Endpoint: "api", Comparison: "greater_than", Threshold: "0.2",
		PeriodSeconds: 3600, EvaluationPeriods: 3,
	}, "alarm", &diags)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if v.Statistic.ValueString() != "maximum" || v.DatapointsToAlarm.ValueInt64() != 3 || v.MissingData.ValueString() != "missing" ||
		v.MinSamples.ValueInt64() != api.DefaultDriftMinSamples || v.Threshold.ValueFloat64() != 0.2 || !v.Variant.IsNull() || !v.Feature.IsNull() {
		t.Errorf("spec values = %+v", v)
	}
	if got := v.Actions.Attributes()["notify_on"]; !got.Equal(alarmDefaultNotifyOn()) {
		t.Errorf("notify_on = %v", got)
	}
	if got := v.Actions.Attributes()["notification_channels"]; !got.IsNull() {
		t.Errorf("notification_channels = %v; want null", got)
	}
	v = alarmSpecFromAPI(ctx, api.AlarmSpec{Metric: "latency", Threshold: "250", EvaluationPeriods: 1}, "alarm", &diags)
	if v.MinSamples.ValueInt64() != 1 || v.Statistic.ValueString() != "p99" {
		t.Errorf("latency defaults = %+v", v)
	}
	alarmSpecFromAPI(ctx, api.AlarmSpec{Metric: "latency", Threshold: "high"}, "alarm dev/x", &diags)
	if !diags.HasError() || !strings.Contains(diags[0].Detail(), `alarm dev/x has threshold "high"`) {
		t.Errorf("a threshold that is not a number: %v", diags)
	}
}

func TestUniqueStringsValidator(t *testing.T) {
	list := func(vals ...string) types.List {
		var els []attr.Value
		for _, v := range vals {
			els = append(els, types.StringValue(v))
		}
		return types.ListValueMust(types.StringType, els)
	}
	p := path.Root("actions").AtName("notification_channels")
	for _, tc := range []struct {
		value types.List
		want  string
	}{
		{list("ops", "pager"), ""},
		{types.ListNull(types.StringType), ""},
		{list("ops", "pager", "ops"), `actions.notification_channels[2] is "ops", which actions.notification_channels[0] already is`},
	} {
		var resp validator.ListResponse
		uniqueStringsValidator{}.ValidateList(context.Background(), validator.ListRequest{Path: p, ConfigValue: tc.value}, &resp)
		switch {
		case tc.want == "" && resp.Diagnostics.HasError():
			t.Errorf("%v: %v", tc.value, resp.Diagnostics)
		case tc.want != "" && (!resp.Diagnostics.HasError() || !strings.Contains(resp.Diagnostics[0].Detail(), tc.want)):
			t.Errorf("%v: diagnostics %v; want %q", tc.value, resp.Diagnostics, tc.want)
		}
	}
}
