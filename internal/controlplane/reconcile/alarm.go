package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/drift"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/notify"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// DefaultMetricsIngestDelay is how long after a period ends its metrics are
// taken as complete: the gateway flushes its points every second.
const DefaultMetricsIngestDelay = 2 * time.Second

// Defaults of the notification deliveries.
const (
	// DefaultMaxConcurrentDeliveries bounds the deliveries in flight at
	// once, over all alarms.
	DefaultMaxConcurrentDeliveries = 4
	// DefaultDeliveryBackoffMax caps the wait between two attempts of one
	// delivery (1s, 2s, 4s, ...).
	DefaultDeliveryBackoffMax = time.Minute
)

// AlarmHandler evaluates alarms. It is a Watcher: it sees every alarm on
// every pass, because what it reacts to is time and the metrics store, not
// the alarm's spec.
//
// Periods are aligned to multiples of period_seconds since the Unix epoch.
// Once per newly completed period (one that ended at least IngestDelay
// ago) it computes the statistic of each of the last N periods from the
// metrics store, decides the state by M of N and the treatment of missing
// data, and records the evaluation: state, reason, datapoints and, on a
// change, a transition in the history. A spec change is evaluated at once;
// the state carries over. Periods already evaluated under the same
// generation are taken from the status rather than queried again.
//
// A transition into a state of actions.notify_on enqueues one notification
// per channel in the same status write; their ids derive from the alarm's
// uid, the transition's seq and the channel, so a pass repeated after a
// crash never enqueues twice. Pending notifications are sent in the
// background, a few at a time and each with a timeout, so a dead webhook
// never holds up the reconcile loop; the outcome is recorded on the next
// pass, and failed attempts are retried with exponential backoff up to
// api.MaxDeliveryAttempts.
type AlarmHandler struct {
	Store store.Store
	// Now is injectable for tests; nil means time.Now.
	Now func() time.Time
	// IngestDelay is how long after its end a period is evaluated; zero
	// evaluates at once.
	IngestDelay time.Duration
	// Baselines reads the model versions' baseline files.
	Baselines *drift.Loader
	// Sender posts the notifications.
	Sender *notify.Sender
	// MaxConcurrentDeliveries bounds the deliveries in flight; zero means
	// DefaultMaxConcurrentDeliveries.
	MaxConcurrentDeliveries int
	// DeliveryBackoffMax caps the wait between attempts; zero means
	// DefaultDeliveryBackoffMax.
	DeliveryBackoffMax time.Duration
	// Wake, when set, is called when a delivery finished, so the outcome
	// is recorded without waiting for the next tick.
	Wake func()

	metrics *alarmMetrics

	mu       sync.Mutex
	inflight map[string]bool
	results  map[string]deliveryResult
	sem      chan struct{}
	wg       sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
}

var (
	_ Watcher      = (*AlarmHandler)(nil)
	_ PassObserver = (*AlarmHandler)(nil)
)

// NewAlarmHandler returns an alarm handler on st whose Prometheus series go
// to reg (nil skips them).
func NewAlarmHandler(st store.Store, reg prometheus.Registerer) *AlarmHandler {
	ctx, cancel := context.WithCancel(context.Background())
	h := &AlarmHandler{
		Store:     st,
		Baselines: &drift.Loader{},
		Sender:    &notify.Sender{},
		metrics:   newAlarmMetrics(),
		inflight:  map[string]bool{},
		results:   map[string]deliveryResult{},
		ctx:       ctx,
		cancel:    cancel,
	}
	if reg != nil {
		reg.MustRegister(h.metrics)
	}
	return h
}

// WatchAll implements Watcher.
func (h *AlarmHandler) WatchAll() bool { return true }

