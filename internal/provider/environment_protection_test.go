package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// TestAccEnvironment_deletionProtection: destroying a protected environment
// fails with the control plane's message and its fix; once protection is
// turned off and applied, destroy succeeds (CheckDestroy).
func TestAccEnvironment_deletionProtection(t *testing.T) {
	a := startAcc(t)
	config := func(protected bool) string {
		return a.providerConfig() + fmt.Sprintf(`
resource "mlops_environment" "test" {
  name                = "prod"
  deletion_protection = %t
}
`, protected)
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEnvironmentDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: config(true),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("deletion_protection"), knownvalue.Bool(true)),
				},
			},
			{
				Config:      config(true),
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)environment\s+"prod"\s+has\s+deletion_protection\s+=\s+true;\s+set\s+it\s+to\s+false\s+and\s+apply\s+first,\s+then\s+delete`),
			},
			{
				Config: config(false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("deletion_protection"), knownvalue.Bool(false)),
				},
			},
			{ // an environment without the attribute is unprotected
				Config: a.providerConfig() + `resource "mlops_environment" "test" { name = "prod" }`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(envAddr, tfjsonpath.New("deletion_protection"), knownvalue.Bool(false)),
				},
			},
		},
	})
}
