package reconcile_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/notify"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

// These tests step the alarm handler under a clock the test moves, against
// a real SQLite store whose metric points the test writes with
// AppendMetrics, as the gateway would.

// t0 is a whole minute: periods of 10s and 60s start there.
var t0 = time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

// ingestDelay is the handler's ingest delay in these tests.
const ingestDelay = 2 * time.Second

type alarmFixture struct {
	tb    testing.TB
	st    *sqlite.DB
	clock *clock
	reg   *prometheus.Registry
	h     *reconcile.AlarmHandler
	// baselineURI and baselineSHA are those of model version v1: features
	// sqft and rooms, each the values 1..100.
	baselineURI, baselineSHA string
}

// newAlarmFixture is a store with environment dev, model version v1 (rmse
// 0.25, with a baseline) served by variant primary of endpoint api, and an
// alarm handler whose clock stands just after the third 10s period after
// t0 was complete.
func newAlarmFixture(tb testing.TB) *alarmFixture {
	tb.Helper()
	st := MustOpenDB(tb)
	f := &alarmFixture{tb: tb, st: st, clock: &clock{t: t0.Add(30*time.Second + ingestDelay)}, reg: prometheus.NewRegistry()}
	f.h = f.newHandler(f.reg)
	f.put(api.KindEnvironment, "", "dev", api.EnvironmentSpec{}, api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	f.put(api.KindModel, "dev", "m", api.ModelSpec{TaskType: api.TaskRegression}, api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	f.baselineURI, f.baselineSHA = writeBaselineFile(tb, api.FeatureBaseline{Features: []api.BaselineFeature{
		{Name: "sqft", Values: seq(1, 100)}, {Name: "rooms", Values: seq(1, 100)},
	}})
	f.put(api.KindModelVersion, "dev", "v1", api.ModelVersionSpec{
		Model: "m", ArtifactURI: "s3://m/1", ArtifactSHA256: strings.Repeat("a", 64), Framework: api.FrameworkMLOpsLinear,
		Metrics: map[string]string{"rmse": "0.25"}, BaselineURI: f.baselineURI, BaselineSHA256: f.baselineSHA,
	}, api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	f.put(api.KindModelVersion, "dev", "v2", api.ModelVersionSpec{
		Model: "m", ArtifactURI: "s3://m/2", ArtifactSHA256: strings.Repeat("b", 64), Framework: api.FrameworkMLOpsLinear,
	}, api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	f.put(api.KindModelEndpoint, "dev", "api", api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v1", ComputePool: "cpu", Replicas: 1, TrafficPercent: 100}},
		Rollout:  api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
	}, api.ModelEndpointStatus{Status: api.Status{Phase: api.PhaseReady, ObservedGeneration: 1},
		Variants: []api.EndpointVariantStatus{{Name: "primary", ModelVersion: "v1", Replicas: 1}}})
	return f
}

// newHandler returns a handler on the fixture's store and clock, as a
// restarted mlopsd would have; reg may be nil.
func (f *alarmFixture) newHandler(reg prometheus.Registerer) *reconcile.AlarmHandler {
	h := reconcile.NewAlarmHandler(f.st, reg)
	h.Now = f.clock.Now
	h.IngestDelay = ingestDelay
	h.Sender = &notify.Sender{Timeout: 5 * time.Second}
	f.tb.Cleanup(h.Close)
	return h
}

func seq(from, to int) []float64 {
	var out []float64
	for v := from; v <= to; v++ {
		out = append(out, float64(v))
	}
	return out
}

func writeBaselineFile(tb testing.TB, fb api.FeatureBaseline) (string, string) {
	tb.Helper()
	b, err := json.Marshal(fb)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "baseline.json")
	if err := os.WriteFile(path, b, 0o444); err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return "file://" + path, hex.EncodeToString(sum[:])
}

func (f *alarmFixture) put(kind, env, name string, spec, status any) {
	f.tb.Helper()
	_, err := f.st.Create(f.tb.Context(), &store.Object{Kind: kind, Meta: api.Metadata{Name: name, Environment: env},
		Spec: mustJSON(f.tb, spec), Status: mustJSON(f.tb, status)}, store.WriteOptions{Actor: "alice"})
	if err != nil {
		f.tb.Fatalf("creating %s/%s: %v", kind, name, err)
	}
}

// alarm stores an alarm the way the API server does, after its validation
// filled the defaults.
func (f *alarmFixture) alarm(name string, spec api.AlarmSpec) {
	f.tb.Helper()
	f.put(api.KindAlarm, "dev", name, withDefaults(spec), api.AlarmStatus{
		Status: api.Status{Phase: api.PhasePending}, State: api.AlarmStateInsufficientData, StateReason: "not evaluated yet",
	})
}

func withDefaults(spec api.AlarmSpec) api.AlarmSpec {
	if spec.Statistic == "" {
		spec.Statistic = api.AlarmStatistics[spec.Metric][0]
	}
	if spec.DatapointsToAlarm == 0 {
		spec.DatapointsToAlarm = spec.EvaluationPeriods
	}
	if spec.MissingData == "" {
		spec.MissingData = api.MissingDataMissing
	}
	if len(spec.Actions.NotifyOn) == 0 {
		spec.Actions.NotifyOn = []string{api.AlarmStateAlarm, api.AlarmStateOK}
	}
	return spec
}

// errorRate is an error-rate alarm on endpoint api: above 5% in M of the
// last N periods of 10s.
func errorRate(m, n int64) api.AlarmSpec {
	return api.AlarmSpec{Metric: api.AlarmMetricErrorRate, Endpoint: "api", Comparison: api.ComparisonGreaterThan,
		Threshold: "5", PeriodSeconds: 10, EvaluationPeriods: n, DatapointsToAlarm: m}
}

// step runs one Reconcile of the alarm and returns it as stored after.
func (f *alarmFixture) step(name string) api.Alarm {
	f.tb.Helper()
	return f.stepWith(f.h, name)
}

func (f *alarmFixture) stepWith(h *reconcile.AlarmHandler, name string) api.Alarm {
	f.tb.Helper()
	ref := api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: name}
	obj, err := f.st.Get(f.tb.Context(), ref)
	if err != nil {
		f.tb.Fatal(err)
	}
	if err := h.Reconcile(f.tb.Context(), obj); err != nil {
		f.tb.Fatalf("reconciling alarm %s: %v", name, err)
	}
	return f.get(name)
}

func (f *alarmFixture) get(name string) api.Alarm {
	f.tb.Helper()
	obj, err := f.st.Get(f.tb.Context(), api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: name})
	if err != nil {
		f.tb.Fatal(err)
	}
	a := api.Alarm{Metadata: obj.Meta}
	if err := json.Unmarshal(obj.Spec, &a.Spec); err != nil {
		f.tb.Fatal(err)
	}
	if err := json.Unmarshal(obj.Status, &a.Status); err != nil {
		f.tb.Fatal(err)
	}
	return a
}

