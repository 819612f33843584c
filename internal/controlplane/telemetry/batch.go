// Package telemetry aggregates the observations of the prediction gateway
// into the one-second points of the metrics store (store.MetricPoint) and
// writes them in the background: the Recorder. Batch, the aggregation
// itself, also serves the custom metrics push, which stores its points at
// once.
package telemetry

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Key names one point: a series, its dimensions and its bucket.
type Key struct {
	Environment  string
	Series       string
	Endpoint     string
	Variant      string
	ModelVersion string
	// Time is any instant of the bucket; the point starts at its whole
	// second, UTC.
	Time time.Time
}

// bucket returns k with Time at the start of its bucket.
func (k Key) bucket() Key {
	k.Time = k.Time.UTC().Truncate(api.MetricBucketSeconds * time.Second)
	return k
}

// Batch aggregates observations into one store.MetricPoint per Key. Count,
// Errors, Sum, Min and Max are exact; Samples and Inputs are uniform
// samples of at most api.MaxMetricSamples observations each (Algorithm R).
// A Batch is not safe for concurrent use.
type Batch struct {
	rnd    *rand.Rand
	points map[Key]*store.MetricPoint
}

// NewBatch returns an empty batch whose samples draw from rnd; nil uses the
// global source.
func NewBatch(rnd *rand.Rand) *Batch {
	return &Batch{rnd: rnd, points: map[Key]*store.MetricPoint{}}
}

// Len is the number of points in the batch.
func (b *Batch) Len() int { return len(b.points) }

// Has reports whether the batch has a point for k's bucket already.
func (b *Batch) Has(k Key) bool {
	_, ok := b.points[k.bucket()]
	return ok
}

// point returns the point of k's bucket, creating it.
func (b *Batch) point(k Key) *store.MetricPoint {
	k = k.bucket()
	p := b.points[k]
	if p == nil {
		p = &store.MetricPoint{Environment: k.Environment, Series: k.Series, Endpoint: k.Endpoint,
			Variant: k.Variant, ModelVersion: k.ModelVersion, Time: k.Time}
		b.points[k] = p
	}
	return p
}

// AddValue adds one observed value (a latency in milliseconds, a custom
// metric's value); failed counts it in Errors too.
func (b *Batch) AddValue(k Key, v float64, failed bool) {
	p := b.point(k)
	p.Count++
	if failed {
		p.Errors++
	}
	if p.Count == 1 || v < p.Min {
		p.Min = v
	}
	if p.Count == 1 || v > p.Max {
		p.Max = v
	}
	p.Sum += v
	if i := b.slot(p.Count); i == len(p.Samples) {
		p.Samples = append(p.Samples, v)
	} else if i >= 0 {
		p.Samples[i] = v
	}
}

// AddInputs adds one input vector; the batch keeps a copy.
func (b *Batch) AddInputs(k Key, inputs []float64) {
	p := b.point(k)
	p.Count++
	if i := b.slot(p.Count); i == len(p.Inputs) {
		p.Inputs = append(p.Inputs, slices.Clone(inputs))
	} else if i >= 0 {
		p.Inputs[i] = slices.Clone(inputs)
	}
}

// slot is Algorithm R's step for the n-th observation (from 1): the index
// of the sample it takes, n-1 (append) while the sample is not full, and
// -1 when it is left out. Every observation ends up in the sample with the
// same probability, MaxMetricSamples/n.
func (b *Batch) slot(n int64) int {
	if n <= api.MaxMetricSamples {
		return int(n - 1)
	}
	var j int64
	if b.rnd != nil {
		j = b.rnd.Int64N(n)
	} else {
		j = rand.Int64N(n)
	}
	if j < api.MaxMetricSamples {
		return int(j)
	}
	return -1
}

// Points returns the batch's points, oldest first (then by series and
// dimensions, so the order is stable).
func (b *Batch) Points() []store.MetricPoint {
	out := make([]store.MetricPoint, 0, len(b.points))
	for _, p := range b.points {
		out = append(out, *p)
	}
	slices.SortFunc(out, comparePoints)
	return out
}

func comparePoints(a, b store.MetricPoint) int {
	return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Environment, b.Environment), cmp.Compare(a.Series, b.Series),
		cmp.Compare(a.Endpoint, b.Endpoint), cmp.Compare(a.Variant, b.Variant), cmp.Compare(a.ModelVersion, b.ModelVersion))
}
