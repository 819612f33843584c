// Package drift compares distributions: the inputs a model endpoint serves
// against the training values in a model version's baseline file (the
// population stability index and the two-sample Kolmogorov–Smirnov
// statistic), and the statistics alarms take over the weighted samples of
// the metrics store (percentiles, average, minimum, maximum, sum, count).
//
// It imports nothing of the control plane but the wire types, so the API
// server (which verifies a baseline when a model version is registered),
// the pipeline reconciler (which registers one from a run's output) and the
// alarm evaluator share one reading of the format.
package drift

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// MaxBaselineFileBytes bounds a baseline file, so that a registration or
// an alarm pass never reads an unbounded file into memory. 64 MiB holds
// several million values, far more than the deciles and the KS statistic
// need.
const MaxBaselineFileBytes = 64 << 20

// MaxFeatureNameLength bounds a feature's name in a baseline file and in an
// alarm's spec.feature.
const MaxFeatureNameLength = 128

// CheckFeatureName reports what is wrong with a feature name, or nil: it
// must be 1..MaxFeatureNameLength bytes of printable characters.
func CheckFeatureName(name string) error {
	switch {
	case name == "":
		return errors.New("is empty; name the feature as the model's input is named, e.g. sqft")
	case len(name) > MaxFeatureNameLength:
		return fmt.Errorf("is %d bytes long; use at most %d", len(name), MaxFeatureNameLength)
	case strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }):
		return fmt.Errorf("%q contains control or non-printable characters; use a plain name such as sqft", name)
	}
	return nil
}

// Parse decodes a baseline file strictly (no unknown fields, one JSON
// value) and checks it with Validate.
func Parse(b []byte) (*api.FeatureBaseline, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var fb api.FeatureBaseline
	if err := dec.Decode(&fb); err != nil {
		return nil, fmt.Errorf(`not a baseline file {"features": [{"name": ..., "values": [...]}, ...]}: %v`, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value; write one object")
	}
	if err := Validate(&fb); err != nil {
		return nil, err
	}
	return &fb, nil
}

// Validate checks a baseline: 1..api.MaxBaselineFeatures features with
// unique, valid names, each with api.MinBaselineValues..
// api.MaxBaselineValues finite values. Errors name the place, e.g.
// features[2].values.
func Validate(fb *api.FeatureBaseline) error {
	if n := len(fb.Features); n < 1 || n > api.MaxBaselineFeatures {
		return fmt.Errorf("features: has %d features; a baseline needs 1 to %d, one per model input in input order", n, api.MaxBaselineFeatures)
	}
	seen := map[string]int{}
	for i, f := range fb.Features {
		if err := CheckFeatureName(f.Name); err != nil {
			return fmt.Errorf("features[%d].name %v", i, err)
		}
		if j, dup := seen[f.Name]; dup {
			return fmt.Errorf("features[%d].name: %q is already the name of features[%d]; names must be unique", i, f.Name, j)
		}
		seen[f.Name] = i
		if n := len(f.Values); n < api.MinBaselineValues || n > api.MaxBaselineValues {
			return fmt.Errorf("features[%d].values: feature %q has %d values; give %d to %d training values", i, f.Name, n, api.MinBaselineValues, api.MaxBaselineValues)
		}
		for k, v := range f.Values {
			// encoding/json cannot produce NaN or an infinity, but a
			// FeatureBaseline built in Go can.
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("features[%d].values[%d]: is not a finite number", i, k)
			}
		}
	}
	return nil
}

// Baseline is a parsed and verified baseline file, ready for comparisons.
// It is read-only and safe for concurrent use.
type Baseline struct {
	// SHA256 is the hex digest of the file it was read from.
	SHA256   string
	features []Feature
	index    map[string]int
}

// Feature is one feature of a Baseline: its training values sorted, and the
// ten bins of the PSI.
type Feature struct {
	Name string
	// sorted are the training values in ascending order.
	sorted []float64
	// edges are the nine inner cut points of the bins: the baseline's
	// deciles (10%, ..., 90%).
	edges []float64
	// share is the fraction of the training values in each bin.
	share [Bins]float64
}

