package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// seq returns from, from+1, ..., to.
func seq(from, to int) []float64 {
	var out []float64
	for v := from; v <= to; v++ {
		out = append(out, float64(v))
	}
	return out
}

func feature(values ...float64) Feature {
	return newFeature(api.BaselineFeature{Name: "x", Values: values})
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestDeciles(t *testing.T) {
	// h = 99·k/10 over 1..100: the first decile lies 0.9 of the way from
	// x[9] = 10 to x[10] = 11.
	f := feature(seq(1, 100)...)
	want := []float64{10.9, 20.8, 30.7, 40.6, 50.5, 60.4, 70.3, 80.2, 90.1}
	for i := range want {
		if !near(f.edges[i], want[i]) {
			t.Fatalf("edges = %v, want %v", f.edges, want)
		}
	}
	for k, s := range f.share {
		if !near(s, 0.1) {
			t.Fatalf("bin %d holds %v of the baseline, want 0.1 (shares %v)", k, s, f.share)
		}
	}
}

func TestPSIAndKS(t *testing.T) {
	eps := Epsilon
	// An empty bin facing a baseline share of 0.1.
	emptyTerm := (eps - 0.1) * math.Log(eps/0.1)
	for _, tc := range []struct {
		name     string
		baseline []float64
		sample   Sample
		psi, ks  float64
	}{
		{"Identical", seq(1, 100), Sample{Values: seq(1, 100)}, 0, 0},
		{"IdenticalReordered", seq(1, 100), Sample{Values: append(seq(51, 100), seq(1, 50)...)}, 0, 0},
		// Every sampled value lies above the baseline: nine empty bins
		// and all of the sample in the last.
		{"Disjoint", seq(1, 100), Sample{Values: seq(1000, 1099)}, 9*emptyTerm + 0.9*math.Log(10), 1},
		// Shifted by half the range: bins 1-5 empty, 6-9 as in the
		// baseline, 60% in the last; the CDFs are 0.5 apart from 50 on.
		{"ShiftedByHalf", seq(1, 100), Sample{Values: seq(51, 150)}, 5*emptyTerm + 0.5*math.Log(6), 0.5},
		// Weights count: 50 values weighted 3 and 50 weighted 1 put 75%
		// of the mass on 1..50.
		{"Weighted", seq(1, 100), Sample{Values: seq(1, 100), Weights: append(repeat(3, 50), repeat(1, 50)...)},
			5*(0.15-0.1)*math.Log(1.5) + 5*(0.05-0.1)*math.Log(0.5), 0.25},
		// All values equal: every cut point is 5 and everything falls
		// into the first bin, in the baseline and the sample alike.
		{"Constant", repeat(5, 20), Sample{Values: repeat(5, 7)}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := feature(tc.baseline...)
			if got := f.PSI(&tc.sample); !near(got, tc.psi) {
				t.Errorf("PSI = %.9f, want %.9f", got, tc.psi)
			}
			if got := f.KS(&tc.sample); !near(got, tc.ks) {
				t.Errorf("KS = %.9f, want %.9f", got, tc.ks)
			}
		})
	}
	// The disjoint PSI, worked out by hand: 0.9·ln 10 + 9·0.0999·ln 1000.
	if got := feature(seq(1, 100)...).PSI(&Sample{Values: seq(1000, 1099)}); math.Abs(got-8.28308946) > 1e-6 {
		t.Errorf("disjoint PSI = %.8f, want 8.28308946", got)
	}
	if got := feature(seq(1, 100)...).KS(&Sample{}); !math.IsNaN(got) {
		t.Errorf("KS of an empty sample = %v, want NaN", got)
	}
	if got := feature(seq(1, 100)...).PSI(&Sample{}); !math.IsNaN(got) {
		t.Errorf("PSI of an empty sample = %v, want NaN", got)
	}
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestSummary(t *testing.T) {
	var s Summary
	for _, v := range seq(1, 100) {
		s.AddPoint(1, v, v, v, []float64{v})
	}
	for stat, want := range map[string]float64{
		api.StatisticP50: 50, api.StatisticP90: 90, api.StatisticP99: 99,
		api.StatisticAverage: 50.5, api.StatisticMinimum: 1, api.StatisticMaximum: 100,
		api.StatisticSum: 5050, api.StatisticSampleCount: 100,
	} {
		if got, ok := s.Statistic(stat); !ok || !near(got, want) {
			t.Errorf("%s = %v (%v), want %v", stat, got, ok, want)
		}
	}

	// A point of 10 observations sampled as two values stands for 5 per
	// value; one of 2 observations sampled in full for 1 each.
	var w Summary
	w.AddPoint(10, 40, 1, 7, []float64{1, 2})
	w.AddPoint(2, 30, 10, 20, []float64{10, 20})
	for stat, want := range map[string]float64{
		// Cumulative weights 5, 10, 11, 12 of 12: half (6) is reached at
		// 2, 90% (10.8) at 10, 99% (11.88) only at 20.
		api.StatisticP50: 2, api.StatisticP90: 10, api.StatisticP99: 20,
		api.StatisticAverage: 70.0 / 12, api.StatisticMinimum: 1, api.StatisticMaximum: 20,
		api.StatisticSum: 70, api.StatisticSampleCount: 12,
	} {
		if got, ok := w.Statistic(stat); !ok || !near(got, want) {
			t.Errorf("weighted %s = %v (%v), want %v", stat, got, ok, want)
		}
	}

	var empty Summary
	if _, ok := empty.Statistic(api.StatisticAverage); ok {
		t.Error("an empty summary gave an average")
	}
	// Counted but not sampled: exact statistics, no percentiles.
	var unsampled Summary
	unsampled.AddPoint(3, 9, 2, 4, nil)
	if _, ok := unsampled.Statistic(api.StatisticP99); ok {
		t.Error("a summary without samples gave a p99")
	}
	if got, ok := unsampled.Statistic(api.StatisticAverage); !ok || got != 3 {
		t.Errorf("average = %v (%v), want 3", got, ok)
	}
}

func TestValidate(t *testing.T) {
	ten := seq(1, 10)
	for _, tc := range []struct {
		name string
		fb   api.FeatureBaseline
		want string // "" for valid
	}{
		{"OK", api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "sqft", Values: ten}, {Name: "rooms", Values: ten}}}, ""},
		{"NoFeatures", api.FeatureBaseline{}, "features: has 0 features"},
		{"EmptyName", api.FeatureBaseline{Features: []api.BaselineFeature{{Values: ten}}}, "features[0].name is empty"},
		{"DuplicateName", api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "a", Values: ten}, {Name: "a", Values: ten}}}, `features[1].name: "a" is already the name of features[0]`},
		{"ControlCharacter", api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "a\nb", Values: ten}}}, "features[0].name"},
		{"TooFewValues", api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "a", Values: seq(1, 9)}}}, "features[0].values: feature \"a\" has 9 values; give 10 to"},
		{"NaN", api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "a", Values: append(seq(1, 10), math.NaN())}}}, "features[0].values[10]: is not a finite number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(&tc.fb)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid baseline refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := Parse([]byte(`{"features": [], "extra": 1}`)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := Parse([]byte(`{"features": [{"name": "a", "values": [1,2,3,4,5,6,7,8,9,10]}]} {}`)); err == nil {
		t.Error("two JSON values were accepted")
	}
}

