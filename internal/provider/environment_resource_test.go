package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

const envAddr = "mlops_environment.test"

func testAccEnvironmentConfig(a *testAcc, name, description string, maxGPUs int) string {
	return a.providerConfig() + fmt.Sprintf(`
resource "mlops_environment" "test" {
  name        = %[1]q
  description = %[2]q
  labels = {
    team = "ml-platform"
  }
  policy = {
    max_gpus                  = %[3]d
    allowed_accelerator_types = ["nvidia-t4", "nvidia-a100"]
  }
}
`, name, description, maxGPUs)
}

func testAccCheckEnvironmentDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_environment", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetEnvironment(ctx, attrs["name"])
		return err
	})
}

func TestAccEnvironment_basic(t *testing.T) {
	a := startAcc(t)
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEnvironmentDestroyed(a),
		Steps: []resource.TestStep{
			{ // create; the framework then checks that a plan is empty
				Config: testAccEnvironmentConfig(a, "dev", "first", 8),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev")),
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("policy").AtMapKey("max_gpus"), knownvalue.Int64Exact(8)),
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("labels").AtMapKey("team"), knownvalue.StringExact("ml-platform")),
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("uid"), knownvalue.NotNull()),
					uidSame.AddStateValue(envAddr, tfjsonpath.New("uid")),
				},
			},
			{ // import
				ResourceName:                         envAddr,
				ImportState:                          true,
				ImportStateId:                        "dev",
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "name",
			},
			{ // update in place keeps the uid
				Config: testAccEnvironmentConfig(a, "dev", "second", 16),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(envAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("description"), knownvalue.StringExact("second")),
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("policy").AtMapKey("max_gpus"), knownvalue.Int64Exact(16)),
					uidSame.AddStateValue(envAddr, tfjsonpath.New("uid")),
				},
			},
			{ // renaming replaces
				Config: testAccEnvironmentConfig(a, "dev2", "second", 16),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(envAddr, plancheck.ResourceActionReplace)},
				},
			},
			{ // changed behind Terraform's back: the plan shows the drift
				PreConfig: func() {
					env, err := a.client.GetEnvironment(context.Background(), "dev2")
					if err != nil {
						t.Fatal(err)
					}
					env.Spec.Description = "edited by hand"
					if _, err := a.client.UpdateEnvironment(context.Background(), "dev2", env.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccEnvironmentConfig(a, "dev2", "second", 16),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(envAddr, plancheck.ResourceActionUpdate)},
				},
			},
			{ // deleted behind Terraform's back: the plan recreates it
				PreConfig: func() {
					if _, err := a.client.DeleteEnvironment(context.Background(), "dev2"); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccEnvironmentConfig(a, "dev2", "second", 16),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(envAddr, plancheck.ResourceActionCreate)},
				},
			},
		},
	})
}

func TestAccEnvironment_minimal(t *testing.T) {
	a := startAcc(t)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEnvironmentDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: a.providerConfig() + `resource "mlops_environment" "test" { name = "bare" }`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("policy").AtMapKey("max_gpus"), knownvalue.Null()),
				},
			},
			{
				Config:   a.providerConfig() + `resource "mlops_environment" "test" { name = "bare" }`,
				PlanOnly: true,
			},
		},
	})
}

func TestAccEnvironment_badInput(t *testing.T) {
	a := startAcc(t)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      a.providerConfig() + `resource "mlops_environment" "test" { name = "Bad_Name" }`,
				ExpectError: regexp.MustCompile(`(?s)Attribute name.*lowercase letters`),
			},
			{
				Config:      testAccEnvironmentConfig(a, "dev", "x", -1),
				ExpectError: regexp.MustCompile(`(?s)Attribute policy.max_gpus.*between 0 and 100000`),
			},
			{
				Config: a.providerConfig() + `resource "mlops_environment" "test" {
  name   = "dev"
  labels = { "Bad Key" = "x" }
}`,
				ExpectError: regexp.MustCompile(`(?s)labels.*label keys use`),
			},
		},
	})
}

// TestAccEnvironment_staleETag proves that a change made behind Terraform's
// back between refresh and apply is not silently overwritten.
func TestAccEnvironment_staleETag(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEnvironmentDestroyed(a),
		Steps: []resource.TestStep{
			{Config: testAccEnvironmentConfig(a, "dev", "first", 8)},
			{
				Config: testAccEnvironmentConfig(a, "dev", "second", 8),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{racingEdit(func() error {
						env, err := a.client.GetEnvironment(ctx, "dev")
						if err != nil {
							return err
						}
						env.Spec.Labels = map[string]string{"team": "someone-else"}
						_, err = a.client.UpdateEnvironment(ctx, "dev", env.Spec, env.Metadata.ETag)
						return err
					})},
				},
				ExpectError: regexp.MustCompile(`(?s)changed since`),
			},
		},
	})
}

// racingEdit is a plan check that edits the object after the plan and
// before the apply, like a colleague's concurrent change.
type racingEditCheck struct{ edit func() error }

func racingEdit(edit func() error) plancheck.PlanCheck { return racingEditCheck{edit: edit} }

func (c racingEditCheck) CheckPlan(_ context.Context, _ plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = c.edit()
}
