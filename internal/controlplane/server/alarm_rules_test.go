package server

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// okAlarm is a valid error-rate alarm.
func okAlarm() api.AlarmSpec {
	return api.AlarmSpec{
		Metric: api.AlarmMetricErrorRate, Endpoint: "api", Comparison: api.ComparisonGreaterThan,
		Threshold: "5", PeriodSeconds: 60, EvaluationPeriods: 3,
	}
}

func TestValidateAlarm(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *api.AlarmSpec)
		// field is "" for a valid spec; msg must occur in the message.
		field, msg string
	}{
		{"OK", func(*api.AlarmSpec) {}, "", ""},
		{"UnknownMetric", func(s *api.AlarmSpec) { s.Metric = "cpu" }, "spec.metric", "must be one of"},
		{"StatisticOfAnotherMetric", func(s *api.AlarmSpec) { s.Statistic = api.StatisticP99 }, "spec.statistic", `not a statistic of metric error_rate; use one of ["average"]`},
		{"LatencyP50", func(s *api.AlarmSpec) { s.Metric, s.Statistic = api.AlarmMetricLatency, api.StatisticP50 }, "", ""},
		{"EndpointRequired", func(s *api.AlarmSpec) { s.Endpoint = "" }, "spec.endpoint", "watches a model endpoint"},
		{"EndpointName", func(s *api.AlarmSpec) { s.Endpoint = "API" }, "spec.endpoint", "not a valid name"},
		{"CustomWithoutEndpoint", func(s *api.AlarmSpec) { s.Metric, s.MetricName, s.Endpoint = api.AlarmMetricCustom, "accuracy", "" }, "", ""},
		{"VariantWithoutEndpoint", func(s *api.AlarmSpec) {
			s.Metric, s.MetricName, s.Endpoint, s.Variant = api.AlarmMetricCustom, "accuracy", "", "blue"
		}, "spec.variant", "set endpoint too"},
		{"FeatureOfLatency", func(s *api.AlarmSpec) { s.Metric, s.Feature = api.AlarmMetricLatency, "sqft" }, "spec.feature", "remove it"},
		{"FeatureOfDrift", func(s *api.AlarmSpec) { s.Metric, s.Feature = api.AlarmMetricFeatureDriftKS, "sqft" }, "", ""},
		{"FeatureControlCharacter", func(s *api.AlarmSpec) { s.Metric, s.Feature = api.AlarmMetricFeatureDriftPSI, "a\x00b" }, "spec.feature", "control"},
		{"ModelMetricNeedsName", func(s *api.AlarmSpec) { s.Metric = api.AlarmMetricModelMetric }, "spec.metric_name", "rmse"},
		{"ModelMetricName", func(s *api.AlarmSpec) { s.Metric, s.MetricName = api.AlarmMetricModelMetric, "rmse" }, "", ""},
		{"CustomNeedsName", func(s *api.AlarmSpec) { s.Metric = api.AlarmMetricCustom }, "spec.metric_name", "POST .../metrics"},
		{"CustomBadName", func(s *api.AlarmSpec) { s.Metric, s.MetricName = api.AlarmMetricCustom, "_x" }, "spec.metric_name", "starting with a letter"},
		{"MetricNameForbidden", func(s *api.AlarmSpec) { s.MetricName = "rmse" }, "spec.metric_name", "takes none"},
		{"Comparison", func(s *api.AlarmSpec) { s.Comparison = ">" }, "spec.comparison", "must be one of"},
		{"ThresholdRequired", func(s *api.AlarmSpec) { s.Threshold = "" }, "spec.threshold", "required"},
		{"ThresholdNotANumber", func(s *api.AlarmSpec) { s.Threshold = "NaN" }, "spec.threshold", "not a decimal"},
		{"ThresholdInfinite", func(s *api.AlarmSpec) { s.Threshold = "1e999" }, "spec.threshold", "not a decimal"},
		{"ThresholdHex", func(s *api.AlarmSpec) { s.Threshold = "0x10" }, "spec.threshold", "not a decimal"},
		{"ThresholdSpaces", func(s *api.AlarmSpec) { s.Threshold = " 5" }, "spec.threshold", "not a decimal"},
		{"ThresholdNegative", func(s *api.AlarmSpec) { s.Threshold = "-0.5e-3" }, "", ""},
		{"PeriodZero", func(s *api.AlarmSpec) { s.PeriodSeconds = 0 }, "spec.period_seconds", "between 1 and 86400"},
		{"PeriodTooLong", func(s *api.AlarmSpec) { s.PeriodSeconds = 86401 }, "spec.period_seconds", "between 1 and 86400"},
		{"PeriodsZero", func(s *api.AlarmSpec) { s.EvaluationPeriods = 0 }, "spec.evaluation_periods", "between 1 and 100"},
		{"PeriodsTooMany", func(s *api.AlarmSpec) { s.EvaluationPeriods = 101 }, "spec.evaluation_periods", "between 1 and 100"},
		{"MOverN", func(s *api.AlarmSpec) { s.DatapointsToAlarm = 4 }, "spec.datapoints_to_alarm", "between 1 and evaluation_periods (3)"},
		{"MNegative", func(s *api.AlarmSpec) { s.DatapointsToAlarm = -1 }, "spec.datapoints_to_alarm", ""},
		{"WindowTooLong", func(s *api.AlarmSpec) { s.PeriodSeconds, s.EvaluationPeriods = 86400, 3 }, "spec.evaluation_periods", "longer than the 48h0m0s"},
		{"WindowAtTheLimit", func(s *api.AlarmSpec) { s.PeriodSeconds, s.EvaluationPeriods = 86400, 2 }, "", ""},
		{"MissingData", func(s *api.AlarmSpec) { s.MissingData = "zero" }, "spec.missing_data", "must be one of"},
		{"MinSamplesNegative", func(s *api.AlarmSpec) { s.MinSamples = -1 }, "spec.min_samples", "between 0 and 1000000"},
		{"MinSamplesTooMany", func(s *api.AlarmSpec) { s.MinSamples = 1000001 }, "spec.min_samples", ""},
		{"TooManyChannels", func(s *api.AlarmSpec) {
			s.Actions.NotificationChannels = strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")
		}, "spec.actions.notification_channels", "at most 10"},
		{"ChannelTwice", func(s *api.AlarmSpec) { s.Actions.NotificationChannels = []string{"ops", "ops"} }, "spec.actions.notification_channels[1]", "already listed"},
		{"NotifyOnState", func(s *api.AlarmSpec) { s.Actions.NotifyOn = []string{"FIRING"} }, "spec.actions.notify_on[0]", "must be one of"},
		{"NotifyOnTwice", func(s *api.AlarmSpec) { s.Actions.NotifyOn = []string{"OK", "OK"} }, "spec.actions.notify_on[1]", "already listed"},
		{"RollbackNeedsEndpoint", func(s *api.AlarmSpec) {
			s.Metric, s.MetricName, s.Endpoint, s.Actions.RollbackEndpoint = api.AlarmMetricCustom, "accuracy", "", true
		}, "spec.actions.rollback_endpoint", "set endpoint"},
		{"TooManyPipelines", func(s *api.AlarmSpec) {
			s.Actions.StartPipelines = strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")
		}, "spec.actions.start_pipelines", "at most 10"},
		{"PipelineName", func(s *api.AlarmSpec) { s.Actions.StartPipelines = []string{"Retrain"} }, "spec.actions.start_pipelines[0]", "not a valid name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := okAlarm()
			tc.change(&s)
			err := validateAlarm(&s)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid spec refused: %v", err)
				}
				return
			}
			var apiErr *api.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v, want an *api.Error on %s", err, tc.field)
			}
			if apiErr.Code != api.EINVALID || apiErr.Field != tc.field || !strings.Contains(apiErr.Message, tc.msg) {
				t.Fatalf("error = %s %s %q, want %s containing %q", apiErr.Code, apiErr.Field, apiErr.Message, tc.field, tc.msg)
			}
		})
	}
}

