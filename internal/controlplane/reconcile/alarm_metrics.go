package reconcile

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/drift"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// measurement computes an alarm's statistic for consecutive periods.
type measurement struct {
	h          *AlarmHandler
	obj        *store.Object
	spec       api.AlarmSpec
	starts     []time.Time
	period     time.Duration
	minSamples int64
}

// periodValue is one period's statistic, or why it has none.
type periodValue struct {
	value   *float64
	samples int64
	// detail says what the value is of, or why there is none.
	detail string
	// featureDrift is each feature's statistic, for drift alarms.
	featureDrift map[string]float64
}

// missingAll gives every period no value, for reason.
func (m *measurement) missingAll(reason string) []periodValue {
	out := make([]periodValue, len(m.starts))
	for i := range out {
		out[i].detail = reason
	}
	return out
}

// measure returns the statistic of each period of m.starts, and for drift
// alarms the drift of each feature in the newest one.
func (m *measurement) measure(ctx context.Context) ([]periodValue, map[string]float64, error) {
	env := m.obj.Meta.Environment
	if m.spec.Endpoint != "" {
		_, err := m.h.Store.Get(ctx, api.Ref{Kind: api.KindModelEndpoint, Environment: env, Name: m.spec.Endpoint})
		if hasCode(err, api.ENOTFOUND) {
			return m.missingAll(fmt.Sprintf("model endpoint %q does not exist in environment %q", m.spec.Endpoint, env)), nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
	}
	switch m.spec.Metric {
	case api.AlarmMetricLatency:
		out, err := m.summaries(ctx, api.SeriesPredictions, "predictions", func(s *drift.Summary) (float64, bool) {
			return s.Statistic(m.spec.Statistic)
		})
		return out, nil, err
	case api.AlarmMetricErrorRate:
		out, err := m.points(ctx, api.SeriesPredictions, "predictions", func(ps []store.MetricPoint) (float64, int64) {
			var count, errs int64
			for _, p := range ps {
				count += p.Count
				errs += p.Errors
			}
			if count == 0 {
				return 0, 0
			}
			return 100 * float64(errs) / float64(count), count
		})
		return out, nil, err
	case api.AlarmMetricInvocations:
		out, err := m.points(ctx, api.SeriesPredictions, "predictions", func(ps []store.MetricPoint) (float64, int64) {
			var count int64
			for _, p := range ps {
				count += p.Count
			}
			return float64(count), count
		})
		return out, nil, err
	case api.AlarmMetricCustom:
		out, err := m.summaries(ctx, api.CustomSeriesPrefix+m.spec.MetricName, "datapoints", func(s *drift.Summary) (float64, bool) {
			return s.Statistic(m.spec.Statistic)
		})
		return out, nil, err
	case api.AlarmMetricModelMetric:
		out, err := m.modelMetric(ctx)
		return out, nil, err
	case api.AlarmMetricFeatureDriftPSI, api.AlarmMetricFeatureDriftKS:
		return m.drift(ctx)
	}
	return m.missingAll(fmt.Sprintf("metric %q is not known to this mlopsd", m.spec.Metric)), nil, nil
}

// query reads the points of series for the endpoint and variant of the
// alarm over all of m's periods, grouped by period.
func (m *measurement) query(ctx context.Context, series string) ([][]store.MetricPoint, error) {
	from := m.starts[0]
	to := m.starts[len(m.starts)-1].Add(m.period)
	points, err := m.h.Store.QueryMetrics(ctx, store.MetricQuery{
		Environment: m.obj.Meta.Environment, Series: series,
		Endpoint: m.spec.Endpoint, Variant: m.spec.Variant,
		From: from, To: to,
	})
	if err != nil {
		return nil, fmt.Errorf("querying %s of %s: %w", series, m.obj.Ref(), err)
	}
	out := make([][]store.MetricPoint, len(m.starts))
	secs := int64(m.period / time.Second)
	for _, p := range points {
		i := (p.Time.Unix() - from.Unix()) / secs
		if i >= 0 && int(i) < len(out) {
			out[i] = append(out[i], p)
		}
	}
	return out, nil
}

// points computes each period's value and observation count with f.
func (m *measurement) points(ctx context.Context, series, what string, f func([]store.MetricPoint) (float64, int64)) ([]periodValue, error) {
	groups, err := m.query(ctx, series)
	if err != nil {
		return nil, err
	}
	out := make([]periodValue, len(groups))
	for i, ps := range groups {
		v, n := f(ps)
		out[i] = m.checked(v, n, what)
	}
	return out, nil
}

// summaries computes each period's statistic from the points' exact
// aggregates and weighted samples.
func (m *measurement) summaries(ctx context.Context, series, what string, stat func(*drift.Summary) (float64, bool)) ([]periodValue, error) {
	groups, err := m.query(ctx, series)
	if err != nil {
		return nil, err
	}
	out := make([]periodValue, len(groups))
	for i, ps := range groups {
		var s drift.Summary
		for _, p := range ps {
			s.AddPoint(p.Count, p.Sum, p.Min, p.Max, p.Samples)
		}
		v, ok := stat(&s)
		if !ok && s.Count >= m.minSamples {
			out[i] = periodValue{samples: s.Count, detail: fmt.Sprintf("%d %s but no sampled values for %s", s.Count, what, m.spec.Statistic)}
			continue
		}
		out[i] = m.checked(v, s.Count, what)
	}
	return out, nil
}

// checked is a period with value v over n observations, or missing data
// when n is below min_samples.
func (m *measurement) checked(v float64, n int64, what string) periodValue {
	if n < m.minSamples || n == 0 {
		return periodValue{samples: n, detail: fmt.Sprintf("%d %s, fewer than min_samples %d", n, what, m.minSamples)}
	}
	if !finite(v) {
		return periodValue{samples: n, detail: fmt.Sprintf("the statistic of %d %s is not a finite number", n, what)}
	}
	return periodValue{value: &v, samples: n}
}

// modelMetric is the metric_name of the model version that serves the
// alarm's variant (the endpoint's first variant when none is named), the
// same value in every period.
func (m *measurement) modelMetric(ctx context.Context) ([]periodValue, error) {
	env := m.obj.Meta.Environment
	version, variant, reason, err := servingVersion(ctx, m.h.Store, env, m.spec.Endpoint, m.spec.Variant)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		return m.missingAll(reason), nil
	}
	mv, reason, err := modelVersionSpec(ctx, m.h.Store, env, version)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		return m.missingAll(reason), nil
	}
	raw, ok := mv.Metrics[m.spec.MetricName]
	if !ok {
		names := slices.Sorted(maps.Keys(mv.Metrics))
		return m.missingAll(fmt.Sprintf("model version %q (variant %s) has no metric %q; its metrics are %q", version, variant, m.spec.MetricName, names)), nil
	}
	v, ok := parseFinite(raw)
	if !ok {
		return m.missingAll(fmt.Sprintf("metric %s of model version %q is %q, not a number", m.spec.MetricName, version, raw)), nil
	}
	out := make([]periodValue, len(m.starts))
	for i := range out {
		val := v
		out[i] = periodValue{value: &val, samples: 1, detail: fmt.Sprintf("model version %s of variant %s", version, variant)}
		if m.minSamples > 1 {
			out[i] = periodValue{samples: 1, detail: fmt.Sprintf("a model metric is one observation, fewer than min_samples %d", m.minSamples)}
		}
	}
	return out, nil
}

