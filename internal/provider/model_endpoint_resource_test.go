package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

const (
	endpointAddr   = "mlops_model_endpoint.test"
	endpointDSAddr = "data.mlops_model_endpoint.live"
)

// endpointAcc is a control plane with two mlops-linear artifacts on disk:
// v1 predicts 2x+1, v2 predicts 3x.
type endpointAcc struct {
	*testAcc
	v1Path, v1SHA string
	v2Path, v2SHA string
	// brokenPath and brokenSHA are an artifact whose predictions fail
	// (tests that need one write it).
	brokenPath, brokenSHA string
}

func startEndpointAcc(t *testing.T) *endpointAcc {
	t.Helper()
	a := startAcc(t)
	e := &endpointAcc{testAcc: a}
	e.v1Path, e.v1SHA = writeArtifact(t, `{"slope": 2.000000, "intercept": 1.000000}`+"\n")
	e.v2Path, e.v2SHA = writeArtifact(t, `{"weights": [3], "bias": 0}`)
	return e
}

// base declares environment dev (with the given policy), pool cpu, model
// price and its versions v1 and v2.
func (e *endpointAcc) base(policy string) string {
	return e.providerConfig() + fmt.Sprintf(`
resource "mlops_environment" "dev" {
  name   = "dev"
  policy = %[1]s
}

resource "mlops_compute_pool" "cpu" {
  environment = mlops_environment.dev.name
  name        = "cpu"
  max_nodes   = 2
}

resource "mlops_model" "price" {
  environment   = mlops_environment.dev.name
  name          = "price"
  task_type     = "regression"
  force_destroy = true
}

resource "mlops_model_version" "v1" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.price.name
  name            = "v1"
  artifact_uri    = "file://%[2]s"
  artifact_sha256 = %[3]q
  framework       = "mlops-linear"
}

resource "mlops_model_version" "v2" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.price.name
  name            = "v2"
  artifact_uri    = "file://%[4]s"
  artifact_sha256 = %[5]q
  framework       = "mlops-linear"
}
`, policy, e.v1Path, e.v1SHA, e.v2Path, e.v2SHA)
}

// config is endpoint api serving version on variant primary (2 replicas),
// with a shadow on v1 that autoscales on its load, and the live data source.
func (e *endpointAcc) config(version, rollout string) string {
	return e.base("{}") + fmt.Sprintf(`
resource "mlops_model_endpoint" "test" {
  environment = mlops_environment.dev.name
  name        = "api"
  variants = [{
    name            = "primary"
    model_version   = %[1]q
    compute_pool    = mlops_compute_pool.cpu.name
    replicas        = 2
    traffic_percent = 100
  }]
  shadow = {
    name          = "shadow"
    model_version = mlops_model_version.v1.name
    compute_pool  = mlops_compute_pool.cpu.name
    autoscaling   = { min_replicas = 1, max_replicas = 3, target_rps = 1 }
  }
  request_log_sample_rate_percent = 10
%[2]s
  depends_on = [mlops_model_version.v1, mlops_model_version.v2]
}

data "mlops_model_endpoint" "live" {
  environment = mlops_model_endpoint.test.environment
  name        = mlops_model_endpoint.test.name
}
`, version, rollout)
}

func testAccCheckModelEndpointDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_model_endpoint", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetModelEndpoint(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

// checkPredict predicts through the gateway, with the client and with
// plain HTTP, and expects the version and its prediction for input 10.
func (e *endpointAcc) checkPredict(version string, want float64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		for range 5 {
			got, err := e.client.Predict(ctx, "dev", "api", []float64{10})
			if err != nil {
				return err
			}
			if got.Variant != "primary" || got.ModelVersion != version || got.Prediction != want {
				return fmt.Errorf("predict = %+v; want variant primary, model_version %s, prediction %v", got, version, want)
			}
		}
		return nil
	}
}

