// Package promotion_test runs the promotion example end to end: a platform
// admin applies platform/, then the one configuration is applied in two
// workspaces, dev and prod, each with its own CI token, against one mlopsd
// with authentication on. It is the test the guide
// (docs/guides/promotion.md) walks through.
package promotion_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/tfcli"
)

func TestPromotion_devToProd(t *testing.T) {
	tf := tfcli.Terraform(t)
	cliConfig := tfcli.Mirror(t)
	adminToken := secret(t)
	signingSecret := secret(t)
	srv := mlopsdtest.Start(t, mlopsdtest.WithAuth(adminToken))
	ctx := t.Context()

	root, err := tfcli.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The example's relative paths (../../modules, ../quickstart/train)
	// need both trees side by side.
	work := t.TempDir()
	for _, tree := range []string{"examples", "modules"} {
		tfcli.Copy(t, filepath.Join(root, tree), filepath.Join(work, tree))
	}
	platformDir := filepath.Join(work, "examples", "promotion", "platform")
	stagesDir := filepath.Join(work, "examples", "promotion")

	// The platform admin: environments with their policies, channels,
	// service accounts and role bindings.
	adminEnv := tfcli.Env(cliConfig, "MLOPS_ENDPOINT="+srv.URL, "MLOPS_TOKEN="+adminToken,
		"TF_VAR_oncall_signing_secret="+signingSecret,
		// Nothing listens on the discard port; deliveries fail quietly.
		"TF_VAR_oncall_url=http://127.0.0.1:9/hooks/<stage>")
	tfcli.Run(t, tf, platformDir, adminEnv, "init", "-input=false", "-no-color")
	tfcli.Run(t, tf, platformDir, adminEnv, "apply", "-auto-approve", "-input=false", "-no-color")

	admin := newClient(t, srv.URL, adminToken)
	tokens := map[string]string{}
	for _, sa := range []string{"dev-ci", "prod-ci", "prod-approver"} {
		issued, err := admin.IssueServiceAccountToken(ctx, sa, 3600)
		if err != nil {
			t.Fatalf("issuing a token for %s: %v", sa, err)
		}
		tokens[sa] = issued.Token
	}
	stageEnv := func(workspace, token string, extra ...string) []string {
		return tfcli.Env(cliConfig, append([]string{"MLOPS_ENDPOINT=" + srv.URL, "MLOPS_TOKEN=" + token, "TF_WORKSPACE=" + workspace}, extra...)...)
	}

	noWorkspace := tfcli.Env(cliConfig, "MLOPS_ENDPOINT="+srv.URL, "MLOPS_TOKEN="+tokens["dev-ci"])
	tfcli.Run(t, tf, stagesDir, noWorkspace, "init", "-input=false", "-no-color")
	t.Run("the default workspace is no stage", func(t *testing.T) {
		out, err := tfcli.Try(tf, stagesDir, noWorkspace, "plan", "-input=false", "-no-color")
		if err == nil || !strings.Contains(out, `Workspace "default" is no stage`) || !strings.Contains(out, "terraform workspace select -or-create dev") {
			t.Fatalf("plan in the default workspace: err = %v, want the precondition naming the fix; output:\n%s", err, out)
		}
	})
	tfcli.Run(t, tf, stagesDir, noWorkspace, "workspace", "new", "dev")
	tfcli.Run(t, tf, stagesDir, noWorkspace, "workspace", "new", "prod")

	// dev: CI applies, then a training run registers a version.
	tfcli.Run(t, tf, stagesDir, stageEnv("dev", tokens["dev-ci"]), "apply", "-auto-approve", "-input=false", "-no-color")
	devCI := newClient(t, srv.URL, tokens["dev-ci"])
	run, err := devCI.StartPipelineRun(ctx, "dev", "house-prices-train", nil)
	if err != nil {
		t.Fatalf("starting the training run as dev-ci: %v", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	run, err = devCI.WaitPipelineRunSettled(waitCtx, "dev", run.Metadata.Name, run.Metadata.Generation)
	if err != nil {
		t.Fatalf("waiting for run %s: %v", run.Metadata.Name, err)
	}
	version := run.Status.ModelVersion
	if run.Status.Phase != api.PhaseSucceeded || version == "" {
		t.Fatalf("run %s: phase %s (%s), model_version %q; want a succeeded run that registered a version", run.Metadata.Name, run.Status.Phase, run.Status.Message, version)
	}

	// prod: CI promotes the version; the policy refuses to serve it
	// unapproved, and the error names the policy and the fix.
	prodEnv := stageEnv("prod", tokens["prod-ci"], "TF_VAR_champion_version="+version)
	out, err := tfcli.Try(tf, stagesDir, prodEnv, "apply", "-auto-approve", "-input=false", "-no-color")
	if err == nil {
		t.Fatalf("prod served unapproved %s; output:\n%s", version, out)
	}
	flat := strings.Join(strings.Fields(strings.ReplaceAll(out, "│", "")), " ")
	for _, want := range []string{`model version "` + version + `" is pending`, "policy.require_approved_models", "approve the version first"} {
		if !strings.Contains(flat, want) {
			t.Fatalf("prod apply of unapproved %s failed without %q; output:\n%s", version, want, out)
		}
	}
	t.Logf("prod refused the unapproved version:\n%s", out)

	// prod's CI may deploy but not approve; an owner of prod may.
	approval := api.ApprovalRequest{Status: api.ApprovalApproved, Reason: "rmse on the holdout is within budget"}
	prodCI := newClient(t, srv.URL, tokens["prod-ci"])
	if err := approve(t, prodCI, version, approval); err == nil || !strings.Contains(err.Error(), "owner") {
		t.Fatalf("prod-ci approving %s: err = %v; want a refusal that says an owner is needed", version, err)
	}
	approver := newClient(t, srv.URL, tokens["prod-approver"])
	if err := approve(t, approver, version, approval); err != nil {
		t.Fatalf("prod-approver approving %s: %v", version, err)
	}

	tfcli.Run(t, tf, stagesDir, prodEnv, "apply", "-auto-approve", "-input=false", "-no-color")
	got, err := approver.PredictAction(ctx, "prod", "house-prices", []float64{80})
	if err != nil {
		t.Fatalf("predicting in prod: %v", err)
	}
	if got.ModelVersion != version {
		t.Fatalf("prod serves %q; want %q", got.ModelVersion, version)
	}
	// The approval, made outside Terraform, is no diff.
	tfcli.Run(t, tf, stagesDir, prodEnv, "plan", "-detailed-exitcode", "-input=false", "-no-color")

	// No token and no secret is in any state.
	states := []string{
		filepath.Join(platformDir, "terraform.tfstate"),
		filepath.Join(stagesDir, "terraform.tfstate.d", "dev", "terraform.tfstate"),
		filepath.Join(stagesDir, "terraform.tfstate.d", "prod", "terraform.tfstate"),
	}
	secrets := map[string]string{"admin token": adminToken, "signing secret": signingSecret}
	for sa, tok := range tokens {
		secrets[sa+" token"] = tok
	}
	for _, state := range states {
		b, err := os.ReadFile(state)
		if err != nil {
			t.Fatalf("reading state: %v", err)
		}
		if !strings.Contains(string(b), `"mlops_`) {
			t.Fatalf("%s holds no mlops resource; is it the right state file?", state)
		}
		for what, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s contains the %s", state, what)
			}
		}
	}
}

// approve records an approval decision on the prod copy of version as c's
// subject.
func approve(t *testing.T, c *client.Client, version string, approval api.ApprovalRequest) error {
	t.Helper()
	v, err := c.GetModelVersion(t.Context(), "prod", version)
	if err != nil {
		t.Fatalf("reading prod/%s: %v", version, err)
	}
	spec := v.Spec
	spec.Approval = approval
	_, err = c.UpdateModelVersion(t.Context(), "prod", version, spec, v.Metadata.ETag)
	return err
}

func newClient(t *testing.T, endpoint, token string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoint: endpoint, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// secret returns 32 random bytes, hex-encoded.
func secret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