// servingVersion returns the model version serving variant of endpoint
// (the first variant when variant is ""), or a reason why there is none.
func servingVersion(ctx context.Context, st store.Store, env, endpoint, variant string) (version, name, reason string, err error) {
	obj, err := st.Get(ctx, api.Ref{Kind: api.KindModelEndpoint, Environment: env, Name: endpoint})
	if hasCode(err, api.ENOTFOUND) {
		return "", "", fmt.Sprintf("model endpoint %q does not exist in environment %q", endpoint, env), nil
	}
	if err != nil {
		return "", "", "", err
	}
	var spec api.ModelEndpointSpec
	var status api.ModelEndpointStatus
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return "", "", "", fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	if err := json.Unmarshal(obj.Status, &status); err != nil {
		return "", "", "", fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	name = variant
	if name == "" && len(spec.Variants) > 0 {
		name = spec.Variants[0].Name
	}
	for _, vs := range status.Variants {
		if vs.Name == name && vs.ModelVersion != "" {
			return vs.ModelVersion, name, "", nil
		}
	}
	for _, vr := range spec.Variants {
		if vr.Name == name {
			return vr.ModelVersion, name, "", nil
		}
	}
	if spec.Shadow != nil && spec.Shadow.Name == name {
		return spec.Shadow.ModelVersion, name, "", nil
	}
	return "", name, fmt.Sprintf("model endpoint %q has no variant %q", endpoint, name), nil
}

// modelVersionSpec reads a model version, or says why it cannot.
func modelVersionSpec(ctx context.Context, st store.Store, env, name string) (*api.ModelVersionSpec, string, error) {
	obj, err := st.Get(ctx, api.Ref{Kind: api.KindModelVersion, Environment: env, Name: name})
	if hasCode(err, api.ENOTFOUND) {
		return nil, fmt.Sprintf("model version %q does not exist in environment %q", name, env), nil
	}
	if err != nil {
		return nil, "", err
	}
	var mv api.ModelVersionSpec
	if err := json.Unmarshal(obj.Spec, &mv); err != nil {
		return nil, "", fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	return &mv, "", nil
}

// versionBaseline is a model version's baseline, or why it has none.
type versionBaseline struct {
	baseline *drift.Baseline
	reason   string
}

// baselineOf loads the baseline of a model version.
func (m *measurement) baselineOf(ctx context.Context, version string) (versionBaseline, error) {
	mv, reason, err := modelVersionSpec(ctx, m.h.Store, m.obj.Meta.Environment, version)
	if err != nil || reason != "" {
		return versionBaseline{reason: reason}, err
	}
	if mv.BaselineURI == "" {
		return versionBaseline{reason: fmt.Sprintf("model version %q has no baseline (baseline_uri) to compare its inputs with", version)}, nil
	}
	path, err := pipeline.FilePath(mv.BaselineURI)
	if err != nil {
		return versionBaseline{reason: fmt.Sprintf("the baseline of model version %q is not a local file: %v", version, err)}, nil
	}
	b, err := m.h.Baselines.Load(path, mv.BaselineSHA256)
	if err != nil {
		return versionBaseline{reason: fmt.Sprintf("the baseline of model version %q cannot be used: %v", version, err)}, nil
	}
	return versionBaseline{baseline: b}, nil
}

// versionInputs are one period's sampled inputs of one model version, per
// baseline feature.
type versionInputs struct {
	vectors  int64
	features []drift.Sample
	// mismatched counts vectors whose length is not the baseline's number
	// of features.
	mismatched int64
}

// drift compares each period's sampled inputs, per model version, with the
// version's baseline. A period's value is the largest statistic over the
// versions with at least min_samples inputs and over the features (or the
// named feature).
func (m *measurement) drift(ctx context.Context) ([]periodValue, map[string]float64, error) {
	groups, err := m.query(ctx, api.SeriesInputs)
	if err != nil {
		return nil, nil, err
	}
	baselines := map[string]versionBaseline{}
	stat := "PSI"
	compare := drift.Feature.PSI
	if m.spec.Metric == api.AlarmMetricFeatureDriftKS {
		stat, compare = "KS", drift.Feature.KS
	}
	out := make([]periodValue, len(groups))
	var gauge map[string]float64
	for i, ps := range groups {
		inputs := map[string]*versionInputs{}
		var versions []string
		var total int64
		for _, p := range ps {
			if len(p.Inputs) == 0 {
				continue
			}
			vb, ok := baselines[p.ModelVersion]
			if !ok {
				if vb, err = m.baselineOf(ctx, p.ModelVersion); err != nil {
					return nil, nil, err
				}
				baselines[p.ModelVersion] = vb
			}
			vi := inputs[p.ModelVersion]
			if vi == nil {
				vi = &versionInputs{}
				if vb.baseline != nil {
					vi.features = make([]drift.Sample, len(vb.baseline.Features()))
				}
				inputs[p.ModelVersion] = vi
				versions = append(versions, p.ModelVersion)
			}
			total += int64(len(p.Inputs))
			weight := float64(p.Count) / float64(len(p.Inputs))
			for _, vec := range p.Inputs {
				if vb.baseline == nil {
					vi.vectors++
					continue
				}
				if len(vec) != len(vi.features) {
					vi.mismatched++
					continue
				}
				vi.vectors++
				for k, x := range vec {
					vi.features[k].Add(weight, x)
				}
			}
		}
		slices.Sort(versions)
		best, bestDetail, reason := math.Inf(-1), "", ""
		perFeature := map[string]float64{}
		for _, version := range versions {
			vi, vb := inputs[version], baselines[version]
			switch {
			case vb.baseline == nil:
				reason = vb.reason
				continue
			case vi.vectors < m.minSamples:
				reason = fmt.Sprintf("model version %q has %d sampled inputs in the period, fewer than min_samples %d", version, vi.vectors, m.minSamples)
				if vi.mismatched > 0 {
					reason += fmt.Sprintf(" (%d more had %s than the baseline's %d features)", vi.mismatched, "another number of values", len(vi.features))
				}
				continue
			}
			features := vb.baseline.Features()
			if m.spec.Feature != "" {
				k := slices.Index(vb.baseline.Names(), m.spec.Feature)
				if k < 0 {
					reason = fmt.Sprintf("feature %q is not in the baseline of model version %q; its features are %q", m.spec.Feature, version, vb.baseline.Names())
					continue
				}
				features = features[k : k+1]
			}
			for _, f := range features {
				k := slices.Index(vb.baseline.Names(), f.Name)
				v := compare(f, &vi.features[k])
				if !finite(v) {
					continue
				}
				if old, ok := perFeature[f.Name]; !ok || v > old {
					perFeature[f.Name] = v
				}
				if v > best {
					best = v
					bestDetail = fmt.Sprintf("%s of feature %s, model version %s, %d sampled inputs", stat, f.Name, version, vi.vectors)
				}
			}
		}
		if i == len(groups)-1 {
			gauge = perFeature
		}
		switch {
		case bestDetail != "":
			v := best
			out[i] = periodValue{value: &v, samples: total, detail: bestDetail, featureDrift: mostDrifted(perFeature, api.MaxFeatureDriftPerDatapoint)}
		case reason != "":
			out[i] = periodValue{samples: total, detail: reason}
		default:
			out[i] = periodValue{samples: total, detail: fmt.Sprintf("0 sampled inputs, fewer than min_samples %d", m.minSamples)}
		}
	}
	return out, gauge, nil
}

// mostDrifted returns the n entries of perFeature with the largest values
// (ties by name), or perFeature itself when it has no more than n.
func mostDrifted(perFeature map[string]float64, n int) map[string]float64 {
	if len(perFeature) <= n {
		return perFeature
	}
	names := slices.Collect(maps.Keys(perFeature))
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(perFeature[b], perFeature[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	out := make(map[string]float64, n)
	for _, name := range names[:n] {
		out[name] = perFeature[name]
	}
	return out
}

// parseFinite parses a decimal string, reporting whether it is a finite
// number.
func parseFinite(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && finite(v)
}