func TestAccModelEndpoint_rollout(t *testing.T) {
	e := startEndpointAcc(t)
	ctx := context.Background()
	canary := `  rollout = { strategy = "canary", step_percent = 50, bake_time_seconds = 1 }`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(testAccCheckModelEndpointDestroyed(e.testAcc), testAccCheckEnvironmentDestroyed(e.testAcc)),
		Steps: []resource.TestStep{
			{ // create → ready, serving v1 through the gateway
				Config: e.config("v1", ""),
				Check:  e.checkPredict("v1", 21),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/api")),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("rollout").AtMapKey("strategy"), knownvalue.StringExact("all_at_once")),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("model_version"), knownvalue.StringExact("v1")),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("replicas"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("desired_replicas"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("shadow").AtMapKey("replicas"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("shadow").AtMapKey("autoscaling").AtMapKey("scale_in_cooldown_seconds"), knownvalue.Int64Exact(300)),
				},
			},
			{
				ResourceName:      endpointAddr,
				ImportState:       true,
				ImportStateId:     "dev/api",
				ImportStateVerify: true,
			},
			{ // load on the shadow (3 rps for target_rps 1) scales it to 3 replicas: never a diff, the data source shows it
				PreConfig: func() {
					e.srv.AppendPredictions(t, "dev", "api", "shadow", "v1", 3, api.AutoscaleWindowSeconds)
					e.waitShadowReplicas(t, 3)
				},
				Config: e.config("v1", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("shadow").AtMapKey("replicas"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("shadow").AtMapKey("desired_replicas"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("shadow").AtMapKey("last_scale_time"), knownvalue.NotNull()),
				},
			},
			{ // a new version rolls out in place (canary 50% → 100%) and apply waits for it
				Config: e.config("v2", canary),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionUpdate)},
				},
				Check: e.checkPredict("v2", 30),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("model_version"), knownvalue.StringExact("v2")),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("rollout_history"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"variant":      knownvalue.StringExact("primary"),
							"from_version": knownvalue.StringExact("v1"),
							"to_version":   knownvalue.StringExact("v2"),
							"strategy":     knownvalue.StringExact("canary"),
							"result":       knownvalue.StringExact("succeeded"),
							"steps":        knownvalue.ListExact([]knownvalue.Check{knownvalue.Int64Exact(50), knownvalue.Int64Exact(100)}),
						}),
					})),
				},
			},
			{ // a version whose artifact is not an mlops-linear model rolls back: apply fails, v2 keeps serving
				PreConfig: func() { e.registerBrokenVersion(t, "broken") },
				Config:    e.config("broken", canary),
				ExpectError: expectErrorWords("rollout was rolled back", "not an mlops-linear model",
					`model version "v2" is still serving variant "primary"`),
			},
			{ // the state records what serves, so the rolled-back change is still planned
				Config:             e.config("broken", canary),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{ // going back to v2 needs no change; the old version never stopped serving
				Config: e.config("v2", canary),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: e.checkPredict("v2", 30),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("rolled_back")),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("rollout_history").AtSliceIndex(1).AtMapKey("result"), knownvalue.StringExact("rolled_back")),
				},
			},
			{ // out-of-band drift (traffic moved to a second variant) is planned back
				PreConfig: func() {
					ep, err := e.client.GetModelEndpoint(ctx, "dev", "api")
					if err != nil {
						t.Fatal(err)
					}
					ep.Spec.Variants[0].ModelVersion = "v2"
					ep.Spec.Variants[0].TrafficPercent = 50
					ep.Spec.Variants = append(ep.Spec.Variants, api.EndpointVariant{Name: "other", ModelVersion: "v1", ComputePool: "cpu", Replicas: 1, TrafficPercent: 50})
					if _, err := e.client.UpdateModelEndpoint(ctx, "dev", "api", ep.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: e.config("v2", canary),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionUpdate)},
				},
				Check: e.checkPredict("v2", 30),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("variants"), knownvalue.ListSizeExact(1)),
				},
			},
		},
	})
}

