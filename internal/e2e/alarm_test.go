package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/notify"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// TestAlarm_NotifiesAndRetrains runs the whole loop on a real mlopsd: a
// custom metric crosses an alarm's threshold, the alarm goes to ALARM, a
// signed webhook is delivered once, and the pipeline the alarm names starts
// exactly one run with trigger alarm.
func TestAlarm_NotifiesAndRetrains(t *testing.T) {
	f := newFixture(t)
	const secret = "e2e-signing-secret-0123"
	var mu sync.Mutex
	var got []api.AlarmNotificationBody
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !notify.Verify(secret, r.Header.Get(api.HeaderTimestamp), body, r.Header.Get(api.HeaderSignature)) {
			t.Errorf("delivery %s does not verify", r.Header.Get(api.HeaderDeliveryID))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var b api.AlarmNotificationBody
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("delivery body %s: %v", body, err)
		}
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
	}))
	defer hook.Close()

	ch, err := f.c.CreateNotificationChannel(f.ctx, "dev", "ops", api.NotificationChannelSpec{
		Type: api.ChannelWebhook, URL: hook.URL, SigningSecret: secret, SigningSecretVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Spec.SigningSecret != "" || !ch.Status.SigningSecretSet {
		t.Fatalf("channel = %+v", ch)
	}
	if _, err := f.c.CreateTrainingPipeline(f.ctx, "dev", "retrain", api.TrainingPipelineSpec{
		ComputePool: "cpu", Model: "house-prices", Steps: []api.PipelineStep{{Name: "train", Command: []string{"true"}}},
	}); err != nil {
		t.Fatal(err)
	}
	// The pushed metric stands above the threshold from before the alarm
	// exists until well after the test ends.
	now := time.Now().UTC().Truncate(time.Second)
	var points []store.MetricPoint
	for s := -5; s <= 120; s++ {
		points = append(points, store.MetricPoint{Environment: "dev", Series: api.CustomSeriesPrefix + "queue_depth",
			Time: now.Add(time.Duration(s) * time.Second), Count: 1, Sum: 12, Min: 12, Max: 12, Samples: []float64{12}})
	}
	if err := f.srv.Daemon.Store.AppendMetrics(f.ctx, points); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateAlarm(f.ctx, "dev", "backlog", api.AlarmSpec{
		Description: "the queue is backing up", Metric: api.AlarmMetricCustom, MetricName: "queue_depth",
		Comparison: api.ComparisonGreaterThan, Threshold: "10", PeriodSeconds: 1, EvaluationPeriods: 2,
		Actions: api.AlarmActions{NotificationChannels: []string{"ops"}, StartPipelines: []string{"retrain"}},
	}); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(waitTimeout)
	var a *api.Alarm
	for {
		a, err = f.c.GetAlarm(f.ctx, "dev", "backlog")
		if err != nil {
			t.Fatal(err)
		}
		if a.Status.State == api.AlarmStateAlarm && len(a.Status.Notifications) == 1 && a.Status.Notifications[0].State == api.DeliveryDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alarm did not fire and notify: %+v", a.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	run := f.waitRun("retrain-1", finished)
	if run.Spec.Trigger != api.TriggerAlarm || run.Status.Phase != api.PhaseSucceeded {
		t.Fatalf("run retrain-1: trigger %s, %s (%s)", run.Spec.Trigger, run.Status.Phase, run.Status.Message)
	}
	// The alarm stays in ALARM: one transition, one run, one delivery.
	time.Sleep(300 * time.Millisecond)
	if _, err := f.c.GetPipelineRun(f.ctx, "dev", "retrain-2"); !client.IsNotFound(err) {
		t.Fatalf("a second run started: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Alarm != "backlog" || got[0].State != api.AlarmStateAlarm || got[0].Description != "the queue is backing up" || got[0].TransitionSeq != 1 {
		t.Fatalf("deliveries = %+v", got)
	}
}
