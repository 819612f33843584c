package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
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
// with a shadow on v1 that autoscales, and the live data source.
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
    autoscaling   = { min_replicas = 1, max_replicas = 3 }
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
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("shadow").AtMapKey("replicas"), knownvalue.Int64Exact(1)),
				},
			},
			{
				ResourceName:      endpointAddr,
				ImportState:       true,
				ImportStateId:     "dev/api",
				ImportStateVerify: true,
			},
			{ // the runtime scales the autoscaled shadow: never a diff, the data source shows it
				PreConfig: func() { e.setShadowReplicas(t, 3) },
				Config:    e.config("v1", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("shadow").AtMapKey("replicas"), knownvalue.Int64Exact(3)),
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

// setShadowReplicas writes the shadow's replica count into the status as
// an autoscaler would; the reconciler then runs that many replicas.
func (e *endpointAcc) setShadowReplicas(t *testing.T, n int64) {
	t.Helper()
	ctx := context.Background()
	ref := api.Ref{Kind: api.KindModelEndpoint, Environment: "dev", Name: "api"}
	obj, err := e.srv.Daemon.Store.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var st api.ModelEndpointStatus
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		t.Fatal(err)
	}
	st.Shadow.Replicas = n
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Daemon.Store.UpdateStatus(ctx, ref, obj.Meta.UID, b); err != nil {
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
			{ // server: an environment that requires approved models refuses a pending version, naming the field
				Config:      e.base("{ require_approved_models = true }") + endpoint(`[{ name = "a", model_version = "v1", compute_pool = "cpu", replicas = 1, traffic_percent = 100 }]`),
				ExpectError: regexp.MustCompile(`(?s)variants\[0\]\.model_version.*` + words(`model version "v1" is pending`) + `.*require_approved_models`),
			},
			{ // server: the model version must exist
				Config:      e.base("{}") + endpoint(`[{ name = "a", model_version = "nope", compute_pool = "cpu", replicas = 1, traffic_percent = 100 }]`),
				ExpectError: regexp.MustCompile(`(?s)variants\[0\]\.model_version.*` + words(`model version "nope" does not exist`)),
			},
		},
	})
}
