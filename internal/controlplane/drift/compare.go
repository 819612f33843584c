package drift

import (
	"math"
	"sort"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Bins is the number of bins of the PSI: the baseline's deciles cut its
// range into ten.
const Bins = 10

// Epsilon replaces the share of a bin that holds no values (in the
// baseline or in the sample) in the PSI, whose terms would otherwise divide
// by zero or take the logarithm of zero. 1e-4 is the customary choice: an
// empty bin facing a share s then contributes about s·ln(s/1e-4), large
// enough to show, finite enough to compare.
const Epsilon = 1e-4

// Sample is a set of observed values with weights: value i stands for
// Weights[i] observations (nil Weights means 1 each). The metrics store
// keeps a uniform sample of a second's observations, so each sampled value
// of a point stands for count/len(samples) of them.
type Sample struct {
	Values  []float64
	Weights []float64
}

// Add appends values that each stand for weight observations.
func (s *Sample) Add(weight float64, values ...float64) {
	if s.Weights == nil && weight != 1 {
		s.Weights = make([]float64, len(s.Values), len(s.Values)+len(values))
		for i := range s.Weights {
			s.Weights[i] = 1
		}
	}
	s.Values = append(s.Values, values...)
	if s.Weights != nil {
		for range values {
			s.Weights = append(s.Weights, weight)
		}
	}
}

// Len is the number of sampled values.
func (s *Sample) Len() int { return len(s.Values) }

func (s *Sample) weight(i int) float64 {
	if s.Weights == nil {
		return 1
	}
	return s.Weights[i]
}

// sorted returns the sample's values and weights ordered by value.
func (s *Sample) sorted() ([]float64, []float64) {
	idx := make([]int, len(s.Values))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.Values[idx[a]] < s.Values[idx[b]] })
	vs := make([]float64, len(idx))
	ws := make([]float64, len(idx))
	for k, i := range idx {
		vs[k], ws[k] = s.Values[i], s.weight(i)
	}
	return vs, ws
}

// deciles returns the nine inner deciles of sorted (ascending, not empty),
// interpolated linearly between the closest ranks: the p-quantile of n
// values is x[h₀] + (h−h₀)·(x[h₀+1]−x[h₀]) with h = (n−1)·p, h₀ = ⌊h⌋.
func deciles(sorted []float64) []float64 {
	edges := make([]float64, Bins-1)
	n := len(sorted)
	for k := 1; k < Bins; k++ {
		h := float64(n-1) * float64(k) / Bins
		lo := int(math.Floor(h))
		v := sorted[lo]
		if lo+1 < n {
			v += (h - float64(lo)) * (sorted[lo+1] - sorted[lo])
		}
		edges[k-1] = v
	}
	return edges
}

// bin returns the bin of v: bin k holds the values in (edge[k−1], edge[k]],
// the first bin everything up to the first decile and the last everything
// above the ninth. Values equal to a cut point fall into the lower bin, the
// same rule for the baseline and the sample.
func (f Feature) bin(v float64) int {
	return sort.SearchFloat64s(f.edges, v)
}

// PSI returns the population stability index of the sample against the
// feature's training values over the ten bins cut at the baseline's
// deciles:
//
//	PSI = Σₖ (aₖ − bₖ) · ln(aₖ / bₖ)
//
// where bₖ is the fraction of the training values and aₖ the (weighted)
// fraction of the sample in bin k, each replaced by Epsilon when it is 0.
// Identical distributions give 0; 0.1 is commonly read as a moderate shift
// and 0.25 as a large one. An empty sample gives NaN.
func (f Feature) PSI(s *Sample) float64 {
	var counts [Bins]float64
	total := 0.0
	for i, v := range s.Values {
		w := s.weight(i)
		counts[f.bin(v)] += w
		total += w
	}
	if total <= 0 {
		return math.NaN()
	}
	psi := 0.0
	for k := range counts {
		a := max(counts[k]/total, Epsilon)
		b := max(f.share[k], Epsilon)
		psi += (a - b) * math.Log(a/b)
	}
	return psi
}

