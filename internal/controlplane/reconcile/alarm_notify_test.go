package reconcile_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/notify"
)

const webhookSecret = "whsec-0123456789abcdef"

// receiver is a webhook that verifies every delivery's signature and
// answers with the next status of its script (the last one repeats).
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	script []int
	got    []api.AlarmNotificationBody
	ids    []string
	srv    *httptest.Server
}

func newReceiver(t *testing.T, secret string, script ...int) *receiver {
	r := &receiver{t: t, secret: secret, script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.t.Errorf("reading a delivery: %v", err)
	}
	sig := req.Header.Get(api.HeaderSignature)
	if r.secret != "" && !notify.Verify(r.secret, req.Header.Get(api.HeaderTimestamp), body, sig) {
		r.t.Errorf("delivery %s: signature %q does not verify", req.Header.Get(api.HeaderDeliveryID), sig)
	}
	if r.secret == "" && sig != "" {
		r.t.Errorf("a channel without a secret signed: %q", sig)
	}
	var b api.AlarmNotificationBody
	if err := json.Unmarshal(body, &b); err != nil {
		r.t.Errorf("delivery body %s: %v", body, err)
	}
	r.mu.Lock()
	r.got = append(r.got, b)
	r.ids = append(r.ids, req.Header.Get(api.HeaderDeliveryID))
	status := r.script[min(len(r.got)-1, len(r.script)-1)]
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) deliveries() []api.AlarmNotificationBody {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]api.AlarmNotificationBody(nil), r.got...)
}

// channel stores a notification channel to the receiver.
func (f *alarmFixture) channel(name, url, secret string) {
	version := int64(0)
	if secret != "" {
		version = 1
	}
	f.put(api.KindNotificationChannel, "dev", name, api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: url, SigningSecret: secret, SigningSecretVersion: version},
		api.NotificationChannelStatus{Status: api.Status{Phase: api.PhaseReady, ObservedGeneration: 1}})
}

// settle waits for the deliveries in flight and records their outcome.
func (f *alarmFixture) settle(name string) api.Alarm {
	f.tb.Helper()
	f.h.WaitDeliveries()
	return f.step(name)
}

func TestAlarm_NotifiesSignedWebhook(t *testing.T) {
	f := newAlarmFixture(t)
	ops := newReceiver(t, webhookSecret, http.StatusOK)
	plain := newReceiver(t, "", http.StatusNoContent)
	f.channel("ops", ops.srv.URL, webhookSecret)
	f.channel("plain", plain.srv.URL, "")
	s := errorRate(1, 1)
	s.Description = "too many errors"
	s.Actions.NotificationChannels = []string{"ops", "plain"}
	f.alarm("errors", s)
	f.append(predictions(25, 10, 5), predictions(35, 10, 0))

	a := f.step("errors")
	// The transition and its notifications are in one status write.
	if a.Status.TransitionCount != 1 || len(a.Status.Notifications) != 2 {
		t.Fatalf("status = %+v", a.Status)
	}
	for _, n := range a.Status.Notifications {
		if n.State != api.DeliveryPending || n.TransitionSeq != 1 || n.ID != a.Metadata.UID+"-1-"+n.Channel {
			t.Fatalf("notification = %+v", n)
		}
	}
	a = f.settle("errors")
	for _, n := range a.Status.Notifications {
		if n.State != api.DeliveryDelivered || n.Attempts != 1 || n.DeliveredAt == nil || n.LastError != "" {
			t.Fatalf("notification = %+v", n)
		}
	}
	got := ops.deliveries()
	if len(got) != 1 || len(plain.deliveries()) != 1 {
		t.Fatalf("deliveries: ops %d, plain %d; want one each", len(got), len(plain.deliveries()))
	}
	b := got[0]
	if b.DeliveryID != a.Metadata.UID+"-1-ops" || ops.ids[0] != b.DeliveryID || b.Environment != "dev" || b.Alarm != "errors" ||
		b.Description != "too many errors" || b.PreviousState != api.AlarmStateInsufficientData || b.State != api.AlarmStateAlarm ||
		b.TransitionSeq != 1 || b.Value == nil || *b.Value != 50 || !strings.Contains(b.Reason, "error_rate average 50 > 5") || !b.At.Equal(f.clock.Now()) {
		t.Fatalf("body = %+v", b)
	}

	// More passes, and a restarted handler, send nothing again.
	f.step("errors")
	f.settle("errors")
	restarted := f.newHandler(nil)
	f.stepWith(restarted, "errors")
	restarted.WaitDeliveries()
	if n := len(ops.deliveries()); n != 1 {
		t.Fatalf("%d deliveries to ops after repeated passes; want 1", n)
	}

	// Back to OK: a second transition, a second notification.
	f.advance(10 * time.Second)
	a = f.step("errors")
	wantState(t, a, api.AlarmStateOK, "")
	a = f.settle("errors")
	if got := ops.deliveries(); len(got) != 2 || got[1].State != api.AlarmStateOK || got[1].PreviousState != api.AlarmStateAlarm || got[1].TransitionSeq != 2 {
		t.Fatalf("deliveries = %+v", got)
	}
	if len(a.Status.Notifications) != 4 {
		t.Fatalf("notifications = %+v", a.Status.Notifications)
	}
}

