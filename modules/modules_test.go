// Package modules_test runs `terraform test` for every module under
// modules/, against a real in-process mlopsd and the provider built from
// this checkout, installed through a filesystem mirror (no registry).
package modules_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

const (
	providerAddr    = "registry.terraform.io/mlops-as-code/mlops"
	providerVersion = "0.1.0"
)

func TestModules(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("module tests run terraform; they run only with TF_ACC=1 (make test)")
	}
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		var err error
		if tf, err = exec.LookPath("terraform"); err != nil {
			t.Fatal("terraform is not on PATH; install Terraform 1.11+")
		}
	}
	cliConfig := buildProviderMirror(t)

	modules, err := filepath.Glob("*/tests/*.tftest.hcl")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, testFile := range modules {
		module := strings.Split(testFile, string(filepath.Separator))[0]
		if seen[module] {
			continue
		}
		seen[module] = true
		t.Run(module, func(t *testing.T) {
			t.Parallel()
			srv := mlopsdtest.Start(t)
			work := filepath.Join(t.TempDir(), module)
			// A copy keeps .terraform out of the checkout and lets modules
			// run side by side.
			if err := os.CopyFS(work, os.DirFS(module)); err != nil {
				t.Fatal(err)
			}
			env := append(os.Environ(),
				"TF_CLI_CONFIG_FILE="+cliConfig,
				"MLOPS_ENDPOINT="+srv.URL,
				"CHECKPOINT_DISABLE=1",
				"TF_IN_AUTOMATION=1",
			)
			run(t, work, env, tf, "init", "-input=false", "-no-color")
			run(t, work, env, tf, "test", "-no-color")
		})
	}
	if len(seen) == 0 {
		t.Fatal("no module has tests/*.tftest.hcl")
	}
}

// buildProviderMirror builds the provider into a filesystem mirror and
// returns a CLI configuration that installs it from there only.
func buildProviderMirror(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "plugins", providerAddr, providerVersion, runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-mlops_v"+providerVersion)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go is not on PATH")
	}
	build := exec.Command(goBin, "build", "-o", bin, "-ldflags", "-X main.version="+providerVersion, "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "terraformrc")
	content := `provider_installation {
  filesystem_mirror {
    path    = "` + filepath.Join(dir, "plugins") + `"
    include = ["` + providerAddr + `"]
  }
  direct {
    exclude = ["` + providerAddr + `"]
  }
}
`
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), dir, err, out)
	}
	t.Logf("%s %s:\n%s", filepath.Base(name), args[0], out)
}
