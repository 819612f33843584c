package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/notify"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// deliveryResult is the outcome of one attempt, kept until the next pass
// over its alarm records it in the status.
type deliveryResult struct {
	alarmUID string
	at       time.Time
	// err is "" for a delivered notification.
	err string
}

func (h *AlarmHandler) backoffMax() time.Duration {
	if h.DeliveryBackoffMax > 0 {
		return h.DeliveryBackoffMax
	}
	return DefaultDeliveryBackoffMax
}

// slots returns the semaphore that bounds the deliveries in flight.
func (h *AlarmHandler) slots() chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sem == nil {
		n := h.MaxConcurrentDeliveries
		if n <= 0 {
			n = DefaultMaxConcurrentDeliveries
		}
		h.sem = make(chan struct{}, n)
	}
	return h.sem
}

// applyResults records the finished attempts of the alarm's pending
// notifications: delivered, failed after api.MaxDeliveryAttempts, or
// pending again after a backoff.
func (h *AlarmHandler) applyResults(uid string, st *api.AlarmStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pending := map[string]bool{}
	for i := range st.Notifications {
		n := &st.Notifications[i]
		if n.State != api.DeliveryPending {
			continue
		}
		pending[n.ID] = true
		r, ok := h.results[n.ID]
		if !ok {
			continue
		}
		delete(h.results, n.ID)
		delete(h.inflight, n.ID)
		n.Attempts++
		if r.err == "" {
			at := r.at
			n.State, n.DeliveredAt, n.NextAttemptAt, n.LastError = api.DeliveryDelivered, &at, nil, ""
			continue
		}
		n.LastError = r.err
		if n.Attempts >= api.MaxDeliveryAttempts {
			n.State, n.NextAttemptAt = api.DeliveryFailed, nil
			continue
		}
		next := r.at.Add(notify.Backoff(n.Attempts, h.backoffMax()))
		n.NextAttemptAt = &next
	}
	// Outcomes of notifications the status no longer holds as pending.
	for id, r := range h.results {
		if r.alarmUID == uid && !pending[id] {
			delete(h.results, id)
			delete(h.inflight, id)
		}
	}
}

// record keeps the outcome of an attempt for the next pass.
func (h *AlarmHandler) record(id, uid string, at time.Time, errText string) {
	h.mu.Lock()
	h.results[id] = deliveryResult{alarmUID: uid, at: at, err: errText}
	h.mu.Unlock()
	if h.Wake != nil {
		h.Wake()
	}
}

// startDeliveries starts an attempt for each pending notification that is
// due and not in flight, as long as a delivery slot is free; the rest wait
// for a later pass.
func (h *AlarmHandler) startDeliveries(ctx context.Context, obj *store.Object, spec api.AlarmSpec, st api.AlarmStatus, now time.Time) error {
	for _, n := range st.Notifications {
		if n.State != api.DeliveryPending || (n.NextAttemptAt != nil && now.Before(*n.NextAttemptAt)) {
			continue
		}
		h.mu.Lock()
		busy := h.inflight[n.ID]
		h.mu.Unlock()
		if busy {
			continue
		}
		d, problem, err := h.prepare(ctx, obj, spec, st, n, now)
		if err != nil {
			return err
		}
		h.mu.Lock()
		h.inflight[n.ID] = true
		h.mu.Unlock()
		if problem != "" {
			h.record(n.ID, obj.Meta.UID, now, problem)
			continue
		}
		sem := h.slots()
		select {
		case sem <- struct{}{}:
		default:
			h.mu.Lock()
			delete(h.inflight, n.ID)
			h.mu.Unlock()
			return nil
		}
		h.wg.Add(1)
		go func(id, uid string) {
			defer h.wg.Done()
			defer func() { <-sem }()
			errText := ""
			if err := h.Sender.Send(h.ctx, d); err != nil {
				errText = err.Error()
			}
			h.record(id, uid, h.now(), errText)
		}(n.ID, obj.Meta.UID)
	}
	return nil
}

// prepare builds the delivery of n, or says why it cannot be sent.
func (h *AlarmHandler) prepare(ctx context.Context, obj *store.Object, spec api.AlarmSpec, st api.AlarmStatus, n api.AlarmNotification, now time.Time) (notify.Delivery, string, error) {
	env := obj.Meta.Environment
	chObj, err := h.Store.Get(ctx, api.Ref{Kind: api.KindNotificationChannel, Environment: env, Name: n.Channel})
	if hasCode(err, api.ENOTFOUND) {
		return notify.Delivery{}, fmt.Sprintf("notification channel %q does not exist in environment %q", n.Channel, env), nil
	}
	if err != nil {
		return notify.Delivery{}, "", err
	}
	var ch api.NotificationChannelSpec
	if err := json.Unmarshal(chObj.Spec, &ch); err != nil {
		return notify.Delivery{}, "", fmt.Errorf("decoding spec of %s: %w", chObj.Ref(), err)
	}
	if ch.Type != api.ChannelWebhook {
		return notify.Delivery{}, fmt.Sprintf("notification channel %q has type %q, which this mlopsd cannot send to", n.Channel, ch.Type), nil
	}
	var tr *api.AlarmTransition
	for i := range st.History {
		if st.History[i].Seq == n.TransitionSeq {
			tr = &st.History[i]
		}
	}
	if tr == nil {
		return notify.Delivery{}, fmt.Sprintf("transition %d is no longer in the alarm's history", n.TransitionSeq), nil
	}
	body, err := json.Marshal(api.AlarmNotificationBody{
		DeliveryID: n.ID, Environment: env, Alarm: obj.Meta.Name, Description: spec.Description,
		PreviousState: tr.From, State: tr.To, Reason: tr.Reason, Value: tr.Value, TransitionSeq: tr.Seq, At: tr.At,
	})
	if err != nil {
		return notify.Delivery{}, "", err
	}
	return notify.Delivery{URL: ch.URL, Secret: ch.SigningSecret, ID: n.ID, Body: body, At: now}, "", nil
}