func (h *AlarmHandler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// Observed implements PassObserver: it forgets the series and deliveries
// of alarms that are gone.
func (h *AlarmHandler) Observed(objs []*store.Object) {
	live := make(map[string]bool, len(objs))
	for _, o := range objs {
		live[o.Meta.UID] = true
	}
	h.metrics.retain(live)
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, r := range h.results {
		if !live[r.alarmUID] {
			delete(h.results, id)
			delete(h.inflight, id)
		}
	}
}

// Close stops the deliveries in flight and waits for them.
func (h *AlarmHandler) Close() {
	h.cancel()
	h.wg.Wait()
}

// WaitDeliveries waits until the deliveries in flight are done; their
// outcome is recorded by the next Reconcile. Tests use it to step the
// handler deterministically.
func (h *AlarmHandler) WaitDeliveries() { h.wg.Wait() }

// Reconcile implements Handler.
func (h *AlarmHandler) Reconcile(ctx context.Context, obj *store.Object) error {
	var spec api.AlarmSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	var st api.AlarmStatus
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	now := h.now()
	var gauge map[string]float64
	if end := h.periodEnd(spec, now); st.ObservedGeneration != obj.Meta.Generation || st.LastEvaluatedAt == nil || end.After(*st.LastEvaluatedAt) {
		var err error
		if gauge, err = h.evaluate(ctx, obj, spec, &st, end, now); err != nil {
			return err
		}
	}
	h.applyResults(obj.Meta.UID, &st)
	cur, err := writeAlarmStatus(ctx, h.Store, obj, st)
	if err != nil {
		return err
	}
	h.metrics.set(obj, spec, st, gauge)
	return h.startDeliveries(ctx, cur, spec, st, now)
}

// periodEnd is the end of the newest period that ended at least
// IngestDelay before now, aligned to period_seconds since the epoch.
func (h *AlarmHandler) periodEnd(spec api.AlarmSpec, now time.Time) time.Time {
	p := spec.PeriodSeconds
	if p <= 0 {
		p = 1
	}
	t := now.Add(-h.IngestDelay).Unix()
	end := t - mod(t, p)
	return time.Unix(end, 0).UTC()
}

// mod is the non-negative remainder of a / b.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// evaluate computes the last N periods ending at end, decides the state and
// records it in st. It returns the drift of each feature in the newest
// period, for drift alarms.
func (h *AlarmHandler) evaluate(ctx context.Context, obj *store.Object, spec api.AlarmSpec, st *api.AlarmStatus, end, now time.Time) (map[string]float64, error) {
	period := time.Duration(spec.PeriodSeconds) * time.Second
	n := int(spec.EvaluationPeriods)
	starts := make([]time.Time, n)
	for i := range starts {
		starts[i] = end.Add(-time.Duration(n-i) * period)
	}
	// Periods evaluated before under this generation keep their values:
	// their points were complete then.
	dps := make([]api.AlarmDatapoint, n)
	first := 0
	if st.ObservedGeneration == obj.Meta.Generation {
		old := map[int64]api.AlarmDatapoint{}
		for _, dp := range st.Datapoints {
			old[dp.Start.Unix()] = dp
		}
		for first < n {
			dp, ok := old[starts[first].Unix()]
			if !ok {
				break
			}
			dps[first] = dp
			first++
		}
	}
	threshold, err := strconv.ParseFloat(spec.Threshold, 64)
	if err != nil {
		return nil, fmt.Errorf("threshold of %s: %w", obj.Ref(), err)
	}
	var gauge map[string]float64
	if first < n {
		m := &measurement{h: h, obj: obj, spec: spec, starts: starts[first:], period: period, minSamples: minSamples(spec)}
		values, g, err := m.measure(ctx)
		if err != nil {
			return nil, err
		}
		gauge = g
		for i, v := range values {
			dp := api.AlarmDatapoint{Start: starts[first+i], Samples: v.samples, Detail: v.detail, Value: v.value, FeatureDrift: v.featureDrift}
			dp.Breaching = breaching(spec, dp, threshold)
			dps[first+i] = dp
		}
	}

	state, reason := decide(spec, st.State, dps)
	notes := h.missingRefs(ctx, obj.Meta.Environment, spec)
	st.Datapoints = dps
	st.LastEvaluatedAt = &end
	if st.State == "" {
		st.State = api.AlarmStateInsufficientData
	}
	if state != st.State {
		h.transition(obj, spec, st, state, reason, newestValue(dps), now)
	}
	st.StateReason = reason
	st.ObservedGeneration = obj.Meta.Generation
	st.Phase, st.Reason = api.PhaseReady, ""
	st.Message = strings.Join(append([]string{st.State + ": " + reason}, notes...), "; ")
	st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionTrue, Reason: "Evaluated", Message: st.Message}, now)
	return gauge, nil
}

