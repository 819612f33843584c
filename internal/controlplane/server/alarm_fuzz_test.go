package server

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// The alarm and notification channel decoders, held to the properties of
// checkDecodeSpec and to their own invariants.

func FuzzDecodeAlarmSpec(f *testing.F) {
	addSeeds(f,
		`{"metric":"error_rate","endpoint":"api","comparison":"greater_than","threshold":"5","period_seconds":60,"evaluation_periods":3}`,
		`{"metric":"latency","statistic":"p50","endpoint":"api","variant":"blue","comparison":"less_than_or_equal_to","threshold":"1e3","period_seconds":1,"evaluation_periods":100,"datapoints_to_alarm":7,"missing_data":"ignore","min_samples":1000000}`,
		`{"metric":"custom","metric_name":"online_accuracy","statistic":"p99","comparison":"less_than","threshold":"-0.5","period_seconds":86400,"evaluation_periods":2,"actions":{"notify_on":["OK"],"notification_channels":["ops"],"start_pipelines":["retrain"]}}`,
		`{"metric":"feature_drift_psi","endpoint":"api","feature":"size_m2","comparison":"greater_than","threshold":"0.2","period_seconds":300,"evaluation_periods":1,"actions":{"rollback_endpoint":true}}`,
		`{"metric":"model_metric","metric_name":"rmse","endpoint":"api","comparison":"greater_than","threshold":"0.3","period_seconds":60,"evaluation_periods":1}`,
		`{"metric":"error_rate","endpoint":"api","comparison":"greater_than","threshold":"NaN","period_seconds":60,"evaluation_periods":3}`,
		`{"metric":"error_rate","endpoint":"api","comparison":"greater_than","threshold":"5","period_seconds":86400,"evaluation_periods":3}`,
		`{"metric":"error_rate","endpoint":"api","comparison":"greater_than","threshold":5,"period_seconds":60,"evaluation_periods":3}`,
		`{"metric":"error_rate","endpoint":"api","comparison":"greater_than","threshold":"5","period_seconds":60,"evaluation_periods":3,"datapoints_to_alarm":4}`,
	)
	k := alarmKind()
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := checkDecodeSpec(t, k, raw)
		if out == nil {
			return
		}
		var s api.AlarmSpec
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("canonical spec %s does not decode: %v", out, err)
		}
		if !slices.Contains(api.AlarmStatistics[s.Metric], s.Statistic) {
			t.Fatalf("decodeSpec(%q) kept statistic %q of metric %q", raw, s.Statistic, s.Metric)
		}
		if v, err := strconv.ParseFloat(s.Threshold, 64); err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			t.Fatalf("decodeSpec(%q) kept threshold %q", raw, s.Threshold)
		}
		if s.DatapointsToAlarm < 1 || s.DatapointsToAlarm > s.EvaluationPeriods ||
			time.Duration(s.PeriodSeconds*s.EvaluationPeriods)*time.Second > api.MaxAlarmWindow {
			t.Fatalf("decodeSpec(%q) kept %d of %d periods of %ds", raw, s.DatapointsToAlarm, s.EvaluationPeriods, s.PeriodSeconds)
		}
		if s.Endpoint == "" && (s.Metric != api.AlarmMetricCustom || s.Variant != "" || s.Actions.RollbackEndpoint) {
			t.Fatalf("decodeSpec(%q) kept a %s alarm without an endpoint", raw, s.Metric)
		}
		if !slices.Contains(api.MissingDataTreatments, s.MissingData) || len(s.Actions.NotifyOn) == 0 {
			t.Fatalf("decodeSpec(%q) left defaults unfilled: %+v", raw, s)
		}
	})
}

func FuzzDecodeNotificationChannelSpec(f *testing.F) {
	addSeeds(f,
		`{"type":"webhook","url":"https://hooks.example.com/mlops"}`,
		`{"type":"webhook","url":"http://127.0.0.1:9000/x?y=1","signing_secret":"0123456789abcdef","signing_secret_version":1,"description":"on-call"}`,
		`{"type":"webhook","url":"https://u:p@hooks.example.com/"}`,
		`{"type":"webhook","url":"https://hooks.example.com/","signing_secret":"short","signing_secret_version":1}`,
		`{"type":"webhook","url":"https://hooks.example.com/","signing_secret":"0123456789abcdef"}`,
		`{"type":"email","url":"mailto:ops@example.com"}`,
	)
	k := notificationChannelKind()
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := checkDecodeSpec(t, k, raw)
		if out == nil {
			return
		}
		var s api.NotificationChannelSpec
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("canonical spec %s does not decode: %v", out, err)
		}
		if s.Type != api.ChannelWebhook || validateWebhookURL(s.URL) != nil {
			t.Fatalf("decodeSpec(%q) kept type %q url %q", raw, s.Type, s.URL)
		}
		if s.SigningSecret != "" && (s.SigningSecretVersion < 1 || len(s.SigningSecret) < minSigningSecret || len(s.SigningSecret) > maxSigningSecret) {
			t.Fatalf("decodeSpec(%q) kept a secret of %d bytes at version %d", raw, len(s.SigningSecret), s.SigningSecretVersion)
		}
	})
}