// advance moves the clock by d.
func (f *alarmFixture) advance(d time.Duration) { f.clock.Set(f.clock.Now().Add(d)) }

// append stores points.
func (f *alarmFixture) append(points ...store.MetricPoint) {
	f.tb.Helper()
	for i := range points {
		if points[i].Environment == "" {
			points[i].Environment = "dev"
		}
	}
	if err := f.st.AppendMetrics(f.tb.Context(), points); err != nil {
		f.tb.Fatal(err)
	}
}

// predictions is a point of endpoint api, variant primary, version v1 at
// second sec after t0: count predictions of which errs failed.
func predictions(sec int, count, errs int64, latencies ...float64) store.MetricPoint {
	p := store.MetricPoint{Series: api.SeriesPredictions, Endpoint: "api", Variant: "primary", ModelVersion: "v1",
		Time: t0.Add(time.Duration(sec) * time.Second), Count: count, Errors: errs, Samples: latencies}
	for i, l := range latencies {
		p.Sum += l
		if i == 0 || l < p.Min {
			p.Min = l
		}
		p.Max = max(p.Max, l)
	}
	return p
}

// values prints the datapoints' values, "-" for none.
func values(a api.Alarm) []string {
	var out []string
	for _, dp := range a.Status.Datapoints {
		if dp.Value == nil {
			out = append(out, "-")
		} else {
			out = append(out, strconv.FormatFloat(*dp.Value, 'g', 8, 64))
		}
	}
	return out
}

