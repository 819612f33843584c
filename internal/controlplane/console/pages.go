package console

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// uiPath is the console path of an object.
func uiPath(env, kind, name string) string {
	return "/ui/env/" + url.PathEscape(env) + "/" + kind + "/" + url.PathEscape(name)
}

// envSummary is one row of the home page.
type envSummary struct {
	Env  api.Environment
	Role string
}

func (c *Console) handleHome(q *request) (string, string, any, error) {
	names, err := q.envNames()
	if err != nil {
		return "", "", nil, err
	}
	var rows []envSummary
	for _, n := range names {
		var env api.Environment
		if err := q.api.getJSON(q.ctx(), envPath(n), nil, &env); err != nil {
			return "", "", nil, err
		}
		rows = append(rows, envSummary{Env: env, Role: q.role(n)})
	}
	return "home", "Environments", rows, nil
}

// poolRow is a compute pool with what it uses.
type poolRow struct {
	Pool api.ComputePool
	// GPUs is current nodes × accelerators per node; Free is the
	// driver's count of free GPUs when it reports one (-1 otherwise).
	GPUs int64
	Free int64
}

func newPoolRow(p api.ComputePool) poolRow {
	r := poolRow{Pool: p, GPUs: p.Status.CurrentNodes * p.Spec.AcceleratorCount, Free: -1}
	if p.Status.GPUsTotal > 0 {
		r.GPUs, r.Free = p.Status.GPUsTotal, p.Status.GPUsFree
	}
	return r
}

type environmentPage struct {
	Env           api.Environment
	Role          string
	GPUsInPools   int64
	Pools         []poolRow
	FeatureStores []api.FeatureStore
	FeatureGroups []api.FeatureGroup
	Pipelines     []api.TrainingPipeline
	Models        []api.Model
	Endpoints     []api.ModelEndpoint
	Alarms        []api.Alarm
}

func (c *Console) handleEnvironment(q *request) (string, string, any, error) {
	env := q.r.PathValue("env")
	ctx := q.ctx()
	p := environmentPage{Role: q.role(env)}
	if err := q.api.getJSON(ctx, envPath(env), nil, &p.Env); err != nil {
		return "", "", nil, err
	}
	pools, err := listAll[api.ComputePool](ctx, q.api, objPath(env, api.KindComputePool, ""))
	if err != nil {
		return "", "", nil, err
	}
	for _, pool := range pools {
		row := newPoolRow(pool)
		p.GPUsInPools += row.GPUs
		p.Pools = append(p.Pools, row)
	}
	if p.FeatureStores, err = listAll[api.FeatureStore](ctx, q.api, objPath(env, api.KindFeatureStore, "")); err != nil {
		return "", "", nil, err
	}
	if p.FeatureGroups, err = listAll[api.FeatureGroup](ctx, q.api, objPath(env, api.KindFeatureGroup, "")); err != nil {
		return "", "", nil, err
	}
	if p.Pipelines, err = listAll[api.TrainingPipeline](ctx, q.api, objPath(env, api.KindTrainingPipeline, "")); err != nil {
		return "", "", nil, err
	}
	if p.Models, err = listAll[api.Model](ctx, q.api, objPath(env, api.KindModel, "")); err != nil {
		return "", "", nil, err
	}
	if p.Endpoints, err = listAll[api.ModelEndpoint](ctx, q.api, objPath(env, api.KindModelEndpoint, "")); err != nil {
		return "", "", nil, err
	}
	if p.Alarms, err = listAll[api.Alarm](ctx, q.api, objPath(env, api.KindAlarm, "")); err != nil {
		return "", "", nil, err
	}
	return "environment", "Environment " + env, p, nil
}

type computePoolPage struct {
	Row       poolRow
	Endpoints []string
	Pipelines []string
}

