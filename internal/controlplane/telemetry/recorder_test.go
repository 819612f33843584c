package telemetry

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

// t0 is a whole second; the clock of these tests starts there.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// testStore is a real SQLite store, and the path of its file for tests that
// break it behind its back.
func testStore(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mlops.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

// execSQL runs one statement on the database file through a connection of
// its own, as an operator with database access would.
func execSQL(t *testing.T, path, query string) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func newRecorder(t *testing.T, st MetricsStore, clock *fakeClock, cfg Config) *Recorder {
	t.Helper()
	cfg.Store, cfg.Now, cfg.Registry = st, clock.now, prometheus.NewRegistry()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// counterValue reads a counter of the recorder.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func query(t *testing.T, st store.Store, series string) []store.MetricPoint {
	t.Helper()
	got, err := st.QueryMetrics(context.Background(), store.MetricQuery{Environment: "dev", Series: series, From: t0.Add(-time.Hour), To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRecorder_AggregatesPerDimensionAndSecond(t *testing.T) {
	st, _ := testStore(t)
	clock := &fakeClock{t: t0.Add(100 * time.Millisecond)}
	r := newRecorder(t, st, clock, Config{})
	ms := time.Millisecond

	r.RecordPrediction("dev", "api", "primary", "v1", 4*ms, false)
	r.RecordPrediction("dev", "api", "primary", "v1", 2500*time.Microsecond, true)
	r.RecordPrediction("dev", "api", "primary", "v2", 10*ms, false) // a canary's version
	r.RecordPrediction("dev", "api", "shadow", "v1", 7*ms, false)
	r.RecordInputs("dev", "api", "primary", "v1", []float64{1, 2})
	clock.set(t0.Add(900 * time.Millisecond))
	r.RecordPrediction("dev", "api", "primary", "v1", 6*ms, false)
	inputs := []float64{3, 4}
	r.RecordInputs("dev", "api", "primary", "v1", inputs)
	inputs[0] = 99 // the recorder keeps a copy
	clock.set(t0.Add(time.Second))
	r.RecordPrediction("dev", "api", "primary", "v1", 1*ms, false)
	if got := r.Pending(); got != 5 {
		t.Fatalf("Pending = %d points, want 5 (4 of predictions, 1 of inputs)", got)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.Pending(); got != 0 {
		t.Fatalf("Pending after Flush = %d, want 0", got)
	}

	type dims struct {
		variant, version string
		second           int
	}
	want := map[dims]store.MetricPoint{
		{"primary", "v1", 0}: {Count: 3, Errors: 1, Sum: 12.5, Min: 2.5, Max: 6},
		{"primary", "v2", 0}: {Count: 1, Sum: 10, Min: 10, Max: 10},
		{"shadow", "v1", 0}:  {Count: 1, Sum: 7, Min: 7, Max: 7},
		{"primary", "v1", 1}: {Count: 1, Sum: 1, Min: 1, Max: 1},
	}
	got := query(t, st, api.SeriesPredictions)
	if len(got) != len(want) {
		t.Fatalf("points = %+v, want %d", got, len(want))
	}
	for _, p := range got {
		d := dims{p.Variant, p.ModelVersion, int(p.Time.Sub(t0) / time.Second)}
		w, ok := want[d]
		if !ok || p.Endpoint != "api" || p.Count != w.Count || p.Errors != w.Errors || p.Sum != w.Sum || p.Min != w.Min || p.Max != w.Max {
			t.Errorf("point %+v: want %+v", p, w)
		}
		if len(p.Samples) != int(p.Count) {
			t.Errorf("point %+v keeps %d samples, want all %d", d, len(p.Samples), p.Count)
		}
	}
	in := query(t, st, api.SeriesInputs)
	if len(in) != 1 || in[0].Count != 2 || len(in[0].Inputs) != 2 || in[0].Inputs[0][0] != 1 || in[0].Inputs[1][0] != 3 || !in[0].Time.Equal(t0) {
		t.Fatalf("inputs = %+v; want one point of 2 vectors, [1 2] and [3 4], at %v", in, t0)
	}
	if got := counterValue(t, r.written); got != 5 {
		t.Errorf("points written = %v, want 5", got)
	}
}

func TestBatch_ReservoirBoundedAndUniform(t *testing.T) {
	k := Key{Environment: "dev", Series: api.SeriesPredictions, Time: t0}

	t.Run("Bounded", func(t *testing.T) {
		b := NewBatch(rand.New(rand.NewPCG(1, 2)))
		const n = 10_000
		var sum float64
		for i := range n {
			b.AddValue(k, float64(i), i%10 == 0)
			b.AddInputs(Key{Environment: "dev", Series: api.SeriesInputs, Time: t0}, []float64{float64(i)})
			sum += float64(i)
		}
		points := b.Points()
		if len(points) != 2 {
			t.Fatalf("points = %d, want 2", len(points))
		}
		for _, p := range points {
			if p.Count != n || len(p.Samples) > api.MaxMetricSamples || len(p.Inputs) > api.MaxMetricSamples {
				t.Fatalf("%s: count %d, %d samples, %d inputs; want count %d and at most %d of each", p.Series, p.Count, len(p.Samples), len(p.Inputs), n, api.MaxMetricSamples)
			}
		}
		p := points[1]
		if p.Series != api.SeriesPredictions {
			p = points[0]
		}
		if len(p.Samples) != api.MaxMetricSamples || p.Sum != sum || p.Min != 0 || p.Max != n-1 || p.Errors != n/10 {
			t.Fatalf("predictions: %d samples, sum %v, min %v, max %v, errors %d", len(p.Samples), p.Sum, p.Min, p.Max, p.Errors)
		}
	})

	t.Run("EveryValueHasAChance", func(t *testing.T) {
		// n values, four times the sample, many times over: each value
		// must be kept in about MaxMetricSamples/n of the trials, the
		// last as often as the first.
		rnd := rand.New(rand.NewPCG(3, 4))
		const n, trials = 4 * api.MaxMetricSamples, 400
		kept := make([]int, n)
		for range trials {
			b := NewBatch(rnd)
			for i := range n {
				b.AddValue(k, float64(i), false)
			}
			for _, v := range b.Points()[0].Samples {
				kept[int(v)]++
			}
		}
		expected := trials * api.MaxMetricSamples / n // 100
		for i, c := range kept {
			if c == 0 {
				t.Fatalf("value %d was never sampled in %d trials", i, trials)
			}
		}
		for q := range 4 {
			total := 0
			for _, c := range kept[q*n/4 : (q+1)*n/4] {
				total += c
			}
			if avg := float64(total) / float64(n/4); avg < 0.8*float64(expected) || avg > 1.2*float64(expected) {
				t.Errorf("quarter %d of the values was kept %.1f times on average, want about %d", q, avg, expected)
			}
		}
	})
}

func TestRecorder_FlushRetriesAfterStoreError(t *testing.T) {
	st, path := testStore(t)
	clock := &fakeClock{t: t0}
	r := newRecorder(t, st, clock, Config{})
	r.RecordPrediction("dev", "api", "primary", "v1", time.Millisecond, false)

	// The store refuses the write: its table is gone.
	execSQL(t, path, `ALTER TABLE metric_points RENAME TO metric_points_away`)
	if err := r.Flush(context.Background()); err == nil {
		t.Fatal("Flush to a store without its table: no error")
	}
	if got := r.Pending(); got != 1 {
		t.Fatalf("Pending after a refused flush = %d, want the 1 point kept", got)
	}
	if got := counterValue(t, r.flushErrors); got != 1 {
		t.Errorf("flush errors = %v, want 1", got)
	}
	// Observations go on meanwhile, into the same second and the next.
	r.RecordPrediction("dev", "api", "primary", "v1", 3*time.Millisecond, false)
	clock.set(t0.Add(time.Second))
	r.RecordPrediction("dev", "api", "primary", "v1", 5*time.Millisecond, true)

	execSQL(t, path, `ALTER TABLE metric_points_away RENAME TO metric_points`)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatalf("Flush once the store is back: %v", err)
	}
	var count, errs int64
	var sum float64
	points := query(t, st, api.SeriesPredictions)
	for _, p := range points {
		count, errs, sum = count+p.Count, errs+p.Errors, sum+p.Sum
	}
	// The first second is written in two points, which readers sum.
	if len(points) != 3 || count != 3 || errs != 1 || sum != 9 {
		t.Fatalf("points %+v: count %d, errors %d, sum %v; want 3 points, count 3, errors 1, sum 9", points, count, errs, sum)
	}
	if err := r.Flush(context.Background()); err != nil || len(query(t, st, api.SeriesPredictions)) != 3 {
		t.Fatalf("a second Flush wrote again (err %v)", err)
	}
	if got := counterValue(t, r.dropped); got != 0 {
		t.Errorf("dropped = %v, want 0", got)
	}
}

func TestRecorder_BoundDropsOldest(t *testing.T) {
	st, path := testStore(t)
	clock := &fakeClock{t: t0}
	r := newRecorder(t, st, clock, Config{MaxPoints: 3})
	execSQL(t, path, `ALTER TABLE metric_points RENAME TO metric_points_away`)
	for i := range 5 {
		clock.set(t0.Add(time.Duration(i) * time.Second))
		r.RecordPrediction("dev", "api", "primary", "v1", time.Duration(i+1)*time.Millisecond, false)
		_ = r.Flush(context.Background()) // refused
	}
	if got := r.Pending(); got != 3 {
		t.Fatalf("Pending = %d, want the bound of 3", got)
	}
	if got := counterValue(t, r.dropped); got != 2 {
		t.Errorf("dropped = %v, want 2", got)
	}
	execSQL(t, path, `ALTER TABLE metric_points_away RENAME TO metric_points`)
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	points := query(t, st, api.SeriesPredictions)
	if len(points) != 3 || !points[0].Time.Equal(t0.Add(2*time.Second)) || points[0].Sum != 3 {
		t.Fatalf("points = %+v; want the newest 3, from %v", points, t0.Add(2*time.Second))
	}
}

func TestRecorder_CloseFlushes(t *testing.T) {
	st, _ := testStore(t)
	clock := &fakeClock{t: t0}
	// No tick comes during the test: only Close writes.
	r := newRecorder(t, st, clock, Config{FlushInterval: time.Hour})
	r.Start()
	r.RecordPrediction("dev", "api", "primary", "v1", time.Millisecond, false)
	r.RecordInputs("dev", "api", "primary", "v1", []float64{1})
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(query(t, st, api.SeriesPredictions)) != 1 || len(query(t, st, api.SeriesInputs)) != 1 {
		t.Fatal("Close did not write the pending points")
	}
}

func TestRecorder_FlushesInTheBackground(t *testing.T) {
	st, _ := testStore(t)
	clock := &fakeClock{t: t0}
	r := newRecorder(t, st, clock, Config{FlushInterval: 10 * time.Millisecond})
	r.Start()
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	r.RecordPrediction("dev", "api", "primary", "v1", time.Millisecond, false)
	deadline := time.Now().Add(10 * time.Second)
	for len(query(t, st, api.SeriesPredictions)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no point was flushed in the background")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRecorder_Prunes(t *testing.T) {
	st, _ := testStore(t)
	ctx := context.Background()
	old := store.MetricPoint{Environment: "dev", Series: api.SeriesPredictions, Endpoint: "api", Time: t0.Add(-3 * time.Hour), Count: 1}
	recent := old
	recent.Time = t0.Add(-30 * time.Minute)
	if err := st.AppendMetrics(ctx, []store.MetricPoint{old, recent}); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: t0}
	r := newRecorder(t, st, clock, Config{Retention: time.Hour, FlushInterval: time.Hour})
	// Start prunes at once.
	r.Start()
	t.Cleanup(func() { _ = r.Close(ctx) })
	// The window must reach back to the old point: query's default window
	// (t0 ± 1h) would not see it, and would stop waiting before the prune.
	all := func() []store.MetricPoint {
		got, err := st.QueryMetrics(ctx, store.MetricQuery{Environment: "dev", Series: api.SeriesPredictions, From: t0.Add(-24 * time.Hour), To: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(all()) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("points after the start's prune: %+v; want the recent one only", all())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := all()[0]; !got.Time.Equal(recent.Time) {
		t.Fatalf("kept %v, want the point of %v", got.Time, recent.Time)
	}
	clock.set(t0.Add(time.Hour))
	if n, err := r.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1 point deleted", n, err)
	}
}

func TestRecorder_Nil(t *testing.T) {
	var r *Recorder
	r.RecordPrediction("dev", "api", "primary", "v1", time.Millisecond, false)
	r.RecordInputs("dev", "api", "primary", "v1", []float64{1})
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNew_Errors(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a store: no error")
	}
	st, _ := testStore(t)
	if _, err := New(Config{Store: st, FlushInterval: -time.Second}); err == nil {
		t.Error("New with a negative flush interval: no error")
	}
}