// waitShadowReplicas waits until the shadow runs n replicas, as the
// autoscaler sizes it from the load.
func (e *endpointAcc) waitShadowReplicas(t *testing.T, n int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := client.Poll(ctx, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		ep, err := e.client.GetModelEndpoint(ctx, "dev", "api")
		if err != nil {
			return false, err
		}
		return ep.Status.Shadow != nil && ep.Status.Shadow.Replicas == n && ep.Status.Shadow.ObservedRPS > 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// registerBrokenVersion registers, out of band, a version whose artifact
// is not mlops-linear JSON (with the right SHA-256, so registration passes).
func (e *endpointAcc) registerBrokenVersion(t *testing.T, name string) {
	t.Helper()
	path, sum := writeArtifact(t, "this is not a model\n")
	_, err := e.client.CreateModelVersion(context.Background(), "dev", name, api.ModelVersionSpec{
		Model: "price", ArtifactURI: "file://" + path, ArtifactSHA256: sum, Framework: "mlops-linear",
		Approval: api.ApprovalRequest{Status: api.ApprovalPending},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAccModelEndpoint_badInput(t *testing.T) {
	e := startEndpointAcc(t)
	endpoint := func(variants string) string {
		return fmt.Sprintf(`
resource "mlops_model_endpoint" "test" {
  environment = mlops_environment.dev.name
  name        = "api"
  variants    = %s
  depends_on  = [mlops_model_version.v1, mlops_model_version.v2, mlops_compute_pool.cpu]
}
`, variants)
	}
	endpointWith := func(variants, extra string) string {
		return fmt.Sprintf(`
resource "mlops_model_endpoint" "test" {
  environment = mlops_environment.dev.name
  name        = "api"
  variants    = %s
  %s
  depends_on  = [mlops_model_version.v1, mlops_model_version.v2, mlops_compute_pool.cpu]
}
`, variants, extra)
	}
	twoVariants := `[
    { name = "a", model_version = "v1", compute_pool = "cpu", replicas = 1, traffic_percent = 60 },
    { name = "b", model_version = "v2", compute_pool = "cpu", replicas = 1, traffic_percent = 30 },
  ]`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelEndpointDestroyed(e.testAcc),
		Steps: []resource.TestStep{
			{ // plan time: traffic must sum to 100
				Config:      e.base("{}") + endpoint(twoVariants),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid traffic split.*` + words("sum to 90; they must sum to 100")),
			},
			{ // plan time: replicas or autoscaling, not both
				Config: e.base("{}") + endpoint(`[{ name = "a", model_version = "v1", compute_pool = "cpu", replicas = 1,
    autoscaling = { min_replicas = 1, max_replicas = 2 }, traffic_percent = 100 }]`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Conflicting replicas.*` + words("not both")),
			},
			{ // plan time: the smoke test's body must be a JSON object
				Config: e.base("{}") + endpointWith(`[{ name = "a", model_version = "v1", compute_pool = "cpu", replicas = 1, traffic_percent = 100 }]`,
					`smoke_test = { request_body = "inputs=10" }`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid smoke test request body.*` + words("request_body must be a JSON object")),
			},
			{ // plan time: json_path syntax, and expected_json_value needs json_path
				Config: e.base("{}") + endpointWith(`[{ name = "a", model_version = "v1", compute_pool = "cpu", replicas = 1, traffic_percent = 100 }]`,
					`smoke_test = { request_body = jsonencode({ inputs = [1] }), json_path = "$.scores[0]" }`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid json_path.*` + words(`"$.scores[0]" is not a path: use dot-separated keys`)),
			},
			{
				Config: e.base("{}") + endpointWith(`[{ name = "a", model_version = "v1", compute_pool = "cpu", replicas = 1, traffic_percent = 100 }]`,
					`smoke_test = { request_body = jsonencode({ inputs = [1] }), expected_json_value = "3" }`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)smoke_test\.json_path.*must be specified`),
			},
			{ // plan time: rollback_alarms are distinct names
				Config: e.base("{}") + endpointWith(`[{ name = "a", model_version = "v1", compute_pool = "cpu", replicas = 1, traffic_percent = 100 }]`,
					`rollout = { rollback_alarms = ["errors", "errors"] }`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Duplicate rollback alarm.*` + words(`rollout.rollback_alarms names alarm "errors" twice`)),
			},
			{ // plan time: a command names its program
				Config:      e.base("{}") + endpoint(`[{ name = "a", model_version = "v1", compute_pool = "cpu", replicas = 1, traffic_percent = 100, command = ["", "x"] }]`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid command.*` + words("the first element must name the program")),
			},
			{ // server: an environment that requires approved models refuses a pending version, naming the field
				Config:      e.base("{ require_approved_models = true }") + endpoint(`[{ name = "a", model_version = "v1", compute_pool = "cpu", replicas = 1, traffic_percent = 100 }]`),
				ExpectError: regexp.MustCompile(`(?s)variants\[0\]\.model_version.*` + words(`model version "v1" is pending`) + `.*require_approved_models`),
			},
			{ // server: the model version must exist
				Config:      e.base("{}") + endpoint(`[{ name = "a", model_version = "nope", compute_pool = "cpu", replicas = 1, traffic_percent = 100 }]`),
				ExpectError: regexp.MustCompile(`(?s)variants\[0\]\.model_version.*` + words(`model version "nope" does not exist`)),
			},
			{ // server: without a command only mlops-linear versions are served
				PreConfig:   func() { e.registerVersion(t, "onnx", "not linear", "onnx") },
				Config:      e.base("{}") + endpoint(`[{ name = "a", model_version = "onnx", compute_pool = "cpu", replicas = 1, traffic_percent = 100 }]`),
				ExpectError: regexp.MustCompile(`(?s)variants\[0\]\.model_version.*` + words(`framework "onnx"`) + `.*` + words("set command")),
			},
		},
	})
}

// registerVersion registers, out of band, version name of model price
// with an artifact holding content.
func (e *endpointAcc) registerVersion(t *testing.T, name, content, framework string) {
	t.Helper()
	path, sum := writeArtifact(t, content)
	_, err := e.client.CreateModelVersion(context.Background(), "dev", name, api.ModelVersionSpec{
		Model: "price", ArtifactURI: "file://" + path, ArtifactSHA256: sum, Framework: framework,
		Approval: api.ApprovalRequest{Status: api.ApprovalPending},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Smoke tests and rollouts of gatedConfig.
const (
	smoke21 = `    request_body        = jsonencode({ inputs = [10] })
    json_path           = "prediction"
    expected_json_value = "21"`
	smokeAny = `    request_body               = jsonencode({ inputs = [10] })
    expected_response_contains = "prediction"`
	quickCanary = `    strategy          = "canary"
    step_percent      = 50
    bake_time_seconds = 1`
)

// gatedConfig is endpoint api serving version on variant primary with the
// given smoke_test and rollout bodies.
func (e *endpointAcc) gatedConfig(version, smoke, rollout string) string {
	return e.base("{}") + fmt.Sprintf(`
resource "mlops_model_endpoint" "test" {
  environment = mlops_environment.dev.name
  name        = "api"
  variants = [{
    name            = "primary"
    model_version   = %[1]q
    compute_pool    = mlops_compute_pool.cpu.name
    replicas        = 2
    traffic_percent = 100
  }]
  smoke_test = {
%[2]s
  }
  rollout = {
%[3]s
  }
  depends_on = [mlops_model_version.v1, mlops_model_version.v2]
}

data "mlops_model_endpoint" "live" {
  environment = mlops_model_endpoint.test.environment
  name        = mlops_model_endpoint.test.name
}
`, version, smoke, rollout)
}

// checkV1ServesNow is checkPredict of v1 (2x+1) for a PreConfig: after a
// rollback, the version that still serves.
func (e *endpointAcc) checkV1ServesNow(t *testing.T) {
	t.Helper()
	if err := e.checkPredict("v1", 21)(nil); err != nil {
		t.Fatal(err)
	}
}

func TestAccModelEndpoint_smokeTest(t *testing.T) {
	e := startEndpointAcc(t)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelEndpointDestroyed(e.testAcc),
		Steps: []resource.TestStep{
			{ // the smoke test passes on create: v1 answers 21 for 10
				Config: e.gatedConfig("v1", smoke21, quickCanary),
				Check:  e.checkPredict("v1", 21),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("smoke_test").AtMapKey("expected_status"), knownvalue.Int64Exact(200)),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("smoke_test").AtMapKey("request_body"), knownvalue.StringExact(`{"inputs":[10]}`)),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("smoke_test").AtMapKey("expected_response_contains"), knownvalue.Null()),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
				},
			},
			{ // a version whose weights overflow passes the zeros check but answers the smoke test with 500: the apply fails with the answer
				PreConfig: func() { e.registerVersion(t, "overflow", `{"weights": [1e308], "bias": 0}`, "mlops-linear") },
				Config:    e.gatedConfig("overflow", smoke21, quickCanary),
				ExpectError: expectErrorWords("rollout was rolled back", "smoke test failed: expected status 200, got 500:",
					`{"error":"the prediction is not a finite number`, `model version "v1" is still serving variant "primary"`),
			},
			{ // v1 still serves, and the next plan proposes the change again
				PreConfig:          func() { e.checkV1ServesNow(t) },
				Config:             e.gatedConfig("overflow", smoke21, quickCanary),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{ // back to v1: nothing to change; the data source shows the rollback
				Config: e.gatedConfig("v1", smoke21, quickCanary),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("rolled_back")),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("rollout_history").AtSliceIndex(0), knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"result":     knownvalue.StringExact("rolled_back"),
						"to_version": knownvalue.StringExact("overflow"),
						"alarm":      knownvalue.StringExact(""),
						"message":    knownvalue.StringRegexp(regexp.MustCompile(`^replica \d of model version "overflow": smoke test failed: expected status 200, got 500`)),
					})),
				},
			},
		},
	})
}

