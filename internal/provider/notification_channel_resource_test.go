package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

const channelAddr = "mlops_notification_channel.ops"

// writeOnlyVersionChecks skip below Terraform 1.11, the first with
// write-only attributes.
var writeOnlyVersionChecks = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)}

// testAccNotificationChannelConfig declares environment dev and channel
// ops. The secret comes from an ephemeral, sensitive variable (null unless
// the step sets it); version is an HCL expression, e.g. "1" or "null".
func testAccNotificationChannelConfig(a *testAcc, description, url, version string) string {
	return a.providerConfig() + fmt.Sprintf(`
variable "signing_secret" {
  type      = string
  sensitive = true
  ephemeral = true
  default   = null
}

resource "mlops_environment" "dev" {
  name = "dev"
}

resource "mlops_notification_channel" "ops" {
  environment               = mlops_environment.dev.name
  name                      = "ops"
  description               = %[1]q
  url                       = %[2]q
  signing_secret_wo         = var.signing_secret
  signing_secret_wo_version = %[3]s
}
`, description, url, version)
}

func testAccCheckNotificationChannelDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_notification_channel", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetNotificationChannel(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

// storedSigningSecret reads the secret the control plane keeps for channel
// dev/ops from its store, which (unlike the API) holds it.
func storedSigningSecret(t *testing.T, a *testAcc) (string, int64) {
	t.Helper()
	obj, err := a.srv.Daemon.Store.Get(context.Background(), api.Ref{Kind: api.KindNotificationChannel, Environment: "dev", Name: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	var spec api.NotificationChannelSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	return spec.SigningSecret, spec.SigningSecretVersion
}

// checkServerSecret expects the control plane to hold secret ("" for none)
// under version, and the API to say whether it holds one.
func checkServerSecret(t *testing.T, a *testAcc, secret string, version int64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got, gotVersion := storedSigningSecret(t, a)
		if got != secret || gotVersion != version {
			return fmt.Errorf("the control plane holds secret %.4q... version %d; want %.4q... version %d", got, gotVersion, secret, version)
		}
		ch, err := a.client.GetNotificationChannel(context.Background(), "dev", "ops")
		if err != nil {
			return err
		}
		if ch.Status.SigningSecretSet != (secret != "") || ch.Spec.SigningSecret != "" {
			return fmt.Errorf("the API says signing_secret_set %v (spec secret %q); want %v and no secret", ch.Status.SigningSecretSet, ch.Spec.SigningSecret, secret != "")
		}
		return nil
	}
}

// checkNoSecretInFiles fails when any file under dir holds one of the
// secrets, other than the variables file the test framework writes for
// ConfigVariables; and requires that a state file was looked at.
func checkNoSecretInFiles(dir string, secrets ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		states := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !d.Type().IsRegular() {
				return err
			}
			if filepath.Base(p) == "terraform-plugin-testing.auto.tfvars.json" {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if filepath.Base(p) == "terraform.tfstate" {
				if !strings.Contains(string(b), `"mlops_notification_channel"`) {
					return nil // a state of another step's working directory
				}
				states++
			}
			for _, s := range secrets {
				if strings.Contains(string(b), s) {
					return fmt.Errorf("%s holds the signing secret", p)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if states == 0 {
			return fmt.Errorf("no terraform.tfstate with the channel under %s", dir)
		}
		return nil
	}
}

// noSecretInJSON fails when the JSON of v (terraform show -json of the
// state or plan) holds one of the secrets.
func noSecretInJSON(what string, v any, secrets []string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), "mlops_notification_channel") {
		return fmt.Errorf("%s does not show the channel; is it the real one?", what)
	}
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			return fmt.Errorf("%s holds the signing secret", what)
		}
	}
	return nil
}

// noSecretInShowJSON checks terraform show -json of the state.
type noSecretInShowJSON []string

func (s noSecretInShowJSON) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if err := noSecretInJSON("terraform show -json", req.State, s); err != nil {
		resp.Error = err
	}
}