// KS returns the two-sample Kolmogorov–Smirnov statistic of the sample
// against the feature's training values: the largest distance between
// their empirical distribution functions,
//
//	D = supₓ |F_baseline(x) − F_sample(x)|,
//
// with the sample's function weighted. It is 0 for identical samples and 1
// for samples that do not overlap. An empty sample gives NaN.
func (f Feature) KS(s *Sample) float64 {
	vs, ws := s.sorted()
	total := 0.0
	for _, w := range ws {
		total += w
	}
	if total <= 0 {
		return math.NaN()
	}
	base := f.sorted
	n := float64(len(base))
	var i, j int
	cumA, d := 0.0, 0.0
	// Step through the distinct values of both in order; both functions
	// jump at a value, so the distance is measured after every value equal
	// to it on either side was taken in.
	for i < len(base) || j < len(vs) {
		var x float64
		switch {
		case i == len(base):
			x = vs[j]
		case j == len(vs):
			x = base[i]
		default:
			x = min(base[i], vs[j])
		}
		for i < len(base) && base[i] <= x {
			i++
		}
		for j < len(vs) && vs[j] <= x {
			cumA += ws[j]
			j++
		}
		d = max(d, math.Abs(float64(i)/n-cumA/total))
	}
	return d
}

// Summary accumulates the observations of one period, as the metrics
// store's points give them: exact count, sum, minimum and maximum, and a
// uniform sample of the values.
type Summary struct {
	Count    int64
	Sum      float64
	Min, Max float64
	Sample   Sample
}

// AddPoint adds one point's aggregates and its uniform sample, whose
// values each stand for count/len(samples) observations.
func (s *Summary) AddPoint(count int64, sum, lo, hi float64, samples []float64) {
	if count <= 0 {
		return
	}
	if s.Count == 0 {
		s.Min, s.Max = lo, hi
	} else {
		s.Min, s.Max = min(s.Min, lo), max(s.Max, hi)
	}
	s.Count += count
	s.Sum += sum
	if len(samples) > 0 {
		s.Sample.Add(float64(count)/float64(len(samples)), samples...)
	}
}

// Percentile returns the weighted p-quantile (0 < p ≤ 1) of the sample:
// the smallest value whose cumulative weight, in ascending order, reaches
// p of the total weight. An empty sample gives NaN.
func (s *Summary) Percentile(p float64) float64 {
	vs, ws := s.Sample.sorted()
	total := 0.0
	for _, w := range ws {
		total += w
	}
	if total <= 0 {
		return math.NaN()
	}
	target := p * total
	cum := 0.0
	for i, w := range ws {
		cum += w
		// A relative tolerance keeps sums of fractional weights from
		// missing a rank they reach exactly.
		if cum >= target*(1-1e-12) {
			return vs[i]
		}
	}
	return vs[len(vs)-1]
}

// Average returns Sum/Count, or NaN without observations.
func (s *Summary) Average() float64 {
	if s.Count == 0 {
		return math.NaN()
	}
	return s.Sum / float64(s.Count)
}

// Statistic returns the named statistic (one of the api.Statistic*
// constants) of the observations, and false when the period cannot give it:
// no observations, or a percentile without sampled values.
func (s *Summary) Statistic(stat string) (float64, bool) {
	if s.Count == 0 {
		return 0, false
	}
	var v float64
	switch stat {
	case api.StatisticP50:
		v = s.Percentile(0.50)
	case api.StatisticP90:
		v = s.Percentile(0.90)
	case api.StatisticP99:
		v = s.Percentile(0.99)
	case api.StatisticAverage:
		v = s.Average()
	case api.StatisticMinimum:
		v = s.Min
	case api.StatisticMaximum:
		v = s.Max
	case api.StatisticSum:
		v = s.Sum
	case api.StatisticSampleCount:
		v = float64(s.Count)
	default:
		return 0, false
	}
	return v, !math.IsNaN(v)
}
