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

const (
	featureGroupAddr   = "mlops_feature_group.test"
	featureGroupDSAddr = "data.mlops_feature_group.test"
)

// testAccFeatureGroupBase declares an environment dev and a feature store
// main in it.
func testAccFeatureGroupBase(a *testAcc) string {
	return a.providerConfig() + `
resource "mlops_environment" "dev" {
  name = "dev"
}

resource "mlops_feature_store" "main" {
  environment       = mlops_environment.dev.name
  name              = "main"
  offline_store_uri = "file:///data/features"
}
`
}

// testAccFeatures renders a features list from "name:value_type" or
// "name:value_type:description" items.
func testAccFeatures(features ...string) string {
	var b strings.Builder
	b.WriteString("[\n")
	for _, f := range features {
		parts := strings.SplitN(f, ":", 3)
		if len(parts) == 3 {
			fmt.Fprintf(&b, "    { name = %q, value_type = %q, description = %q },\n", parts[0], parts[1], parts[2])
		} else {
			fmt.Fprintf(&b, "    { name = %q, value_type = %q },\n", parts[0], parts[1])
		}
	}
	b.WriteString("  ]")
	return b.String()
}

// testAccFeatureGroupConfig builds a feature group in the base config.
func testAccFeatureGroupConfig(a *testAcc, description string, ttl int, features ...string) string {
	return testAccFeatureGroupBase(a) + fmt.Sprintf(`
resource "mlops_feature_group" "test" {
  environment   = mlops_environment.dev.name
  name          = "customer-stats"
  feature_store = mlops_feature_store.main.name
  description   = %[1]q
  labels = {
    team = "growth"
  }
  entities = [
    { name = "customer_id", value_type = "string" },
  ]
  features    = %[3]s
  online      = true
  ttl_seconds = %[2]d
  source_uri  = "file:///data/events.parquet"
}
`, description, ttl, testAccFeatures(features...))
}

// testAccFeatureGroupAttrs builds a feature group from raw attributes, for
// bad-input cases.
func testAccFeatureGroupAttrs(a *testAcc, attrs string) string {
	return testAccFeatureGroupBase(a) + `
resource "mlops_feature_group" "test" {
  environment = mlops_environment.dev.name
` + attrs + `
}
`
}

func testAccCheckFeatureGroupDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_feature_group", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetFeatureGroup(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

