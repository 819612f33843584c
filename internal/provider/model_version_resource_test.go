package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

const modelVersionAddr = "mlops_model_version.test"

// Tokens of the registry tests: Terraform acts as the release manager
// (token-1 to mlopsd), out-of-band changes come from CI (token-2).
const (
	releaseToken = "release-manager-token"
	ciToken      = "ci-token"
)

// registryAcc is a control plane that requires tokens, with a client that
// acts as CI for out-of-band changes, and a local artifact file.
type registryAcc struct {
	*testAcc
	artifactPath   string
	artifactSHA256 string
}

func startRegistryAcc(t *testing.T) *registryAcc {
	t.Helper()
	a := startAccWith(t, mlopsdtest.WithTokens(releaseToken, ciToken))
	c, err := client.New(client.Config{Endpoint: a.srv.URL, Token: ciToken})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	a.client = c
	path, digest := writeArtifact(t, `{"weights":[0.4,-1.2],"bias":0.1}`)
	return &registryAcc{testAcc: a, artifactPath: path, artifactSHA256: digest}
}

// writeArtifact writes a model file the control plane can read and returns
// its path and SHA-256.
func writeArtifact(t *testing.T, content string) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return path, hex.EncodeToString(sum[:])
}

// providerConfig points the provider at the control plane as the release
// manager.
func (a *registryAcc) providerConfig() string {
	return fmt.Sprintf("provider \"mlops\" {\n  endpoint = %q\n  token    = %q\n}\n", a.srv.URL, releaseToken)
}

// testAccRegistryBase declares environment dev and model churn, with the
// given provider configuration.
func testAccRegistryBase(provider string) string {
	return provider + `
resource "mlops_environment" "dev" {
  name = "dev"
}

resource "mlops_model" "churn" {
  environment = mlops_environment.dev.name
  name        = "churn"
  task_type   = "classification"
}
`
}

// testAccApproval renders an approval attribute; status "" leaves it out.
func testAccApproval(status, reason string) string {
	if status == "" {
		return ""
	}
	return fmt.Sprintf("  approval = { status = %q, reason = %q }\n", status, reason)
}

// testAccModelVersionConfig is version mlops_model_version.test of model
// churn, whose artifact is the test's local file.
func testAccModelVersionConfig(a *registryAcc, description, auc, status, reason string) string {
	return testAccRegistryBase(a.providerConfig()) + fmt.Sprintf(`
resource "mlops_model_version" "test" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.churn.name
  name            = "churn-1"
  description     = %[1]q
  artifact_uri    = "file://%[2]s"
  artifact_sha256 = %[3]q
  framework       = "mlops-linear"
  inputs = [
    { name = "tenure_months", value_type = "int64" },
    { name = "monthly_spend", value_type = "float64" },
  ]
  outputs = [
    { name = "churn_probability", value_type = "float64" },
  ]
  metrics = {
    auc = %[4]q
    f1  = "0.80"
  }
  lineage = {
    pipeline_run   = "churn-train-42"
    dataset_uri    = "file:///data/churn/2024-06.parquet"
    dataset_sha256 = %[5]q
    code_ref       = "git@example.com:ml/churn@3f2a1c9"
    parameters = {
      learning_rate = "0.05"
      max_depth     = "6"
    }
  }
%[6]s}
`, description, a.artifactPath, a.artifactSHA256, auc, strings.Repeat("d", 64), testAccApproval(status, reason))
}

func testAccCheckModelVersionDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_model_version", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetModelVersion(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

// decisions checks an approval history as "status/approver" items.
func decisions(items ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, 0, len(items))
	for _, it := range items {
		status, approver, _ := strings.Cut(it, "/")
		checks = append(checks, knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"status":     knownvalue.StringExact(status),
			"approver":   knownvalue.StringExact(approver),
			"decided_at": knownvalue.NotNull(),
		}))
	}
	return knownvalue.ListExact(checks)
}

