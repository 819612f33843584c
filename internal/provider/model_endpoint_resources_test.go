package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// sizedAcc is an endpointAcc with the echomodel user command built and an
// artifact of it on disk.
type sizedAcc struct {
	*endpointAcc
	echo                  string
	customPath, customSHA string
}

func startSizedAcc(t *testing.T) *sizedAcc {
	t.Helper()
	e := &sizedAcc{endpointAcc: startEndpointAcc(t), echo: mlopsdtest.BuildEchoModel(t)}
	e.customPath, e.customSHA = writeArtifact(t, `{"scale": 2}`)
	return e
}

// sizedConfig is endpoint api whose variant primary serves the echomodel
// version custom with the echomodel command and args, and the given
// cpu_millicores and memory_mib (HCL values, e.g. "null"), with a shadow on
// v1 that asks for 128 MiB, rolled out as a canary (50%, then 100%).
func (e *sizedAcc) sizedConfig(args []string, cpu, mem string) string {
	command := fmt.Sprintf("[%q", e.echo)
	for _, a := range args {
		command += fmt.Sprintf(", %q", a)
	}
	command += "]"
	return e.base("{}") + fmt.Sprintf(`
resource "mlops_model_version" "custom" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.price.name
  name            = "custom"
  artifact_uri    = "file://%[1]s"
  artifact_sha256 = %[2]q
  framework       = "echomodel"
}

resource "mlops_model_endpoint" "test" {
  environment = mlops_environment.dev.name
  name        = "api"
  variants = [{
    name            = "primary"
    model_version   = mlops_model_version.custom.name
    compute_pool    = mlops_compute_pool.cpu.name
    command         = %[3]s
    replicas        = 1
    traffic_percent = 100
    cpu_millicores  = %[4]s
    memory_mib      = %[5]s
  }]
  shadow = {
    name          = "shadow"
    model_version = mlops_model_version.v1.name
    compute_pool  = mlops_compute_pool.cpu.name
    replicas      = 1
    memory_mib    = 128
  }
  rollout = { strategy = "canary", step_percent = 50, bake_time_seconds = 1 }
}

data "mlops_model_endpoint" "live" {
  environment = mlops_model_endpoint.test.environment
  name        = mlops_model_endpoint.test.name
}
`, e.customPath, e.customSHA, command, cpu, mem)
}

// TestAccModelEndpoint_resources: cpu_millicores and memory_mib on a
// variant and the shadow reach the replicas (a user command sees them in
// its environment); changing them is an in-place update carried out as a
// rollout of the same version, never a replacement; import reads them
// back; requests that cannot fit are refused with the attribute and the
// fix.
func TestAccModelEndpoint_resources(t *testing.T) {
	e := startSizedAcc(t)
	config := func(cpu, mem string) string { return e.sizedConfig(nil, cpu, mem) }
	variant := tfjsonpath.New("variants").AtSliceIndex(0)
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelEndpointDestroyed(e.testAcc),
		Steps: []resource.TestStep{
			{ // create with requests: the command's replicas see them
				Config: config("500", "256"),
				Check:  e.checkReplicaEnv("500", "256"),
				ConfigStateChecks: []statecheck.StateCheck{
					uidSame.AddStateValue(endpointAddr, tfjsonpath.New("uid")),
					statecheck.ExpectKnownValue(endpointAddr, variant.AtMapKey("cpu_millicores"), knownvalue.Int64Exact(500)),
					statecheck.ExpectKnownValue(endpointAddr, variant.AtMapKey("memory_mib"), knownvalue.Int64Exact(256)),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("shadow").AtMapKey("memory_mib"), knownvalue.Int64Exact(128)),
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("shadow").AtMapKey("cpu_millicores"), knownvalue.Null()),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
				},
			},
			{
				ResourceName:      endpointAddr,
				ImportState:       true,
				ImportStateId:     "dev/api",
				ImportStateVerify: true,
			},
			{ // new requests: an in-place update, rolled out (canary 50% → 100%) with the same version
				Config: config("1500", "null"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(endpointAddr, plancheck.ResourceActionUpdate)},
				},
				Check: e.checkReplicaEnv("1500", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					uidSame.AddStateValue(endpointAddr, tfjsonpath.New("uid")),
					statecheck.ExpectKnownValue(endpointAddr, variant.AtMapKey("cpu_millicores"), knownvalue.Int64Exact(1500)),
					statecheck.ExpectKnownValue(endpointAddr, variant.AtMapKey("memory_mib"), knownvalue.Null()),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("cpu_millicores"), knownvalue.Int64Exact(1500)),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("shadow").AtMapKey("memory_mib"), knownvalue.Int64Exact(128)),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("rollout_history"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"variant":      knownvalue.StringExact("primary"),
							"from_version": knownvalue.StringExact("custom"),
							"to_version":   knownvalue.StringExact("custom"),
							"result":       knownvalue.StringExact("succeeded"),
							"steps":        knownvalue.ListExact([]knownvalue.Check{knownvalue.Int64Exact(50), knownvalue.Int64Exact(100)}),
						}),
					})),
				},
			},
			{
				Config:   config("1500", "null"),
				PlanOnly: true,
			},
			{ // out of range: refused at plan time, naming the attribute
				Config:      config("0", "null"),
				ExpectError: expectErrorWords("cpu_millicores", "must be between 1 and 1024000"),
			},
			{ // more than a node of pool cpu (4 cores): the control plane refuses it, saying what fits
				Config: config("4500", "null"),
				ExpectError: expectErrorWords("spec.variants[0].cpu_millicores", `more than a node of compute pool "cpu" has`,
					"lower cpu_millicores to at most 4000"),
			},
			{ // the refused change left the endpoint alone
				Config:   config("1500", "null"),
				PlanOnly: true,
			},
		},
	})
}