// NewBaseline prepares fb (which must pass Validate) for comparisons.
func NewBaseline(fb *api.FeatureBaseline, sum string) *Baseline {
	b := &Baseline{SHA256: sum, index: make(map[string]int, len(fb.Features))}
	for i, f := range fb.Features {
		b.index[f.Name] = i
		b.features = append(b.features, newFeature(f))
	}
	return b
}

func newFeature(f api.BaselineFeature) Feature {
	sorted := slices.Clone(f.Values)
	slices.Sort(sorted)
	out := Feature{Name: f.Name, sorted: sorted, edges: deciles(sorted)}
	for _, v := range sorted {
		out.share[out.bin(v)]++
	}
	for i := range out.share {
		out.share[i] /= float64(len(sorted))
	}
	return out
}

// Features returns the baseline's features in file order.
func (b *Baseline) Features() []Feature { return b.features }

// Feature returns the feature called name.
func (b *Baseline) Feature(name string) (Feature, bool) {
	i, ok := b.index[name]
	if !ok {
		return Feature{}, false
	}
	return b.features[i], true
}

// Names returns the feature names in file order.
func (b *Baseline) Names() []string {
	names := make([]string, len(b.features))
	for i, f := range b.features {
		names[i] = f.Name
	}
	return names
}

// ErrDigest is wrapped by ReadFile when a file's SHA-256 is not the
// expected one.
var ErrDigest = errors.New("baseline file digest mismatch")

// ReadFile reads, verifies and parses the baseline file at path: it must be
// a regular file of at most MaxBaselineFileBytes whose hex SHA-256 is
// wantSHA256 (when wantSHA256 is not empty). It returns the parsed file and
// its digest.
func ReadFile(path, wantSHA256 string) (*api.FeatureBaseline, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if !info.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%s is not a regular file", path)
	}
	if info.Size() > MaxBaselineFileBytes {
		return nil, "", fmt.Errorf("%s is %d bytes; a baseline file may have at most %d (sample the training values)", path, info.Size(), MaxBaselineFileBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxBaselineFileBytes+1))
	if err != nil {
		return nil, "", err
	}
	if len(b) > MaxBaselineFileBytes {
		return nil, "", fmt.Errorf("%s grew past %d bytes while it was read", path, MaxBaselineFileBytes)
	}
	sum := sha256.Sum256(b)
	got := hex.EncodeToString(sum[:])
	if wantSHA256 != "" && got != wantSHA256 {
		return nil, got, fmt.Errorf("%w: %s has SHA-256 %s, not %s", ErrDigest, path, got, wantSHA256)
	}
	fb, err := Parse(b)
	if err != nil {
		return nil, got, fmt.Errorf("%s: %w", path, err)
	}
	return fb, got, nil
}

// maxCachedBaselines bounds the Loader's cache; past it the cache starts
// over, which costs one read per baseline in use.
const maxCachedBaselines = 64

// Loader reads baseline files and keeps the parsed ones by digest: a
// registered baseline never changes (its digest is part of the model
// version), so a file is read and verified once however often alarms look
// at it. It is safe for concurrent use.
type Loader struct {
	mu    sync.Mutex
	cache map[string]*Baseline
}

// Load returns the baseline at path with the hex SHA-256 sum, reading and
// verifying the file only when no baseline of that digest was loaded yet.
func (l *Loader) Load(path, sum string) (*Baseline, error) {
	l.mu.Lock()
	b, ok := l.cache[sum]
	l.mu.Unlock()
	if ok {
		return b, nil
	}
	fb, _, err := ReadFile(path, sum)
	if err != nil {
		return nil, err
	}
	b = NewBaseline(fb, sum)
	l.mu.Lock()
	if l.cache == nil || len(l.cache) >= maxCachedBaselines {
		l.cache = map[string]*Baseline{}
	}
	l.cache[sum] = b
	l.mu.Unlock()
	return b, nil
}