func (c *Console) handleComputePool(q *request) (string, string, any, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	ctx := q.ctx()
	var pool api.ComputePool
	if err := q.api.getJSON(ctx, objPath(env, api.KindComputePool, name), nil, &pool); err != nil {
		return "", "", nil, err
	}
	p := computePoolPage{Row: newPoolRow(pool)}
	eps, err := listAll[api.ModelEndpoint](ctx, q.api, objPath(env, api.KindModelEndpoint, ""))
	if err != nil {
		return "", "", nil, err
	}
	for _, ep := range eps {
		for _, v := range ep.Spec.Variants {
			if v.ComputePool == name && !slices.Contains(p.Endpoints, ep.Metadata.Name) {
				p.Endpoints = append(p.Endpoints, ep.Metadata.Name)
			}
		}
	}
	pls, err := listAll[api.TrainingPipeline](ctx, q.api, objPath(env, api.KindTrainingPipeline, ""))
	if err != nil {
		return "", "", nil, err
	}
	for _, pl := range pls {
		if pl.Spec.ComputePool == name {
			p.Pipelines = append(p.Pipelines, pl.Metadata.Name)
		}
	}
	return "compute_pool", "Compute pool " + name, p, nil
}

// history reads the audit records of one object, newest first; a caller
// who may not read them gets none rather than an error page.
func (q *request) history(env, kind, name string) ([]api.AuditRecord, error) {
	var list api.AuditRecordList
	v := url.Values{api.AuditParamEnvironment: {env}, api.AuditParamKind: {kind}, api.AuditParamName: {name},
		api.AuditParamOrder: {"desc"}, "limit": {strconv.Itoa(api.MaxPageSize)}}
	if err := q.api.getJSON(q.ctx(), "/v1/audit", v, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

type featureGroupPage struct {
	Group   api.FeatureGroup
	History []api.AuditRecord
}

func (c *Console) handleFeatureGroup(q *request) (string, string, any, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	var p featureGroupPage
	if err := q.api.getJSON(q.ctx(), objPath(env, api.KindFeatureGroup, name), nil, &p.Group); err != nil {
		return "", "", nil, err
	}
	var err error
	if p.History, err = q.history(env, api.KindFeatureGroup, name); err != nil {
		return "", "", nil, err
	}
	return "feature_group", "Feature group " + name, p, nil
}

type pipelinePage struct {
	Pipeline api.TrainingPipeline
	DAG      Graph
	Runs     []api.PipelineRun
	CanRun   bool
}

// runsOf lists the runs of a pipeline, newest first.
func (q *request) runsOf(env, pipeline string) ([]api.PipelineRun, error) {
	all, err := listAll[api.PipelineRun](q.ctx(), q.api, objPath(env, api.KindPipelineRun, ""))
	if err != nil {
		return nil, err
	}
	var out []api.PipelineRun
	for _, r := range all {
		if r.Spec.Pipeline == pipeline {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b api.PipelineRun) int {
		return cmp.Or(b.Metadata.CreatedAt.Compare(a.Metadata.CreatedAt), cmp.Compare(b.Metadata.Name, a.Metadata.Name))
	})
	return out, nil
}

func stepsGraph(steps []api.PipelineStep, status map[string]api.StepStatus) Graph {
	in := make([]GraphInput, 0, len(steps))
	for _, s := range steps {
		n := GraphInput{ID: s.Name, Label: s.Name, Deps: s.DependsOn, Class: "muted"}
		if st, ok := status[s.Name]; ok {
			n.Sub, n.Class = st.Phase, phaseClass(st.Phase)
			if st.StartedAt != nil {
				n.Sub += " · " + duration(st.StartedAt, st.FinishedAt)
			}
		} else if status != nil {
			n.Sub = "not started"
		}
		in = append(in, n)
	}
	return LayoutGraph(in)
}

func (c *Console) handlePipeline(q *request) (string, string, any, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	var p pipelinePage
	if err := q.api.getJSON(q.ctx(), objPath(env, api.KindTrainingPipeline, name), nil, &p.Pipeline); err != nil {
		return "", "", nil, err
	}
	p.DAG = stepsGraph(p.Pipeline.Spec.Steps, nil)
	var err error
	if p.Runs, err = q.runsOf(env, name); err != nil {
		return "", "", nil, err
	}
	p.CanRun = q.can(env, api.RoleInvoker)
	return "pipeline", "Pipeline " + name, p, nil
}

type runStep struct {
	Spec   api.PipelineStep
	Status api.StepStatus
	Log    string
}

type runPage struct {
	Run       api.PipelineRun
	DAG       Graph
	Steps     []runStep
	Finished  bool
	CanCancel bool
	LogError  string
}

// maxLogLines is how much of each step log the run page shows.
const maxLogLines = 200

func (c *Console) handleRun(q *request) (string, string, any, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	var p runPage
	path := objPath(env, api.KindPipelineRun, name)
	if err := q.api.getJSON(q.ctx(), path, nil, &p.Run); err != nil {
		return "", "", nil, err
	}
	status := map[string]api.StepStatus{}
	for _, s := range p.Run.Status.Steps {
		status[s.Name] = s
	}
	p.DAG = stepsGraph(p.Run.Spec.PipelineSpec.Steps, status)
	for _, s := range p.Run.Spec.PipelineSpec.Steps {
		st, ok := status[s.Name]
		rs := runStep{Spec: s, Status: st}
		if ok && st.StartedAt != nil {
			log, err := q.api.getText(q.ctx(), path+"/logs", url.Values{"step": {s.Name}, "tail": {strconv.Itoa(maxLogLines)}})
			if err != nil {
				p.LogError = err.Error()
			}
			rs.Log = log
		}
		p.Steps = append(p.Steps, rs)
	}
	p.Finished = api.RunFinished(p.Run.Status.Phase) || p.Run.Spec.Cancel
	p.CanCancel = !p.Finished && q.can(env, api.RoleInvoker)
	return "run", "Run " + name, p, nil
}

type modelPage struct {
	Model    api.Model
	Versions []api.ModelVersion
	// MetricNames are the union of the versions' metrics, sorted, for
	// the side-by-side table.
	MetricNames []string
	Aliases     []api.ModelAlias
}

// versionsOf lists a model's versions, newest first.
func (q *request) versionsOf(env, model string) ([]api.ModelVersion, error) {
	all, err := listAll[api.ModelVersion](q.ctx(), q.api, objPath(env, api.KindModelVersion, ""))
	if err != nil {
		return nil, err
	}
	var out []api.ModelVersion
	for _, v := range all {
		if v.Spec.Model == model {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b api.ModelVersion) int { return b.Metadata.CreatedAt.Compare(a.Metadata.CreatedAt) })
	return out, nil
}

func (q *request) aliasesOf(env, model string) ([]api.ModelAlias, error) {
	all, err := listAll[api.ModelAlias](q.ctx(), q.api, objPath(env, api.KindModelAlias, ""))
	if err != nil {
		return nil, err
	}
	var out []api.ModelAlias
	for _, a := range all {
		if a.Spec.Model == model {
			out = append(out, a)
		}
	}
	return out, nil
}

func (c *Console) handleModel(q *request) (string, string, any, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	var p modelPage
	if err := q.api.getJSON(q.ctx(), objPath(env, api.KindModel, name), nil, &p.Model); err != nil {
		return "", "", nil, err
	}
	var err error
	if p.Versions, err = q.versionsOf(env, name); err != nil {
		return "", "", nil, err
	}
	seen := map[string]bool{}
	for _, v := range p.Versions {
		for m := range v.Spec.Metrics {
			if !seen[m] {
				seen[m] = true
				p.MetricNames = append(p.MetricNames, m)
			}
		}
	}
	slices.Sort(p.MetricNames)
	if p.Aliases, err = q.aliasesOf(env, name); err != nil {
		return "", "", nil, err
	}
	return "model", "Model " + name, p, nil
}

type modelVersionPage struct {
	Version    api.ModelVersion
	Aliases    []string
	Endpoints  []string
	Run        *api.PipelineRun
	Lineage    Graph
	CanApprove bool
}

func (c *Console) handleModelVersion(q *request) (string, string, any, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	ctx := q.ctx()
	var p modelVersionPage
	if err := q.api.getJSON(ctx, objPath(env, api.KindModelVersion, name), nil, &p.Version); err != nil {
		return "", "", nil, err
	}
	spec := p.Version.Spec
	aliases, err := q.aliasesOf(env, spec.Model)
	if err != nil {
		return "", "", nil, err
	}
	for _, a := range aliases {
		if a.Spec.Version == name {
			p.Aliases = append(p.Aliases, a.Metadata.Name)
		}
	}
	eps, err := listAll[api.ModelEndpoint](ctx, q.api, objPath(env, api.KindModelEndpoint, ""))
	if err != nil {
		return "", "", nil, err
	}
	for _, ep := range eps {
		if servesVersion(ep, name) {
			p.Endpoints = append(p.Endpoints, ep.Metadata.Name)
		}
	}
	if run := spec.Lineage.PipelineRun; run != "" {
		var r api.PipelineRun
		if err := q.api.getJSON(ctx, objPath(env, api.KindPipelineRun, run), nil, &r); err == nil {
			p.Run = &r
		} else if !isStatus(err, http.StatusNotFound) {
			return "", "", nil, err
		}
	}
	p.Lineage = lineageGraph(env, p)
	p.CanApprove = q.can(env, api.RoleOwner)
	return "model_version", "Model version " + name, p, nil
}

// servesVersion reports whether an endpoint declares or serves version.
func servesVersion(ep api.ModelEndpoint, version string) bool {
	for _, v := range ep.Spec.Variants {
		if v.ModelVersion == version {
			return true
		}
	}
	if ep.Spec.Shadow != nil && ep.Spec.Shadow.ModelVersion == version {
		return true
	}
	for _, v := range ep.Status.Variants {
		if v.ModelVersion == version || v.CanaryVersion == version {
			return true
		}
	}
	return false
}

// lineageGraph is dataset → run → version → endpoints.
func lineageGraph(env string, p modelVersionPage) Graph {
	spec := p.Version.Spec
	var in []GraphInput
	prev := ""
	if ds := spec.Lineage.DatasetURI; ds != "" || spec.Lineage.DatasetSHA256 != "" {
		sub := spec.Lineage.DatasetSHA256
		if len(sub) > 12 {
			sub = "sha256 " + sub[:12] + "…"
		}
		in = append(in, GraphInput{ID: "dataset", Label: shorten(ds), Sub: sub, Class: "muted"})
		prev = "dataset"
	}
	if run := spec.Lineage.PipelineRun; run != "" {
		n := GraphInput{ID: "run", Label: shorten(run), Sub: "pipeline run", Class: "muted", Href: uiPath(env, api.KindPipelineRun, run)}
		if p.Run != nil {
			n.Sub, n.Class = p.Run.Spec.Pipeline+" · "+p.Run.Status.Phase, phaseClass(p.Run.Status.Phase)
		}
		if prev != "" {
			n.Deps = []string{prev}
		}
		in = append(in, n)
		prev = "run"
	}
	v := GraphInput{ID: "version", Label: shorten(p.Version.Metadata.Name), Sub: spec.Approval.Status, Class: phaseClass(spec.Approval.Status),
		Href: uiPath(env, api.KindModelVersion, p.Version.Metadata.Name)}
	if prev != "" {
		v.Deps = []string{prev}
	}
	in = append(in, v)
	for _, ep := range p.Endpoints {
		in = append(in, GraphInput{ID: "endpoint/" + ep, Label: shorten(ep), Sub: "endpoint", Class: "muted",
			Href: uiPath(env, api.KindModelEndpoint, ep), Deps: []string{"version"}})
	}
	return LayoutGraph(in)
}

// maxNodeLabel is how many characters fit in a graph node's label.
const maxNodeLabel = 22

// shorten cuts s to fit a graph node.
func shorten(s string) string {
	r := []rune(s)
	if len(r) <= maxNodeLabel {
		return s
	}
	return string(r[:maxNodeLabel-1]) + "…"
}

// trafficSlice is one part of an endpoint's live traffic.
type trafficSlice struct {
	Variant, Version string
	Percent          int64
	X, W             float64
	Class            string
}

type endpointPage struct {
	Endpoint api.ModelEndpoint
	Traffic  []trafficSlice
	// Rollout is the progress of the rollout in progress, if any.
	Rollout *rolloutProgress
	// History has one step chart per record of the rollout history.
	History []StepChart
	Window  string
	Windows []string
	Latency Chart
	Errors  Chart
	Volume  Chart
	Metrics api.EndpointMetrics
}

// windows are the chart windows the endpoint page offers.
var windows = map[string]time.Duration{"15m": 15 * time.Minute, "1h": time.Hour, "6h": 6 * time.Hour, "24h": 24 * time.Hour}

// liveTraffic splits 100% over what serves now: each variant's share, of
// which a canary in progress takes its percent.
func liveTraffic(ep api.ModelEndpoint) []trafficSlice {
	share := map[string]int64{}
	for _, v := range ep.Spec.Variants {
		share[v.Name] = v.TrafficPercent
	}
	var out []trafficSlice
	add := func(variant, version string, pct int64, class string) {
		if pct > 0 {
			out = append(out, trafficSlice{Variant: variant, Version: version, Percent: pct, Class: class})
		}
	}
	if len(ep.Status.Variants) == 0 {
		for i, v := range ep.Spec.Variants {
			add(v.Name, v.ModelVersion, v.TrafficPercent, "c"+strconv.Itoa(i%4))
		}
	}
	for i, v := range ep.Status.Variants {
		pct := share[v.Name]
		canary := pct * v.CanaryPercent / 100
		add(v.Name, v.ModelVersion, pct-canary, "c"+strconv.Itoa(i%4))
		if v.CanaryVersion != "" {
			add(v.Name+" (canary)", v.CanaryVersion, canary, "canary")
		}
	}
	x := 0.0
	for i := range out {
		out[i].X = x
		out[i].W = 6 * float64(out[i].Percent)
		x += out[i].W
	}
	return out
}

// rolloutProgress is the rollout in progress as a bar: the share of the
// variant's traffic on the new version, the steps taken and to come, and
// how far the current step's bake is.
type rolloutProgress struct {
	Percent int64
	// Fill is the bar's filled width, of progressWidth.
	Fill    float64
	Markers []rolloutMarker
	// Step is the number of the current step, of Steps planned.
	Step, Steps int
	// Bake is the bake of every step; Baked how long the current one has
	// baked, Left how long it has to go (0 once it is over), BakeFill the
	// bake bar's filled width.
	Bake, Baked, Left time.Duration
	BakeFill          float64
	Chart             StepChart
}

// rolloutMarker is a step on the progress bar.
type rolloutMarker struct {
	X       float64
	Percent int64
	// Reached marks steps taken, Current the one baking.
	Reached, Current bool
}

// progressWidth is the width of the rollout progress bar for 100%.
const progressWidth = 600.0

// progressOf lays out the rollout in progress at now: the steps it took,
// then the steps the endpoint's rollout spec still plans above the
// current one.
func progressOf(ro *api.EndpointRolloutState, spec api.EndpointRollout, now time.Time) *rolloutProgress {
	if ro == nil || len(ro.Steps) == 0 {
		return nil
	}
	cur := ro.Steps[len(ro.Steps)-1]
	p := &rolloutProgress{Percent: cur.Percent, Fill: progressWidth * float64(cur.Percent) / 100, Step: len(ro.Steps), Steps: len(ro.Steps)}
	for i, st := range ro.Steps {
		p.Markers = append(p.Markers, rolloutMarker{X: progressWidth * float64(st.Percent) / 100, Percent: st.Percent, Reached: true, Current: i == len(ro.Steps)-1})
	}
	// The steps the rollout takes, as the endpoint reconciler takes them:
	// its strategy, with the spec's step_percent, which it reads at each
	// step.
	for _, pct := range (api.EndpointRollout{Strategy: ro.Strategy, StepPercent: spec.StepPercent}).Steps() {
		if pct > cur.Percent {
			p.Markers = append(p.Markers, rolloutMarker{X: progressWidth * float64(pct) / 100, Percent: pct})
			p.Steps++
		}
	}
	p.Bake = time.Duration(spec.BakeTimeSeconds) * time.Second
	p.Baked = max(now.Sub(cur.StartedAt), 0).Truncate(time.Second)
	p.Left = max(p.Bake-p.Baked, 0)
	p.BakeFill = progressWidth
	if p.Bake > 0 {
		p.BakeFill = progressWidth * min(float64(p.Baked)/float64(p.Bake), 1)
	}
	p.Chart = PercentSteps("traffic on "+ro.ToVersion+" since the rollout started", stepPoints(ro.Steps), now, nil, progressWidth, 60, "canary")
	return p
}

func stepPoints(steps []api.EndpointRolloutStep) []Point {
	out := make([]Point, len(steps))
	for i, st := range steps {
		out[i] = Point{T: st.StartedAt, V: float64(st.Percent), Valid: true}
	}
	return out
}

// historyCharts draw each finished rollout's traffic on its new version
// from its start to its end, where it went to 100% or back to 0.
func historyCharts(records []api.EndpointRolloutRecord) []StepChart {
	out := make([]StepChart, len(records))
	for i, r := range records {
		final := 100.0
		if r.Result != api.RolloutSucceeded {
			final = 0
		}
		steps := stepPoints(r.Steps)
		if len(steps) == 0 {
			steps = []Point{{T: r.StartedAt, Valid: true}}
		}
		title := fmt.Sprintf("traffic on %s: %s, %s", r.ToVersion, r.Result, r.FinishedAt.Sub(r.StartedAt).Round(time.Second))
		out[i] = PercentSteps(title, steps, r.FinishedAt, &final, 160, 36, phaseClass(r.Result))
	}
	return out
}

func (c *Console) handleEndpoint(q *request) (string, string, any, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	ctx := q.ctx()
	p := endpointPage{Window: q.r.URL.Query().Get("window"), Windows: []string{"15m", "1h", "6h", "24h"}}
	if _, ok := windows[p.Window]; !ok {
		p.Window = "15m"
	}
	path := objPath(env, api.KindModelEndpoint, name)
	if err := q.api.getJSON(ctx, path, nil, &p.Endpoint); err != nil {
		return "", "", nil, err
	}
	p.Traffic = liveTraffic(p.Endpoint)
	p.Rollout = progressOf(p.Endpoint.Status.Rollout, p.Endpoint.Spec.Rollout, time.Now())
	p.History = historyCharts(p.Endpoint.Status.RolloutHistory)
	until := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	since := until.Add(-windows[p.Window])
	step := int64(windows[p.Window]/time.Second) / 60
	v := url.Values{api.MetricsParamSince: {since.Format(time.RFC3339)}, api.MetricsParamUntil: {until.Format(time.RFC3339)},
		api.MetricsParamStep: {strconv.FormatInt(step, 10)}}
	if err := q.api.getJSON(ctx, path+"/metrics", v, &p.Metrics); err != nil {
		return "", "", nil, err
	}
	var p50, p99, rate, count []Point
	for _, pt := range p.Metrics.Points {
		p50 = append(p50, ptOf(pt.Start, pt.LatencyP50Ms))
		p99 = append(p99, ptOf(pt.Start, pt.LatencyP99Ms))
		rate = append(rate, ptOf(pt.Start, pt.ErrorRatePercent))
		n := float64(pt.Count)
		count = append(count, Point{T: pt.Start, V: n, Valid: true})
	}
	p.Latency = LineChart("Latency (ms)", since, until, []SeriesInput{{Name: "p50", Class: "s0", Points: p50}, {Name: "p99", Class: "s1", Points: p99}}, nil, " ms")
	p.Errors = LineChart("Error rate (%)", since, until, []SeriesInput{{Name: "error rate", Class: "s2", Points: rate}}, nil, "%")
	p.Volume = LineChart("Predictions per step", since, until, []SeriesInput{{Name: "predictions", Class: "s0", Points: count}}, nil, "")
	return "endpoint", "Endpoint " + name, p, nil
}

func ptOf(t time.Time, v *float64) Point {
	if v == nil {
		return Point{T: t}
	}
	return Point{T: t, V: *v, Valid: true}
}

type alarmPage struct {
	Alarm        api.Alarm
	Chart        Chart
	DatapointsN  int64
	Acknowledged *api.AlarmAcknowledgement
	CanAck       bool
	// Drift is set for the drift metrics: each feature's statistic per
	// period.
	Drift *featureDrift
}

// featureDrift is the chart of a drift alarm's statistic per feature and
// the newest period's values.
type featureDrift struct {
	Stat  string
	Chart Chart
	// Newest are the features of the newest period with values, the most
	// drifted first; At is that period's start.
	Newest []featureValue
	At     time.Time
}

// featureValue is one feature's statistic in one period.
type featureValue struct {
	Feature   string
	Value     float64
	Breaching bool
}

// maxFeatureSeries bounds the lines of the per-feature chart: the features
// that drifted most in any period are drawn, the table lists all.
const maxFeatureSeries = 8

// driftStats names the statistic of each drift metric.
var driftStats = map[string]string{api.AlarmMetricFeatureDriftPSI: "PSI", api.AlarmMetricFeatureDriftKS: "KS"}

// driftChart lays out a drift alarm's datapoints as one line per feature
// over [from, to], with the threshold; nil for the other metrics.
func driftChart(a api.Alarm, from, to time.Time, threshold *float64) *featureDrift {
	stat, ok := driftStats[a.Spec.Metric]
	if !ok {
		return nil
	}
	d := &featureDrift{Stat: stat}
	peak := map[string]float64{}
	for _, dp := range a.Status.Datapoints {
		for f, v := range dp.FeatureDrift {
			if old, ok := peak[f]; !ok || v > old {
				peak[f] = v
			}
		}
		if len(dp.FeatureDrift) > 0 {
			d.At, d.Newest = dp.Start, d.Newest[:0]
			for f, v := range dp.FeatureDrift {
				d.Newest = append(d.Newest, featureValue{Feature: f, Value: v, Breaching: threshold != nil && api.Breaches(a.Spec.Comparison, v, *threshold)})
			}
		}
	}
	slices.SortFunc(d.Newest, func(x, y featureValue) int {
		return cmp.Or(cmp.Compare(y.Value, x.Value), cmp.Compare(x.Feature, y.Feature))
	})
	features := slices.Collect(maps.Keys(peak))
	slices.SortFunc(features, func(x, y string) int { return cmp.Or(cmp.Compare(peak[y], peak[x]), cmp.Compare(x, y)) })
	features = features[:min(len(features), maxFeatureSeries)]
	slices.Sort(features)
	series := make([]SeriesInput, 0, len(features))
	for i, f := range features {
		var pts []Point
		for _, dp := range a.Status.Datapoints {
			v, ok := dp.FeatureDrift[f]
			pts = append(pts, Point{T: dp.Start, V: v, Valid: ok, Hot: ok && threshold != nil && api.Breaches(a.Spec.Comparison, v, *threshold)})
		}
		series = append(series, SeriesInput{Name: f, Class: "f" + strconv.Itoa(i%maxFeatureSeries), Points: pts})
	}
	d.Chart = LineChart(stat+" per feature", from, to, series, threshold, "")
	return d
}

func (c *Console) handleAlarm(q *request) (string, string, any, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	var p alarmPage
	if err := q.api.getJSON(q.ctx(), objPath(env, api.KindAlarm, name), nil, &p.Alarm); err != nil {
		return "", "", nil, err
	}
	a := p.Alarm
	p.DatapointsN = a.Spec.DatapointsToAlarm
	if p.DatapointsN == 0 {
		p.DatapointsN = a.Spec.EvaluationPeriods
	}
	var pts []Point
	for _, dp := range a.Status.Datapoints {
		pt := ptOf(dp.Start, dp.Value)
		pt.Hot = dp.Breaching
		pts = append(pts, pt)
	}
	var threshold *float64
	if t, err := strconv.ParseFloat(a.Spec.Threshold, 64); err == nil {
		threshold = &t
	}
	period := time.Duration(a.Spec.PeriodSeconds) * time.Second
	from, to := time.Now().Add(-period), time.Now()
	if n := len(a.Status.Datapoints); n > 0 {
		from, to = a.Status.Datapoints[0].Start, a.Status.Datapoints[n-1].Start.Add(period)
	}
	label := a.Spec.Metric
	if a.Spec.MetricName != "" {
		label += " " + a.Spec.MetricName
	}
	p.Chart = LineChart(label+" ("+a.Spec.Statistic+" per period) against the threshold", from, to,
		[]SeriesInput{{Name: a.Spec.Statistic, Class: "s0", Points: pts}}, threshold, "")
	p.Drift = driftChart(a, from, to, threshold)
	for i := range a.Spec.Acknowledgements {
		if ack := a.Spec.Acknowledgements[i]; ack.Transition == a.Status.TransitionCount {
			p.Acknowledged = &ack
		}
	}
	p.CanAck = a.Status.State == api.AlarmStateAlarm && p.Acknowledged == nil && q.can(env, api.RoleInvoker)
	return "alarm", "Alarm " + name, p, nil
}

// The audit page shows the newest auditShown records the filters select.
const auditShown = 200

type auditPage struct {
	Query   api.AuditQuery
	Records []api.AuditRecord
	// More says older records match too.
	More         bool
	Verification *api.AuditVerification
	VerifyError  string
	NeedsEnv     bool
}

func (c *Console) handleAudit(q *request) (string, string, any, error) {
	v := q.r.URL.Query()
	var p auditPage
	p.Query = api.AuditQuery{Environment: v.Get("environment"), Kind: v.Get("kind"), Name: v.Get("name"), Actor: v.Get("actor")}
	if p.Query.Environment == "" && !q.who.Admin {
		// Only admin may read the whole log; others read an
		// environment's records.
		envs, _ := q.envNames()
		if len(envs) == 0 {
			p.NeedsEnv = true
			return "audit", "Audit log", p, nil
		}
		p.Query.Environment = envs[0]
	}
	qv := url.Values{}
	for k, val := range map[string]string{api.AuditParamEnvironment: p.Query.Environment, api.AuditParamKind: p.Query.Kind,
		api.AuditParamName: p.Query.Name, api.AuditParamActor: p.Query.Actor} {
		if val != "" {
			qv.Set(k, val)
		}
	}
	// One page, newest first: what the page shows.
	qv.Set(api.AuditParamOrder, "desc")
	qv.Set("limit", strconv.Itoa(auditShown))
	var list api.AuditRecordList
	if err := q.api.getJSON(q.ctx(), "/v1/audit", qv, &list); err != nil {
		return "", "", nil, err
	}
	p.Records, p.More = list.Items, list.NextPageToken != ""
	var ver api.AuditVerification
	if err := q.api.getJSON(q.ctx(), "/v1/audit/verify", nil, &ver); err == nil {
		p.Verification = &ver
	} else {
		p.VerifyError = err.Error()
	}
	return "audit", "Audit log", p, nil
}