func TestAccModelVersion_basic(t *testing.T) {
	a := startRegistryAcc(t)
	ctx := context.Background()
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	uidChanged := statecheck.CompareValue(compare.ValuesDiffer())
	update := func(checks ...plancheck.PlanCheck) resource.ConfigPlanChecks {
		return resource.ConfigPlanChecks{PreApply: append([]plancheck.PlanCheck{
			plancheck.ExpectResourceAction(modelVersionAddr, plancheck.ResourceActionUpdate),
		}, checks...)}
	}
	history := tfjsonpath.New("approval_history")
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(testAccCheckModelVersionDestroyed(a.testAcc), testAccCheckModelDestroyed(a.testAcc)),
		Steps: []resource.TestStep{
			{ // register: approval defaults to pending, with no decision yet
				Config: testAccModelVersionConfig(a, "first cut", "0.91", "", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/churn-1")),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("artifact_sha256"), knownvalue.StringExact(a.artifactSHA256)),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("inputs").AtSliceIndex(1).AtMapKey("name"), knownvalue.StringExact("monthly_spend")),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("metrics"), knownvalue.MapExact(map[string]knownvalue.Check{
						"auc": knownvalue.StringExact("0.91"),
						"f1":  knownvalue.StringExact("0.80"),
					})),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("lineage").AtMapKey("pipeline_run"), knownvalue.StringExact("churn-train-42")),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("lineage").AtMapKey("parameters").AtMapKey("max_depth"), knownvalue.StringExact("6")),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approval"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"status": knownvalue.StringExact("pending"),
						"reason": knownvalue.StringExact(""),
					})),
					statecheck.ExpectKnownValue(modelVersionAddr, history, knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approved_by"), knownvalue.Null()),
					uidSame.AddStateValue(modelVersionAddr, tfjsonpath.New("uid")),
				},
			},
			{ // import by env/name
				ResourceName:      modelVersionAddr,
				ImportState:       true,
				ImportStateId:     "dev/churn-1",
				ImportStateVerify: true,
			},
			{ // the description changes in place and decides nothing
				Config: testAccModelVersionConfig(a, "first cut, evaluated on June data", "0.91", "", ""),
				ConfigPlanChecks: update(
					plancheck.ExpectKnownValue(modelVersionAddr, history, knownvalue.ListSizeExact(0)),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("description"), knownvalue.StringExact("first cut, evaluated on June data")),
					statecheck.ExpectKnownValue(modelVersionAddr, history, knownvalue.ListSizeExact(0)),
					uidSame.AddStateValue(modelVersionAddr, tfjsonpath.New("uid")),
				},
			},
			{ // approving records the authenticated caller, not a name in the configuration
				Config: testAccModelVersionConfig(a, "first cut, evaluated on June data", "0.91", "approved", "beats the champion on June data"),
				ConfigPlanChecks: update(
					plancheck.ExpectUnknownValue(modelVersionAddr, tfjsonpath.New("approved_by")),
					plancheck.ExpectUnknownValue(modelVersionAddr, history),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approval").AtMapKey("status"), knownvalue.StringExact("approved")),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approved_by"), knownvalue.StringExact("token-1")),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approved_at"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(modelVersionAddr, history, decisions("approved/token-1")),
					statecheck.ExpectKnownValue(modelVersionAddr, history.AtSliceIndex(0).AtMapKey("reason"), knownvalue.StringExact("beats the champion on June data")),
					uidSame.AddStateValue(modelVersionAddr, tfjsonpath.New("uid")),
				},
			},
			{ // a decision is never undone to pending; the plan says so
				Config:      testAccModelVersionConfig(a, "first cut, evaluated on June data", "0.91", "pending", ""),
				ExpectError: expectErrorWords("Approval cannot go back to pending", `approval.status cannot change from "approved" to "pending"`, `"approved" or "rejected"`),
			},
			{ // revoking the approval is another decision
				Config:           testAccModelVersionConfig(a, "first cut, evaluated on June data", "0.91", "rejected", "leaks the label through monthly_spend"),
				ConfigPlanChecks: update(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, history, decisions("approved/token-1", "rejected/token-1")),
					uidSame.AddStateValue(modelVersionAddr, tfjsonpath.New("uid")),
				},
			},
			{ // re-approving a rejected version needs a reason
				Config:      testAccModelVersionConfig(a, "first cut, evaluated on June data", "0.91", "approved", ""),
				ExpectError: expectErrorWords("Re-approval without a reason", "approval.reason is empty", "approving it again needs a reason"),
			},
			{ // other metrics are another model: the version is replaced and its history starts afresh
				Config: testAccModelVersionConfig(a, "first cut, evaluated on June data", "0.93", "rejected", "leaks the label through monthly_spend"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(modelVersionAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("metrics").AtMapKey("auc"), knownvalue.StringExact("0.93")),
					statecheck.ExpectKnownValue(modelVersionAddr, history, decisions("rejected/token-1")),
					uidChanged.AddStateValue(modelVersionAddr, tfjsonpath.New("uid")),
				},
			},
			{ // approved behind Terraform's back by CI: the plan shows it and the apply records a new decision
				PreConfig: func() {
					v, err := a.client.GetModelVersion(ctx, "dev", "churn-1")
					if err != nil {
						t.Fatal(err)
					}
					v.Spec.Approval = api.ApprovalRequest{Status: api.ApprovalApproved, Reason: "ops override"}
					v.Spec.Description = "edited by hand"
					if _, err := a.client.UpdateModelVersion(ctx, "dev", "churn-1", v.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccModelVersionConfig(a, "first cut, evaluated on June data", "0.93", "rejected", "leaks the label through monthly_spend"),
				ConfigPlanChecks: update(
					plancheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approval").AtMapKey("status"), knownvalue.StringExact("rejected")),
					plancheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("description"), knownvalue.StringExact("first cut, evaluated on June data")),
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, history, decisions("rejected/token-1", "approved/token-2", "rejected/token-1")),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approved_by"), knownvalue.StringExact("token-1")),
				},
			},
			{ // deleted behind Terraform's back: the plan registers it again
				PreConfig: func() {
					if _, err := a.client.DeleteModelVersion(ctx, "dev", "churn-1"); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccModelVersionConfig(a, "first cut, evaluated on June data", "0.93", "rejected", "leaks the label through monthly_spend"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(modelVersionAddr, plancheck.ResourceActionCreate)},
				},
			},
		},
	})
}