func TestAlarm_NotifyOnlyOnListedStates(t *testing.T) {
	f := newAlarmFixture(t)
	ops := newReceiver(t, "", http.StatusOK)
	f.channel("ops", ops.srv.URL, "")
	s := errorRate(1, 1)
	s.Actions.NotificationChannels = []string{"ops"}
	s.Actions.NotifyOn = []string{api.AlarmStateOK}
	f.alarm("errors", s)
	f.append(predictions(25, 10, 5), predictions(35, 10, 0))
	if a := f.step("errors"); a.Status.State != api.AlarmStateAlarm || len(a.Status.Notifications) != 0 {
		t.Fatalf("ALARM enqueued notifications: %+v", a.Status)
	}
	f.advance(10 * time.Second)
	if a := f.step("errors"); a.Status.State != api.AlarmStateOK || len(a.Status.Notifications) != 1 || a.Status.Notifications[0].TransitionSeq != 2 {
		t.Fatalf("OK did not enqueue one notification: %+v", a.Status)
	}
}

func TestAlarm_NotificationRetriesWithBackoff(t *testing.T) {
	f := newAlarmFixture(t)
	ops := newReceiver(t, webhookSecret, http.StatusInternalServerError, http.StatusBadGateway, http.StatusOK)
	f.channel("ops", ops.srv.URL, webhookSecret)
	s := errorRate(1, 1)
	s.Actions.NotificationChannels = []string{"ops"}
	f.alarm("errors", s)
	f.append(predictions(25, 10, 5))
	f.step("errors")
	start := f.clock.Now()

	a := f.settle("errors")
	n := a.Status.Notifications[0]
	if n.State != api.DeliveryPending || n.Attempts != 1 || !strings.Contains(n.LastError, "500 Internal Server Error") || !n.NextAttemptAt.Equal(start.Add(time.Second)) {
		t.Fatalf("after the first attempt: %+v", n)
	}
	// Not due yet: nothing is sent.
	f.settle("errors")
	if len(ops.deliveries()) != 1 {
		t.Fatalf("%d deliveries before the backoff passed", len(ops.deliveries()))
	}
	f.advance(time.Second)
	f.step("errors")
	a = f.settle("errors")
	n = a.Status.Notifications[0]
	if n.Attempts != 2 || !strings.Contains(n.LastError, "502 Bad Gateway") || !n.NextAttemptAt.Equal(start.Add(3*time.Second)) {
		t.Fatalf("after the second attempt: %+v", n)
	}
	f.advance(2 * time.Second)
	f.step("errors")
	a = f.settle("errors")
	n = a.Status.Notifications[0]
	if n.State != api.DeliveryDelivered || n.Attempts != 3 || n.LastError != "" || n.NextAttemptAt != nil {
		t.Fatalf("after the third attempt: %+v", n)
	}
	got := ops.deliveries()
	if len(got) != 3 || got[0].DeliveryID != got[2].DeliveryID {
		t.Fatalf("deliveries = %+v; want three of the same notification", got)
	}
}

func TestAlarm_NotificationGivesUp(t *testing.T) {
	f := newAlarmFixture(t)
	dead := newReceiver(t, "", http.StatusServiceUnavailable)
	f.channel("dead", dead.srv.URL, "")
	s := errorRate(1, 1)
	s.Actions.NotificationChannels = []string{"dead", "gone"}
	f.alarm("dead-letter", s)
	f.append(predictions(25, 10, 5))
	a := f.step("dead-letter")
	if !strings.Contains(a.Status.Message, `notification channel "gone" of the actions does not exist`) {
		t.Errorf("message %q does not report the missing channel", a.Status.Message)
	}
	for range api.MaxDeliveryAttempts + 2 {
		f.settle("dead-letter")
		f.advance(time.Minute)
		f.step("dead-letter")
	}
	a = f.settle("dead-letter")
	for _, n := range a.Status.Notifications {
		if n.State != api.DeliveryFailed || n.Attempts != api.MaxDeliveryAttempts || n.NextAttemptAt != nil {
			t.Fatalf("notification = %+v", n)
		}
	}
	byChannel := map[string]string{}
	for _, n := range a.Status.Notifications {
		byChannel[n.Channel] = n.LastError
	}
	if !strings.Contains(byChannel["dead"], "503 Service Unavailable") || !strings.Contains(byChannel["gone"], `notification channel "gone" does not exist`) {
		t.Fatalf("last errors = %q", byChannel)
	}
	if n := len(dead.deliveries()); n != api.MaxDeliveryAttempts {
		t.Fatalf("%d attempts at the dead webhook; want %d", n, api.MaxDeliveryAttempts)
	}
}