func TestAccFeatureGroup_basic(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	uidChanged := statecheck.CompareValue(compare.ValuesDiffer())
	update := resource.ConfigPlanChecks{
		PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(featureGroupAddr, plancheck.ResourceActionUpdate)},
	}
	replace := resource.ConfigPlanChecks{
		PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(featureGroupAddr, plancheck.ResourceActionDestroyBeforeCreate)},
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckFeatureGroupDestroyed(a),
		Steps: []resource.TestStep{
			{ // create; the framework then checks that a plan is empty
				Config: testAccFeatureGroupConfig(a, "first", 86400, "clicks_7d:int64", "avg_basket:float64:mean basket value"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/customer-stats")),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("feature_store"), knownvalue.StringExact("main")),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("entities"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name":       knownvalue.StringExact("customer_id"),
							"value_type": knownvalue.StringExact("string"),
						}),
					})),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("features"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name":        knownvalue.StringExact("clicks_7d"),
							"value_type":  knownvalue.StringExact("int64"),
							"description": knownvalue.StringExact(""),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name":        knownvalue.StringExact("avg_basket"),
							"value_type":  knownvalue.StringExact("float64"),
							"description": knownvalue.StringExact("mean basket value"),
						}),
					})),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("online"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("offline"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("ttl_seconds"), knownvalue.Int64Exact(86400)),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("uid"), knownvalue.NotNull()),
					uidSame.AddStateValue(featureGroupAddr, tfjsonpath.New("uid")),
				},
			},
			{ // import by env/name
				ResourceName:      featureGroupAddr,
				ImportState:       true,
				ImportStateId:     "dev/customer-stats",
				ImportStateVerify: true,
			},
			{ // adding a feature is an in-place update that keeps the uid
				Config:           testAccFeatureGroupConfig(a, "second", 3600, "clicks_7d:int64", "avg_basket:float64:mean basket value", "last_seen:timestamp"),
				ConfigPlanChecks: update,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("description"), knownvalue.StringExact("second")),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("ttl_seconds"), knownvalue.Int64Exact(3600)),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("features"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("features").AtSliceIndex(2).AtMapKey("name"), knownvalue.StringExact("last_seen")),
					uidSame.AddStateValue(featureGroupAddr, tfjsonpath.New("uid")),
				},
			},
			{ // reordering features and editing a description stay in place too
				Config:           testAccFeatureGroupConfig(a, "second", 3600, "last_seen:timestamp", "clicks_7d:int64:clicks in the last 7 days", "avg_basket:float64:mean basket value"),
				ConfigPlanChecks: update,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("features").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("last_seen")),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("features").AtSliceIndex(1).AtMapKey("description"), knownvalue.StringExact("clicks in the last 7 days")),
					uidSame.AddStateValue(featureGroupAddr, tfjsonpath.New("uid")),
					uidChanged.AddStateValue(featureGroupAddr, tfjsonpath.New("uid")),
				},
			},
			{ // removing a feature replaces the group
				Config:           testAccFeatureGroupConfig(a, "second", 3600, "clicks_7d:int64:clicks in the last 7 days", "avg_basket:float64:mean basket value"),
				ConfigPlanChecks: replace,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("features"), knownvalue.ListSizeExact(2)),
					uidChanged.AddStateValue(featureGroupAddr, tfjsonpath.New("uid")),
				},
			},
			{ // changing a feature's value_type replaces the group
				Config:           testAccFeatureGroupConfig(a, "second", 3600, "clicks_7d:float64:clicks in the last 7 days", "avg_basket:float64:mean basket value"),
				ConfigPlanChecks: replace,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("features").AtSliceIndex(0).AtMapKey("value_type"), knownvalue.StringExact("float64")),
					uidChanged.AddStateValue(featureGroupAddr, tfjsonpath.New("uid")),
				},
			},
			{ // changed behind Terraform's back: the plan shows the drift
				PreConfig: func() {
					fg, err := a.client.GetFeatureGroup(ctx, "dev", "customer-stats")
					if err != nil {
						t.Fatal(err)
					}
					fg.Spec.Description = "edited by hand"
					fg.Spec.TTLSeconds = 60
					if _, err := a.client.UpdateFeatureGroup(ctx, "dev", "customer-stats", fg.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccFeatureGroupConfig(a, "second", 3600, "clicks_7d:float64:clicks in the last 7 days", "avg_basket:float64:mean basket value"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(featureGroupAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("ttl_seconds"), knownvalue.Int64Exact(3600)),
					},
				},
			},
			{ // deleted behind Terraform's back: the plan recreates it
				PreConfig: func() {
					if _, err := a.client.DeleteFeatureGroup(ctx, "dev", "customer-stats"); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccFeatureGroupConfig(a, "second", 3600, "clicks_7d:float64:clicks in the last 7 days", "avg_basket:float64:mean basket value"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(featureGroupAddr, plancheck.ResourceActionCreate)},
				},
			},
		},
	})
}