// wantValues checks the datapoints' values: numbers (int or float64), or
// nil for a period without one.
func wantValues(t *testing.T, a api.Alarm, want ...any) {
	t.Helper()
	got := a.Status.Datapoints
	if len(got) != len(want) {
		t.Fatalf("datapoints %v (%+v), want %v", values(a), got, want)
	}
	for i, w := range want {
		var wv *float64
		switch x := w.(type) {
		case int:
			f := float64(x)
			wv = &f
		case float64:
			wv = &x
		}
		g := got[i].Value
		if (g == nil) != (wv == nil) || (g != nil && math.Abs(*g-*wv) > 1e-6) {
			t.Fatalf("datapoints %v, want %v", values(a), want)
		}
	}
}

func wantState(t *testing.T, a api.Alarm, state, reason string) {
	t.Helper()
	if a.Status.State != state || !strings.Contains(a.Status.StateReason, reason) {
		t.Fatalf("state %s (%q), want %s with %q", a.Status.State, a.Status.StateReason, state, reason)
	}
}

func TestAlarm_ErrorRateMOfN(t *testing.T) {
	f := newAlarmFixture(t)
	f.alarm("errors", errorRate(2, 3))
	// Two replicas' points of the same second are both counted.
	f.append(predictions(1, 10, 0), predictions(12, 5, 2), predictions(12, 5, 3), predictions(25, 10, 5))

	a := f.step("errors")
	wantValues(t, a, 0, 50, 50)
	wantState(t, a, api.AlarmStateAlarm, "error_rate average 50 > 5 in 2 of the last 3 periods of 10s")
	if a.Status.Phase != api.PhaseReady || a.Status.ObservedGeneration != 1 || a.Status.TransitionCount != 1 ||
		!a.Status.LastEvaluatedAt.Equal(t0.Add(30*time.Second)) || !a.Status.StateChangedAt.Equal(f.clock.Now()) {
		t.Fatalf("status = %+v", a.Status)
	}
	if h := a.Status.History; len(h) != 1 || h[0].Seq != 1 || h[0].From != api.AlarmStateInsufficientData || h[0].To != api.AlarmStateAlarm || *h[0].Value != 50 {
		t.Fatalf("history = %+v", h)
	}
	if dp := a.Status.Datapoints[1]; dp.Samples != 10 || !dp.Breaching || !dp.Start.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("datapoint = %+v", dp)
	}

	// Nothing new: nothing changes. A late point of an evaluated period
	// is not read again.
	f.append(predictions(5, 10, 10))
	f.advance(5 * time.Second)
	if again := f.step("errors"); !jsonEqual(t, again.Status, a.Status) {
		t.Fatalf("a pass without a new period changed the status:\n%+v\n%+v", again.Status, a.Status)
	}

	// The window moves on: 50, 50, 0 still breaches twice; 50, 0, 0 no more.
	f.append(predictions(31, 10, 0), predictions(45, 10, 0))
	f.advance(5 * time.Second)
	a = f.step("errors")
	wantValues(t, a, 50, 50, 0)
	wantState(t, a, api.AlarmStateAlarm, "in 2 of the last 3 periods")
	f.advance(10 * time.Second)
	a = f.step("errors")
	wantValues(t, a, 50, 0, 0)
	wantState(t, a, api.AlarmStateOK, "error_rate average 0 (newest) not > 5 often enough: 1 of the last 3 periods of 10s breaching, 2 needed")
	if a.Status.TransitionCount != 2 || a.Status.History[1].From != api.AlarmStateAlarm || a.Status.History[1].To != api.AlarmStateOK {
		t.Fatalf("history = %+v", a.Status.History)
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	return string(mustJSON(t, a)) == string(mustJSON(t, b))
}