// noSecretInPlanJSON checks terraform show -json of the plan.
type noSecretInPlanJSON []string

func (s noSecretInPlanJSON) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	if err := noSecretInJSON("the plan's terraform show -json", req.Plan, s); err != nil {
		resp.Error = err
	}
}

func TestAccNotificationChannel_writeOnlySecret(t *testing.T) {
	a := startAcc(t)
	// The working directories, and with them the state files Terraform
	// writes, go here, so the test can read the real files.
	workDir := t.TempDir()
	t.Setenv("TF_ACC_TEMP_DIR", workDir)
	const first, second = "first-signing-secret-7f3a9c1e", "second-signing-secret-b20d4e86"
	secrets := []string{first, second}
	url := "https://hooks.example.com/mlops"
	ctx := context.Background()
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   writeOnlyVersionChecks,
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(testAccCheckNotificationChannelDestroyed(a), testAccCheckEnvironmentDestroyed(a)),
		Steps: []resource.TestStep{
			{ // create with a secret: the control plane holds it, the state and plan do not
				Config:          testAccNotificationChannelConfig(a, "on-call", url, "1"),
				ConfigVariables: config.Variables{"signing_secret": config.StringVariable(first)},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(channelAddr, plancheck.ResourceActionCreate), noSecretInPlanJSON(secrets)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(channelAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/ops")),
					statecheck.ExpectKnownValue(channelAddr, tfjsonpath.New("type"), knownvalue.StringExact("webhook")),
					statecheck.ExpectKnownValue(channelAddr, tfjsonpath.New("signing_secret_wo"), knownvalue.Null()),
					statecheck.ExpectKnownValue(channelAddr, tfjsonpath.New("signing_secret_wo_version"), knownvalue.Int64Exact(1)),
					noSecretInShowJSON(secrets),
				},
				Check: resource.ComposeTestCheckFunc(checkServerSecret(t, a, first, 1), checkNoSecretInFiles(workDir, secrets...)),
			},
			{
				ResourceName:            channelAddr,
				ImportState:             true,
				ImportStateId:           "dev/ops",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"signing_secret_wo"},
			},
			{ // description and url change in place; the unchanged version keeps the stored secret
				Config:          testAccNotificationChannelConfig(a, "on-call, EU", url+"/eu", "1"),
				ConfigVariables: config.Variables{"signing_secret": config.StringVariable(first)},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(channelAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(channelAddr, tfjsonpath.New("url"), knownvalue.StringExact(url+"/eu")),
					noSecretInShowJSON(secrets),
				},
				Check: checkServerSecret(t, a, first, 1),
			},
			{ // rotate: a new secret with a new version is an in-place update that sends it
				Config:          testAccNotificationChannelConfig(a, "on-call, EU", url+"/eu", "2"),
				ConfigVariables: config.Variables{"signing_secret": config.StringVariable(second)},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(channelAddr, plancheck.ResourceActionUpdate), noSecretInPlanJSON(secrets)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(channelAddr, tfjsonpath.New("signing_secret_wo_version"), knownvalue.Int64Exact(2)),
					noSecretInShowJSON(secrets),
				},
				Check: resource.ComposeTestCheckFunc(checkServerSecret(t, a, second, 2), checkNoSecretInFiles(workDir, secrets...)),
			},
			{ // drift: the secret removed behind Terraform's back shows as a diff of its version
				PreConfig: func() {
					ch, err := a.client.GetNotificationChannel(ctx, "dev", "ops")
					if err != nil {
						t.Fatal(err)
					}
					ch.Spec.SigningSecretVersion = 0
					if _, err := a.client.UpdateNotificationChannel(ctx, "dev", "ops", ch.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config:             testAccNotificationChannelConfig(a, "on-call, EU", url+"/eu", "2"),
				ConfigVariables:    config.Variables{"signing_secret": config.StringVariable(second)},
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{ // apply sends the secret again
				Config:          testAccNotificationChannelConfig(a, "on-call, EU", url+"/eu", "2"),
				ConfigVariables: config.Variables{"signing_secret": config.StringVariable(second)},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(channelAddr, plancheck.ResourceActionUpdate)},
				},
				Check: checkServerSecret(t, a, second, 2),
			},
			{ // drift: another url set behind Terraform's back
				PreConfig: func() {
					ch, err := a.client.GetNotificationChannel(ctx, "dev", "ops")
					if err != nil {
						t.Fatal(err)
					}
					ch.Spec.URL = "https://elsewhere.example.com/"
					if _, err := a.client.UpdateNotificationChannel(ctx, "dev", "ops", ch.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config:             testAccNotificationChannelConfig(a, "on-call, EU", url+"/eu", "2"),
				ConfigVariables:    config.Variables{"signing_secret": config.StringVariable(second)},
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{ // removing secret and version removes the secret, in place
				Config: testAccNotificationChannelConfig(a, "on-call, EU", url+"/eu", "null"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(channelAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(channelAddr, tfjsonpath.New("signing_secret_wo_version"), knownvalue.Null()),
					statecheck.ExpectKnownValue(channelAddr, tfjsonpath.New("url"), knownvalue.StringExact(url+"/eu")),
				},
				Check: resource.ComposeTestCheckFunc(checkServerSecret(t, a, "", 0), checkNoSecretInFiles(workDir, secrets...)),
			},
		},
	})
}

func TestAccNotificationChannel_badInput(t *testing.T) {
	a := startAcc(t)
	channel := func(attrs string) string {
		return a.providerConfig() + `
variable "signing_secret" {
  type      = string
  sensitive = true
  ephemeral = true
  default   = null
}

resource "mlops_notification_channel" "ops" {
  environment = "dev"
  name        = "ops"
` + attrs + `
}
`
	}
	secret := config.Variables{"signing_secret": config.StringVariable("a-long-enough-signing-secret")}
	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   writeOnlyVersionChecks,
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckNotificationChannelDestroyed(a),
		Steps: []resource.TestStep{
			{ // a secret needs a version
				Config:          channel(`  url = "https://hooks.example.com/"` + "\n" + `  signing_secret_wo = var.signing_secret`),
				ConfigVariables: secret,
				PlanOnly:        true,
				ExpectError:     regexp.MustCompile(`(?s)Missing signing_secret_wo_version.*` + words("set it to 1 (or more), and bump it whenever you change the secret")),
			},
			{ // a version needs a secret
				Config:      channel(`  url = "https://hooks.example.com/"` + "\n" + `  signing_secret_wo_version = 1`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Missing signing_secret_wo.*signing_secret_wo_version\s+=\s+1.*` + words("set the secret (e.g. from an ephemeral variable), or remove signing_secret_wo_version")),
			},
			{ // the secret's length is bounded as on the server, and the message does not show it
				Config:          channel(`  url = "https://hooks.example.com/"` + "\n" + `  signing_secret_wo = var.signing_secret` + "\n" + `  signing_secret_wo_version = 1`),
				ConfigVariables: config.Variables{"signing_secret": config.StringVariable("too-short")},
				PlanOnly:        true,
				ExpectError:     regexp.MustCompile(`(?s)signing_secret_wo.*` + words("string length must be between 16 and 512")),
			},
			{ // the url must be http(s) with a host
				Config:      channel(`  url = "ftp://hooks.example.com/"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid webhook URL.*url\s+=\s+"ftp://hooks.example.com/".*` + words(`is not an absolute http:// or https:// URL with a host; use e.g. https://hooks.example.com/mlops`)),
			},
			{ // the server: the environment must exist, and it says which field
				Config:      channel(`  url = "https://hooks.example.com/"`),
				ExpectError: regexp.MustCompile(`(?s)Error creating notification channel.*environment.*dev`),
			},
		},
	})
}