func TestAccFeatureGroup_minimal(t *testing.T) {
	a := startAcc(t)
	config := testAccFeatureGroupAttrs(a, `
  name          = "bare"
  feature_store = mlops_feature_store.main.name
  entities      = [{ name = "id", value_type = "int64" }]
  features      = [{ name = "score", value_type = "float64" }]
`)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckFeatureGroupDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("online"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("offline"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("ttl_seconds"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("source_uri"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("labels"), knownvalue.Null()),
					statecheck.ExpectKnownValue(featureGroupAddr, tfjsonpath.New("features").AtSliceIndex(0).AtMapKey("description"), knownvalue.StringExact("")),
				},
			},
			{
				Config:   config,
				PlanOnly: true,
			},
			{ // changing the entities replaces the group
				Config: testAccFeatureGroupAttrs(a, `
  name          = "bare"
  feature_store = mlops_feature_store.main.name
  entities      = [{ name = "id", value_type = "string" }]
  features      = [{ name = "score", value_type = "float64" }]
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(featureGroupAddr, plancheck.ResourceActionReplace)},
				},
			},
		},
	})
}

func TestAccFeatureGroup_badInput(t *testing.T) {
	a := startAcc(t)
	// group renders a feature group whose other attributes are valid.
	group := func(name, features, extra string) string {
		return testAccFeatureGroupAttrs(a, fmt.Sprintf(`
  name          = %q
  feature_store = mlops_feature_store.main.name
  entities      = [{ name = "customer_id", value_type = "string" }]
  features      = %s
%s`, name, features, extra))
	}
	ok := testAccFeatures("clicks_7d:int64")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckFeatureGroupDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config:      group("Bad_Name", ok, ""),
				ExpectError: expectErrorWords("Attribute name", "lowercase letters"),
			},
			{
				Config:      group("stats", ok, "ttl_seconds = 400000000"),
				ExpectError: expectErrorWords("Attribute ttl_seconds", "between 0 and 315360000"),
			},
			{
				Config:      group("stats", ok, "ttl_seconds = -1"),
				ExpectError: expectErrorWords("Attribute ttl_seconds", "between 0 and 315360000"),
			},
			{
				Config:      group("stats", testAccFeatures("clicks_7d:int64", "clicks_7d:float64"), ""),
				ExpectError: expectErrorWords("features[1].name is \"clicks_7d\"", "already used by features[0].name", "unique across entities and features"),
			},
			{
				Config:      group("stats", testAccFeatures("customer_id:string"), ""),
				ExpectError: expectErrorWords("features[0].name", "already used by entities[0].name"),
			},
			{
				Config:      group("stats", testAccFeatures("clicks_7d:float32"), ""),
				ExpectError: expectErrorWords("Attribute features[0].value_type", "value must be one of"),
			},
			{
				Config:      group("stats", testAccFeatures("Clicks:int64"), ""),
				ExpectError: expectErrorWords("Attribute features[0].name", "lowercase letters, digits and '_'"),
			},
			{
				Config: testAccFeatureGroupAttrs(a, `
  name          = "stats"
  feature_store = mlops_feature_store.main.name
  entities      = [{ name = "customer_id", value_type = "float64" }]
  features      = [{ name = "clicks_7d", value_type = "int64" }]
`),
				ExpectError: expectErrorWords("Attribute entities[0].value_type", `["string" "int64" "bytes"]`),
			},
			{
				Config:      group("stats", ok, "online = false\n  offline = false"),
				ExpectError: expectErrorWords("offline", "set offline = true"),
			},
			{
				Config:      group("stats", "[]", ""),
				ExpectError: expectErrorWords("Attribute features", "at least 1"),
			},
			{
				Config:      group("stats", ok, `source_uri = "events.parquet"`),
				ExpectError: expectErrorWords("Attribute source_uri", "scheme://location"),
			},
			{ // only the server knows which feature stores exist
				Config: testAccFeatureGroupAttrs(a, `
  name          = "stats"
  feature_store = "nope"
  entities      = [{ name = "customer_id", value_type = "string" }]
  features      = [{ name = "clicks_7d", value_type = "int64" }]
`),
				ExpectError: expectErrorWords("feature_store", `feature store "nope" does not exist in environment "dev"`),
			},
		},
	})
}

func TestAccFeatureGroupDataSource_basic(t *testing.T) {
	a := startAcc(t)
	config := testAccFeatureGroupConfig(a, "first", 86400, "clicks_7d:int64", "avg_basket:float64:mean basket value") + `
data "mlops_feature_group" "test" {
  environment = mlops_feature_group.test.environment
  name        = mlops_feature_group.test.name
}
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckFeatureGroupDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(featureGroupDSAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/customer-stats")),
					statecheck.ExpectKnownValue(featureGroupDSAddr, tfjsonpath.New("feature_store"), knownvalue.StringExact("main")),
					statecheck.ExpectKnownValue(featureGroupDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(featureGroupDSAddr, tfjsonpath.New("observed_generation"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(featureGroupDSAddr, tfjsonpath.New("labels").AtMapKey("team"), knownvalue.StringExact("growth")),
					statecheck.ExpectKnownValue(featureGroupDSAddr, tfjsonpath.New("entities").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("customer_id")),
					statecheck.ExpectKnownValue(featureGroupDSAddr, tfjsonpath.New("features"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue(featureGroupDSAddr, tfjsonpath.New("features").AtSliceIndex(1).AtMapKey("description"), knownvalue.StringExact("mean basket value")),
					statecheck.ExpectKnownValue(featureGroupDSAddr, tfjsonpath.New("ttl_seconds"), knownvalue.Int64Exact(86400)),
					statecheck.CompareValuePairs(featureGroupAddr, tfjsonpath.New("uid"), featureGroupDSAddr, tfjsonpath.New("uid"), compare.ValuesSame()),
					statecheck.CompareValuePairs(featureGroupAddr, tfjsonpath.New("features"), featureGroupDSAddr, tfjsonpath.New("features"), compare.ValuesSame()),
				},
			},
			{ // a missing group is an error naming it
				Config: testAccFeatureGroupBase(a) + `
data "mlops_feature_group" "missing" {
  environment = mlops_environment.dev.name
  name        = "nope"
}
`,
				ExpectError: expectErrorWords(`feature group "nope" in environment "dev"`),
			},
		},
	})
}