// TestAccModelVersion_minimal registers a version with only the required
// attributes, whose artifact is not a local file.
func TestAccModelVersion_minimal(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	config := testAccRegistryBase(a.providerConfig()) + fmt.Sprintf(`
resource "mlops_model_version" "test" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.churn.name
  name            = "churn-s3"
  artifact_uri    = "s3://models/churn/1/"
  artifact_sha256 = %q
  framework       = "xgboost"
}
`, strings.Repeat("a", 64))
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelVersionDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("inputs"), knownvalue.Null()),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("metrics"), knownvalue.Null()),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("lineage"), knownvalue.Null()),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approval").AtMapKey("status"), knownvalue.StringExact("pending")),
				},
			},
			{
				Config:   config,
				PlanOnly: true,
			},
			{ // approved out of band, by a person: Terraform does not manage an omitted approval, so the plan is empty
				PreConfig: func() {
					v, err := a.client.GetModelVersion(ctx, "dev", "churn-s3")
					if err != nil {
						t.Fatal(err)
					}
					v.Spec.Approval = api.ApprovalRequest{Status: api.ApprovalApproved, Reason: "reviewed by a person"}
					if _, err := a.client.UpdateModelVersion(ctx, "dev", "churn-s3", v.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config:   config,
				PlanOnly: true,
			},
			{ // and the state reflects the decision
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approval"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"status": knownvalue.StringExact("approved"),
						"reason": knownvalue.StringExact("reviewed by a person"),
					})),
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approval_history"), decisions("approved/anonymous")),
				},
			},
			{ // an edit of something else leaves the approval and its history alone
				Config: strings.Replace(config, `framework       = "xgboost"`, `framework       = "xgboost"
  description     = "trained on June data"`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(modelVersionAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approval").AtMapKey("status"), knownvalue.StringExact("approved")),
					plancheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approval_history"), decisions("approved/anonymous")),
					plancheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approved_by"), knownvalue.StringExact("anonymous")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approval_history"), decisions("approved/anonymous")),
				},
			},
			{ // without a token every caller is anonymous, and says so
				Config: strings.Replace(config, `framework       = "xgboost"`, `framework       = "xgboost"
  approval        = { status = "approved" }`, 1),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(modelVersionAddr, tfjsonpath.New("approved_by"), knownvalue.StringExact("anonymous")),
				},
			},
		},
	})
}

