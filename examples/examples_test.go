// Package examples_test checks that every configuration under examples/
// and modules/ initializes and validates with the provider built from this
// checkout, so an example that no longer matches the schema fails the
// build instead of the reader.
package examples_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/tfcli"
)

// requiredProviders is what a snippet without a terraform block gets
// before it is validated. tfplugindocs shows resources/, data-sources/ and
// ephemeral-resources/ examples as snippets, which leave the block out;
// without it Terraform would look for hashicorp/mlops.
const requiredProviders = `terraform {
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}
`

var declaresProviders = regexp.MustCompile(`(?m)^\s*required_providers\s*\{`)

func TestExamplesValidate(t *testing.T) {
	tf := tfcli.Terraform(t)
	cliConfig := tfcli.Mirror(t)
	root, err := tfcli.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Copies of both trees side by side keep the examples' relative
	// module sources (../../../modules/...) working and .terraform out of
	// the checkout.
	work := t.TempDir()
	var dirs []string
	for _, tree := range []string{"examples", "modules"} {
		tfcli.Copy(t, filepath.Join(root, tree), filepath.Join(work, tree))
		dirs = append(dirs, configDirs(t, filepath.Join(work, tree))...)
	}
	for _, want := range []string{"examples/provider", "examples/quickstart", "examples/promotion", "examples/modules/model-serving", "modules/model-serving"} {
		if !slices.Contains(dirs, filepath.Join(work, want)) {
			t.Fatalf("no configuration found in %s; found %q", want, dirs)
		}
	}
	cache := filepath.Join(work, ".plugin-cache")
	if err := os.Mkdir(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	env := tfcli.Env(cliConfig, "TF_PLUGIN_CACHE_DIR="+cache)
	for _, dir := range dirs {
		rel, _ := filepath.Rel(work, dir)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			if !declares(t, dir) {
				if err := os.WriteFile(filepath.Join(dir, "zz_required_providers.tf"), []byte(requiredProviders), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tfcli.Run(t, tf, dir, env, "init", "-backend=false", "-input=false", "-no-color")
			tfcli.Run(t, tf, dir, env, "validate", "-no-color")
		})
	}
}

// configDirs lists the directories below root that hold .tf files.
func configDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && filepath.Ext(p) == ".tf" && !slices.Contains(dirs, filepath.Dir(p)) {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// declares reports whether a .tf file of dir has a required_providers block.
func declares(t *testing.T, dir string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if declaresProviders.Match(b) {
			return true
		}
	}
	return false
}
