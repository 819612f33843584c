package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const raceConfig = `terraform {
  required_providers {
    mlops = {
      source  = "mlops-as-code/mlops"
      version = "` + providerVersion + `"
    }
  }
}

provider "mlops" {}

resource "mlops_environment" "shared" {
  name        = "race"
  description = %q
}
`

// tfDir is a terraform working directory with its own configuration and
// state, pointed at one mlopsd.
type tfDir struct {
	t    *testing.T
	tf   string
	dir  string
	env  []string
	name string
}

// terraformPath returns the terraform binary, and skips the test without
// TF_ACC.
func terraformPath(t *testing.T) string {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("this test runs terraform; it runs only with TF_ACC=1 (make test)")
	}
	if tf := os.Getenv("TF_ACC_TERRAFORM_PATH"); tf != "" {
		return tf
	}
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatal("terraform is not on PATH; install Terraform 1.11+")
	}
	return tf
}

// newTFDir creates working directory name under parent, writes config to
// its main.tf and runs terraform init.
func newTFDir(t *testing.T, tf, parent, name, endpoint, config string) *tfDir {
	t.Helper()
	d := &tfDir{t: t, tf: tf, dir: filepath.Join(parent, name), name: name, env: append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+providerMirror(t),
		"MLOPS_ENDPOINT="+endpoint,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
	)}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d.write(config)
	d.must("init", "-input=false", "-no-color")
	return d
}

func (d *tfDir) write(config string) {
	d.t.Helper()
	if err := os.WriteFile(filepath.Join(d.dir, "main.tf"), []byte(config), 0o600); err != nil {
		d.t.Fatal(err)
	}
}

// run runs terraform with args and returns its output and exit code.
func (d *tfDir) run(args ...string) (string, int) {
	d.t.Helper()
	cmd := exec.Command(d.tf, args...)
	cmd.Dir, cmd.Env = d.dir, d.env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		d.t.Fatalf("%s: terraform %s: %v", d.name, strings.Join(args, " "), err)
		return "", -1
	}
}

// must runs terraform and fails the test unless it exits 0.
func (d *tfDir) must(args ...string) string {
	d.t.Helper()
	out, code := d.run(args...)
	if code != 0 {
		d.t.Fatalf("%s: terraform %s exited %d:\n%s", d.name, strings.Join(args, " "), code, tail(out, 5000))
	}
	return out
}

// TestTerraformRace_SavedPlanConflicts has two terraform working
// directories manage one environment: A created it, B imported it. A plans
// a new description and saves the plan; B applies its own description
// first. Applying A's saved plan then fails with the 409 conflict (the
// object changed since A read it) instead of overwriting B's change, the
// environment keeps B's description, and A's next plan shows the diff
// against B's description.
func TestTerraformRace_SavedPlanConflicts(t *testing.T) {
	tf := terraformPath(t)
	root := t.TempDir()
	port := freePort(t)
	srv := startMlopsd(t, port, "-data", filepath.Join(root, "mlops.db"), "-runs-dir", filepath.Join(root, "runs"), "-reconcile-interval", "50ms")

	a := newTFDir(t, tf, root, "a", srv.URL, fmt.Sprintf(raceConfig, "created by A"))
	a.must("apply", "-auto-approve", "-input=false", "-no-color")

	b := newTFDir(t, tf, root, "b", srv.URL, fmt.Sprintf(raceConfig, "written by B"))
	b.must("import", "-input=false", "-no-color", "mlops_environment.shared", "race")

	a.write(fmt.Sprintf(raceConfig, "written by A"))
	a.must("plan", "-input=false", "-no-color", "-out", "a.tfplan")

	b.must("apply", "-auto-approve", "-input=false", "-no-color")

	out, code := a.run("apply", "-input=false", "-no-color", "a.tfplan")
	if code == 0 {
		t.Fatalf("applying A's saved plan after B's apply succeeded; B's update is lost:\n%s", out)
	}
	t.Logf("A's apply of its saved plan failed as it should:\n%s", tail(out, 2000))
	if !strings.Contains(out, "changed since it was read") || !strings.Contains(out, "409") {
		t.Errorf("A's failed apply does not say that the environment changed since it was read (409):\n%s", tail(out, 5000))
	}

	env, err := newClient(t, srv.URL).GetEnvironment(context.Background(), "race")
	if err != nil {
		t.Fatal(err)
	}
	if env.Spec.Description != "written by B" {
		t.Errorf("description is %q after A's failed apply, want B's %q", env.Spec.Description, "written by B")
	}

	out, code = a.run("plan", "-detailed-exitcode", "-input=false", "-no-color")
	if code != 2 {
		t.Fatalf("A's plan after the conflict exited %d, want 2 (a diff):\n%s", code, tail(out, 5000))
	}
	if !strings.Contains(out, `"written by B" -> "written by A"`) {
		t.Errorf("A's plan does not show B's description giving way to A's:\n%s", tail(out, 5000))
	}
}
