package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// m0 is a whole second, as metric points' times are.
var m0 = time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)

func predictionPoint(endpoint, variant, version string, at time.Time, count, errs int64, latencies ...float64) store.MetricPoint {
	p := store.MetricPoint{
		Environment: "dev", Series: api.SeriesPredictions, Endpoint: endpoint, Variant: variant, ModelVersion: version,
		Time: at, Count: count, Errors: errs, Samples: latencies,
	}
	for i, v := range latencies {
		p.Sum += v
		if i == 0 || v < p.Min {
			p.Min = v
		}
		if i == 0 || v > p.Max {
			p.Max = v
		}
	}
	return p
}

func mustQuery(tb testing.TB, db store.Store, q store.MetricQuery) []store.MetricPoint {
	tb.Helper()
	got, err := db.QueryMetrics(context.Background(), q)
	if err != nil {
		tb.Fatalf("QueryMetrics(%+v): %v", q, err)
	}
	return got
}

func (s *suite) testMetrics(t *testing.T) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		db, _ := s.open(t)
		in := []store.MetricPoint{
			predictionPoint("churn", "primary", "v1", m0, 3, 1, 1.5, 2.25, 40),
			{Environment: "dev", Series: api.SeriesInputs, Endpoint: "churn", Variant: "primary", ModelVersion: "v1",
				Time: m0, Count: 5, Inputs: [][]float64{{1, 2}, {3, 4.5}}},
			{Environment: "dev", Series: api.CustomSeriesPrefix + "ctr", Time: m0.Add(time.Second), Count: 1, Sum: -0.25, Min: -0.25, Max: -0.25, Samples: []float64{-0.25}},
		}
		if err := db.AppendMetrics(ctx, in); err != nil {
			t.Fatalf("AppendMetrics: %v", err)
		}
		q := store.MetricQuery{Environment: "dev", Series: api.SeriesPredictions, From: m0, To: m0.Add(time.Minute)}
		wantEqual(t, "predictions", mustQuery(t, db, q), in[:1])
		q.Series = api.SeriesInputs
		wantEqual(t, "inputs", mustQuery(t, db, q), in[1:2])
		q.Series = api.CustomSeriesPrefix + "ctr"
		wantEqual(t, "custom", mustQuery(t, db, q), in[2:])
	})

	t.Run("Select", func(t *testing.T) {
		db, _ := s.open(t)
		points := []store.MetricPoint{
			predictionPoint("churn", "primary", "v1", m0, 1, 0),
			predictionPoint("churn", "primary", "v2", m0.Add(time.Second), 1, 0),
			predictionPoint("churn", "canary", "v2", m0.Add(2*time.Second), 1, 0),
			predictionPoint("other", "primary", "v1", m0.Add(3*time.Second), 1, 0),
			// The same series and second again, as a second replica writes it.
			predictionPoint("churn", "primary", "v1", m0, 2, 2),
		}
		points[4].Environment = "dev"
		if err := db.AppendMetrics(ctx, points); err != nil {
			t.Fatalf("AppendMetrics: %v", err)
		}
		count := func(q store.MetricQuery) int64 {
			q.Environment, q.Series = "dev", api.SeriesPredictions
			var n int64
			for _, p := range mustQuery(t, db, q) {
				n += p.Count
			}
			return n
		}
		all := store.MetricQuery{From: m0, To: m0.Add(time.Hour)}
		cases := []struct {
			name string
			q    store.MetricQuery
			want int64
		}{
			{"All", all, 6},
			{"Endpoint", store.MetricQuery{Endpoint: "churn", From: all.From, To: all.To}, 5},
			{"Variant", store.MetricQuery{Endpoint: "churn", Variant: "primary", From: all.From, To: all.To}, 4},
			{"ModelVersion", store.MetricQuery{Endpoint: "churn", ModelVersion: "v2", From: all.From, To: all.To}, 2},
			// From is inclusive, To exclusive, also between two seconds.
			{"Window", store.MetricQuery{From: m0.Add(time.Second), To: m0.Add(3 * time.Second)}, 2},
			{"FractionalTo", store.MetricQuery{From: m0.Add(time.Second), To: m0.Add(2500 * time.Millisecond)}, 2},
			{"Empty", store.MetricQuery{From: m0.Add(time.Hour), To: m0.Add(2 * time.Hour)}, 0},
		}
		for _, c := range cases {
			if got := count(c.q); got != c.want {
				t.Errorf("%s: count = %d, want %d", c.name, got, c.want)
			}
		}
		got := mustQuery(t, db, store.MetricQuery{Environment: "dev", Series: api.SeriesPredictions, From: all.From, To: all.To})
		for i := 1; i < len(got); i++ {
			if got[i].Time.Before(got[i-1].Time) {
				t.Fatalf("points are not ordered by time: %v before %v", got[i-1].Time, got[i].Time)
			}
		}
		if got := mustQuery(t, db, store.MetricQuery{Environment: "prod", Series: api.SeriesPredictions, From: all.From, To: all.To}); len(got) != 0 {
			t.Errorf("another environment's points: %d, want 0", len(got))
		}
	})

	t.Run("AllOrNone", func(t *testing.T) {
		db, _ := s.open(t)
		bad := []store.MetricPoint{
			predictionPoint("churn", "primary", "v1", m0, 1, 0),
			{Environment: "dev", Series: api.SeriesPredictions, Time: m0, Count: 1, Errors: 2},
		}
		if err := db.AppendMetrics(ctx, bad); err == nil {
			t.Fatal("AppendMetrics with errors > count: no error")
		}
		nan := []store.MetricPoint{predictionPoint("churn", "primary", "v1", m0, 1, 0, math.NaN())}
		if err := db.AppendMetrics(ctx, nan); err == nil {
			t.Fatal("AppendMetrics with a NaN sample: no error")
		}
		if got := mustQuery(t, db, store.MetricQuery{Environment: "dev", Series: api.SeriesPredictions, From: m0, To: m0.Add(time.Hour)}); len(got) != 0 {
			t.Fatalf("points stored by refused appends: %d, want 0", len(got))
		}
		if _, err := db.QueryMetrics(ctx, store.MetricQuery{Environment: "dev", From: m0, To: m0.Add(time.Hour)}); err == nil {
			t.Fatal("QueryMetrics without a series: no error")
		}
	})

	t.Run("Prune", func(t *testing.T) {
		db, _ := s.open(t)
		var points []store.MetricPoint
		for i := range 10 {
			points = append(points, predictionPoint("churn", "primary", "v1", m0.Add(time.Duration(i)*time.Second), 1, 0))
		}
		if err := db.AppendMetrics(ctx, points); err != nil {
			t.Fatalf("AppendMetrics: %v", err)
		}
		n, err := db.PruneMetrics(ctx, m0.Add(4*time.Second))
		if err != nil {
			t.Fatalf("PruneMetrics: %v", err)
		}
		if n != 4 {
			t.Errorf("PruneMetrics deleted %d points, want 4", n)
		}
		got := mustQuery(t, db, store.MetricQuery{Environment: "dev", Series: api.SeriesPredictions, From: m0, To: m0.Add(time.Hour)})
		if len(got) != 6 || !got[0].Time.Equal(m0.Add(4*time.Second)) {
			t.Fatalf("after pruning: %d points from %v, want 6 from %v", len(got), got[0].Time, m0.Add(4*time.Second))
		}
	})

	t.Run("Idempotent", func(t *testing.T) {
		db, _ := s.open(t)
		count := func() int64 {
			var n int64
			for _, p := range mustQuery(t, db, store.MetricQuery{Environment: "dev", Series: api.CustomSeriesPrefix + "acc", From: m0, To: m0.Add(time.Hour)}) {
				n += p.Count
			}
			return n
		}
		point := store.MetricPoint{Environment: "dev", Series: api.CustomSeriesPrefix + "acc", Endpoint: "churn", Time: m0, Count: 2, Sum: 1.5, Min: 0.5, Max: 1, Samples: []float64{0.5, 1}}
		opts := store.MetricWriteOptions{IdempotencyKey: "alice\x00k1", Fingerprint: "POST /v1/environments/dev/metrics sha256:aa"}
		replayed, err := db.AppendMetricsOnce(ctx, []store.MetricPoint{point}, opts)
		if err != nil || replayed {
			t.Fatalf("AppendMetricsOnce = %v, %v; want stored, not replayed", replayed, err)
		}
		// The retry stores nothing and says so.
		replayed, err = db.AppendMetricsOnce(ctx, []store.MetricPoint{point}, opts)
		if err != nil || !replayed {
			t.Fatalf("retried AppendMetricsOnce = %v, %v; want replayed", replayed, err)
		}
		if got := count(); got != 2 {
			t.Fatalf("count after the retry = %d, want 2 (stored once)", got)
		}
		// The same key for another request is a conflict and stores nothing.
		other := opts
		other.Fingerprint = "POST /v1/environments/dev/metrics sha256:bb"
		_, err = db.AppendMetricsOnce(ctx, []store.MetricPoint{point}, other)
		wantCode(t, err, api.ECONFLICT)
		if got := count(); got != 2 {
			t.Fatalf("count after the conflict = %d, want 2", got)
		}
		// Keys share the namespace of object writes.
		mustCreateEnv(t, db, "dev")
		_, err = db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "a"), "", `{}`), store.WriteOptions{IdempotencyKey: opts.IdempotencyKey, Fingerprint: "create a"})
		wantCode(t, err, api.ECONFLICT)
		if _, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "b"), "", `{}`), store.WriteOptions{IdempotencyKey: "k2", Fingerprint: "create b"}); err != nil {
			t.Fatal(err)
		}
		_, err = db.AppendMetricsOnce(ctx, []store.MetricPoint{point}, store.MetricWriteOptions{IdempotencyKey: "k2", Fingerprint: opts.Fingerprint})
		wantCode(t, err, api.ECONFLICT)
		if got := count(); got != 2 {
			t.Fatalf("count after reusing an object write's key = %d, want 2", got)
		}

		// A refused append records no key: fixed, the same key goes through.
		bad := point
		bad.Errors = 5
		k3 := store.MetricWriteOptions{IdempotencyKey: "k3", Fingerprint: "f3"}
		if _, err := db.AppendMetricsOnce(ctx, []store.MetricPoint{point, bad}, k3); err == nil {
			t.Fatal("AppendMetricsOnce with errors > count: no error")
		}
		if got := count(); got != 2 {
			t.Fatalf("count after a refused append = %d, want 2 (all or none)", got)
		}
		if replayed, err := db.AppendMetricsOnce(ctx, []store.MetricPoint{point}, k3); err != nil || replayed {
			t.Fatalf("AppendMetricsOnce after a refused one = %v, %v; want stored", replayed, err)
		}
		// Without a key it appends every time, like AppendMetrics.
		for range 2 {
			if replayed, err := db.AppendMetricsOnce(ctx, []store.MetricPoint{point}, store.MetricWriteOptions{}); err != nil || replayed {
				t.Fatalf("AppendMetricsOnce without a key = %v, %v", replayed, err)
			}
		}
		if got := count(); got != 8 {
			t.Fatalf("count = %d, want 8", got)
		}
	})

	t.Run("IdempotentConcurrentRetries", func(t *testing.T) {
		// Two replicas get the same push at once: one stores it, the other
		// answers the replay.
		database := s.b.NewDatabase(t)
		a, _ := s.openAt(t, database, nil)
		b, _ := s.openAt(t, database, nil)
		point := store.MetricPoint{Environment: "dev", Series: api.CustomSeriesPrefix + "acc", Time: m0, Count: 1, Sum: 1, Min: 1, Max: 1, Samples: []float64{1}}
		opts := store.MetricWriteOptions{IdempotencyKey: "k", Fingerprint: "f"}
		const rounds = 5
		for i := range rounds {
			opts.IdempotencyKey = "k" + string(rune('a'+i))
			type result struct {
				replayed bool
				err      error
			}
			results := make(chan result, 2)
			for _, db := range []store.Store{a, b} {
				go func() {
					replayed, err := db.AppendMetricsOnce(ctx, []store.MetricPoint{point}, opts)
					results <- result{replayed, err}
				}()
			}
			r1, r2 := <-results, <-results
			if r1.err != nil || r2.err != nil || r1.replayed == r2.replayed {
				t.Fatalf("round %d: results %+v and %+v; want one stored and one replayed", i, r1, r2)
			}
		}
		if got := mustQuery(t, a, store.MetricQuery{Environment: "dev", Series: point.Series, From: m0, To: m0.Add(time.Hour)}); len(got) != rounds {
			t.Fatalf("points = %d, want %d (each push once)", len(got), rounds)
		}
	})

	t.Run("ConcurrentWithWrites", func(t *testing.T) {
		// Metric appends and object writes run side by side without
		// failing each other (on PostgreSQL they take different locks).
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		done := make(chan error, 1)
		go func() {
			for i := range 50 {
				if err := db.AppendMetrics(ctx, []store.MetricPoint{predictionPoint("churn", "primary", "v1", m0.Add(time.Duration(i)*time.Second), 1, 0)}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		for i := range 20 {
			mustCreate(t, db, ref(api.KindComputePool, "dev", "pool-"+string(rune('a'+i))), "", `{}`)
		}
		if err := <-done; err != nil {
			t.Fatalf("AppendMetrics beside writes: %v", err)
		}
		if got := mustQuery(t, db, store.MetricQuery{Environment: "dev", Series: api.SeriesPredictions, From: m0, To: m0.Add(time.Hour)}); len(got) != 50 {
			t.Fatalf("points = %d, want 50", len(got))
		}
	})
}
