package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// testAccAuditRecordsConfig declares environment dev with description and
// reads its own audit records after it was written.
func testAccAuditRecordsConfig(a *testAcc, description string) string {
	return a.providerConfig() + fmt.Sprintf(`
resource "mlops_environment" "dev" {
  name        = "dev"
  description = %[1]q
}

data "mlops_audit_records" "test" {
  environment = mlops_environment.dev.name
  kind        = "environments"
  depends_on  = [mlops_environment.dev]
}

data "mlops_audit_records" "latest" {
  environment  = mlops_environment.dev.name
  kind         = "environments"
  newest_first = true
  limit        = 1
  depends_on   = [mlops_environment.dev]
}
`, description)
}

func TestAccAuditRecordsDataSource_basic(t *testing.T) {
	a := startAcc(t)
	const ds, latest = "data.mlops_audit_records.test", "data.mlops_audit_records.latest"
	rec := func(i int) tfjsonpath.Path { return tfjsonpath.New("records").AtSliceIndex(i) }
	hex64 := knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{64}$`))
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEnvironmentDestroyed(a),
		Steps: []resource.TestStep{
			{ // bad input is refused before anything is read
				Config: a.providerConfig() + `
data "mlops_audit_records" "bad" {
  environment = "dev"
  since       = "yesterday"
}
`,
				ExpectError: regexp.MustCompile(`since = "yesterday" is not an RFC 3339 time`),
			},
			{
				Config: testAccAuditRecordsConfig(a, "first"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("id"), knownvalue.StringExact("dev")),
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("records"), knownvalue.ListSizeExact(1)),
					statecheck.ExpectKnownValue(ds, rec(0).AtMapKey("action"), knownvalue.StringExact("create")),
					statecheck.ExpectKnownValue(ds, rec(0).AtMapKey("generation"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(ds, rec(0).AtMapKey("before_digest"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(ds, rec(0).AtMapKey("hash"), hex64),
					statecheck.CompareValuePairs(ds, rec(0).AtMapKey("uid"), "mlops_environment.dev", tfjsonpath.New("uid"), compare.ValuesSame()),
				},
			},
			{ // update in place: a second record, chained to the first
				Config: testAccAuditRecordsConfig(a, "second"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, tfjsonpath.New("records"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue(ds, rec(1).AtMapKey("action"), knownvalue.StringExact("update")),
					statecheck.ExpectKnownValue(ds, rec(1).AtMapKey("generation"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(ds, rec(1).AtMapKey("actor"), knownvalue.StringExact("anonymous")),
					statecheck.ExpectKnownValue(ds, rec(1).AtMapKey("name"), knownvalue.StringExact("dev")),
					statecheck.ExpectKnownValue(ds, rec(1).AtMapKey("kind"), knownvalue.StringExact("environments")),
					statecheck.ExpectKnownValue(ds, rec(1).AtMapKey("hash"), hex64),
					statecheck.ExpectKnownValue(ds, rec(1).AtMapKey("time"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`))),
					statecheck.CompareValuePairs(ds, rec(1).AtMapKey("prev_hash"), ds, rec(0).AtMapKey("hash"), compare.ValuesSame()),
					statecheck.CompareValuePairs(ds, rec(1).AtMapKey("before_digest"), ds, rec(0).AtMapKey("after_digest"), compare.ValuesSame()),
					// newest_first with limit 1: only the update
					statecheck.ExpectKnownValue(latest, tfjsonpath.New("records"), knownvalue.ListSizeExact(1)),
					statecheck.CompareValuePairs(latest, rec(0).AtMapKey("hash"), ds, rec(1).AtMapKey("hash"), compare.ValuesSame()),
				},
			},
		},
	})
}
