package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Defaults of Config.
const (
	DefaultFlushInterval = time.Second
	DefaultRetention     = api.MaxAlarmWindow
	DefaultPruneInterval = time.Hour
	DefaultMaxPoints     = 100_000
)

// MetricsStore is the part of store.Store the recorder writes to.
type MetricsStore interface {
	AppendMetrics(ctx context.Context, points []store.MetricPoint) error
	PruneMetrics(ctx context.Context, before time.Time) (int64, error)
}

// Config configures a Recorder. Zero durations and counts mean the
// defaults.
type Config struct {
	// Store receives the points.
	Store MetricsStore
	// Logger receives the flush and prune failures; nil discards them.
	Logger *slog.Logger
	// Registry receives the recorder's counters; nil registers none.
	Registry prometheus.Registerer
	// FlushInterval is how often the points in memory are written. A
	// point of the second under way is written too: readers sum the
	// points of one second, so writing it in parts is fine.
	FlushInterval time.Duration
	// Retention is how long points are kept; older ones are pruned at
	// Start and every PruneInterval after.
	Retention     time.Duration
	PruneInterval time.Duration
	// MaxPoints bounds the points held in memory while the store refuses
	// them; beyond it the oldest are dropped (and counted).
	MaxPoints int
	// Now is the clock of the buckets; nil means time.Now.
	Now func() time.Time
	// Rand draws the samples; nil means the global source.
	Rand *rand.Rand
}

// Recorder aggregates the gateway's observations per series, dimensions
// and second, and writes them to the store every FlushInterval. A flush the
// store refuses keeps its points for the next one, up to MaxPoints. A nil
// *Recorder records nothing.
type Recorder struct {
	cfg Config

	mu       sync.Mutex
	pending  *Batch
	retained []store.MetricPoint // refused by the store, oldest first

	flushMu sync.Mutex // one flush at a time

	cancel context.CancelFunc
	wg     sync.WaitGroup

	written, flushErrors, dropped, pruned prometheus.Counter
}

// New returns a recorder; Start begins writing.
func New(cfg Config) (*Recorder, error) {
	if cfg.Store == nil {
		return nil, errors.New("telemetry: a recorder needs a store")
	}
	if cfg.FlushInterval < 0 || cfg.Retention < 0 || cfg.PruneInterval < 0 || cfg.MaxPoints < 0 {
		return nil, fmt.Errorf("telemetry: negative setting in %+v", cfg)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.PruneInterval == 0 {
		cfg.PruneInterval = DefaultPruneInterval
	}
	if cfg.MaxPoints == 0 {
		cfg.MaxPoints = DefaultMaxPoints
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Recorder{
		cfg:     cfg,
		pending: NewBatch(cfg.Rand),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlopsd_metrics_points_written_total", Help: "Metric points the gateway's recorder wrote to the metrics store.",
		}),
		flushErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlopsd_metrics_flush_errors_total", Help: "Flushes of the metrics recorder the store refused; their points are retried at the next flush.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlopsd_metrics_dropped_points_total", Help: "Metric points dropped because too many were waiting for a store that refused them.",
		}),
		pruned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mlopsd_metrics_pruned_points_total", Help: "Metric points deleted after the retention.",
		}),
	}
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{r.written, r.flushErrors, r.dropped, r.pruned} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("telemetry: registering metrics: %w", err)
			}
		}
	}
	return r, nil
}

// RecordPrediction records one prediction of a variant's model version:
// its latency and whether the variant failed it.
func (r *Recorder) RecordPrediction(env, endpoint, variant, version string, latency time.Duration, failed bool) {
	if r == nil {
		return
	}
	k := r.key(env, api.SeriesPredictions, endpoint, variant, version)
	ms := float64(latency) / float64(time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.admit(k) {
		r.pending.AddValue(k, ms, failed)
	}
}

// RecordInputs records the input vector of one prediction.
func (r *Recorder) RecordInputs(env, endpoint, variant, version string, inputs []float64) {
	if r == nil {
		return
	}
	k := r.key(env, api.SeriesInputs, endpoint, variant, version)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.admit(k) {
		r.pending.AddInputs(k, inputs)
	}
}

func (r *Recorder) key(env, series, endpoint, variant, version string) Key {
	return Key{Environment: env, Series: series, Endpoint: endpoint, Variant: variant, ModelVersion: version, Time: r.cfg.Now()}
}

// admit reports whether an observation of k may be kept: a new point
// must fit within MaxPoints, for which the oldest retained point gives way.
// Only when nothing is retained and the second under way alone has
// MaxPoints points is the observation dropped. r.mu is held.
func (r *Recorder) admit(k Key) bool {
	if r.pending.Has(k) || r.pending.Len()+len(r.retained) < r.cfg.MaxPoints {
		return true
	}
	r.dropped.Inc()
	if len(r.retained) > 0 {
		r.retained = r.retained[1:]
		return true
	}
	return false
}

// Pending is the number of points in memory, not written yet.
func (r *Recorder) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending.Len() + len(r.retained)
}

// Flush writes every point in memory in one AppendMetrics. When the store
// refuses it, the points stay in memory (the oldest beyond MaxPoints are
// dropped) for the next flush, and the error is returned.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	batch := append(r.retained, r.pending.Points()...)
	r.retained = nil
	r.pending = NewBatch(r.cfg.Rand)
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := r.cfg.Store.AppendMetrics(ctx, batch)
	if err == nil {
		r.written.Add(float64(len(batch)))
		return nil
	}
	if ctx.Err() == nil {
		// A flush cut short by Close is no fault of the store.
		r.flushErrors.Inc()
	}
	r.mu.Lock()
	// Points recorded meanwhile are newer; they count against the bound
	// as well.
	if over := len(batch) + r.pending.Len() - r.cfg.MaxPoints; over > 0 {
		over = min(over, len(batch))
		r.dropped.Add(float64(over))
		batch = batch[over:]
	}
	r.retained = batch
	r.mu.Unlock()
	return fmt.Errorf("writing %d metric points: %w", len(batch), err)
}

// Prune deletes the points older than the retention.
func (r *Recorder) Prune(ctx context.Context) (int64, error) {
	n, err := r.cfg.Store.PruneMetrics(ctx, r.cfg.Now().Add(-r.cfg.Retention))
	if err != nil {
		return 0, fmt.Errorf("pruning metric points older than %v: %w", r.cfg.Retention, err)
	}
	r.pruned.Add(float64(n))
	return n, nil
}

// Start flushes every FlushInterval and prunes now and every PruneInterval,
// in the background, until Close.
func (r *Recorder) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		r.every(ctx, r.cfg.FlushInterval, false, func(ctx context.Context) {
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.cfg.Logger.Warn("flushing metrics; retrying at the next flush", "err", err)
			}
		})
	}()
	go func() {
		defer r.wg.Done()
		r.every(ctx, r.cfg.PruneInterval, true, func(ctx context.Context) {
			if n, err := r.Prune(ctx); err != nil && ctx.Err() == nil {
				r.cfg.Logger.Warn("pruning metrics", "err", err)
			} else if n > 0 {
				r.cfg.Logger.Debug("pruned metric points", "points", n, "retention", r.cfg.Retention)
			}
		})
	}()
}

// every runs fn every interval (and once at once when now is true) until
// ctx ends.
func (r *Recorder) every(ctx context.Context, interval time.Duration, now bool, fn func(context.Context)) {
	if now {
		fn(ctx)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// Close stops the background work and flushes what is left, within ctx.
// Observations recorded after Close are not written.
func (r *Recorder) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	return r.Flush(ctx)
}
