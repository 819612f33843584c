package mlopsdtest

import (
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"testing"
)

// BuildEchoModel builds the test model server of
// internal/controlplane/runtime/testdata/echomodel (a user command for
// model endpoint variants, see its doc comment) into a temporary
// directory with the go tool, and returns the binary's path.
func BuildEchoModel(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := goruntime.Caller(0)
	if !ok {
		tb.Fatal("cannot locate the mlopsdtest package's source")
	}
	src := filepath.Join(filepath.Dir(file), "..", "controlplane", "runtime", "testdata", "echomodel")
	gotool, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("building the echomodel test server needs the go tool on PATH: %v", err)
	}
	bin := filepath.Join(tb.TempDir(), "echomodel")
	cmd := exec.Command(gotool, "build", "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", src, err, out)
	}
	return bin
}
