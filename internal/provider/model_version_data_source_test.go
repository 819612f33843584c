package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// testAccModelVersionDSBase is models churn and fraud with versions
// churn-1, churn-2 (approved in that order when approve2 is true, else
// rejected), churn-3 (pending), fraud-1 (approved last) and alias
// churn-champion on churn-1.
func testAccModelVersionDSBase(a *testAcc, approve2 bool) string {
	churn2 := `approval = { status = "approved", reason = "retrained on July data" }`
	if !approve2 {
		churn2 = `approval = { status = "rejected", reason = "drifted" }`
	}
	versions := testAccRegistryVersions("churn-1", "churn-2", "churn-3", "fraud-1")
	// Approve in a known order, one after the other.
	versions = strings.Replace(versions, `name            = "churn-1"`, `name            = "churn-1"
  description     = "the champion"
  metrics         = { auc = "0.91" }
  approval        = { status = "approved", reason = "first good one" }`, 1)
	versions = strings.Replace(versions, `name            = "churn-2"`, `name            = "churn-2"
  `+churn2+`
  depends_on      = [mlops_model_version.churn-1]`, 1)
	versions = strings.Replace(versions, `name            = "fraud-1"`, `name            = "fraud-1"
  approval        = { status = "approved" }
  depends_on      = [mlops_model_version.churn-2]`, 1)
	return testAccRegistryBase(a.providerConfig()) + `
resource "mlops_model" "fraud" {
  environment = mlops_environment.dev.name
  name        = "fraud"
  task_type   = "classification"
}
` + versions + `
resource "mlops_model_alias" "champion" {
  environment = mlops_environment.dev.name
  name        = "churn-champion"
  model       = mlops_model.churn.name
  version     = mlops_model_version.churn-1.name
}
`
}

// testAccModelVersionDS reads the versions every way there is.
const testAccModelVersionDS = `
data "mlops_model_version" "by_name" {
  environment = mlops_environment.dev.name
  model       = mlops_model.churn.name
  version     = mlops_model_version.churn-3.name
}

data "mlops_model_version" "by_alias" {
  environment = mlops_environment.dev.name
  model       = mlops_model.churn.name
  alias       = mlops_model_alias.champion.name
}

data "mlops_model_version" "latest" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.churn.name
  latest_approved = true
  depends_on      = [mlops_model_version.churn-1, mlops_model_version.churn-2, mlops_model_version.fraud-1]
}
`

