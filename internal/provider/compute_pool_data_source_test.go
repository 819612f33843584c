package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccComputePoolDataSource_basic(t *testing.T) {
	a := startAcc(t)
	const dsAddr = "data.mlops_compute_pool.test"
	config := testAccComputePoolConfig(a, "nvidia-a100", 2, 4) + `
data "mlops_compute_pool" "test" {
  environment = mlops_compute_pool.test.environment
  name        = mlops_compute_pool.test.name
}
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkPoolsAndEnvironmentsDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/gpu-a")),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("driver"), knownvalue.StringExact("local")),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("accelerator_type"), knownvalue.StringExact("nvidia-a100")),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("accelerator_count"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("cpu_per_node"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("memory_gib_per_node"), knownvalue.Int64Exact(16)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("min_nodes"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("max_nodes"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("spot"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("idle_scale_down_minutes"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("reason"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("current_nodes"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("desired_nodes"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("observed_generation"), knownvalue.Int64Exact(1)),
					statecheck.CompareValuePairs(dsAddr, tfjsonpath.New("uid"), poolAddr, tfjsonpath.New("uid"), compare.ValuesSame()),
					statecheck.CompareValuePairs(dsAddr, tfjsonpath.New("created_at"), poolAddr, tfjsonpath.New("created_at"), compare.ValuesSame()),
				},
			},
			{ // a pool that does not exist is an error that names it
				Config: a.providerConfig() + `
data "mlops_compute_pool" "missing" {
  environment = "dev"
  name        = "missing"
}
`,
				ExpectError: regexp.MustCompile(`(?s)Error reading compute pool.*"missing"`),
			},
		},
	})
}
