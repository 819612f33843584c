package reconcile

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// alarmMetrics exports the evaluator's view of each alarm:
//
//	mlopsd_alarm_state{environment,alarm,state}   1 for the current state, 0 for the others
//	mlopsd_alarm_value{environment,alarm}         the newest period's statistic
//	mlopsd_feature_drift{environment,endpoint,feature,statistic}  drift alarms' newest period, per feature
//
// It is a collector over what the last evaluations found, so the series
// of a deleted alarm go with it.
type alarmMetrics struct {
	state, value, drift *prometheus.Desc

	mu     sync.Mutex
	alarms map[string]alarmSeries
}

type alarmSeries struct {
	env, name, endpoint, statistic string
	state                          string
	value                          *float64
	// drift maps a feature to its statistic; nil for other metrics.
	drift map[string]float64
}

func newAlarmMetrics() *alarmMetrics {
	return &alarmMetrics{
		state: prometheus.NewDesc("mlopsd_alarm_state", "1 for the state an alarm is in, 0 for the others.",
			[]string{"environment", "alarm", "state"}, nil),
		value: prometheus.NewDesc("mlopsd_alarm_value", "The statistic of an alarm's newest evaluated period.",
			[]string{"environment", "alarm"}, nil),
		drift: prometheus.NewDesc("mlopsd_feature_drift", "Drift of an endpoint's inputs from the baseline in a drift alarm's newest period, per feature (the largest over model versions).",
			[]string{"environment", "endpoint", "feature", "statistic"}, nil),
		alarms: map[string]alarmSeries{},
	}
}

// Describe implements prometheus.Collector.
func (m *alarmMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.state
	ch <- m.value
	ch <- m.drift
}

// Collect implements prometheus.Collector.
func (m *alarmMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	uids := make([]string, 0, len(m.alarms))
	for uid := range m.alarms {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	seen := map[[4]string]bool{}
	for _, uid := range uids {
		a := m.alarms[uid]
		for _, s := range api.AlarmStates {
			v := 0.0
			if s == a.state {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(m.state, prometheus.GaugeValue, v, a.env, a.name, s)
		}
		if a.value != nil {
			ch <- prometheus.MustNewConstMetric(m.value, prometheus.GaugeValue, *a.value, a.env, a.name)
		}
		features := make([]string, 0, len(a.drift))
		for f := range a.drift {
			features = append(features, f)
		}
		sort.Strings(features)
		for _, f := range features {
			// Two alarms on one endpoint and statistic (one per variant,
			// say) report the same series; the first one counts.
			key := [4]string{a.env, a.endpoint, f, a.statistic}
			if seen[key] {
				continue
			}
			seen[key] = true
			ch <- prometheus.MustNewConstMetric(m.drift, prometheus.GaugeValue, a.drift[f], a.env, a.endpoint, f, a.statistic)
		}
	}
}

// set records an alarm's evaluation. drift is the newest period's drift per
// feature when the pass evaluated one, nil when it kept the last.
func (m *alarmMetrics) set(obj *store.Object, spec api.AlarmSpec, st api.AlarmStatus, drift map[string]float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.alarms[obj.Meta.UID]
	a := alarmSeries{env: obj.Meta.Environment, name: obj.Meta.Name, endpoint: spec.Endpoint, state: st.State, value: newestValue(st.Datapoints)}
	switch spec.Metric {
	case api.AlarmMetricFeatureDriftPSI:
		a.statistic = "psi"
	case api.AlarmMetricFeatureDriftKS:
		a.statistic = "ks"
	}
	if a.statistic != "" {
		a.drift = drift
		if drift == nil && prev.statistic == a.statistic && prev.endpoint == a.endpoint {
			a.drift = prev.drift
		}
	}
	m.alarms[obj.Meta.UID] = a
}

// retain forgets the alarms whose uid is not in live.
func (m *alarmMetrics) retain(live map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for uid := range m.alarms {
		if !live[uid] {
			delete(m.alarms, uid)
		}
	}
}