func TestAccModelVersionDataSource_basic(t *testing.T) {
	a := startAcc(t)
	const (
		byName  = "data.mlops_model_version.by_name"
		byAlias = "data.mlops_model_version.by_alias"
		latest  = "data.mlops_model_version.latest"
	)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(testAccCheckModelVersionDestroyed(a), testAccCheckModelAliasDestroyed(a)),
		Steps: []resource.TestStep{
			{
				Config: testAccModelVersionDSBase(a, true) + testAccModelVersionDS,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(byName, tfjsonpath.New("id"), knownvalue.StringExact("dev/churn-3")),
					statecheck.ExpectKnownValue(byName, tfjsonpath.New("approval").AtMapKey("status"), knownvalue.StringExact("pending")),
					statecheck.ExpectKnownValue(byName, tfjsonpath.New("approved_by"), knownvalue.Null()),
					statecheck.ExpectKnownValue(byName, tfjsonpath.New("approval_history"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(byName, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.CompareValuePairs(byName, tfjsonpath.New("uid"), "mlops_model_version.churn-3", tfjsonpath.New("uid"), compare.ValuesSame()),

					statecheck.ExpectKnownValue(byAlias, tfjsonpath.New("version"), knownvalue.StringExact("churn-1")),
					statecheck.ExpectKnownValue(byAlias, tfjsonpath.New("description"), knownvalue.StringExact("the champion")),
					statecheck.ExpectKnownValue(byAlias, tfjsonpath.New("metrics").AtMapKey("auc"), knownvalue.StringExact("0.91")),
					statecheck.ExpectKnownValue(byAlias, tfjsonpath.New("artifact_uri"), knownvalue.StringExact("s3://models/churn-1/")),
					statecheck.ExpectKnownValue(byAlias, tfjsonpath.New("approved_by"), knownvalue.StringExact("anonymous")),
					statecheck.CompareValuePairs(byAlias, tfjsonpath.New("approval_history"), "mlops_model_version.churn-1", tfjsonpath.New("approval_history"), compare.ValuesSame()),

					// fraud-1 was approved last, but it is another model's.
					statecheck.ExpectKnownValue(latest, tfjsonpath.New("version"), knownvalue.StringExact("churn-2")),
					statecheck.ExpectKnownValue(latest, tfjsonpath.New("approval").AtMapKey("reason"), knownvalue.StringExact("retrained on July data")),
				},
			},
			{ // once churn-2 is rejected, the latest approved is churn-1 again
				Config: testAccModelVersionDSBase(a, false) + testAccModelVersionDS,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(latest, tfjsonpath.New("version"), knownvalue.StringExact("churn-1")),
				},
			},
			{ // no version is selected
				Config: testAccModelVersionDSBase(a, false) + `
data "mlops_model_version" "bad" {
  environment = mlops_environment.dev.name
  model       = mlops_model.churn.name
}
`,
				ExpectError: expectErrorWords("Missing Attribute Configuration", `Exactly one of these attributes must be configured: [version,alias,latest_approved]`),
			},
			{ // two ways at once
				Config: testAccModelVersionDSBase(a, false) + `
data "mlops_model_version" "bad" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.churn.name
  version         = "churn-1"
  latest_approved = true
}
`,
				ExpectError: expectErrorWords("Invalid Attribute Combination", "Exactly one of these attributes must be configured: [version,alias,latest_approved]"),
			},
			{
				Config: testAccModelVersionDSBase(a, false) + `
data "mlops_model_version" "bad" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.churn.name
  latest_approved = false
}
`,
				ExpectError: expectErrorWords("Attribute latest_approved", `Value must be "true"`),
			},
			{ // a model with no approved version
				Config: testAccModelVersionDSBase(a, false) + `
resource "mlops_model" "empty" {
  environment = mlops_environment.dev.name
  name        = "empty"
  task_type   = "regression"
}

data "mlops_model_version" "bad" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.empty.name
  latest_approved = true
}
`,
				ExpectError: expectErrorWords("No approved model version", `model "empty" in environment "dev" has no approved version`),
			},
			{ // an alias of another model
				Config: testAccModelVersionDSBase(a, false) + `
data "mlops_model_version" "bad" {
  environment = mlops_environment.dev.name
  model       = mlops_model.fraud.name
  alias       = mlops_model_alias.champion.name
}
`,
				ExpectError: expectErrorWords("Alias of another model", `model alias "churn-champion" in environment "dev" belongs to model "churn", not to model "fraud"`),
			},
			{ // a version of another model
				Config: testAccModelVersionDSBase(a, false) + `
data "mlops_model_version" "bad" {
  environment = mlops_environment.dev.name
  model       = mlops_model.churn.name
  version     = mlops_model_version.fraud-1.name
}
`,
				ExpectError: expectErrorWords(`model version "fraud-1" in environment "dev" is a version of model "fraud", not of model "churn"`),
			},
			{ // a missing version names it
				Config: testAccModelVersionDSBase(a, false) + `
data "mlops_model_version" "bad" {
  environment = mlops_environment.dev.name
  model       = mlops_model.churn.name
  version     = "churn-9"
  depends_on  = [mlops_model.churn]
}
`,
				ExpectError: expectErrorWords("Error reading model version", `model version "churn-9" in environment "dev"`),
			},
			{ // a valid configuration last, which the final destroy uses
				Config: testAccModelVersionDSBase(a, false),
			},
		},
	})
}
