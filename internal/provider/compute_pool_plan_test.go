package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TestAccComputePool_quotaAtPlanTime proves the GPU cap and the accelerator
// allow-list of an existing environment fail the plan, not the apply:
// PlanOnly steps never apply.
func TestAccComputePool_quotaAtPlanTime(t *testing.T) {
	a := startAcc(t)
	const policy = `{
    max_gpus                  = 4
    allowed_accelerator_types = ["nvidia-t4"]
  }`
	envOnly := a.providerConfig() + `
resource "mlops_environment" "dev" {
  name   = "dev"
  policy = ` + policy + `
}
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkPoolsAndEnvironmentsDestroyed(a),
		Steps: []resource.TestStep{
			{Config: envOnly},
			{ // 2 nodes × 4 GPUs is more than the environment's 4
				Config: testAccComputePoolEnvConfig(a, policy, `
  name              = "gpu"
  accelerator_type  = "nvidia-t4"
  accelerator_count = 4
  max_nodes         = 2
`),
				PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)GPU quota of the environment exceeded.*max_nodes\s+=\s+2.*` +
					words(`environment "dev" allows at most 4 GPUs (policy.max_gpus); other pools use 0 and this pool asks for 8 (max_nodes 2 × accelerator_count 4); lower max_nodes or raise the environment's max_gpus`)),
			},
			{ // an accelerator type the policy leaves out
				Config: testAccComputePoolEnvConfig(a, policy, `
  name              = "gpu"
  accelerator_type  = "nvidia-a100"
  accelerator_count = 1
  max_nodes         = 1
`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Accelerator type not allowed.*accelerator_type\s+=\s+"nvidia-a100".*` + words(`"nvidia-a100" is not allowed in environment "dev"`)),
			},
			{ // within the cap: planned and applied
				Config: testAccComputePoolEnvConfig(a, policy, `
  name              = "gpu"
  accelerator_type  = "nvidia-t4"
  accelerator_count = 2
  max_nodes         = 2
`),
			},
			{ // growing the pool past the cap fails the plan; the pool itself is not counted twice
				Config: testAccComputePoolEnvConfig(a, policy, `
  name              = "gpu"
  accelerator_type  = "nvidia-t4"
  accelerator_count = 2
  max_nodes         = 3
`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)GPU quota of the environment exceeded.*max_nodes\s+=\s+3.*` + words(`other pools use 0 and this pool asks for 6 (max_nodes 3 × accelerator_count 2)`)),
			},
		},
	})
}