func TestValidateAlarm_Defaults(t *testing.T) {
	s := okAlarm()
	s.Metric = api.AlarmMetricLatency
	if err := validateAlarm(&s); err != nil {
		t.Fatal(err)
	}
	if s.Statistic != api.StatisticP99 || s.DatapointsToAlarm != 3 || s.MissingData != api.MissingDataMissing ||
		!slices.Equal(s.Actions.NotifyOn, []string{api.AlarmStateAlarm, api.AlarmStateOK}) || s.MinSamples != 0 || s.Threshold != "5" {
		t.Fatalf("defaults = %+v", s)
	}
	// Explicit values stay.
	s = okAlarm()
	s.DatapointsToAlarm, s.MissingData, s.Actions.NotifyOn, s.Threshold = 2, api.MissingDataBreaching, []string{api.AlarmStateAlarm}, "5.0"
	if err := validateAlarm(&s); err != nil {
		t.Fatal(err)
	}
	if s.DatapointsToAlarm != 2 || s.MissingData != api.MissingDataBreaching || !slices.Equal(s.Actions.NotifyOn, []string{api.AlarmStateAlarm}) || s.Threshold != "5.0" {
		t.Fatalf("explicit values changed: %+v", s)
	}
}

func TestValidateNotificationChannel(t *testing.T) {
	secret := strings.Repeat("s", 16)
	for _, tc := range []struct {
		name       string
		spec       api.NotificationChannelSpec
		field, msg string
	}{
		{"OK", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "https://hooks.example.com/x"}, "", ""},
		{"OKSecret", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "http://127.0.0.1:9/x", SigningSecret: secret, SigningSecretVersion: 1}, "", ""},
		{"Type", api.NotificationChannelSpec{Type: "email", URL: "https://h/x"}, "spec.type", "must be one of"},
		{"URLRequired", api.NotificationChannelSpec{Type: api.ChannelWebhook}, "spec.url", "required"},
		{"URLRelative", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "/hooks"}, "spec.url", "absolute"},
		{"URLScheme", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "ftp://h/x"}, "spec.url", "http://"},
		{"URLNoHost", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "https:///x"}, "spec.url", "with a host"},
		{"URLCredentials", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "https://u:p@h/x"}, "spec.url", "credentials"},
		{"SecretTooShort", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "https://h/x", SigningSecret: "short", SigningSecretVersion: 1}, "spec.signing_secret", "5 bytes long; use 16 to 512"},
		{"SecretTooLong", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "https://h/x", SigningSecret: strings.Repeat("s", 513), SigningSecretVersion: 1}, "spec.signing_secret", "513 bytes"},
		{"SecretNeedsVersion", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "https://h/x", SigningSecret: secret}, "spec.signing_secret_version", "version of 1 or more"},
		{"VersionNegative", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "https://h/x", SigningSecretVersion: -1}, "spec.signing_secret_version", "is -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateNotificationChannel(&tc.spec)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid spec refused: %v", err)
				}
				return
			}
			var apiErr *api.Error
			if !errors.As(err, &apiErr) || apiErr.Field != tc.field || !strings.Contains(apiErr.Message, tc.msg) {
				t.Fatalf("error = %v, want %s containing %q", err, tc.field, tc.msg)
			}
			if tc.spec.SigningSecret != "" && strings.Contains(apiErr.Message, tc.spec.SigningSecret) {
				t.Fatalf("message quotes the secret: %q", apiErr.Message)
			}
		})
	}
}