// TestAccModelEndpoint_rollbackAlarm: an alarm named in rollback_alarms
// goes to ALARM during the rollout's bake (set in the store as the alarm
// evaluator would): the apply fails naming it, and v1 still serves.
func TestAccModelEndpoint_rollbackAlarm(t *testing.T) {
	e := startEndpointAcc(t)
	ctx := context.Background()
	alarm := api.AlarmSpec{Metric: api.AlarmMetricErrorRate, Endpoint: "api", Comparison: api.ComparisonGreaterThan, Threshold: "5", PeriodSeconds: 60, EvaluationPeriods: 1}
	ok := func() api.AlarmStatus {
		at := time.Now().Add(-time.Hour)
		return api.AlarmStatus{Status: api.Status{Phase: api.PhaseReady}, State: api.AlarmStateOK, StateChangedAt: &at}
	}
	firing := make(chan struct{}) // closed when the alarm stopped firing
	// Long enough a bake that only the alarm ends it.
	slowCanary := `    strategy          = "canary"
    step_percent      = 50
    bake_time_seconds = 120
    rollback_alarms   = ["errors-high"]`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelEndpointDestroyed(e.testAcc),
		Steps: []resource.TestStep{
			{ // rollback_alarms may name an alarm that does not exist yet
				Config: e.gatedConfig("v1", smokeAny, slowCanary),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("rollout").AtMapKey("rollback_alarms"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("errors-high")})),
				},
			},
			{ // the alarm fires while the canary bakes
				PreConfig: func() {
					if err := e.srv.PutAlarm(ctx, "dev", "errors-high", alarm, ok()); err != nil {
						t.Fatal(err)
					}
					go func() {
						defer close(firing)
						ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
						defer cancel()
						// Once the rollout runs, the alarm is in ALARM until
						// the rollout ended; should the evaluator's next
						// period overwrite it meanwhile, it is put back.
						_ = client.Poll(ctx, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
							// A failed read is retried: the apply is still running.
							ep, err := e.client.GetModelEndpoint(ctx, "dev", "api")
							if err != nil || ep.Status.Rollout == nil {
								return ep != nil && ep.Status.Phase == api.PhaseRolledBack, nil
							}
							if a, err := e.client.GetAlarm(ctx, "dev", "errors-high"); err == nil && a.Status.State == api.AlarmStateAlarm {
								return false, nil
							}
							at := time.Now()
							st := api.AlarmStatus{Status: api.Status{Phase: api.PhaseReady}, State: api.AlarmStateAlarm, StateReason: "error_rate 12.5 > 5", StateChangedAt: &at}
							return false, e.srv.PutAlarm(ctx, "dev", "errors-high", alarm, st)
						})
					}()
				},
				Config: e.gatedConfig("v2", smokeAny, slowCanary),
				ExpectError: expectErrorWords("rollout was rolled back", `alarm "errors-high" went to ALARM (error_rate 12.5 > 5);`,
					`rolled back: model version "v1" is still serving variant "primary"`),
			},
			{ // v1 still serves; the data source names the alarm (which goes away now, so that the environment can be destroyed)
				PreConfig: func() {
					<-firing
					e.checkV1ServesNow(t)
					if err := e.srv.DeleteAlarm(ctx, "dev", "errors-high"); err != nil {
						t.Fatal(err)
					}
				},
				Config: e.gatedConfig("v1", smokeAny, slowCanary),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("rollout_history").AtSliceIndex(0).AtMapKey("alarm"), knownvalue.StringExact("errors-high")),
				},
			},
		},
	})
}

