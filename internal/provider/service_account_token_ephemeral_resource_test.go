package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// accAdminToken is the admin token of control planes started by
// startAccAuth.
const accAdminToken = "acc-admin-token"

// startAccAuth starts a control plane with -auth on whose admin token is
// accAdminToken; the test's client uses it.
func startAccAuth(t *testing.T) *testAcc {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance tests run only with TF_ACC=1 (make testacc)")
	}
	srv := mlopsdtest.Start(t, mlopsdtest.WithAuth(accAdminToken))
	c, err := client.New(client.Config{Endpoint: srv.URL, Token: accAdminToken})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return &testAcc{srv: srv, client: c}
}

// authProviderConfig points the provider at the control plane as admin.
func (a *testAcc) authProviderConfig() string {
	return fmt.Sprintf("provider \"mlops\" {\n  endpoint = %q\n  token    = %q\n}\n", a.srv.URL, accAdminToken)
}

// tokenRE matches a token as mlopsd issues them.
var tokenRE = regexp.MustCompile(`mlops_[A-Za-z0-9_-]{43}`)

// testAccServiceAccountConfig declares environment dev, service account ci
// and a binding of ci as role in dev.
func testAccServiceAccountConfig(a *testAcc, role string) string {
	return a.authProviderConfig() + fmt.Sprintf(`
resource "mlops_environment" "dev" {
  name = "dev"
}

resource "mlops_service_account" "ci" {
  name        = "ci"
  description = "CI pipelines"
}

resource "mlops_role_binding" "ci" {
  environment = mlops_environment.dev.name
  name        = "ci-binding"
  subject     = mlops_service_account.ci.name
  role        = %[1]q
}
`, role)
}

func TestAccServiceAccountToken_basic(t *testing.T) {
	a := startAccAuth(t)
	// The working directories, and with them the state files Terraform
	// writes, go here, so the test can read the real files.
	workDir := t.TempDir()
	t.Setenv("TF_ACC_TEMP_DIR", workDir)
	// The token is used at once: a second mlops provider authenticates with
	// it and reads dev as ci; echo shows the non-secret attributes.
	tokenConfig := testAccServiceAccountConfig(a, "viewer") + fmt.Sprintf(`
ephemeral "mlops_service_account_token" "ci" {
  service_account = mlops_service_account.ci.name
  ttl_seconds     = 600
  depends_on      = [mlops_role_binding.ci]
}

provider "mlops" {
  alias    = "ci"
  endpoint = %[1]q
  token    = ephemeral.mlops_service_account_token.ci.token
}

data "mlops_environment" "as_ci" {
  provider = mlops.ci
  name     = mlops_environment.dev.name
}

provider "echo" {
  data = {
    id         = ephemeral.mlops_service_account_token.ci.id
    expires_at = ephemeral.mlops_service_account_token.ci.expires_at
  }
}

resource "echo" "token" {}
`, a.srv.URL)

	noTokenInState := func(*terraform.State) error {
		states, err := filepath.Glob(filepath.Join(workDir, "*", "*", "terraform.tfstate"))
		if err != nil {
			return err
		}
		more, _ := filepath.Glob(filepath.Join(workDir, "*", "terraform.tfstate"))
		states = append(states, more...)
		if len(states) == 0 {
			return fmt.Errorf("no terraform.tfstate under %s", workDir)
		}
		for _, path := range states {
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("reading the state file: %w", err)
			}
			if !regexp.MustCompile(`"mlops_service_account"`).Match(b) {
				return fmt.Errorf("state file %s does not hold the service account; is it the real one?", path)
			}
			if m := tokenRE.Find(b); m != nil {
				return fmt.Errorf("state file %s holds a token (%.10s...)", path, m)
			}
		}
		return nil
	}

	resource.Test(t, resource.TestCase{
		TerraformVersionChecks: []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"mlops": testAccProtoV6ProviderFactories["mlops"],
			"echo":  echoprovider.NewProviderServer(),
		},
		CheckDestroy: func(*terraform.State) error {
			_, err := a.client.GetServiceAccount(context.Background(), "ci")
			if !client.IsNotFound(err) {
				return fmt.Errorf("service account ci still exists after destroy (err %v)", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: testAccServiceAccountConfig(a, "viewer"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mlops_service_account.ci", tfjsonpath.New("id"), knownvalue.StringExact("ci")),
					statecheck.ExpectKnownValue("mlops_role_binding.ci", tfjsonpath.New("id"), knownvalue.StringExact("dev/ci-binding")),
				},
			},
			{
				Config: tokenConfig,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("echo.token", tfjsonpath.New("data").AtMapKey("id"), knownvalue.StringRegexp(regexp.MustCompile(`^tok_[0-9a-f]{16}$`))),
					statecheck.ExpectKnownValue("echo.token", tfjsonpath.New("data").AtMapKey("expires_at"), knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`))),
					// Read with the issued token, as ci.
					statecheck.ExpectKnownValue("data.mlops_environment.as_ci", tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
				},
				Check: noTokenInState,
			},
			{ // the role changes in place
				Config: testAccServiceAccountConfig(a, "editor"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("mlops_role_binding.ci", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mlops_role_binding.ci", tfjsonpath.New("role"), knownvalue.StringExact("editor")),
				},
				Check: noTokenInState,
			},
			{
				ResourceName:      "mlops_role_binding.ci",
				ImportState:       true,
				ImportStateId:     "dev/ci-binding",
				ImportStateVerify: true,
			},
			{
				ResourceName:      "mlops_service_account.ci",
				ImportState:       true,
				ImportStateId:     "ci",
				ImportStateVerify: true,
			},
		},
	})
}

func TestAccServiceAccountToken_unknownAccount(t *testing.T) {
	a := startAccAuth(t)
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: a.authProviderConfig() + `
ephemeral "mlops_service_account_token" "ghost" {
  service_account = "ghost"
}
`,
				ExpectError: regexp.MustCompile(`(?s)Error issuing service account token.*ghost`),
			},
		},
	})
}
