package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// TestMethods_Alarms checks the typed methods of alarms and notification
// channels the way TestMethods checks the others: method, path and
// idempotency key.
func TestMethods_Alarms(t *testing.T) {
	type seen struct{ method, path, idemKey string }
	var mu sync.Mutex
	var last seen
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = seen{r.Method, r.URL.EscapedPath(), r.Header.Get(api.HeaderIdempotencyKey)}
		mu.Unlock()
		switch r.Method {
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"metadata":{"name":"x"}}`))
		default:
			_, _ = w.Write([]byte(`{"metadata":{"name":"x"},"items":[]}`))
		}
	})
	ctx := context.Background()
	opts := api.ListOptions{}
	for _, tc := range []struct {
		name   string
		call   func() error
		method string
		path   string
	}{
		{"CreateAlarm", func() error { _, err := c.CreateAlarm(ctx, "dev", "errors", api.AlarmSpec{}); return err }, "POST", "/v1/environments/dev/alarms"},
		{"GetAlarm", func() error { _, err := c.GetAlarm(ctx, "dev", "errors"); return err }, "GET", "/v1/environments/dev/alarms/errors"},
		{"UpdateAlarm", func() error { _, err := c.UpdateAlarm(ctx, "dev", "errors", api.AlarmSpec{}, ""); return err }, "PUT", "/v1/environments/dev/alarms/errors"},
		{"DeleteAlarm", func() error { _, err := c.DeleteAlarm(ctx, "dev", "errors"); return err }, "DELETE", "/v1/environments/dev/alarms/errors"},
		{"ListAlarms", func() error { _, err := c.ListAlarms(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/alarms"},

		{"CreateNotificationChannel", func() error {
			_, err := c.CreateNotificationChannel(ctx, "dev", "ops", api.NotificationChannelSpec{})
			return err
		}, "POST", "/v1/environments/dev/notification-channels"},
		{"GetNotificationChannel", func() error { _, err := c.GetNotificationChannel(ctx, "dev", "ops"); return err }, "GET", "/v1/environments/dev/notification-channels/ops"},
		{"UpdateNotificationChannel", func() error {
			_, err := c.UpdateNotificationChannel(ctx, "dev", "ops", api.NotificationChannelSpec{}, "")
			return err
		}, "PUT", "/v1/environments/dev/notification-channels/ops"},
		{"DeleteNotificationChannel", func() error { _, err := c.DeleteNotificationChannel(ctx, "dev", "ops"); return err }, "DELETE", "/v1/environments/dev/notification-channels/ops"},
		{"ListNotificationChannels", func() error { _, err := c.ListNotificationChannels(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/notification-channels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := last
			mu.Unlock()
			if got.method != tc.method || got.path != tc.path {
				t.Errorf("sent %s %s, want %s %s", got.method, got.path, tc.method, tc.path)
			}
			if isWrite := tc.method != http.MethodGet; isWrite != (got.idemKey != "") {
				t.Errorf("Idempotency-Key = %q on %s", got.idemKey, got.method)
			}
		})
	}
}

// TestGetAlarm_DecodesStatus checks that the evaluator's view of an alarm
// arrives whole: state, datapoints, history and notifications.
func TestGetAlarm_DecodesStatus(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	value := 42.5
	want := api.Alarm{
		Metadata: api.Metadata{Name: "errors", Environment: "dev", UID: "u1", Generation: 2, ETag: "e2"},
		Spec:     api.AlarmSpec{Metric: api.AlarmMetricErrorRate, Endpoint: "api", Threshold: "5", PeriodSeconds: 10, EvaluationPeriods: 3},
		Status: api.AlarmStatus{
			Status: api.Status{Phase: api.PhaseReady, ObservedGeneration: 2},
			State:  api.AlarmStateAlarm, StateReason: "error_rate average 42.5 > 5 in 3 of the last 3 periods of 10s",
			StateChangedAt: &at, TransitionCount: 1,
			Datapoints:    []api.AlarmDatapoint{{Start: at, Value: &value, Samples: 40, Breaching: true}},
			History:       []api.AlarmTransition{{Seq: 1, From: api.AlarmStateInsufficientData, To: api.AlarmStateAlarm, At: at, Value: &value}},
			Notifications: []api.AlarmNotification{{ID: "n1", Channel: "ops", TransitionSeq: 1, State: api.DeliveryDelivered, Attempts: 1, DeliveredAt: &at}},
		},
	}
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(t, w, http.StatusOK, want)
	})
	got, err := c.GetAlarm(context.Background(), "dev", "errors")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatalf("decoded\n%s\nwant\n%s", a, b)
	}
}

// TestUpdateNotificationChannel_SendsSecretAndIfMatch checks that the
// write-only secret and its version travel in the body, and the etag in
// If-Match.
func TestUpdateNotificationChannel_SendsSecretAndIfMatch(t *testing.T) {
	var mu sync.Mutex
	var body api.UpdateNotificationChannelRequest
	var ifMatch string
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if err := json.Unmarshal(b, &body); err != nil {
			t.Error(err)
		}
		ifMatch = r.Header.Get(api.HeaderIfMatch)
		writeJSON(t, w, http.StatusOK, api.NotificationChannel{
			Metadata: api.Metadata{Name: "ops"},
			Spec:     api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: body.Spec.URL, SigningSecretVersion: body.Spec.SigningSecretVersion},
			Status:   api.NotificationChannelStatus{SigningSecretSet: true},
		})
	})
	spec := api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "https://h/x", SigningSecret: "0123456789abcdef", SigningSecretVersion: 2}
	got, err := c.UpdateNotificationChannel(context.Background(), "dev", "ops", spec, "e7")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if body.Spec != spec || ifMatch == "" {
		t.Fatalf("sent spec %+v with If-Match %q", body.Spec, ifMatch)
	}
	if !got.Status.SigningSecretSet || got.Spec.SigningSecret != "" || got.Spec.SigningSecretVersion != 2 {
		t.Fatalf("decoded %+v", got)
	}
}
