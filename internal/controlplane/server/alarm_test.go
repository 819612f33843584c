package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

func alarmSpec() api.AlarmSpec {
	return api.AlarmSpec{
		Metric: api.AlarmMetricErrorRate, Endpoint: "api", Variant: "primary",
		Comparison: api.ComparisonGreaterThan, Threshold: "5", PeriodSeconds: 10, EvaluationPeriods: 3,
		Actions: api.AlarmActions{NotificationChannels: []string{"ops"}, StartPipelines: []string{"retrain"}},
	}
}

func channelSpec(secret string, version int64) api.NotificationChannelSpec {
	return api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "https://hooks.example.com/mlops", SigningSecret: secret, SigningSecretVersion: version}
}

func TestAlarm_CRUD(t *testing.T) {
	admin, c := endpointFixture(t)
	editor := c["editor"]
	editor.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindNotificationChannel, ""),
		api.CreateNotificationChannelRequest{Name: "ops", Spec: channelSpec("", 0)})
	editor.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindTrainingPipeline, ""), api.CreateTrainingPipelineRequest{
		Name: "retrain", Spec: api.TrainingPipelineSpec{ComputePool: "cpu", Model: "churn", Steps: []api.PipelineStep{{Name: "train", Command: []string{"true"}}}},
	})

	coll := objPath("dev", api.KindAlarm, "")
	// Every name the alarm refers to must exist, and the error says where.
	for _, tc := range []struct {
		name   string
		change func(s *api.AlarmSpec)
		field  string
	}{
		{"Endpoint", func(s *api.AlarmSpec) { s.Endpoint = "missing" }, "spec.endpoint"},
		{"Variant", func(s *api.AlarmSpec) { s.Variant = "blue" }, "spec.variant"},
		{"Channel", func(s *api.AlarmSpec) { s.Actions.NotificationChannels = []string{"ops", "pager"} }, "spec.actions.notification_channels[1]"},
		{"Pipeline", func(s *api.AlarmSpec) { s.Actions.StartPipelines = []string{"missing"} }, "spec.actions.start_pipelines[0]"},
	} {
		s := alarmSpec()
		tc.change(&s)
		e := wantError(t, editor.do(http.MethodPost, coll, api.CreateAlarmRequest{Name: "errors", Spec: s}), http.StatusBadRequest, api.EINVALID, tc.field)
		if !strings.Contains(e.Message, "does not exist") && !strings.Contains(e.Message, "has no variant") {
			t.Errorf("%s: message %q does not say what is missing", tc.name, e.Message)
		}
	}
	// A viewer reads but does not write.
	wantError(t, c["viewer"].do(http.MethodPost, coll, api.CreateAlarmRequest{Name: "errors", Spec: alarmSpec()}), http.StatusForbidden, api.EFORBIDDEN, "")

	created := decode[api.Alarm](t, editor.must(http.StatusCreated, http.MethodPost, coll, api.CreateAlarmRequest{Name: "errors", Spec: alarmSpec()}))
	if created.Spec.Statistic != api.StatisticAverage || created.Spec.DatapointsToAlarm != 3 || created.Spec.MissingData != api.MissingDataMissing ||
		!slices.Equal(created.Spec.Actions.NotifyOn, []string{api.AlarmStateAlarm, api.AlarmStateOK}) {
		t.Fatalf("defaults not filled: %+v", created.Spec)
	}
	if created.Status.State != api.AlarmStateInsufficientData || created.Metadata.UID == "" {
		t.Fatalf("new alarm = %+v", created)
	}
	got := decode[api.Alarm](t, c["viewer"].must(http.StatusOK, http.MethodGet, objPath("dev", api.KindAlarm, "errors"), nil))
	if got.Spec.Threshold != "5" || got.Metadata.Generation != 1 {
		t.Fatalf("read back %+v", got)
	}
	list := decode[api.AlarmList](t, c["viewer"].must(http.StatusOK, http.MethodGet, coll, nil))
	if len(list.Items) != 1 || list.Items[0].Metadata.Name != "errors" {
		t.Fatalf("list = %+v", list)
	}

	upd := alarmSpec()
	upd.Threshold, upd.DatapointsToAlarm = "2.5", 2
	updated := decode[api.Alarm](t, editor.must(http.StatusOK, http.MethodPut, objPath("dev", api.KindAlarm, "errors"), api.UpdateAlarmRequest{Spec: upd}))
	if updated.Spec.Threshold != "2.5" || updated.Spec.DatapointsToAlarm != 2 || updated.Metadata.Generation != 2 {
		t.Fatalf("updated = %+v", updated.Spec)
	}

	// What an alarm points at may still be deleted; the alarm then
	// reports it when it is evaluated.
	editor.must(http.StatusNoContent, http.MethodDelete, objPath("dev", api.KindNotificationChannel, "ops"), nil)
	editor.must(http.StatusNoContent, http.MethodDelete, objPath("dev", api.KindAlarm, "errors"), nil)
	wantError(t, admin.do(http.MethodGet, objPath("dev", api.KindAlarm, "errors"), nil), http.StatusNotFound, api.ENOTFOUND, "")
}

