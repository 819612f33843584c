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
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

const modelAliasAddr = "mlops_model_alias.test"

// testAccRegistryVersions declares versions of model churn (and of model
// fraud, for names starting with "fraud-") whose artifacts are not local
// files, so they need no file. They are create_before_destroy, as the
// documentation recommends: Terraform then moves an alias off a version
// before it destroys the version, rather than after.
func testAccRegistryVersions(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		model := "mlops_model.churn.name"
		if strings.HasPrefix(n, "fraud-") {
			model = "mlops_model.fraud.name"
		}
		fmt.Fprintf(&b, `
resource "mlops_model_version" %[1]q {
  environment     = mlops_environment.dev.name
  model           = %[2]s
  name            = %[1]q
  artifact_uri    = "s3://models/%[1]s/"
  artifact_sha256 = %[3]q
  framework       = "sklearn"

  lifecycle {
    create_before_destroy = true
  }
}
`, n, model, strings.Repeat("a", 64))
	}
	return b.String()
}

// testAccModelAliasBase declares models churn and fraud and the given
// versions.
func testAccModelAliasBase(a *testAcc, versions ...string) string {
	return testAccRegistryBase(a.providerConfig()) + `
resource "mlops_model" "fraud" {
  environment = mlops_environment.dev.name
  name        = "fraud"
  task_type   = "classification"
}
` + testAccRegistryVersions(versions...)
}

// testAccModelAliasConfig points alias name of model churn at version, one
// of versions.
func testAccModelAliasConfig(a *testAcc, name, version string, versions ...string) string {
	return testAccModelAliasBase(a, versions...) + fmt.Sprintf(`
resource "mlops_model_alias" "test" {
  environment = mlops_environment.dev.name
  name        = %q
  model       = mlops_model.churn.name
  version     = mlops_model_version.%s.name
}
`, name, version)
}

func testAccCheckModelAliasDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_model_alias", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetModelAlias(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

// moves checks an alias history as the versions it moved to.
func moves(versions ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, 0, len(versions))
	for _, v := range versions {
		checks = append(checks, knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"version":  knownvalue.StringExact(v),
			"moved_by": knownvalue.StringExact("anonymous"),
			"moved_at": knownvalue.NotNull(),
		}))
	}
	return knownvalue.ListExact(checks)
}

