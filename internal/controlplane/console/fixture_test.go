package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

const adminToken = "console-test-admin-token"

// xss is what a user may type into a description or label; every page must
// show it as text.
const xss = `<script>window.pwned=1</script>`

// fixture is a real in-process mlopsd with -auth on, filled through the
// client: an environment with policy, a pool, a feature group, a pipeline
// with a finished run, a model with two versions (one with lineage to the
// run), an endpoint with predictions recorded by the gateway, an alarm in
// ALARM, an endpoint ranker in the middle of a canary rollout after one
// finished rollout, a PSI drift alarm evaluated on sampled inputs of two
// features, and tokens of a viewer and an owner of the environment.
type fixture struct {
	srv    *mlopsdtest.Server
	admin  *client.Client
	tokens map[string]string // role → token
}

func newClient(tb testing.TB, url, token string) *client.Client {
	tb.Helper()
	c, err := client.New(client.Config{Endpoint: url, Token: token})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func startFixture(t *testing.T) *fixture {
	t.Helper()
	srv := mlopsdtest.Start(t, mlopsdtest.WithAuth(adminToken))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newClient(t, srv.URL, adminToken)
	f := &fixture{srv: srv, admin: c, tokens: map[string]string{}}
	maxGPUs := int64(8)
	mlopsdtest.Must(c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{
		Description: "development " + xss, Labels: map[string]string{"team": xss},
		Policy: api.EnvironmentPolicy{MaxGPUs: &maxGPUs, AllowedAcceleratorTypes: []string{"nvidia-a100"}},
	}))(t)
	for _, role := range []string{api.RoleViewer, api.RoleOwner} {
		mlopsdtest.Must(c.CreateServiceAccount(ctx, role+"-sa", api.ServiceAccountSpec{Description: "console test " + role}))(t)
		mlopsdtest.Must(c.CreateRoleBinding(ctx, "dev", role+"-binding", api.RoleBindingSpec{Subject: role + "-sa", Role: role}))(t)
		f.tokens[role] = mlopsdtest.Must(c.IssueServiceAccountToken(ctx, role+"-sa", 3600))(t).Token
	}
	pool := mlopsdtest.Must(c.CreateComputePool(ctx, "dev", "cpu", api.ComputePoolSpec{MaxNodes: 2}))(t)
	mlopsdtest.Must(c.WaitComputePoolSettled(ctx, "dev", "cpu", pool.Metadata.Generation))(t)
	mlopsdtest.Must(c.CreateFeatureStore(ctx, "dev", "fs", api.FeatureStoreSpec{OfflineStoreURI: "file:///tmp/features"}))(t)
	mlopsdtest.Must(c.CreateFeatureGroup(ctx, "dev", "users", api.FeatureGroupSpec{
		FeatureStore: "fs", Description: "user features " + xss, Labels: map[string]string{"owner": xss},
		Entities: []api.Entity{{Name: "user_id", ValueType: api.ValueTypeString}},
		Features: []api.Feature{{Name: "age", ValueType: api.ValueTypeInt64, Description: "years"}, {Name: "spend", ValueType: api.ValueTypeFloat64}},
		Online:   true, Offline: true, TTLSeconds: 3600,
	}))(t)
	mlopsdtest.Must(c.CreateModel(ctx, "dev", "churn", api.ModelSpec{Description: "churn model", TaskType: "regression"}))(t)

	// A two-step pipeline whose last step leaves a model and its metrics.
	pl := mlopsdtest.Must(c.CreateTrainingPipeline(ctx, "dev", "train", api.TrainingPipelineSpec{
		Description: "nightly training " + xss, ComputePool: "cpu", Model: "churn",
		Parameters: []api.PipelineParameter{{Name: "epochs", Type: api.ParamInt, Default: "3"}},
		Steps: []api.PipelineStep{
			{Name: "prep", Command: []string{"sh", "-c", "echo preparing $MLOPS_PARAM_EPOCHS epochs"}},
			{Name: "train", DependsOn: []string{"prep"}, Command: []string{"sh", "-c",
				`echo training; echo '{"slope": 2, "intercept": 1}' > "$MLOPS_OUTPUT_DIR/model.json"; echo '{"rmse": 0.25, "auc": 0.88}' > "$MLOPS_OUTPUT_DIR/metrics.json"`}},
		},
	}))(t)
	mlopsdtest.Must(c.WaitTrainingPipelineSettled(ctx, "dev", "train", pl.Metadata.Generation))(t)
	run := mlopsdtest.Must(c.StartPipelineRun(ctx, "dev", "train", nil))(t)
	run = mlopsdtest.Must(c.WaitPipelineRunSettled(ctx, "dev", run.Metadata.Name, run.Metadata.Generation))(t)
	if run.Status.Phase != api.PhaseSucceeded {
		t.Fatalf("run %s: %s: %s", run.Metadata.Name, run.Status.Phase, run.Status.Message)
	}

	// v1 is registered by hand with lineage to that run, and served.
	content := []byte(`{"slope": 3, "intercept": 0.5}`)
	path := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	mlopsdtest.Must(c.CreateModelVersion(ctx, "dev", "v1", api.ModelVersionSpec{
		Model: "churn", Description: "candidate " + xss, ArtifactURI: "file://" + path, ArtifactSHA256: hex.EncodeToString(sum[:]),
		Framework: api.FrameworkMLOpsLinear, Metrics: map[string]string{"rmse": "0.21", "auc": "0.91"},
		Lineage: api.ModelLineage{PipelineRun: run.Metadata.Name, DatasetURI: "file:///data/churn.csv",
			DatasetSHA256: hex.EncodeToString(sum[:]), CodeRef: "git:abc123"},
		Approval: api.ApprovalRequest{Status: api.ApprovalPending},
	}))(t)
	mlopsdtest.Must(c.CreateModelAlias(ctx, "dev", "champion", api.ModelAliasSpec{Model: "churn", Version: "v1"}))(t)
	ep := mlopsdtest.Must(c.CreateModelEndpoint(ctx, "dev", "api", api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v1", ComputePool: "cpu", Replicas: 1, TrafficPercent: 100}},
		Rollout:  api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
	}))(t)
	if ep, err := c.WaitModelEndpointSettled(ctx, "dev", "api", ep.Metadata.Generation); err != nil || ep.Status.Phase != api.PhaseReady {
		t.Fatalf("endpoint: %+v, %v", ep, err)
	}
	for i := range 30 {
		mlopsdtest.Must(c.Predict(ctx, "dev", "api", []float64{float64(i)}))(t)
	}

	// An alarm on a pushed metric that breaches its threshold.
	now := time.Now().UTC()
	var dps []api.CustomDatapoint
	// From a minute ago to four minutes ahead (the API takes up to five), so
	// that the alarm stays in ALARM however long the tests take.
	for s := -60; s <= 240; s++ {
		dps = append(dps, api.CustomDatapoint{Name: "queue_depth", Value: float64(8 + (s+60)%5), Timestamp: now.Add(time.Duration(s) * time.Second)})
	}
	mlopsdtest.Must(c.PushMetrics(ctx, "dev", dps))(t)
	alarm := mlopsdtest.Must(c.CreateAlarm(ctx, "dev", "backlog", api.AlarmSpec{
		Description: "queue backlog " + xss, Metric: api.AlarmMetricCustom, MetricName: "queue_depth", Statistic: api.StatisticAverage,
		Comparison: api.ComparisonGreaterThan, Threshold: "5", PeriodSeconds: 10, EvaluationPeriods: 3, MissingData: api.MissingDataIgnore,
	}))(t)
	for {
		a := mlopsdtest.Must(c.WaitAlarmSettled(ctx, "dev", "backlog", alarm.Metadata.Generation))(t)
		if a.Status.State == api.AlarmStateAlarm {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("alarm never in ALARM: %+v", a.Status)
		case <-time.After(100 * time.Millisecond):
		}
	}
	f.rollingEndpoint(ctx, t)
	f.driftAlarm(ctx, t)

	// The gateway's metrics reach the store at the next flush.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := mlopsdtest.Must(c.GetEndpointMetrics(ctx, "dev", "api", client.EndpointMetricsOptions{Since: now.Add(-time.Minute), Until: now.Add(time.Minute), StepSeconds: 120}))(t)
		if len(m.Points) > 0 && m.Points[0].Count >= 30 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("predictions not in the metrics store: %+v", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return f
}