// minSamples is the alarm's min_samples with its default.
func minSamples(spec api.AlarmSpec) int64 {
	switch {
	case spec.MinSamples > 0:
		return spec.MinSamples
	case spec.Metric == api.AlarmMetricFeatureDriftPSI || spec.Metric == api.AlarmMetricFeatureDriftKS:
		return api.DefaultDriftMinSamples
	}
	return 1
}

// breaching says whether a period counts as breaching: its value compared
// with the threshold, or, without a value, what missing_data says.
func breaching(spec api.AlarmSpec, dp api.AlarmDatapoint, threshold float64) bool {
	if dp.Value == nil {
		return spec.MissingData == api.MissingDataBreaching
	}
	return api.Breaches(spec.Comparison, *dp.Value, threshold)
}

// counted reports whether a period takes part in M of N: one with a value,
// or without one when missing data counts as breaching or not breaching.
func counted(spec api.AlarmSpec, dp api.AlarmDatapoint) bool {
	return dp.Value != nil || spec.MissingData == api.MissingDataBreaching || spec.MissingData == api.MissingDataNotBreaching
}

var comparisonSymbols = map[string]string{
	api.ComparisonGreaterThan: ">", api.ComparisonGreaterThanOrEqualTo: ">=",
	api.ComparisonLessThan: "<", api.ComparisonLessThanOrEqualTo: "<=",
}

// decide applies M of N and the treatment of missing data to the periods
// and returns the state and the reason, with the numbers.
func decide(spec api.AlarmSpec, current string, dps []api.AlarmDatapoint) (string, string) {
	n, m := len(dps), int(spec.DatapointsToAlarm)
	if m <= 0 {
		m = n
	}
	var breached, present int
	for _, dp := range dps {
		if counted(spec, dp) {
			present++
		}
		if dp.Breaching {
			breached++
		}
	}
	label := alarmLabel(spec)
	window := fmt.Sprintf("the last %d periods of %ds", n, spec.PeriodSeconds)
	if n == 1 {
		window = fmt.Sprintf("the last period of %ds", spec.PeriodSeconds)
	}
	sym := comparisonSymbols[spec.Comparison]
	switch {
	case breached >= m:
		// The newest breaching period with a value says by how much.
		for i := n - 1; i >= 0; i-- {
			if dps[i].Breaching && dps[i].Value != nil {
				return api.AlarmStateAlarm, fmt.Sprintf("%s %s%s %s %s in %d of %s",
					label, formatValue(*dps[i].Value), detailSuffix(dps[i]), sym, spec.Threshold, breached, window)
			}
		}
		return api.AlarmStateAlarm, fmt.Sprintf("%s: no data in %d of %s, treated as breaching (missing_data %s; %s)",
			label, breached, window, spec.MissingData, newestDetail(dps))
	case present == 0 && spec.MissingData == api.MissingDataIgnore && current != "":
		return current, fmt.Sprintf("no data in %s (%s); missing_data ignore keeps the state %s", window, newestDetail(dps), current)
	case present == 0:
		return api.AlarmStateInsufficientData, fmt.Sprintf("no data in %s: %s", window, newestDetail(dps))
	}
	for i := n - 1; i >= 0; i-- {
		if dps[i].Value != nil {
			return api.AlarmStateOK, fmt.Sprintf("%s %s%s (newest) not %s %s often enough: %d of %s breaching, %d needed",
				label, formatValue(*dps[i].Value), detailSuffix(dps[i]), sym, spec.Threshold, breached, window, m)
		}
	}
	return api.AlarmStateOK, fmt.Sprintf("%s: no data in %s, treated as not breaching (missing_data %s; %s)", label, window, spec.MissingData, newestDetail(dps))
}

