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

const featureStoreAddr = "mlops_feature_store.test"

// testAccFeatureStoreConfig builds an environment dev and a feature store in it.
func testAccFeatureStoreConfig(a *testAcc, name, description, offlineURI, onlineStore string) string {
	return a.providerConfig() + fmt.Sprintf(`
resource "mlops_environment" "dev" {
  name = "dev"
}

resource "mlops_feature_store" "test" {
  environment       = mlops_environment.dev.name
  name              = %[1]q
  description       = %[2]q
  offline_store_uri = %[3]q
  online_store      = %[4]q
  labels = {
    team = "ml-platform"
  }
}
`, name, description, offlineURI, onlineStore)
}

func testAccCheckFeatureStoreDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_feature_store", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetFeatureStore(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

func TestAccFeatureStore_basic(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	uidChanged := statecheck.CompareValue(compare.ValuesDiffer())
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckFeatureStoreDestroyed(a),
		Steps: []resource.TestStep{
			{ // create; the framework then checks that a plan is empty
				Config: testAccFeatureStoreConfig(a, "main", "first", "file:///data/features", "embedded"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/main")),
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("environment"), knownvalue.StringExact("dev")),
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("offline_store_uri"), knownvalue.StringExact("file:///data/features")),
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("online_store"), knownvalue.StringExact("embedded")),
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("labels").AtMapKey("team"), knownvalue.StringExact("ml-platform")),
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("uid"), knownvalue.NotNull()),
					uidSame.AddStateValue(featureStoreAddr, tfjsonpath.New("uid")),
				},
			},
			{ // import by env/name
				ResourceName:      featureStoreAddr,
				ImportState:       true,
				ImportStateId:     "dev/main",
				ImportStateVerify: true,
			},
			{ // an import ID without the environment says which format to use
				ResourceName:  featureStoreAddr,
				ImportState:   true,
				ImportStateId: "main",
				ExpectError:   expectErrorWords("not of the form <environment>/<name>"),
			},
			{ // description and online_store change in place and keep the uid
				Config: testAccFeatureStoreConfig(a, "main", "second", "file:///data/features", "none"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(featureStoreAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("description"), knownvalue.StringExact("second")),
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("online_store"), knownvalue.StringExact("none")),
					uidSame.AddStateValue(featureStoreAddr, tfjsonpath.New("uid")),
					uidChanged.AddStateValue(featureStoreAddr, tfjsonpath.New("uid")),
				},
			},
			{ // moving the offline store replaces the feature store
				Config: testAccFeatureStoreConfig(a, "main", "second", "s3://bucket/features", "none"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(featureStoreAddr, plancheck.ResourceActionReplace)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("offline_store_uri"), knownvalue.StringExact("s3://bucket/features")),
					uidChanged.AddStateValue(featureStoreAddr, tfjsonpath.New("uid")),
				},
			},
			{ // renaming replaces it too
				Config: testAccFeatureStoreConfig(a, "main2", "second", "s3://bucket/features", "none"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(featureStoreAddr, plancheck.ResourceActionReplace)},
				},
			},
			{ // changed behind Terraform's back: the plan shows the drift
				PreConfig: func() {
					fs, err := a.client.GetFeatureStore(ctx, "dev", "main2")
					if err != nil {
						t.Fatal(err)
					}
					fs.Spec.Description = "edited by hand"
					fs.Spec.OnlineStore = "embedded"
					if _, err := a.client.UpdateFeatureStore(ctx, "dev", "main2", fs.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config:             testAccFeatureStoreConfig(a, "main2", "second", "s3://bucket/features", "none"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{ // applying the same configuration puts it back in place
				Config: testAccFeatureStoreConfig(a, "main2", "second", "s3://bucket/features", "none"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(featureStoreAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("description"), knownvalue.StringExact("second")),
					},
				},
			},
			{ // deleted behind Terraform's back: the plan recreates it
				PreConfig: func() {
					if _, err := a.client.DeleteFeatureStore(ctx, "dev", "main2"); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccFeatureStoreConfig(a, "main2", "second", "s3://bucket/features", "none"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(featureStoreAddr, plancheck.ResourceActionCreate)},
				},
			},
		},
	})
}

func TestAccFeatureStore_minimal(t *testing.T) {
	a := startAcc(t)
	config := a.providerConfig() + `
resource "mlops_environment" "dev" {
  name = "dev"
}

resource "mlops_feature_store" "test" {
  environment = mlops_environment.dev.name
  name        = "bare"
}
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckFeatureStoreDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("offline_store_uri"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("online_store"), knownvalue.StringExact("embedded")),
					statecheck.ExpectKnownValue(featureStoreAddr, tfjsonpath.New("labels"), knownvalue.Null()),
				},
			},
			{
				Config:   config,
				PlanOnly: true,
			},
		},
	})
}

func TestAccFeatureStore_badInput(t *testing.T) {
	a := startAcc(t)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckFeatureStoreDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config:      testAccFeatureStoreConfig(a, "Bad_Name", "", "", "embedded"),
				ExpectError: expectErrorWords("Attribute name", "lowercase letters"),
			},
			{
				Config:      testAccFeatureStoreConfig(a, "main", "", "/data/features", "embedded"),
				ExpectError: expectErrorWords("Attribute offline_store_uri", "scheme://location"),
			},
			{
				Config:      testAccFeatureStoreConfig(a, "main", "", "", "redis"),
				ExpectError: expectErrorWords("Attribute online_store", `["none" "embedded"]`),
			},
			{
				Config:      testAccFeatureStoreConfig(a, "main", strings.Repeat("x", 1025), "", "embedded"),
				ExpectError: expectErrorWords("Attribute description", "length must be at most 1024"),
			},
		},
	})
}