func TestAlarm_Latency(t *testing.T) {
	f := newAlarmFixture(t)
	for _, stat := range api.AlarmStatistics[api.AlarmMetricLatency] {
		f.alarm("latency-"+stat, api.AlarmSpec{Metric: api.AlarmMetricLatency, Statistic: stat, Endpoint: "api", Variant: "primary",
			Comparison: api.ComparisonGreaterThanOrEqualTo, Threshold: "50", PeriodSeconds: 10, EvaluationPeriods: 1})
	}
	// One second with 100 predictions sampled in full, latencies 1..100.
	f.append(predictions(25, 100, 0, seq(1, 100)...))
	// Another variant's predictions do not count.
	other := predictions(25, 100, 0, 1000)
	other.Variant = "canary"
	f.append(other)
	for stat, want := range map[string]float64{
		api.StatisticP99: 99, api.StatisticP90: 90, api.StatisticP50: 50, api.StatisticAverage: 50.5, api.StatisticMaximum: 100,
	} {
		a := f.step("latency-" + stat)
		wantValues(t, a, want)
		wantState(t, a, api.AlarmStateAlarm, "latency "+stat+" ")
	}
}

func TestAlarm_Invocations(t *testing.T) {
	f := newAlarmFixture(t)
	f.alarm("traffic", api.AlarmSpec{Metric: api.AlarmMetricInvocations, Endpoint: "api", Comparison: api.ComparisonLessThan,
		Threshold: "20", PeriodSeconds: 10, EvaluationPeriods: 3, DatapointsToAlarm: 1, MissingData: api.MissingDataBreaching})
	f.append(predictions(3, 7, 0), predictions(4, 8, 1), predictions(15, 30, 0), predictions(22, 25, 0))
	a := f.step("traffic")
	wantValues(t, a, 15, 30, 25)
	wantState(t, a, api.AlarmStateAlarm, "invocations sum 15 < 20 in 1 of the last 3 periods of 10s")
	// No traffic at all: missing data, breaching as configured.
	f.advance(30 * time.Second)
	a = f.step("traffic")
	wantValues(t, a, nil, nil, nil)
	wantState(t, a, api.AlarmStateAlarm, "treated as breaching")
}

func TestAlarm_Custom(t *testing.T) {
	f := newAlarmFixture(t)
	f.alarm("accuracy", api.AlarmSpec{Metric: api.AlarmMetricCustom, MetricName: "online_accuracy", Statistic: api.StatisticMinimum,
		Comparison: api.ComparisonLessThan, Threshold: "0.8", PeriodSeconds: 10, EvaluationPeriods: 2, MinSamples: 3})
	custom := func(sec int, v float64) store.MetricPoint {
		return store.MetricPoint{Series: api.CustomSeriesPrefix + "online_accuracy", Time: t0.Add(time.Duration(sec) * time.Second),
			Count: 1, Sum: v, Min: v, Max: v, Samples: []float64{v}}
	}
	// Period 2 has two datapoints, fewer than min_samples 3.
	f.append(custom(10, 0.9), custom(11, 0.85), custom(20, 0.7), custom(21, 0.95), custom(22, 0.9))
	a := f.step("accuracy")
	wantValues(t, a, nil, 0.7)
	if dp := a.Status.Datapoints[0]; dp.Samples != 2 || !strings.Contains(dp.Detail, "2 datapoints, fewer than min_samples 3") {
		t.Fatalf("datapoint = %+v", dp)
	}
	// M = N = 2, and one period is missing: not enough to alarm.
	wantState(t, a, api.AlarmStateOK, "custom online_accuracy minimum 0.7 (newest) not < 0.8 often enough: 1 of the last 2 periods")
}

func TestAlarm_ModelMetric(t *testing.T) {
	f := newAlarmFixture(t)
	f.alarm("rmse", api.AlarmSpec{Metric: api.AlarmMetricModelMetric, MetricName: "rmse", Endpoint: "api",
		Comparison: api.ComparisonGreaterThan, Threshold: "0.2", PeriodSeconds: 60, EvaluationPeriods: 2})
	f.alarm("auc", api.AlarmSpec{Metric: api.AlarmMetricModelMetric, MetricName: "auc", Endpoint: "api", Variant: "primary",
		Comparison: api.ComparisonLessThan, Threshold: "0.8", PeriodSeconds: 60, EvaluationPeriods: 2})
	a := f.step("rmse")
	wantValues(t, a, 0.25, 0.25)
	wantState(t, a, api.AlarmStateAlarm, "model_metric rmse average 0.25 (model version v1 of variant primary) > 0.2 in 2 of the last 2 periods of 60s")
	a = f.step("auc")
	wantState(t, a, api.AlarmStateInsufficientData, `model version "v1" (variant primary) has no metric "auc"; its metrics are ["rmse"]`)
}