// alarmLabel names what the alarm computes, e.g. "error_rate average" or
// "custom online_accuracy minimum".
func alarmLabel(spec api.AlarmSpec) string {
	parts := []string{spec.Metric}
	if spec.MetricName != "" {
		parts = append(parts, spec.MetricName)
	}
	return strings.Join(append(parts, spec.Statistic), " ")
}

func detailSuffix(dp api.AlarmDatapoint) string {
	if dp.Detail == "" {
		return ""
	}
	return " (" + dp.Detail + ")"
}

// newestDetail is why the newest period has no value.
func newestDetail(dps []api.AlarmDatapoint) string {
	for i := len(dps) - 1; i >= 0; i-- {
		if dps[i].Value == nil && dps[i].Detail != "" {
			return dps[i].Detail
		}
	}
	return "no observations"
}

func newestValue(dps []api.AlarmDatapoint) *float64 {
	if len(dps) == 0 {
		return nil
	}
	return dps[len(dps)-1].Value
}

// formatValue prints a statistic with up to six significant digits.
func formatValue(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// transition records a change of state and enqueues its notifications.
func (h *AlarmHandler) transition(obj *store.Object, spec api.AlarmSpec, st *api.AlarmStatus, to, reason string, value *float64, now time.Time) {
	st.TransitionCount++
	seq := st.TransitionCount
	st.History = append(st.History, api.AlarmTransition{Seq: seq, From: st.State, To: to, At: now, Reason: reason, Value: value})
	if extra := len(st.History) - api.MaxAlarmHistory; extra > 0 {
		st.History = slices.Delete(st.History, 0, extra)
	}
	st.State = to
	st.StateChangedAt = &now
	if !slices.Contains(spec.Actions.NotifyOn, to) {
		return
	}
	for _, ch := range spec.Actions.NotificationChannels {
		id := notificationID(obj.Meta.UID, seq, ch)
		if slices.ContainsFunc(st.Notifications, func(n api.AlarmNotification) bool { return n.ID == id }) {
			continue
		}
		st.Notifications = append(st.Notifications, api.AlarmNotification{ID: id, Channel: ch, TransitionSeq: seq, State: api.DeliveryPending})
	}
	st.Notifications = trimNotifications(st.Notifications)
}

// notificationID names one delivery of one transition to one channel.
func notificationID(uid string, seq int64, channel string) string {
	return fmt.Sprintf("%s-%d-%s", uid, seq, channel)
}

// trimNotifications keeps at most api.MaxAlarmNotifications, dropping the
// oldest finished ones first.
func trimNotifications(ns []api.AlarmNotification) []api.AlarmNotification {
	for len(ns) > api.MaxAlarmNotifications {
		i := slices.IndexFunc(ns, func(n api.AlarmNotification) bool { return n.State != api.DeliveryPending })
		if i < 0 {
			i = 0
		}
		ns = slices.Delete(ns, i, i+1)
	}
	return ns
}

// missingRefs names the channels and pipelines of the actions that do not
// exist (any more): deleting them is allowed, the alarm reports it.
func (h *AlarmHandler) missingRefs(ctx context.Context, env string, spec api.AlarmSpec) []string {
	var notes []string
	for _, ref := range []struct {
		kind, what string
		names      []string
	}{
		{api.KindNotificationChannel, "notification channel", spec.Actions.NotificationChannels},
		{api.KindTrainingPipeline, "training pipeline", spec.Actions.StartPipelines},
	} {
		for _, name := range ref.names {
			if _, err := h.Store.Get(ctx, api.Ref{Kind: ref.kind, Environment: env, Name: name}); hasCode(err, api.ENOTFOUND) {
				notes = append(notes, fmt.Sprintf("%s %q of the actions does not exist in environment %q", ref.what, name, env))
			}
		}
	}
	return notes
}

// writeAlarmStatus stores st unless it equals the stored status and
// returns the object as stored.
func writeAlarmStatus(ctx context.Context, s store.Store, obj *store.Object, st api.AlarmStatus) (*store.Object, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	if string(b) == string(obj.Status) {
		return obj, nil
	}
	return s.UpdateStatus(ctx, obj.Ref(), obj.Meta.UID, b)
}

// finite reports whether v is a number a datapoint can carry.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
