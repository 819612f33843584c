package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// writeBaseline writes a baseline file of one feature and returns its path
// and SHA-256.
func writeBaseline(t *testing.T, name string, values string) (string, string) {
	t.Helper()
	content := fmt.Sprintf(`{"features": [{"name": %q, "values": [%s]}]}`, name, values)
	path := filepath.Join(t.TempDir(), "baseline.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return path, hex.EncodeToString(sum[:])
}

// testAccModelVersionBaselineConfig is a version of model churn with a
// local artifact and the given baseline attributes, and the data source
// reading it.
func testAccModelVersionBaselineConfig(a *testAcc, artifact, artifactSHA, baseline string) string {
	return testAccRegistryBase(a.providerConfig()) + fmt.Sprintf(`
resource "mlops_model_version" "test" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.churn.name
  name            = "churn-1"
  artifact_uri    = "file://%[1]s"
  artifact_sha256 = %[2]q
  framework       = "mlops-linear"
%[3]s
}

data "mlops_model_version" "test" {
  environment = mlops_environment.dev.name
  model       = mlops_model.churn.name
  version     = mlops_model_version.test.name
}
`, artifact, artifactSHA, baseline)
}

func TestAccModelVersion_baseline(t *testing.T) {
	a := startAcc(t)
	artifact, artifactSHA := writeArtifact(t, `{"slope": 2, "intercept": 1}`)
	first, firstSHA := writeBaseline(t, "size_m2", "45, 60, 72, 85, 98, 110, 125, 140, 155, 170")
	second, secondSHA := writeBaseline(t, "size_m2", "40, 55, 70, 85, 100, 115, 130, 145, 160, 175")
	short, shortSHA := writeBaseline(t, "size_m2", "1, 2, 3")
	baseline := func(path, sum string) string {
		return fmt.Sprintf("  baseline_uri    = \"file://%s\"\n  baseline_sha256 = %q\n", path, sum)
	}
	const ds = "data.mlops_model_version.test"
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelVersionDestroyed(a),
		Steps: []resource.TestStep{
			{ // the digest must match the file, checked by the control plane
				Config:      testAccModelVersionBaselineConfig(a, artifact, artifactSHA, baseline(first, strings.Repeat("0", 64))),
				ExpectError: expectErrorWords("baseline_sha256", "has SHA-256 "+firstSHA),
			},
			{ // and the file must be a baseline with enough values
				Config:      testAccModelVersionBaselineConfig(a, artifact, artifactSHA, baseline(short, shortSHA)),
				ExpectError: expectErrorWords("baseline_uri", `feature "size_m2" has 3 values`),
			},
			{ // one without the other is refused at plan time
				Config:      testAccModelVersionBaselineConfig(a, artifact, artifactSHA, fmt.Sprintf("  baseline_uri = \"file://%s\"\n", first)),
				ExpectError: expectErrorWords(`Attribute "baseline_sha256" must be specified when "baseline_uri" is specified`),
			},
			{
				Config: testAccModelVersionBaselineConfig(a, artifact, artifactSHA, baseline(first, firstSHA)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("baseline_uri"), knownvalue.StringExact("file://"+first)),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("baseline_sha256"), knownvalue.StringExact(firstSHA)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("baseline_uri"), knownvalue.StringExact("file://"+first)),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("baseline_sha256"), knownvalue.StringExact(firstSHA)),
				},
			},
			{
				ResourceName:      modelVersionAddr,
				ImportState:       true,
				ImportStateId:     "dev/churn-1",
				ImportStateVerify: true,
			},
			{ // another baseline is another version
				Config: testAccModelVersionBaselineConfig(a, artifact, artifactSHA, baseline(second, secondSHA)),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(modelVersionAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("baseline_sha256"), knownvalue.StringExact(secondSHA)),
				},
			},
			{ // and so is none
				Config: testAccModelVersionBaselineConfig(a, artifact, artifactSHA, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(modelVersionAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("baseline_uri"), knownvalue.Null()),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("baseline_uri"), knownvalue.Null()),
				},
			},
		},
	})
}