// writeFile writes content to a new file and returns its file URI and
// SHA-256.
func writeFile(t *testing.T, name string, content []byte) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	return "file://" + path, hex.EncodeToString(sum[:])
}

// rollingEndpoint registers v2 (with a baseline of features tenure and
// spend, 1..100 each) and v3, and leaves endpoint ranker rolling back
// from v3 to v2 by canary, 25% at a step, with a bake of an hour, after a
// linear rollout from v2 to v3 that succeeded.
func (f *fixture) rollingEndpoint(ctx context.Context, t *testing.T) {
	t.Helper()
	c := f.admin
	var values []float64
	for v := 1; v <= 100; v++ {
		values = append(values, float64(v))
	}
	b := mlopsdtest.Must(json.Marshal(api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "tenure", Values: values}, {Name: "spend", Values: values}}}))(t)
	baselineURI, baselineSHA := writeFile(t, "baseline.json", b)
	for _, v := range []struct {
		name, model string
	}{{"v2", `{"slope": 2, "intercept": 1}`}, {"v3", `{"slope": 2.5, "intercept": 1}`}} {
		uri, sha := writeFile(t, v.name+".json", []byte(v.model))
		spec := api.ModelVersionSpec{Model: "churn", ArtifactURI: uri, ArtifactSHA256: sha, Framework: api.FrameworkMLOpsLinear,
			Approval: api.ApprovalRequest{Status: api.ApprovalPending}}
		if v.name == "v2" {
			spec.BaselineURI, spec.BaselineSHA256 = baselineURI, baselineSHA
		}
		mlopsdtest.Must(c.CreateModelVersion(ctx, "dev", v.name, spec))(t)
	}
	spec := api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v2", ComputePool: "cpu", Replicas: 1, TrafficPercent: 100}},
		Rollout:  api.EndpointRollout{Strategy: api.RolloutLinear, StepPercent: 50, BakeTimeSeconds: 1},
	}
	ep := mlopsdtest.Must(c.CreateModelEndpoint(ctx, "dev", "ranker", spec))(t)
	settled := func(gen int64) {
		t.Helper()
		if ep, err := c.WaitModelEndpointSettled(ctx, "dev", "ranker", gen); err != nil || ep.Status.Phase != api.PhaseReady {
			t.Fatalf("endpoint ranker: %+v, %v", ep, err)
		}
	}
	settled(ep.Metadata.Generation)
	spec.Variants[0].ModelVersion = "v3"
	ep = mlopsdtest.Must(c.UpdateModelEndpoint(ctx, "dev", "ranker", spec, ""))(t)
	settled(ep.Metadata.Generation)
	spec.Variants[0].ModelVersion = "v2"
	spec.Rollout = api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 25, BakeTimeSeconds: 3600}
	mlopsdtest.Must(c.UpdateModelEndpoint(ctx, "dev", "ranker", spec, ""))(t)
	for {
		ep = mlopsdtest.Must(c.GetModelEndpoint(ctx, "dev", "ranker"))(t)
		if ro := ep.Status.Rollout; ro != nil && ro.ToVersion == "v2" && len(ep.Status.Variants) > 0 && ep.Status.Variants[0].CanaryPercent == 25 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("ranker never rolling out to v2 at 25%%: %+v", ep.Status)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if n := len(ep.Status.RolloutHistory); n != 1 || ep.Status.RolloutHistory[0].Result != api.RolloutSucceeded {
		t.Fatalf("ranker's rollout history = %+v, want the rollout to v3 succeeded", ep.Status.RolloutHistory)
	}
}

