package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

const (
	modelAddr   = "mlops_model.test"
	modelDSAddr = "data.mlops_model.test"
)

// testAccModelBase declares environment dev.
func testAccModelBase(a *testAcc) string {
	return a.providerConfig() + `
resource "mlops_environment" "dev" {
  name = "dev"
}
`
}

// testAccModelConfig is model mlops_model.test in environment dev.
func testAccModelConfig(a *testAcc, name, description, taskType string) string {
	return testAccModelBase(a) + fmt.Sprintf(`
resource "mlops_model" "test" {
  environment = mlops_environment.dev.name
  name        = %[1]q
  description = %[2]q
  task_type   = %[3]q
  labels = {
    team = "retention"
  }
}
`, name, description, taskType)
}

func testAccCheckModelDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_model", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetModel(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

func TestAccModel_basic(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	uidChanged := statecheck.CompareValue(compare.ValuesDiffer())
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelDestroyed(a),
		Steps: []resource.TestStep{
			{ // create; the framework then checks that a plan is empty
				Config: testAccModelConfig(a, "churn", "predicts churn", "classification"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/churn")),
					statecheck.ExpectKnownValue(modelAddr, tfjsonpath.New("task_type"), knownvalue.StringExact("classification")),
					statecheck.ExpectKnownValue(modelAddr, tfjsonpath.New("labels").AtMapKey("team"), knownvalue.StringExact("retention")),
					statecheck.ExpectKnownValue(modelAddr, tfjsonpath.New("uid"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(modelAddr, tfjsonpath.New("force_destroy"), knownvalue.Bool(false)),
					uidSame.AddStateValue(modelAddr, tfjsonpath.New("uid")),
				},
			},
			{ // import by env/name; force_destroy lives in state only, and an import sets it false
				ResourceName:            modelAddr,
				ImportState:             true,
				ImportStateId:           "dev/churn",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"force_destroy"},
			},
			{ // force_destroy changes in place, in state only: the control plane's object is untouched
				Config: strings.Replace(testAccModelConfig(a, "churn", "predicts churn", "classification"),
					`task_type   = "classification"`, `task_type   = "classification"
  force_destroy = true`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(modelAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelAddr, tfjsonpath.New("force_destroy"), knownvalue.Bool(true)),
					uidSame.AddStateValue(modelAddr, tfjsonpath.New("uid")),
				},
				Check: func(*terraform.State) error {
					m, err := a.client.GetModel(ctx, "dev", "churn")
					if err != nil {
						return err
					}
					if m.Metadata.Generation != 1 {
						return fmt.Errorf("model is at generation %d after a change of force_destroy, want 1: nothing to send", m.Metadata.Generation)
					}
					return nil
				},
			},
			{ // description and task type change in place
				Config: testAccModelConfig(a, "churn", "predicts churn probability", "regression"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(modelAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelAddr, tfjsonpath.New("description"), knownvalue.StringExact("predicts churn probability")),
					statecheck.ExpectKnownValue(modelAddr, tfjsonpath.New("task_type"), knownvalue.StringExact("regression")),
					uidSame.AddStateValue(modelAddr, tfjsonpath.New("uid")),
					uidChanged.AddStateValue(modelAddr, tfjsonpath.New("uid")),
				},
			},
			{ // a new name replaces the model
				Config: testAccModelConfig(a, "churn-v2", "predicts churn probability", "regression"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(modelAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/churn-v2")),
					uidChanged.AddStateValue(modelAddr, tfjsonpath.New("uid")),
				},
			},
			{ // changed behind Terraform's back: the plan shows the drift
				PreConfig: func() {
					m, err := a.client.GetModel(ctx, "dev", "churn-v2")
					if err != nil {
						t.Fatal(err)
					}
					m.Spec.TaskType = "ranking"
					m.Spec.Labels = nil
					if _, err := a.client.UpdateModel(ctx, "dev", "churn-v2", m.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccModelConfig(a, "churn-v2", "predicts churn probability", "regression"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(modelAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(modelAddr, tfjsonpath.New("task_type"), knownvalue.StringExact("regression")),
					},
				},
			},
			{ // deleted behind Terraform's back: the plan recreates it
				PreConfig: func() {
					if _, err := a.client.DeleteModel(ctx, "dev", "churn-v2"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             testAccModelConfig(a, "churn-v2", "predicts churn probability", "regression"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func TestAccModel_badInput(t *testing.T) {
	a := startAcc(t)
	model := func(attrs string) string {
		return testAccModelBase(a) + `
resource "mlops_model" "test" {
  environment = mlops_environment.dev.name
` + attrs + `
}
`
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config:      model(`name = "Churn"` + "\n" + `task_type = "classification"`),
				ExpectError: expectErrorWords("Attribute name", "lowercase letters"),
			},
			{
				Config:      model(`name = "churn"` + "\n" + `task_type = "clustering"`),
				ExpectError: expectErrorWords("Attribute task_type", "value must be one of", `"classification"`),
			},
			{
				Config:      model(`name = "churn"` + "\n" + `task_type = "classification"` + "\n" + `labels = { "Team" = "x" }`),
				ExpectError: expectErrorWords("Attribute labels", "label keys use"),
			},
			{
				Config:      model(`name = "churn"` + "\n" + `task_type = "classification"` + "\n" + `description = "` + longText(1025) + `"`),
				ExpectError: expectErrorWords("Attribute description", "at most 1024"),
			},
			{ // only the server knows which environments exist
				Config: a.providerConfig() + `
resource "mlops_model" "test" {
  environment = "nope"
  name        = "churn"
  task_type   = "classification"
}
`,
				ExpectError: expectErrorWords("environment", `environment "nope" does not exist`),
			},
		},
	})
}

func TestAccModelDataSource_basic(t *testing.T) {
	a := startAcc(t)
	config := testAccModelConfig(a, "churn", "predicts churn", "classification") + `
data "mlops_model" "test" {
  environment = mlops_model.test.environment
  name        = mlops_model.test.name
}
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelDSAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/churn")),
					statecheck.ExpectKnownValue(modelDSAddr, tfjsonpath.New("description"), knownvalue.StringExact("predicts churn")),
					statecheck.ExpectKnownValue(modelDSAddr, tfjsonpath.New("task_type"), knownvalue.StringExact("classification")),
					statecheck.ExpectKnownValue(modelDSAddr, tfjsonpath.New("labels").AtMapKey("team"), knownvalue.StringExact("retention")),
					statecheck.ExpectKnownValue(modelDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(modelDSAddr, tfjsonpath.New("observed_generation"), knownvalue.Int64Exact(1)),
					statecheck.CompareValuePairs(modelAddr, tfjsonpath.New("uid"), modelDSAddr, tfjsonpath.New("uid"), compare.ValuesSame()),
				},
			},
			{ // a missing model is an error naming it
				Config: testAccModelBase(a) + `
data "mlops_model" "missing" {
  environment = mlops_environment.dev.name
  name        = "nope"
}
`,
				ExpectError: expectErrorWords("Error reading model", `model "nope" in environment "dev"`),
			},
		},
	})
}

// longText is n characters of text.
func longText(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}
