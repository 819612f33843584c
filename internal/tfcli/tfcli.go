// Package tfcli runs the real terraform binary against the provider built
// from this checkout. The provider is installed from a filesystem mirror
// that BuildMirror fills, and the CLI configuration it writes forbids any
// other source for it, so no test or benchmark ever downloads a provider.
// Module tests, the examples' validation, the end-to-end promotion test,
// the reliability tests and the benchmarks all install the provider this
// way.
package tfcli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

const (
	// ProviderAddr is the provider's registry address, the one
	// examples' required_providers source "mlops-as-code/mlops" means.
	ProviderAddr = "registry.terraform.io/mlops-as-code/mlops"
	// ProviderVersion is the version the mirror holds the build under.
	ProviderVersion = "0.1.0"
)

// Provider is a provider to build into the mirror.
type Provider struct {
	// Addr is its registry address, e.g. ProviderAddr.
	Addr string
	// Name is its type name: the binary is terraform-provider-<Name>.
	Name string
	// Pkg is its main package relative to the repository root, e.g. ".".
	Pkg string
}

// MLOps is this repository's provider.
var MLOps = Provider{Addr: ProviderAddr, Name: "mlops", Pkg: "."}

// BuildMirror builds providers (MLOps when none is given) from the
// repository at root into a filesystem mirror under dir, and returns the
// path of a terraform CLI configuration (for TF_CLI_CONFIG_FILE) that
// installs them from there and from nowhere else.
func BuildMirror(root, dir string, providers ...Provider) (string, error) {
	if len(providers) == 0 {
		providers = []Provider{MLOps}
	}
	plugins := filepath.Join(dir, "plugins")
	platform := runtime.GOOS + "_" + runtime.GOARCH
	addrs := make([]string, 0, len(providers))
	for _, p := range providers {
		bin := filepath.Join(plugins, p.Addr, ProviderVersion, platform, "terraform-provider-"+p.Name+"_v"+ProviderVersion)
		cmd := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.version="+ProviderVersion, p.Pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("building provider %s from %s: %v\n%s", p.Name, p.Pkg, err, out)
		}
		addrs = append(addrs, fmt.Sprintf("%q", p.Addr))
	}
	// No direct method: any provider the mirror lacks (a misspelt source,
	// or hashicorp/mlops for a configuration without required_providers)
	// is an init error, never a download from the registry.
	content := fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = [%s]
  }
}
`, plugins, strings.Join(addrs, ", "))
	cfg := filepath.Join(dir, "terraformrc")
	return cfg, os.WriteFile(cfg, []byte(content), 0o600)
}

// RepoRoot returns the repository root: the nearest directory at or above
// the working directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Env returns the environment for a terraform run: the process's own, with
// the CLI configuration cfg, no update check, automation output, and extra
// (later entries win).
func Env(cfg string, extra ...string) []string {
	env := append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+cfg,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
	)
	return append(env, extra...)
}
