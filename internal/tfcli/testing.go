package tfcli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Terraform returns the terraform binary tests run: TF_ACC_TERRAFORM_PATH,
// as terraform-plugin-testing uses it, else terraform on PATH. It skips
// the test unless TF_ACC is set, since these tests run terraform.
func Terraform(tb testing.TB) string {
	tb.Helper()
	if os.Getenv("TF_ACC") == "" {
		tb.Skip("this test runs terraform; it runs only with TF_ACC=1 (make test)")
	}
	if tf := os.Getenv("TF_ACC_TERRAFORM_PATH"); tf != "" {
		return tf
	}
	tf, err := exec.LookPath("terraform")
	if err != nil {
		tb.Fatal("terraform is not on PATH; install Terraform 1.11+ or set TF_ACC_TERRAFORM_PATH")
	}
	return tf
}

// Mirror builds the provider into a filesystem mirror in a temporary
// directory of tb and returns the CLI configuration that installs it.
func Mirror(tb testing.TB) string {
	tb.Helper()
	root, err := RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := BuildMirror(root, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// Run runs terraform with args in dir with env, logs its output, and fails
// the test with the output when it fails.
func Run(tb testing.TB, tf, dir string, env []string, args ...string) string {
	tb.Helper()
	out, err := Try(tf, dir, env, args...)
	if err != nil {
		tb.Fatalf("terraform %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	tb.Logf("terraform %s:\n%s", strings.Join(args, " "), out)
	return out
}

// Try runs terraform with args in dir with env and returns its combined
// output and error, for runs that are meant to fail.
func Try(tf, dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command(tf, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Copy copies the directory src to a new directory dst (which must not
// exist), so that terraform's .terraform, lock file and state stay out of
// the checkout.
func Copy(tb testing.TB, src, dst string) {
	tb.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		tb.Fatalf("copying %s: %v", filepath.Base(src), err)
	}
}