// inputs is a point of sampled input vectors of endpoint api at second sec
// after t0, served by version; each vector stands for one input.
func inputs(sec int, version string, vectors ...[]float64) store.MetricPoint {
	return store.MetricPoint{Series: api.SeriesInputs, Endpoint: "api", Variant: "primary", ModelVersion: version,
		Time: t0.Add(time.Duration(sec) * time.Second), Count: int64(len(vectors)), Inputs: vectors}
}

// shifted is 100 vectors whose sqft is 51..150 (half the baseline's range
// off) and whose rooms are 1..100 (as in the baseline).
func shifted() [][]float64 {
	var out [][]float64
	for i := 1; i <= 100; i++ {
		out = append(out, []float64{float64(i + 50), float64(i)})
	}
	return out
}

func TestAlarm_Drift(t *testing.T) {
	f := newAlarmFixture(t)
	drift := func(metric, feature string) api.AlarmSpec {
		return api.AlarmSpec{Metric: metric, Endpoint: "api", Feature: feature, Comparison: api.ComparisonGreaterThan,
			Threshold: "0.2", PeriodSeconds: 30, EvaluationPeriods: 1, MinSamples: 100} // the fixture's periods hold 100 inputs
	}
	f.alarm("psi", drift(api.AlarmMetricFeatureDriftPSI, ""))
	f.alarm("ks", drift(api.AlarmMetricFeatureDriftKS, ""))
	f.alarm("rooms", drift(api.AlarmMetricFeatureDriftPSI, "rooms"))
	f.alarm("age", drift(api.AlarmMetricFeatureDriftPSI, "age"))
	f.append(inputs(5, "v1", shifted()[:50]...), inputs(6, "v1", shifted()[50:]...))

	// The hand-computed PSI of a sample shifted by half the range: five
	// empty bins against 10% each, four as in the baseline and 60% in the
	// last (see the drift package's tests).
	eps := 1e-4
	wantPSI := 5*(eps-0.1)*math.Log(eps/0.1) + 0.5*math.Log(6)
	a := f.step("psi")
	wantValues(t, a, wantPSI)
	if dp := a.Status.Datapoints[0]; dp.Samples != 100 || dp.Detail != "PSI of feature sqft, model version v1, 100 sampled inputs" {
		t.Fatalf("datapoint = %+v", dp)
	}
	wantState(t, a, api.AlarmStateAlarm, "feature_drift_psi maximum 4.3463 (PSI of feature sqft, model version v1, 100 sampled inputs) > 0.2")
	a = f.step("ks")
	wantValues(t, a, 0.5)
	a = f.step("rooms")
	wantValues(t, a, 0)
	wantState(t, a, api.AlarmStateOK, "")
	a = f.step("age")
	wantState(t, a, api.AlarmStateInsufficientData, `feature "age" is not in the baseline of model version "v1"; its features are ["sqft" "rooms"]`)

	if got := gauge(t, f.reg, "mlopsd_feature_drift", map[string]string{"endpoint": "api", "feature": "sqft", "statistic": "psi"}); math.Abs(got-wantPSI) > 1e-9 {
		t.Errorf("mlopsd_feature_drift{sqft,psi} = %v, want %v", got, wantPSI)
	}
	if got := gauge(t, f.reg, "mlopsd_feature_drift", map[string]string{"endpoint": "api", "feature": "sqft", "statistic": "ks"}); got != 0.5 {
		t.Errorf("mlopsd_feature_drift{sqft,ks} = %v, want 0.5", got)
	}

	// The next period: version v2, without a baseline, and too few inputs
	// of v1 (fewer than the default 30 of drift metrics).
	f.append(inputs(35, "v2", shifted()...), inputs(36, "v1", shifted()[:10]...))
	f.advance(30 * time.Second)
	a = f.step("psi")
	wantValues(t, a, nil)
	if dp := a.Status.Datapoints[0]; dp.Samples != 110 {
		t.Fatalf("datapoint = %+v", dp)
	}
	wantState(t, a, api.AlarmStateInsufficientData, "no data in the last period of 30s: ")
	if r := a.Status.StateReason; !strings.Contains(r, `model version "v2" has no baseline`) && !strings.Contains(r, `model version "v1" has 10 sampled inputs in the period, fewer than min_samples 30`) {
		t.Fatalf("reason %q does not say why", r)
	}
}

