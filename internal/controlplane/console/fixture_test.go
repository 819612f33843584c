package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
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
// ALARM, and tokens of a viewer and an owner of the environment.
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

// must(f())(t) is f's value, or fails the test with f's error.
func must[T any](v T, err error) func(testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func startFixture(t *testing.T) *fixture {
	t.Helper()
	srv := mlopsdtest.Start(t, mlopsdtest.WithAuth(adminToken))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := newClient(t, srv.URL, adminToken)
	f := &fixture{srv: srv, admin: c, tokens: map[string]string{}}
	maxGPUs := int64(8)
	must(c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{
		Description: "development " + xss, Labels: map[string]string{"team": xss},
		Policy: api.EnvironmentPolicy{MaxGPUs: &maxGPUs, AllowedAcceleratorTypes: []string{"nvidia-a100"}},
	}))(t)
	for _, role := range []string{api.RoleViewer, api.RoleOwner} {
		must(c.CreateServiceAccount(ctx, role+"-sa", api.ServiceAccountSpec{Description: "console test " + role}))(t)
		must(c.CreateRoleBinding(ctx, "dev", role+"-binding", api.RoleBindingSpec{Subject: role + "-sa", Role: role}))(t)
		f.tokens[role] = must(c.IssueServiceAccountToken(ctx, role+"-sa", 3600))(t).Token
	}
	pool := must(c.CreateComputePool(ctx, "dev", "cpu", api.ComputePoolSpec{MaxNodes: 2}))(t)
	must(c.WaitComputePoolSettled(ctx, "dev", "cpu", pool.Metadata.Generation))(t)
	must(c.CreateFeatureStore(ctx, "dev", "fs", api.FeatureStoreSpec{OfflineStoreURI: "file:///tmp/features"}))(t)
	must(c.CreateFeatureGroup(ctx, "dev", "users", api.FeatureGroupSpec{
		FeatureStore: "fs", Description: "user features " + xss, Labels: map[string]string{"owner": xss},
		Entities: []api.Entity{{Name: "user_id", ValueType: api.ValueTypeString}},
		Features: []api.Feature{{Name: "age", ValueType: api.ValueTypeInt64, Description: "years"}, {Name: "spend", ValueType: api.ValueTypeFloat64}},
		Online:   true, Offline: true, TTLSeconds: 3600,
	}))(t)
	must(c.CreateModel(ctx, "dev", "churn", api.ModelSpec{Description: "churn model", TaskType: "regression"}))(t)

	// A two-step pipeline whose last step leaves a model and its metrics.
	pl := must(c.CreateTrainingPipeline(ctx, "dev", "train", api.TrainingPipelineSpec{
		Description: "nightly training " + xss, ComputePool: "cpu", Model: "churn",
		Parameters: []api.PipelineParameter{{Name: "epochs", Type: api.ParamInt, Default: "3"}},
		Steps: []api.PipelineStep{
			{Name: "prep", Command: []string{"sh", "-c", "echo preparing $MLOPS_PARAM_EPOCHS epochs"}},
			{Name: "train", DependsOn: []string{"prep"}, Command: []string{"sh", "-c",
				`echo training; echo '{"slope": 2, "intercept": 1}' > "$MLOPS_OUTPUT_DIR/model.json"; echo '{"rmse": 0.25, "auc": 0.88}' > "$MLOPS_OUTPUT_DIR/metrics.json"`}},
		},
	}))(t)
	must(c.WaitTrainingPipelineSettled(ctx, "dev", "train", pl.Metadata.Generation))(t)
	run := must(c.StartPipelineRun(ctx, "dev", "train", nil))(t)
	run = must(c.WaitPipelineRunSettled(ctx, "dev", run.Metadata.Name, run.Metadata.Generation))(t)
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
	must(c.CreateModelVersion(ctx, "dev", "v1", api.ModelVersionSpec{
		Model: "churn", Description: "candidate " + xss, ArtifactURI: "file://" + path, ArtifactSHA256: hex.EncodeToString(sum[:]),
		Framework: api.FrameworkMLOpsLinear, Metrics: map[string]string{"rmse": "0.21", "auc": "0.91"},
		Lineage: api.ModelLineage{PipelineRun: run.Metadata.Name, DatasetURI: "file:///data/churn.csv",
			DatasetSHA256: hex.EncodeToString(sum[:]), CodeRef: "git:abc123"},
		Approval: api.ApprovalRequest{Status: api.ApprovalPending},
	}))(t)
	must(c.CreateModelAlias(ctx, "dev", "champion", api.ModelAliasSpec{Model: "churn", Version: "v1"}))(t)
	ep := must(c.CreateModelEndpoint(ctx, "dev", "api", api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v1", ComputePool: "cpu", Replicas: 1, TrafficPercent: 100}},
		Rollout:  api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
	}))(t)
	if ep, err := c.WaitModelEndpointSettled(ctx, "dev", "api", ep.Metadata.Generation); err != nil || ep.Status.Phase != api.PhaseReady {
		t.Fatalf("endpoint: %+v, %v", ep, err)
	}
	for i := range 30 {
		must(c.Predict(ctx, "dev", "api", []float64{float64(i)}))(t)
	}

	// An alarm on a pushed metric that breaches its threshold.
	now := time.Now().UTC()
	var dps []api.CustomDatapoint
	// From a minute ago to four minutes ahead (the API takes up to five), so
	// that the alarm stays in ALARM however long the tests take.
	for s := -60; s <= 240; s++ {
		dps = append(dps, api.CustomDatapoint{Name: "queue_depth", Value: float64(8 + (s+60)%5), Timestamp: now.Add(time.Duration(s) * time.Second)})
	}
	must(c.PushMetrics(ctx, "dev", dps))(t)
	alarm := must(c.CreateAlarm(ctx, "dev", "backlog", api.AlarmSpec{
		Description: "queue backlog " + xss, Metric: api.AlarmMetricCustom, MetricName: "queue_depth", Statistic: api.StatisticAverage,
		Comparison: api.ComparisonGreaterThan, Threshold: "5", PeriodSeconds: 10, EvaluationPeriods: 3, MissingData: api.MissingDataIgnore,
	}))(t)
	for {
		a := must(c.WaitAlarmSettled(ctx, "dev", "backlog", alarm.Metadata.Generation))(t)
		if a.Status.State == api.AlarmStateAlarm {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("alarm never in ALARM: %+v", a.Status)
		case <-time.After(100 * time.Millisecond):
		}
	}
	// The gateway's metrics reach the store at the next flush.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := must(c.GetEndpointMetrics(ctx, "dev", "api", client.EndpointMetricsOptions{Since: now.Add(-time.Minute), Until: now.Add(time.Minute), StepSeconds: 120}))(t)
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
