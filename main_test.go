package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// TestProviderLogs_underTerraform runs the built provider under the real
// terraform binary, with a wrapper that keeps the provider's own stderr
// (where its logs go; Terraform reads them from there). With TF_LOG=trace
// the framework's trace lines must still come out; without any TF_LOG*
// variable the provider must not produce them at all.
func TestProviderLogs_underTerraform(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("runs terraform; only with TF_ACC=1 (make test)")
	}
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		var err error
		if tf, err = exec.LookPath("terraform"); err != nil {
			t.Skip("terraform is not on PATH")
		}
	}
	dir := t.TempDir()
	providerBin := filepath.Join(dir, "bin", "provider")
	if out, err := exec.Command("go", "build", "-o", providerBin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	srv := mlopsdtest.Start(t)
	// The data source makes the plan call mlopsd, so the provider's own
	// request logs come into play too.
	c, err := client.New(client.Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateEnvironment(context.Background(), "existing", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, env ...string) string {
		t.Helper()
		work := t.TempDir()
		plugins := filepath.Join(work, "plugins")
		stderrFile := filepath.Join(work, "provider-stderr.log")
		if err := os.MkdirAll(plugins, 0o755); err != nil {
			t.Fatal(err)
		}
		wrapper := fmt.Sprintf("#!/bin/sh\nexec %q \"$@\" 2>>%q\n", providerBin, stderrFile)
		if err := os.WriteFile(filepath.Join(plugins, "terraform-provider-mlops"), []byte(wrapper), 0o755); err != nil {
			t.Fatal(err)
		}
		rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n  }\n  direct {}\n}\n", providerAddress, plugins)
		if err := os.WriteFile(filepath.Join(work, "terraformrc"), []byte(rc), 0o600); err != nil {
			t.Fatal(err)
		}
		config := fmt.Sprintf(`terraform {
  required_providers {
    mlops = { source = "mlops-as-code/mlops" }
  }
}
provider "mlops" {
  endpoint = %q
}
resource "mlops_environment" "logs" {
  name = "logs"
}
data "mlops_environment" "existing" {
  name = "existing"
}
`, srv.URL)
		if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(tf, "plan", "-input=false", "-no-color")
		cmd.Dir = work
		cmd.Env = append(withoutLogVars(os.Environ()), append([]string{
			"TF_CLI_CONFIG_FILE=" + filepath.Join(work, "terraformrc"),
			"CHECKPOINT_DISABLE=1",
		}, env...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("terraform plan: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "mlops_environment.logs will be created") {
			t.Fatalf("terraform plan did not plan the environment:\n%s", out.String())
		}
		b, err := os.ReadFile(stderrFile)
		if err != nil {
			t.Fatalf("the provider wrote no stderr file (did terraform run the wrapper?): %v", err)
		}
		return string(b)
	}
	const frameworkLine = `"@module":"sdk.framework"`

	t.Run("TF_LOG=trace", func(t *testing.T) {
		logs := run(t, "TF_LOG=trace")
		if !strings.Contains(logs, `"@module":"mlops"`) {
			t.Errorf("with TF_LOG=trace the provider wrote none of its own log lines; its stderr:\n%.2000s", logs)
		}
		if !strings.Contains(logs, frameworkLine) {
			t.Fatalf("with TF_LOG=trace the provider wrote no framework trace line (%s); its stderr:\n%.2000s", frameworkLine, logs)
		}
		if !strings.Contains(logs, `"@module":"sdk.proto"`) {
			t.Errorf("with TF_LOG=trace the provider wrote no protocol trace line; its stderr:\n%.2000s", logs)
		}
	})
	t.Run("TF_LOG_SDK_FRAMEWORK=trace", func(t *testing.T) {
		if logs := run(t, "TF_LOG_SDK_FRAMEWORK=trace"); !strings.Contains(logs, frameworkLine) {
			t.Fatalf("with TF_LOG_SDK_FRAMEWORK=trace the provider wrote no framework trace line; its stderr:\n%.2000s", logs)
		}
	})
	t.Run("no TF_LOG", func(t *testing.T) {
		logs := run(t)
		if strings.Contains(logs, frameworkLine) || strings.Contains(logs, `"@module":"sdk.proto"`) {
			t.Fatalf("without TF_LOG the provider still wrote SDK log lines; its stderr:\n%.2000s", logs)
		}
		// go-plugin's own few lines per start (the plugin address) remain:
		// they do not grow with the configuration.
		if strings.Contains(logs, `"@module":"mlops"`) {
			t.Fatalf("without TF_LOG the provider still wrote its own log lines; its stderr:\n%.2000s", logs)
		}
	})
}

// withoutLogVars drops every TF_LOG* variable and TF_ACC_LOG_PATH from env,
// so the test decides alone which logs are asked for.
func withoutLogVars(env []string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "TF_LOG") || strings.HasPrefix(kv, "TF_ACC_LOG_PATH=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// The version set at build time is what -version prints.
func TestVersionFlag(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "provider")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=9.8.7", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "terraform-provider-mlops 9.8.7 (protocol 6)" {
		t.Errorf("-version = %q, %v", out, err)
	}
}
