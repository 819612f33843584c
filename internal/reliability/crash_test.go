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
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// crashObjects is how many feature stores and how many compute pools the
// crash test applies: 2*crashObjects resources besides the environment.
const crashObjects = 100

const crashConfig = `terraform {
  required_providers {
    mlops = {
      source  = "mlops-as-code/mlops"
      version = "` + providerVersion + `"
    }
  }
}

provider "mlops" {}

resource "mlops_environment" "rel" {
  name = "rel"
  policy = {
    max_gpus = 8
  }
}

resource "mlops_feature_store" "fs" {
  count             = %[1]d
  environment       = mlops_environment.rel.name
  name              = format("fs-%%03d", count.index)
  offline_store_uri = "file:///tmp/mlops-features/${count.index}"
}

resource "mlops_compute_pool" "pool" {
  count       = %[1]d
  environment = mlops_environment.rel.name
  name        = format("pool-%%03d", count.index)
  min_nodes   = 1
  max_nodes   = 2
}
`

// TestCrashDuringApply kills mlopsd (SIGKILL, on its SQLite file) while a
// terraform apply of 201 resources runs, restarts it on the same file, and
// applies again: the second apply converges, every object exists once, the
// plan is empty, and every object the API had acknowledged before the kill
// is still there, with the same uid.
func TestCrashDuringApply(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("the crash test runs terraform; it runs only with TF_ACC=1 (make test)")
	}
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		var err error
		if tf, err = exec.LookPath("terraform"); err != nil {
			t.Fatal("terraform is not on PATH; install Terraform 1.11+")
		}
	}
	cliConfig := providerMirror(t)
	dir := t.TempDir()
	port := freePort(t)
	args := []string{"-data", filepath.Join(dir, "mlops.db"), "-runs-dir", filepath.Join(dir, "runs"), "-reconcile-interval", "50ms"}
	first := startMlopsd(t, port, args...)

	work := filepath.Join(dir, "tf")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(fmt.Sprintf(crashConfig, crashObjects)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+cliConfig,
		"MLOPS_ENDPOINT="+first.URL,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
	)
	terraform := func(args ...string) *exec.Cmd {
		cmd := exec.Command(tf, args...)
		cmd.Dir = work
		cmd.Env = env
		return cmd
	}
	if out, err := terraform("init", "-input=false", "-no-color").CombinedOutput(); err != nil {
		t.Fatalf("terraform init: %v\n%s", err, out)
	}

	apply := terraform("apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=10")
	applyOut := &syncBuffer{}
	apply.Stdout, apply.Stderr = applyOut, applyOut
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	applyDone := make(chan error, 1)
	go func() { applyDone <- apply.Wait() }()
	t.Cleanup(func() {
		_ = apply.Process.Kill()
	})

	// Kill mlopsd once about a third of the objects exist.
	ctx := context.Background()
	c := newClient(t, first.URL)
	var acked map[string]string
	eventually(t, 60*time.Second, "a third of the objects created", func() error {
		select {
		case err := <-applyDone:
			applyDone <- err
			return nil
		default:
		}
		names, err := listNames(ctx, t, c, "rel")
		if err != nil {
			return err
		}
		if len(names) < 2*crashObjects/3 {
			return fmt.Errorf("%d objects so far", len(names))
		}
		acked = names
		return nil
	})
	if acked == nil {
		t.Fatalf("the first apply ended before the kill:\n%s", applyOut)
	}
	first.kill()
	t.Logf("killed mlopsd with %d objects acknowledged", len(acked))
	second := startMlopsd(t, port, args...)

	// The first apply may finish (the provider retries) or fail; either is
	// fine as long as the next one converges.
	select {
	case err := <-applyDone:
		t.Logf("first apply: %v\n%s", err, tail(applyOut.String(), 3000))
	case <-time.After(90 * time.Second):
		t.Fatalf("the first apply hangs:\n%s", applyOut)
	}

	if out, err := terraform("apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=10").CombinedOutput(); err != nil {
		t.Fatalf("second apply: %v\n%s\nmlopsd:\n%s", err, tail(string(out), 5000), tail(second.stderr.String(), 3000))
	}

	names, err := listNames(ctx, t, newClient(t, second.URL), "rel")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2*crashObjects {
		t.Errorf("%d objects after the second apply, want %d", len(names), 2*crashObjects)
	}
	for name, uid := range acked {
		if got, ok := names[name]; !ok {
			t.Errorf("%s was acknowledged before the kill and is gone", name)
		} else if got != uid {
			t.Errorf("%s was acknowledged with uid %s and now has uid %s", name, uid, got)
		}
	}
	out, err := terraform("state", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("terraform state list: %v\n%s", err, out)
	}
	if n := len(strings.Fields(string(out))); n != 2*crashObjects+1 {
		t.Errorf("the state has %d resources, want %d", n, 2*crashObjects+1)
	}
	plan := terraform("plan", "-detailed-exitcode", "-input=false", "-no-color", "-parallelism=10")
	if out, err := plan.CombinedOutput(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 2 {
			t.Errorf("the plan after the second apply is not empty:\n%s", tail(string(out), 5000))
		} else {
			t.Errorf("terraform plan: %v\n%s", err, tail(string(out), 5000))
		}
	}
	// Every pool converged too, after the restart.
	pools, err := newClient(t, second.URL).ListComputePools(ctx, "rel", api.ListOptions{Limit: api.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pools.Items {
		if p.Status.Phase != api.PhaseReady || p.Status.CurrentNodes != 1 {
			t.Errorf("pool %s: phase %q with %d nodes, want ready with 1", p.Metadata.Name, p.Status.Phase, p.Status.CurrentNodes)
		}
	}
	// The kill must not have broken the hash-chained audit log.
	if out, err := exec.Command(mlopsdBinary(t), "audit", "verify", "-data", filepath.Join(dir, "mlops.db")).CombinedOutput(); err != nil {
		t.Errorf("mlopsd audit verify after the crash: %v\n%s", err, out)
	} else {
		t.Logf("audit verify: %s", strings.TrimSpace(string(out)))
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
