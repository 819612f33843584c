package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccEnvironmentDataSource_basic(t *testing.T) {
	a := startAcc(t)
	const dsAddr = "data.mlops_environment.test"
	// depends_on makes the read wait for the pool, so gpus_allocated
	// counts it: 4 nodes × 2 GPUs.
	config := testAccComputePoolConfig(a, "nvidia-a100", 0, 4) + `
data "mlops_environment" "test" {
  name       = mlops_environment.dev.name
  depends_on = [mlops_compute_pool.test]
}
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkPoolsAndEnvironmentsDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev")),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("labels"), knownvalue.Null()),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("policy").AtMapKey("max_gpus"), knownvalue.Int64Exact(16)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("policy").AtMapKey("allowed_accelerator_types"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("nvidia-t4"), knownvalue.StringExact("nvidia-a100")})),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("gpus_allocated"), knownvalue.Int64Exact(8)),
					statecheck.CompareValuePairs(dsAddr, tfjsonpath.New("uid"), "mlops_environment.dev", tfjsonpath.New("uid"), compare.ValuesSame()),
					statecheck.CompareValuePairs(dsAddr, tfjsonpath.New("created_at"), "mlops_environment.dev", tfjsonpath.New("created_at"), compare.ValuesSame()),
				},
			},
		},
	})
}