// vectors is 100 input vectors whose sqft is 1..100 shifted by dSqft and
// whose rooms are 1..100 shifted by dRooms.
func vectors(dSqft, dRooms int) [][]float64 {
	var out [][]float64
	for i := 1; i <= 100; i++ {
		out = append(out, []float64{float64(i + dSqft), float64(i + dRooms)})
	}
	return out
}

func TestAlarm_DriftPerFeature(t *testing.T) {
	f := newAlarmFixture(t)
	// v3 has v1's baseline and serves beside it, so a feature's value is
	// the larger of the two versions'.
	f.put(api.KindModelVersion, "dev", "v3", api.ModelVersionSpec{
		Model: "m", ArtifactURI: "s3://m/3", ArtifactSHA256: strings.Repeat("c", 64), Framework: api.FrameworkMLOpsLinear,
		BaselineURI: f.baselineURI, BaselineSHA256: f.baselineSHA,
	}, api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	spec := func(feature string) api.AlarmSpec {
		return api.AlarmSpec{Metric: api.AlarmMetricFeatureDriftPSI, Endpoint: "api", Feature: feature, Comparison: api.ComparisonGreaterThan,
			Threshold: "0.2", PeriodSeconds: 10, EvaluationPeriods: 2, DatapointsToAlarm: 1, MinSamples: 100} // the fixture's periods hold 100 inputs
	}
	f.alarm("psi", spec(""))
	f.alarm("rooms", spec("rooms"))
	f.alarm("latency", api.AlarmSpec{Metric: api.AlarmMetricLatency, Endpoint: "api", Comparison: api.ComparisonGreaterThan,
		Threshold: "100", PeriodSeconds: 10, EvaluationPeriods: 1})
	// Period [10s, 20s): v1's sqft is half the range off and its rooms a
	// fifth; v3's rooms are as in the baseline. Period [20s, 30s): v1's
	// sqft is as in the baseline, its rooms a fifth off, and v3's rooms
	// half the range off: rooms' value is v3's.
	f.append(inputs(15, "v1", vectors(50, 20)...),
		inputs(25, "v1", vectors(0, 20)...), inputs(26, "v3", vectors(0, 50)...),
		predictions(25, 2, 0, 50, 60))
	eps := 1e-4
	half := 5*(eps-0.1)*math.Log(eps/0.1) + 0.5*math.Log(6)
	a := f.step("psi")
	dps := a.Status.Datapoints
	if len(dps) != 2 {
		t.Fatalf("datapoints = %+v", dps)
	}
	for i, dp := range dps {
		if dp.Value == nil || len(dp.FeatureDrift) != 2 {
			t.Fatalf("datapoint %d = %+v, want a value and both features", i, dp)
		}
		if got := max(dp.FeatureDrift["sqft"], dp.FeatureDrift["rooms"]); got != *dp.Value {
			t.Errorf("datapoint %d: the largest feature's drift is %v, the value %v", i, got, *dp.Value)
		}
	}
	p1, p2 := dps[0].FeatureDrift, dps[1].FeatureDrift
	if math.Abs(p1["sqft"]-half) > 1e-9 || !(p1["rooms"] > 0 && p1["rooms"] < p1["sqft"]) {
		t.Errorf("period 1 feature drift = %v, want sqft %v and rooms between 0 and it", p1, half)
	}
	if p2["sqft"] != 0 || math.Abs(p2["rooms"]-half) > 1e-9 {
		t.Errorf("period 2 feature drift = %v, want sqft 0 and rooms %v (v3's, larger than v1's %v)", p2, half, p1["rooms"])
	}
	if !strings.Contains(dps[1].Detail, "feature rooms, model version v3") {
		t.Errorf("period 2 detail = %q, want rooms of v3", dps[1].Detail)
	}

	// An alarm on one feature has only that feature.
	r := f.step("rooms")
	if got := r.Status.Datapoints[1].FeatureDrift; len(got) != 1 || math.Abs(got["rooms"]-half) > 1e-9 {
		t.Errorf("feature drift of the rooms alarm = %v, want only rooms %v", got, half)
	}
	// Other metrics have none.
	if l := f.step("latency"); l.Status.Datapoints[0].Value == nil || l.Status.Datapoints[0].FeatureDrift != nil {
		t.Errorf("latency datapoint = %+v, want no feature drift", l.Status.Datapoints[0])
	}

	// The next period has no inputs: it has no feature drift, and the
	// period kept from the evaluation before keeps its own.
	f.advance(10 * time.Second)
	a = f.step("psi")
	dps = a.Status.Datapoints
	if dps[1].Value != nil || dps[1].FeatureDrift != nil {
		t.Errorf("period without inputs = %+v, want no value and no feature drift", dps[1])
	}
	if got := dps[0].FeatureDrift; len(got) != 2 || got["sqft"] != p2["sqft"] || got["rooms"] != p2["rooms"] {
		t.Errorf("kept period's feature drift = %v, want %v", got, p2)
	}
}

func TestAlarm_MissingData(t *testing.T) {
	f := newAlarmFixture(t)
	for _, md := range api.MissingDataTreatments {
		s := errorRate(2, 3)
		s.MissingData = md
		f.alarm("md-"+strings.ReplaceAll(md, "_", "-"), s)
	}
	want := map[string]string{
		api.MissingDataMissing:      api.AlarmStateInsufficientData,
		api.MissingDataBreaching:    api.AlarmStateAlarm,
		api.MissingDataNotBreaching: api.AlarmStateOK,
		api.MissingDataIgnore:       api.AlarmStateInsufficientData,
	}
	for md, state := range want {
		a := f.step("md-" + strings.ReplaceAll(md, "_", "-"))
		wantValues(t, a, nil, nil, nil)
		wantState(t, a, state, "")
		if !strings.Contains(a.Status.StateReason, "0 predictions, fewer than min_samples 1") {
			t.Errorf("%s: reason %q does not say why the data is missing", md, a.Status.StateReason)
		}
	}

	// With data the ignore alarm goes to ALARM; without it keeps ALARM,
	// where missing goes back to INSUFFICIENT_DATA.
	f.append(predictions(35, 10, 5), predictions(45, 10, 5), predictions(55, 10, 5))
	f.advance(30 * time.Second)
	for _, name := range []string{"md-ignore", "md-missing"} {
		wantState(t, f.step(name), api.AlarmStateAlarm, "in 3 of the last 3 periods")
	}
	f.advance(30 * time.Second)
	wantState(t, f.step("md-ignore"), api.AlarmStateAlarm, "missing_data ignore keeps the state ALARM")
	wantState(t, f.step("md-missing"), api.AlarmStateInsufficientData, "no data in the last 3 periods of 10s")

	// A deleted endpoint is missing data with a reason.
	if _, err := f.st.Delete(t.Context(), api.Ref{Kind: api.KindModelEndpoint, Environment: "dev", Name: "api"}, false, store.WriteOptions{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	f.advance(10 * time.Second)
	wantState(t, f.step("md-missing"), api.AlarmStateInsufficientData, `model endpoint "api" does not exist in environment "dev"`)
}

func TestAlarm_HistoryIsCapped(t *testing.T) {
	f := newAlarmFixture(t)
	f.alarm("flappy", errorRate(1, 1))
	// Every other period breaches: the state flips once per period.
	const periods = api.MaxAlarmHistory + 5
	for i := range periods {
		errs := int64(0)
		if i%2 == 0 {
			errs = 10
		}
		f.append(predictions(20+10*i, 10, errs))
	}
	var a api.Alarm
	for range periods {
		a = f.step("flappy")
		f.advance(10 * time.Second)
	}
	if a.Status.TransitionCount != periods || len(a.Status.History) != api.MaxAlarmHistory {
		t.Fatalf("transition_count %d with %d history entries", a.Status.TransitionCount, len(a.Status.History))
	}
	h := a.Status.History
	if h[0].Seq != periods-api.MaxAlarmHistory+1 || h[len(h)-1].Seq != periods {
		t.Fatalf("history runs from seq %d to %d", h[0].Seq, h[len(h)-1].Seq)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Seq != h[i-1].Seq+1 || h[i].From != h[i-1].To {
			t.Fatalf("history is not a chain at %d: %+v %+v", i, h[i-1], h[i])
		}
	}
}

func TestAlarm_SpecChangeReevaluatesAtOnce(t *testing.T) {
	f := newAlarmFixture(t)
	f.alarm("errors", errorRate(1, 3))
	f.append(predictions(25, 10, 1))
	a := f.step("errors")
	wantState(t, a, api.AlarmStateAlarm, "error_rate average 10 > 5")

	// A threshold that still breaches keeps the state (and its history);
	// one that no longer does moves it, without waiting for a new period.
	update := func(threshold string) {
		s := withDefaults(errorRate(1, 3))
		s.Threshold = threshold
		obj, err := f.st.Get(t.Context(), api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: "errors"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.UpdateSpec(t.Context(), obj.Ref(), mustJSON(t, s), store.WriteOptions{Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	update("8")
	a = f.step("errors")
	wantState(t, a, api.AlarmStateAlarm, "error_rate average 10 > 8")
	if a.Status.ObservedGeneration != 2 || a.Status.TransitionCount != 1 || a.Status.Phase != api.PhaseReady {
		t.Fatalf("status = %+v", a.Status)
	}
	update("15")
	a = f.step("errors")
	wantState(t, a, api.AlarmStateOK, "not > 15")
	if a.Status.ObservedGeneration != 3 || a.Status.TransitionCount != 2 {
		t.Fatalf("status = %+v", a.Status)
	}
}

// gauge returns the value of the gauge name with the given labels, NaN
// when there is none.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
	metrics:
		for _, m := range fam.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	return math.NaN()
}

func TestAlarm_PrometheusSeries(t *testing.T) {
	f := newAlarmFixture(t)
	f.alarm("errors", errorRate(1, 1))
	f.alarm("other", errorRate(1, 1))
	f.append(predictions(25, 4, 1))
	f.step("errors")
	f.step("other")
	for state, want := range map[string]float64{api.AlarmStateAlarm: 1, api.AlarmStateOK: 0, api.AlarmStateInsufficientData: 0} {
		if got := gauge(t, f.reg, "mlopsd_alarm_state", map[string]string{"environment": "dev", "alarm": "errors", "state": state}); got != want {
			t.Errorf("mlopsd_alarm_state{%s} = %v, want %v", state, got, want)
		}
	}
	if got := gauge(t, f.reg, "mlopsd_alarm_value", map[string]string{"environment": "dev", "alarm": "errors"}); got != 25 {
		t.Errorf("mlopsd_alarm_value = %v, want 25", got)
	}
	// A deleted alarm's series go once a pass has listed the alarms.
	ref := api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: "errors"}
	if _, err := f.st.Delete(t.Context(), ref, false, store.WriteOptions{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	rec := reconcile.New(reconcile.Config{Store: f.st, AlarmHandler: f.h})
	rec.Pass(t.Context())
	if got := gauge(t, f.reg, "mlopsd_alarm_state", map[string]string{"alarm": "errors"}); !math.IsNaN(got) {
		t.Errorf("the deleted alarm still has mlopsd_alarm_state = %v", got)
	}
	if got := gauge(t, f.reg, "mlopsd_alarm_state", map[string]string{"alarm": "other", "state": api.AlarmStateAlarm}); got != 1 {
		t.Errorf("the other alarm's series went too: %v", got)
	}
}