// TestAccModelEndpoint_resourcesRollBack: new requests the model cannot
// run with (the echomodel command exits with less than 256 MiB) roll back;
// the apply fails saying why and that the previous requests still serve,
// the state keeps those, so the change is planned again, and going back
// needs no change.
func TestAccModelEndpoint_resourcesRollBack(t *testing.T) {
	e := startSizedAcc(t)
	config := func(mem string) string { return e.sizedConfig([]string{"-min-memory-mib", "256"}, "null", mem) }
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelEndpointDestroyed(e.testAcc),
		Steps: []resource.TestStep{
			{
				Config: config("512"),
				Check:  e.checkReplicaEnv("", "512"),
			},
			{ // too little memory for the model: the new replicas exit, the rollout rolls back
				Config: config("128"),
				ExpectError: expectErrorWords("rollout was rolled back", "the model needs at least 256 MiB",
					`model version "custom" is still serving variant "primary"`),
			},
			{ // the state records the requests that serve, so the change is still planned
				Config:             config("128"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{ // going back needs no change; the old replicas never stopped serving
				Config: config("512"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: e.checkReplicaEnv("", "512"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(endpointAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("memory_mib"), knownvalue.Int64Exact(512)),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("rolled_back")),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("memory_mib"), knownvalue.Int64Exact(512)),
					statecheck.ExpectKnownValue(endpointDSAddr, tfjsonpath.New("variants").AtSliceIndex(0).AtMapKey("cpu_millicores"), knownvalue.Int64Exact(0)),
				},
			},
		},
	})
}

// checkReplicaEnv checks that the primary variant's replicas were started
// with MLOPS_CPU_MILLICORES = cpu and MLOPS_MEMORY_MIB = mem ("" for
// unset), as the echomodel command reports them on GET /healthz.
func (e *sizedAcc) checkReplicaEnv(cpu, mem string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ep, err := e.client.GetModelEndpoint(context.Background(), "dev", "api")
		if err != nil {
			return err
		}
		if len(ep.Status.Variants) != 1 || len(ep.Status.Variants[0].Backends) == 0 {
			return fmt.Errorf("status = %+v; want variant primary serving", ep.Status)
		}
		for _, u := range ep.Status.Variants[0].Backends {
			resp, err := http.Get(u + "/healthz")
			if err != nil {
				return err
			}
			var h map[string]any
			err = json.NewDecoder(resp.Body).Decode(&h)
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			gotCPU, _ := h["cpu_millicores"].(string)
			gotMem, _ := h["memory_mib"].(string)
			if gotCPU != cpu || gotMem != mem {
				return fmt.Errorf("replica %s reports %v; want cpu_millicores %q and memory_mib %q", u, h, cpu, mem)
			}
		}
		return nil
	}
}

// TestAccModelEndpoint_fitWarning: at plan time, requests larger than a
// node of the pool as it is now are a warning on the attribute that says
// what fits (the control plane refuses them unless the apply grows the
// pool first); requests that fit, and a pool that does not exist yet, say
// nothing.
func TestAccModelEndpoint_fitWarning(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	if _, err := a.client.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.CreateComputePool(ctx, "dev", "small", api.ComputePoolSpec{MaxNodes: 1, CPUPerNode: 2, MemoryGiBPerNode: 1}); err != nil {
		t.Fatal(err)
	}
	r := &modelEndpointResource{client: a.client}
	variant := func(pool string, cpu, mem int64) endpointVariantModel {
		return endpointVariantModel{ComputePool: types.StringValue(pool), CPUMillicores: optionalInt64(cpu), MemoryMiB: optionalInt64(mem)}
	}
	plan := modelEndpointModel{
		Variants: []endpointVariantModel{variant("small", 2000, 1024), variant("small", 2500, 0), variant("missing", 999000, 0)},
		Shadow:   &endpointShadowModel{ComputePool: types.StringValue("small"), MemoryMiB: types.Int64Value(2048), CPUMillicores: types.Int64Null()},
	}
	var resp fwresource.ModifyPlanResponse
	r.checkFit(ctx, plan, "dev", &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("errors: %v", resp.Diagnostics)
	}
	warnings := resp.Diagnostics.Warnings()
	if len(warnings) != 2 {
		t.Fatalf("warnings = %v; want one for variants[1] and one for the shadow", warnings)
	}
	for i, want := range []struct{ path, words string }{
		{"variants[1].cpu_millicores", "lower cpu_millicores to at most 2000"},
		{"shadow.memory_mib", "lower memory_mib to at most 1024"},
	} {
		w, ok := warnings[i].(diag.DiagnosticWithPath)
		if !ok || w.Path().String() != want.path || !strings.Contains(w.Detail(), want.words) || !strings.Contains(w.Detail(), "checked at plan time") {
			t.Errorf("warning %d = %v; want %s saying %q", i, warnings[i], want.path, want.words)
		}
	}
}