func writeBaseline(t *testing.T, path string, fb api.FeatureBaseline) string {
	t.Helper()
	b, err := json.Marshal(fb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestLoader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baseline.json")
	sum := writeBaseline(t, path, api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "sqft", Values: seq(1, 100)}}})

	var l Loader
	b, err := l.Load(path, sum)
	if err != nil {
		t.Fatal(err)
	}
	if b.SHA256 != sum || len(b.Features()) != 1 || b.Names()[0] != "sqft" {
		t.Fatalf("loaded %+v", b)
	}
	if _, ok := b.Feature("sqft"); !ok {
		t.Fatal("feature sqft not found")
	}
	if _, ok := b.Feature("rooms"); ok {
		t.Fatal("feature rooms found")
	}

	// The file changes behind the digest: a second Load of the same
	// digest is served from the cache, a Load that reads the file finds
	// the mismatch.
	writeBaseline(t, path, api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "rooms", Values: seq(1, 10)}}})
	again, err := l.Load(path, sum)
	if err != nil || again != b {
		t.Fatalf("cached load = %p, %v; want the first baseline %p", again, err, b)
	}
	var fresh Loader
	if _, err := fresh.Load(path, sum); !errors.Is(err, ErrDigest) {
		t.Fatalf("load of a changed file = %v, want ErrDigest", err)
	}
	if _, _, err := ReadFile(filepath.Join(t.TempDir(), "missing.json"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, _, err := ReadFile(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: %v", err)
	}
}

func TestCheckFeatureName(t *testing.T) {
	for name, ok := range map[string]bool{"sqft": true, "Sepal Length": true, "": false, "a\tb": false, strings.Repeat("a", 129): false} {
		if err := CheckFeatureName(name); (err == nil) != ok {
			t.Errorf("CheckFeatureName(%q) = %v", name, err)
		}
	}
}

// TestPSI_DefaultMinSamplesDoNotReadAsDrift checks the default min_samples
// of the drift alarms against chance: periods of api.DefaultDriftMinSamples
// inputs drawn from the training distribution itself must stay under the
// usual PSI threshold of 0.25 (and a KS of 0.2), whereas at 30 inputs
// most of them would not.
func TestPSI_DefaultMinSamplesDoNotReadAsDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	draw := func() float64 { return 40 + 120*rng.Float64() }
	train := make([]float64, 500)
	for i := range train {
		train[i] = draw()
	}
	f := feature(train...)
	overAt := func(n, trials int) (psi, ks int) {
		for range trials {
			var s Sample
			for range n {
				s.Add(1, draw())
			}
			if f.PSI(&s) > 0.25 {
				psi++
			}
			if f.KS(&s) > 0.2 {
				ks++
			}
		}
		return psi, ks
	}
	const trials = 1000
	if psi, ks := overAt(api.DefaultDriftMinSamples, trials); psi > trials/200 || ks > trials/200 {
		t.Errorf("periods of %d inputs like the training data: %d of %d read PSI > 0.25 and %d KS > 0.2; want at most 0.5 %%",
			api.DefaultDriftMinSamples, psi, trials, ks)
	}
	// The reason for the default: at 30 inputs chance alone reads as drift.
	if psi, _ := overAt(30, trials); psi < trials/2 {
		t.Errorf("periods of 30 inputs: %d of %d read PSI > 0.25; the premise of the default no longer holds", psi, trials)
	}
}
