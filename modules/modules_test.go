// Package modules_test runs `terraform test` for every module under
// modules/, against a real in-process mlopsd and the provider built from
// this checkout, installed through a filesystem mirror (no registry).
package modules_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/tfcli"
)

func TestModules(t *testing.T) {
	tf := tfcli.Terraform(t)
	cliConfig := tfcli.Mirror(t)

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
			// A copy keeps .terraform out of the checkout and lets modules
			// run side by side.
			work := filepath.Join(t.TempDir(), module)
			tfcli.Copy(t, module, work)
			env := tfcli.Env(cliConfig, "MLOPS_ENDPOINT="+srv.URL)
			tfcli.Run(t, tf, work, env, "init", "-input=false", "-no-color")
			tfcli.Run(t, tf, work, env, "test", "-no-color")
		})
	}
	if len(seen) == 0 {
		t.Fatal("no module has tests/*.tftest.hcl")
	}
}