func TestAlarm_CustomNeedsNoEndpoint(t *testing.T) {
	c := MustStart(t)
	createEnv(c, "dev", api.EnvironmentSpec{})
	s := api.AlarmSpec{Metric: api.AlarmMetricCustom, MetricName: "online_accuracy", Statistic: api.StatisticMinimum,
		Comparison: api.ComparisonLessThan, Threshold: "0.8", PeriodSeconds: 60, EvaluationPeriods: 5, DatapointsToAlarm: 3, MinSamples: 10}
	a := decode[api.Alarm](t, c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindAlarm, ""), api.CreateAlarmRequest{Name: "accuracy", Spec: s}))
	if a.Spec.Statistic != api.StatisticMinimum || a.Spec.DatapointsToAlarm != 3 || a.Spec.MinSamples != 10 {
		t.Fatalf("alarm = %+v", a.Spec)
	}
	bad := s
	bad.Threshold = "high"
	wantError(t, c.do(http.MethodPost, objPath("dev", api.KindAlarm, ""), api.CreateAlarmRequest{Name: "bad", Spec: bad}), http.StatusBadRequest, api.EINVALID, "spec.threshold")
}

// TestNotificationChannel_SecretIsWriteOnly follows a channel's signing
// secret through create, replay, reads, keep, rotate and clear, and checks
// that it appears in no response and no audit record, while the store
// keeps what the rules say.
func TestNotificationChannel_SecretIsWriteOnly(t *testing.T) {
	srv := startServer(t)
	c := &apiClient{tb: t, base: srv.URL, http: &http.Client{Timeout: 30 * time.Second}}
	createEnv(c, "dev", api.EnvironmentSpec{})
	const first, second, third = "first-secret-0123456789", "second-secret-0123456789", "third-secret-0123456789"
	var bodies []response
	call := func(want int, method, path string, body any, headers ...string) response {
		t.Helper()
		r := c.must(want, method, path, body, headers...)
		bodies = append(bodies, r)
		return r
	}
	fail := func(field, method, path string, body any) {
		t.Helper()
		r := c.do(method, path, body)
		bodies = append(bodies, r)
		wantError(t, r, http.StatusBadRequest, api.EINVALID, field)
	}
	coll := objPath("dev", api.KindNotificationChannel, "")
	item := objPath("dev", api.KindNotificationChannel, "ops")
	wantSet := func(r response, set bool, version int64) {
		t.Helper()
		ch := decode[api.NotificationChannel](t, r)
		if ch.Spec.SigningSecret != "" || ch.Status.SigningSecretSet != set || ch.Spec.SigningSecretVersion != version {
			t.Fatalf("channel = spec %+v, signing_secret_set %v; want no secret in the spec, set %v, version %d", ch.Spec, ch.Status.SigningSecretSet, set, version)
		}
	}
	stored := func() string {
		t.Helper()
		obj, err := srv.Daemon.Store.Get(context.Background(), api.Ref{Kind: api.KindNotificationChannel, Environment: "dev", Name: "ops"})
		if err != nil {
			t.Fatal(err)
		}
		var s api.NotificationChannelSpec
		if err := json.Unmarshal(obj.Spec, &s); err != nil {
			t.Fatal(err)
		}
		return s.SigningSecret
	}

	fail("spec.signing_secret", http.MethodPost, coll, api.CreateNotificationChannelRequest{Name: "ops", Spec: channelSpec("", 1)})
	create := api.CreateNotificationChannelRequest{Name: "ops", Spec: channelSpec(first, 1)}
	wantSet(call(http.StatusCreated, http.MethodPost, coll, create, api.HeaderIdempotencyKey, "k1"), true, 1)
	replay := call(http.StatusCreated, http.MethodPost, coll, create, api.HeaderIdempotencyKey, "k1")
	if replay.Header.Get(api.HeaderIdempotentReplay) != "true" {
		t.Fatal("the retried create was not a replay")
	}
	wantSet(replay, true, 1)
	wantSet(call(http.StatusOK, http.MethodGet, item, nil), true, 1)
	list := decode[api.NotificationChannelList](t, call(http.StatusOK, http.MethodGet, coll, nil))
	if len(list.Items) != 1 || list.Items[0].Spec.SigningSecret != "" || !list.Items[0].Status.SigningSecretSet {
		t.Fatalf("list = %+v", list)
	}
	if stored() != first {
		t.Fatal("the store does not hold the secret")
	}

	// "" with the same version keeps the secret; another field changes.
	keep := channelSpec("", 1)
	keep.Description = "on-call"
	wantSet(call(http.StatusOK, http.MethodPut, item, api.UpdateNotificationChannelRequest{Spec: keep}), true, 1)
	if stored() != first {
		t.Fatal("an update without a secret lost it")
	}
	// The same secret again under its version changes nothing.
	wantSet(call(http.StatusOK, http.MethodPut, item, api.UpdateNotificationChannelRequest{Spec: channelSpec(first, 1)}), true, 1)
	// Another secret under the same version, or a new version without a
	// secret, would make the version lie.
	fail("spec.signing_secret_version", http.MethodPut, item, api.UpdateNotificationChannelRequest{Spec: channelSpec(second, 1)})
	fail("spec.signing_secret", http.MethodPut, item, api.UpdateNotificationChannelRequest{Spec: channelSpec("", 2)})
	if stored() != first {
		t.Fatal("a refused update changed the secret")
	}
	// Rotate.
	wantSet(call(http.StatusOK, http.MethodPut, item, api.UpdateNotificationChannelRequest{Spec: channelSpec(second, 2)}, api.HeaderIdempotencyKey, "k2"), true, 2)
	wantSet(call(http.StatusOK, http.MethodPut, item, api.UpdateNotificationChannelRequest{Spec: channelSpec(second, 2)}, api.HeaderIdempotencyKey, "k2"), true, 2)
	if stored() != second {
		t.Fatal("rotation did not store the new secret")
	}
	// Clear, then set again.
	wantSet(call(http.StatusOK, http.MethodPut, item, api.UpdateNotificationChannelRequest{Spec: channelSpec("", 0)}), false, 0)
	if stored() != "" {
		t.Fatal("version 0 did not remove the secret")
	}
	wantSet(call(http.StatusOK, http.MethodPut, item, api.UpdateNotificationChannelRequest{Spec: channelSpec(third, 3)}), true, 3)
	call(http.StatusNoContent, http.MethodDelete, item, nil)

	audit := call(http.StatusOK, http.MethodGet, "/v1/audit?kind="+api.KindNotificationChannel, nil)
	if recs := decode[api.AuditRecordList](t, audit); len(recs.Items) < 6 {
		t.Fatalf("audit records = %+v; want the create, the updates and the delete", recs.Items)
	}
	for _, r := range bodies {
		for _, secret := range []string{first, second, third} {
			if strings.Contains(string(r.Body), secret) {
				t.Fatalf("a response carries a signing secret: %s", r)
			}
		}
	}
}