// driftPeriods is how many periods of a minute the drift alarm evaluates.
const driftPeriods = 6

// driftAlarm records sampled inputs of v2 on ranker in each of the last
// driftPeriods complete minutes, as the gateway samples them (tenure
// drifting further each minute, spend a little off throughout), then
// creates a PSI alarm on them and waits for the evaluator to evaluate it.
func (f *fixture) driftAlarm(ctx context.Context, t *testing.T) {
	t.Helper()
	now := time.Now().UTC()
	end := now.Add(-5 * time.Second).Truncate(time.Minute)
	var points []store.MetricPoint
	for i := range driftPeriods {
		var vectors [][]float64
		for v := 1; v <= 100; v++ {
			vectors = append(vectors, []float64{float64(v + 8*i), float64(v + 5)})
		}
		points = append(points, store.MetricPoint{Environment: "dev", Series: api.SeriesInputs, Endpoint: "ranker", Variant: "primary", ModelVersion: "v2",
			Time: end.Add(time.Duration(i-driftPeriods)*time.Minute + 5*time.Second), Count: int64(len(vectors)), Inputs: vectors})
	}
	if err := f.srv.Daemon.Store.AppendMetrics(ctx, points); err != nil {
		t.Fatal(err)
	}
	alarm := mlopsdtest.Must(f.admin.CreateAlarm(ctx, "dev", "ranker-drift", api.AlarmSpec{
		Description: "the ranker's inputs drift from v2's training data", Metric: api.AlarmMetricFeatureDriftPSI, Endpoint: "ranker",
		Comparison: api.ComparisonGreaterThan, Threshold: "0.2", PeriodSeconds: 60, EvaluationPeriods: driftPeriods, DatapointsToAlarm: 2,
		MinSamples: 100, // the fixture's periods hold 100 inputs, under the drift default
	}))(t)
	a := mlopsdtest.Must(f.admin.WaitAlarmSettled(ctx, "dev", "ranker-drift", alarm.Metadata.Generation))(t)
	var withDrift int
	for _, dp := range a.Status.Datapoints {
		if len(dp.FeatureDrift) == 2 {
			withDrift++
		}
	}
	if withDrift < driftPeriods-1 {
		t.Fatalf("drift alarm datapoints = %+v, want feature drift of tenure and spend in the periods with inputs", a.Status.Datapoints)
	}
}