func TestAccModelAlias_basic(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	uidChanged := statecheck.CompareValue(compare.ValuesDiffer())
	history := tfjsonpath.New("history")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(
			testAccCheckModelAliasDestroyed(a), testAccCheckModelVersionDestroyed(a), testAccCheckModelDestroyed(a)),
		Steps: []resource.TestStep{
			{ // create; the framework then checks that a plan is empty
				Config: testAccModelAliasConfig(a, "churn-champion", "churn-1", "churn-1", "churn-2"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelAliasAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/churn-champion")),
					statecheck.ExpectKnownValue(modelAliasAddr, tfjsonpath.New("version"), knownvalue.StringExact("churn-1")),
					statecheck.ExpectKnownValue(modelAliasAddr, history, moves("churn-1")),
					uidSame.AddStateValue(modelAliasAddr, tfjsonpath.New("uid")),
				},
			},
			{ // import by env/name
				ResourceName:      modelAliasAddr,
				ImportState:       true,
				ImportStateId:     "dev/churn-champion",
				ImportStateVerify: true,
			},
			{ // promoting churn-2 moves the alias in place and keeps the history
				Config: testAccModelAliasConfig(a, "churn-champion", "churn-2", "churn-1", "churn-2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(modelAliasAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(modelAliasAddr, history),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelAliasAddr, tfjsonpath.New("version"), knownvalue.StringExact("churn-2")),
					statecheck.ExpectKnownValue(modelAliasAddr, history, moves("churn-1", "churn-2")),
					uidSame.AddStateValue(modelAliasAddr, tfjsonpath.New("uid")),
				},
			},
			{ // a new name replaces the alias, whose history starts afresh
				Config: testAccModelAliasConfig(a, "churn-prod", "churn-2", "churn-1", "churn-2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(modelAliasAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelAliasAddr, history, moves("churn-2")),
					uidChanged.AddStateValue(modelAliasAddr, tfjsonpath.New("uid")),
				},
			},
			{ // moved behind Terraform's back: the plan moves it back, and the history shows both moves
				PreConfig: func() {
					al, err := a.client.GetModelAlias(ctx, "dev", "churn-prod")
					if err != nil {
						t.Fatal(err)
					}
					al.Spec.Version = "churn-1"
					if _, err := a.client.UpdateModelAlias(ctx, "dev", "churn-prod", al.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccModelAliasConfig(a, "churn-prod", "churn-2", "churn-1", "churn-2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(modelAliasAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(modelAliasAddr, tfjsonpath.New("version"), knownvalue.StringExact("churn-2")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelAliasAddr, history, moves("churn-2", "churn-1", "churn-2")),
				},
			},
			{ // moving to a new version and retiring the old one in one apply: the alias moves before the old version goes
				Config: testAccModelAliasConfig(a, "churn-prod", "churn-3", "churn-1", "churn-3"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(modelAliasAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("mlops_model_version.churn-2", plancheck.ResourceActionDestroy),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelAliasAddr, tfjsonpath.New("version"), knownvalue.StringExact("churn-3")),
				},
			},
			{ // deleted behind Terraform's back: the plan recreates it
				PreConfig: func() {
					if _, err := a.client.DeleteModelAlias(ctx, "dev", "churn-prod"); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccModelAliasConfig(a, "churn-prod", "churn-3", "churn-1", "churn-3"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(modelAliasAddr, plancheck.ResourceActionCreate)},
				},
			},
		},
	})
}

func TestAccModelAlias_badInput(t *testing.T) {
	a := startAcc(t)
	// alias points an alias of model churn at a version given literally.
	alias := func(name, version string, versions ...string) string {
		return testAccModelAliasBase(a, versions...) + fmt.Sprintf(`
resource "mlops_model_alias" "test" {
  environment = mlops_environment.dev.name
  name        = %q
  model       = mlops_model.churn.name
  version     = %q
  depends_on  = [%s]
}
`, name, version, strings.Join(prefixAll("mlops_model_version.", versions), ", "))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(testAccCheckModelAliasDestroyed(a), testAccCheckModelVersionDestroyed(a)),
		Steps: []resource.TestStep{
			{
				Config:      alias("Champion", "churn-1", "churn-1"),
				ExpectError: expectErrorWords("Attribute name", "lowercase letters"),
			},
			{
				Config:      alias("churn-champion", "churn_1", "churn-1"),
				ExpectError: expectErrorWords("Attribute version", "lowercase letters"),
			},
			{ // only the control plane knows which model a version belongs to
				Config:      alias("churn-champion", "fraud-1", "churn-1", "fraud-1"),
				ExpectError: expectErrorWords("version", `model version "fraud-1" belongs to model "fraud", not "churn"`),
			},
			{
				Config:      alias("churn-champion", "churn-9", "churn-1", "fraud-1"),
				ExpectError: expectErrorWords("version", `model version "churn-9" does not exist in environment "dev"`),
			},
			{ // set up an alias on churn-1 that Terraform does not link to the version
				Config: alias("churn-champion", "churn-1", "churn-1", "fraud-1"),
			},
			{ // removing the version the alias points at is refused with the fix
				Config:      alias("churn-champion", "churn-1", "fraud-1"),
				ExpectError: expectErrorWords(`model version "churn-1" in environment "dev" is the target of alias "churn-champion"`, "move the alias to another version or delete it first"),
			},
			{ // the version is still there, so putting it back in the configuration plans nothing for it
				Config: alias("churn-champion", "churn-1", "churn-1", "fraud-1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("mlops_model_version.churn-1", plancheck.ResourceActionNoop)},
				},
			},
		},
	})
}

func prefixAll(prefix string, items []string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = prefix + it
	}
	return out
}