// TestAccModelEndpoint_commandAndImport serves a model of another framework
// with a user command (the echomodel test server built from testdata),
// with every newer attribute set, imports it, then unsets them.
func TestAccModelEndpoint_commandAndImport(t *testing.T) {
	e := startEndpointAcc(t)
	echo := mlopsdtest.BuildEchoModel(t)
	customPath, customSHA := writeArtifact(t, `{"scale": 2}`)
	config := func(endpoint string) string {
		return e.base("{}") + fmt.Sprintf(`
resource "mlops_model_version" "custom" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.price.name
  name            = "custom"
  artifact_uri    = "file://%[1]s"
  artifact_sha256 = %[2]q
  framework       = "echomodel"
}
%[3]s
data "mlops_model_endpoint" "live" {
  environment = mlops_model_endpoint.test.environment
  name        = mlops_model_endpoint.test.name
}
`, customPath, customSHA, endpoint)
	}
	all := fmt.Sprintf(`
resource "mlops_model_endpoint" "test" {
  environment = mlops_environment.dev.name
  name        = "api"
  variants = [{
    name            = "primary"
    model_version   = mlops_model_version.custom.name
    compute_pool    = mlops_compute_pool.cpu.name
    command         = [%[1]q, "-inputs", "1"]
    autoscaling     = { min_replicas = 1, max_replicas = 2, target_rps = 100, scale_in_cooldown_seconds = 0 }
    traffic_percent = 100
  }]
  shadow = {
    name          = "shadow"
    model_version = mlops_model_version.custom.name
    compute_pool  = mlops_compute_pool.cpu.name
    command       = [%[1]q]
    replicas      = 1
  }
  smoke_test = {
    request_body               = jsonencode({ inputs = [10] })
    expected_status            = 200
    expected_response_contains = "model_uri"
    json_path                  = "prediction"
    expected_json_value        = "20"
  }
  rollout = {
    strategy        = "all_at_once"
    rollback_alarms = ["errors-high", "latency-high"]
  }
}
`, echo)
	none := `
resource "mlops_model_endpoint" "test" {
  environment = mlops_environment.dev.name
  name        = "api"
  variants = [{
    name            = "primary"
    model_version   = mlops_model_version.v1.name
    compute_pool    = mlops_compute_pool.cpu.name
    autoscaling     = { min_replicas = 1, max_replicas = 2 }
    traffic_percent = 100
  }]
  rollout = { rollback_alarms = [] }
}
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelEndpointDestroyed(e.testAcc),
		Steps: []resource.TestStep{
			{ // every new attribute set: created, smoke-tested, served by the command
				Config: config(all),
				Check: func(*terraform.State) error {
					got, err := e.client.Predict(context.Background(), "dev", "api", []float64{3, 4})
					if err != nil {
						return err
					}
					if got.ModelVersion != "custom" || got.Prediction != 14 {
						return fmt.Errorf("predict = %+v; want custom's 2 × (3 + 4)", got)
					}
					return nil
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("command"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(echo), knownvalue.StringExact("-inputs"), knownvalue.StringExact("1")})),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("autoscaling").AtMapKey("scale_in_cooldown_seconds"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("desired_replicas"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("observed_rps"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("shadow").AtMapKey("replicas"), knownvalue.Int64Exact(1)),
				},
			},
			{ // a second plan is empty
				Config:   config(all),
				PlanOnly: true,
			},
			{
				ResourceName:      endpointAddr,
				ImportState:       true,
				ImportStateId:     "dev/api",
				ImportStateVerify: true,
			},
			{ // every new attribute unset again (rollback_alarms as an empty list): an in-place update, then an empty plan
				Config: config(none),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionUpdate)},
				},
				Check: e.checkPredictVariant("primary", "v1", 21),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("smoke_test"), knownvalue.Null()),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("command"), knownvalue.Null()),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("rollout").AtMapKey("rollback_alarms"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("autoscaling").AtMapKey("scale_in_cooldown_seconds"), knownvalue.Int64Exact(300)),
				},
			},
			{
				Config:   config(none),
				PlanOnly: true,
			},
		},
	})
}

// checkPredictVariant predicts through the gateway and expects the
// variant, version and prediction for input 10.
func (e *endpointAcc) checkPredictVariant(variant, version string, want float64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got, err := e.client.Predict(context.Background(), "dev", "api", []float64{10})
		if err != nil {
			return err
		}
		if got.Variant != variant || got.ModelVersion != version || got.Prediction != want {
			return fmt.Errorf("predict = %+v; want variant %s, model_version %s, prediction %v", got, variant, version, want)
		}
		return nil
	}
}

// TestModelEndpointFromAPI: a rolled-back variant reads as the version,
// command and replica requests that serve; empty lists stay empty lists; a smoke test's status 0
// reads as the 200 it means.
func TestModelEndpointFromAPI(t *testing.T) {
	ep := &api.ModelEndpoint{
		Metadata: api.Metadata{Name: "api", Environment: "dev"},
		Spec: api.ModelEndpointSpec{
			Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v2", Command: []string{"/new"}, Replicas: 1, TrafficPercent: 100,
				ReplicaResources: api.ReplicaResources{CPUMillicores: 2000, MemoryMiB: 512}}},
			Rollout:   api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 10},
			SmokeTest: &api.EndpointSmokeTest{RequestBody: "{}"},
		},
		Status: api.ModelEndpointStatus{
			Status: api.Status{Phase: api.PhaseRolledBack},
			Variants: []api.EndpointVariantStatus{{Name: "primary", ModelVersion: "v1", Command: []string{"/old", "-x"},
				ReplicaResources: api.ReplicaResources{CPUMillicores: 500}}},
		},
	}
	prior := modelEndpointModel{Rollout: &endpointRolloutModel{RollbackAlarms: []types.String{}}}
	m := modelEndpointFromAPI(ep, prior)
	v := m.Variants[0]
	if v.ModelVersion.ValueString() != "v1" || len(v.Command) != 2 || v.Command[0].ValueString() != "/old" ||
		v.CPUMillicores.ValueInt64() != 500 || !v.MemoryMiB.IsNull() {
		t.Fatalf("rolled-back variant = %+v", v)
	}
	if m.Rollout.RollbackAlarms == nil || len(m.Rollout.RollbackAlarms) != 0 {
		t.Fatalf("rollback_alarms = %#v, want the empty list of the prior state", m.Rollout.RollbackAlarms)
	}
	if m.SmokeTest.ExpectedStatus.ValueInt64() != 200 || !m.SmokeTest.JSONPath.IsNull() {
		t.Fatalf("smoke test = %+v", m.SmokeTest)
	}
	// Ready: the spec as it is.
	ep.Status.Phase = api.PhaseReady
	m = modelEndpointFromAPI(ep, modelEndpointModel{})
	if v := m.Variants[0]; v.ModelVersion.ValueString() != "v2" || v.Command[0].ValueString() != "/new" || m.Rollout.RollbackAlarms != nil ||
		v.CPUMillicores.ValueInt64() != 2000 || v.MemoryMiB.ValueInt64() != 512 {
		t.Fatalf("ready: %+v, alarms %#v", v, m.Rollout.RollbackAlarms)
	}
	// And back: the spec sent is the spec read.
	spec := modelEndpointToAPI(m)
	if spec.Variants[0].Command[0] != "/new" || spec.SmokeTest.ExpectedStatus != 200 || spec.Rollout.RollbackAlarms != nil ||
		spec.Variants[0].ReplicaResources != ep.Spec.Variants[0].ReplicaResources {
		t.Fatalf("spec = %+v", spec)
	}
}