// TestNotificationChannel_Errors covers the channel's own rules over HTTP.
func TestNotificationChannel_Errors(t *testing.T) {
	c := MustStart(t, mlopsdtest.WithTokens("t"))
	c.token = "t"
	createEnv(c, "dev", api.EnvironmentSpec{})
	coll := objPath("dev", api.KindNotificationChannel, "")
	bad := channelSpec("", 0)
	bad.URL = "mailto:ops@example.com"
	wantError(t, c.do(http.MethodPost, coll, api.CreateNotificationChannelRequest{Name: "ops", Spec: bad}), http.StatusBadRequest, api.EINVALID, "spec.url")
	short := channelSpec("short", 1)
	e := wantError(t, c.do(http.MethodPost, coll, api.CreateNotificationChannelRequest{Name: "ops", Spec: short}), http.StatusBadRequest, api.EINVALID, "spec.signing_secret")
	if strings.Contains(e.Message, "short") {
		t.Fatalf("message quotes the secret: %q", e.Message)
	}
}

// TestAlarm_EvaluatedByTheDaemon checks the wiring: an alarm created over
// HTTP is evaluated by the running reconcilers from the metrics store and
// settles in phase ready.
func TestAlarm_EvaluatedByTheDaemon(t *testing.T) {
	srv := startServer(t)
	c := &apiClient{tb: t, base: srv.URL, http: &http.Client{Timeout: 30 * time.Second}}
	createEnv(c, "dev", api.EnvironmentSpec{})
	now := time.Now().UTC().Truncate(time.Second)
	var points []store.MetricPoint
	for s := -10; s <= 30; s++ {
		points = append(points, store.MetricPoint{Environment: "dev", Series: api.CustomSeriesPrefix + "queue_depth",
			Time: now.Add(time.Duration(s) * time.Second), Count: 1, Sum: 10, Min: 10, Max: 10, Samples: []float64{10}})
	}
	if err := srv.Daemon.Store.AppendMetrics(context.Background(), points); err != nil {
		t.Fatal(err)
	}
	spec := api.AlarmSpec{Metric: api.AlarmMetricCustom, MetricName: "queue_depth", Comparison: api.ComparisonGreaterThan,
		Threshold: "5", PeriodSeconds: 1, EvaluationPeriods: 2}
	c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindAlarm, ""), api.CreateAlarmRequest{Name: "backlog", Spec: spec})
	r := c.waitFor(objPath("dev", api.KindAlarm, "backlog"), 20*time.Second, func(r response) bool {
		a := decode[api.Alarm](t, r)
		return a.Status.Settled(a.Metadata.Generation) && a.Status.State == api.AlarmStateAlarm
	})
	a := decode[api.Alarm](t, r)
	if !strings.Contains(a.Status.StateReason, "custom queue_depth average 10 > 5 in 2 of the last 2 periods of 1s") || a.Status.TransitionCount < 1 {
		t.Fatalf("status = %+v", a.Status)
	}
}