func TestAccModelVersion_badInput(t *testing.T) {
	a := startAcc(t)
	path, digest := writeArtifact(t, "model bytes")
	// version renders a version whose attributes are valid unless overridden
	// by extra, which is appended last (Terraform rejects duplicates, so
	// overridden attributes are left out of base).
	version := func(attrs string) string {
		return testAccRegistryBase(a.providerConfig()) + `
resource "mlops_model_version" "test" {
  environment = mlops_environment.dev.name
  name        = "churn-1"
` + attrs + `
}
`
	}
	valid := func(skip string, extra string) string {
		lines := map[string]string{
			"model":           `model = mlops_model.churn.name`,
			"artifact_uri":    fmt.Sprintf(`artifact_uri = "file://%s"`, path),
			"artifact_sha256": fmt.Sprintf(`artifact_sha256 = %q`, digest),
			"framework":       `framework = "sklearn"`,
		}
		var b strings.Builder
		for _, k := range []string{"model", "artifact_uri", "artifact_sha256", "framework"} {
			if k != skip {
				b.WriteString("  " + lines[k] + "\n")
			}
		}
		b.WriteString("  " + extra + "\n")
		return version(b.String())
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelVersionDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config:      valid("artifact_sha256", `artifact_sha256 = "ABC123"`),
				ExpectError: expectErrorWords("Attribute artifact_sha256", "64 lowercase hex digits"),
			},
			{
				Config:      valid("", `metrics = { auc = "high" }`),
				ExpectError: expectErrorWords(`Attribute metrics["auc"]`, "decimal number"),
			},
			{
				Config:      valid("framework", `framework = "Sci Kit"`),
				ExpectError: expectErrorWords("Attribute framework", "lowercase letters"),
			},
			{
				Config:      valid("", `approval = { status = "rejected" }`),
				ExpectError: expectErrorWords("approval.reason", "a rejection needs a reason"),
			},
			{
				Config:      valid("", `approval = { status = "accepted" }`),
				ExpectError: expectErrorWords("Attribute approval.status", "value must be one of"),
			},
			{
				Config:      valid("", `lineage = {}`),
				ExpectError: expectErrorWords("lineage", "set at least one of pipeline_run"),
			},
			{
				Config:      valid("", `inputs = []`),
				ExpectError: expectErrorWords("Attribute inputs", "at least 1"),
			},
			{ // only the control plane reads the artifact
				Config:      valid("artifact_sha256", fmt.Sprintf(`artifact_sha256 = %q`, strings.Repeat("0", 64))),
				ExpectError: expectErrorWords("artifact_sha256", "has SHA-256 "+digest, "but artifact_sha256 is "+strings.Repeat("0", 64)),
			},
			{
				Config:      valid("artifact_uri", `artifact_uri = "file:///nonexistent/model.json"`),
				ExpectError: expectErrorWords("artifact_uri", "/nonexistent/model.json does not exist"),
			},
			{ // only the control plane knows which models exist
				Config:      valid("model", `model = "nope"`),
				ExpectError: expectErrorWords("model", `model "nope" does not exist in environment "dev"`),
			},
			{
				Config:      valid("", `outputs = [{ name = "p", value_type = "float64" }, { name = "p", value_type = "int64" }]`),
				ExpectError: expectErrorWords("outputs[1].name", `"p" is already used by spec.outputs[0]`),
			},
		},
	})
}

func TestLatestApprovedVersion(t *testing.T) {
	at := func(minute int) time.Time { return time.Date(2025, 1, 1, 0, minute, 0, 0, time.UTC) }
	version := func(name, model, status string, decided ...time.Time) api.ModelVersion {
		v := api.ModelVersion{Metadata: api.Metadata{Name: name}, Spec: api.ModelVersionSpec{Model: model, Approval: api.ApprovalRequest{Status: status}}}
		for _, d := range decided {
			v.Spec.ApprovalHistory = append(v.Spec.ApprovalHistory, api.ApprovalDecision{DecidedAt: d})
		}
		return v
	}
	for _, tc := range []struct {
		name     string
		versions []api.ModelVersion
		want     string
	}{
		{"None", nil, ""},
		{"OnlyPendingAndRejected", []api.ModelVersion{version("a", "churn", "pending"), version("b", "churn", "rejected", at(1))}, ""},
		{"NewestDecisionWins", []api.ModelVersion{version("a", "churn", "approved", at(5)), version("b", "churn", "approved", at(3))}, "a"},
		// b was approved first but re-approved last.
		{"LatestDecisionCounts", []api.ModelVersion{version("a", "churn", "approved", at(5)), version("b", "churn", "approved", at(1), at(2), at(9))}, "b"},
		{"OtherModelsIgnored", []api.ModelVersion{version("a", "churn", "approved", at(1)), version("f", "fraud", "approved", at(9))}, "a"},
		{"TieGoesToGreaterName", []api.ModelVersion{version("b", "churn", "approved", at(1)), version("a", "churn", "approved", at(1))}, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := latestApprovedVersion(tc.versions, "churn")
			name := ""
			if got != nil {
				name = got.Metadata.Name
			}
			if name != tc.want {
				t.Errorf("latest approved = %q, want %q", name, tc.want)
			}
		})
	}
}
