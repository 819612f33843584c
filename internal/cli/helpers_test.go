package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

func TestMain(m *testing.M) {
	mlopsdtest.ServeBatchScorer()
	os.Exit(m.Run())
}

// waitTimeout bounds the waits of these tests.
const waitTimeout = 30 * time.Second

// fixture is a real in-process mlopsd, a client of it, and the environment
// mlopsctl runs with: MLOPS_ENDPOINT pointing at it and a config file in a
// temporary directory.
type fixture struct {
	t   *testing.T
	ctx context.Context
	srv *mlopsdtest.Server
	c   *client.Client
	env map[string]string
	dir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := mlopsdtest.Start(t)
	return newFixtureFor(t, srv, "")
}

// newFixtureFor talks to srv with token (empty for none).
func newFixtureFor(t *testing.T, srv *mlopsdtest.Server, token string) *fixture {
	t.Helper()
	c, err := client.New(client.Config{Endpoint: srv.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := map[string]string{"MLOPS_ENDPOINT": srv.URL, "MLOPS_CONFIG": filepath.Join(dir, "config.json")}
	if token != "" {
		env["MLOPS_TOKEN"] = token
	}
	return &fixture{t: t, ctx: t.Context(), srv: srv, c: c, env: env, dir: dir}
}

// result is what one run of mlopsctl printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// run runs mlopsctl with args and no standard input.
func (f *fixture) run(args ...string) result {
	f.t.Helper()
	return f.runStdin("", args...)
}

func (f *fixture) runStdin(stdin string, args ...string) result {
	f.t.Helper()
	var out, errOut bytes.Buffer
	code := Main(f.ctx, args, IO{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return f.env[k] },
	})
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// ok runs mlopsctl and fails the test unless it exits 0.
func (f *fixture) ok(args ...string) string {
	f.t.Helper()
	r := f.run(args...)
	if r.code != ExitOK {
		f.t.Fatalf("mlopsctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// want runs mlopsctl and fails the test unless it exits with code.
func (f *fixture) want(code int, args ...string) result {
	f.t.Helper()
	r := f.run(args...)
	if r.code != code {
		f.t.Fatalf("mlopsctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// writeModel writes an mlops-linear model and returns its URI and sha256.
func writeModel(t *testing.T, slope float64) (uri, sum string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.json")
	b := []byte(`{"slope": ` + strconv.FormatFloat(slope, 'g', -1, 64) + `, "intercept": 1}`)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return (&url.URL{Scheme: "file", Path: path}).String(), hex.EncodeToString(s[:])
}

// createEnv creates environment name with a local compute pool cpu and a
// model m, as most tests need.
func (f *fixture) createEnv(name string, policy api.EnvironmentPolicy) {
	f.t.Helper()
	mlopsdtest.Must(f.c.CreateEnvironment(f.ctx, name, api.EnvironmentSpec{Policy: policy}))(f.t)
	mlopsdtest.Must(f.c.CreateComputePool(f.ctx, name, "cpu", api.ComputePoolSpec{Driver: api.DriverLocal, MaxNodes: 2}))(f.t)
	mlopsdtest.Must(f.c.CreateModel(f.ctx, name, "m", api.ModelSpec{TaskType: api.TaskRegression}))(f.t)
}

// createVersion registers model version name of model m, pending approval.
func (f *fixture) createVersion(env, name string, slope float64) {
	f.t.Helper()
	uri, sum := writeModel(f.t, slope)
	mlopsdtest.Must(f.c.CreateModelVersion(f.ctx, env, name, api.ModelVersionSpec{
		Model: "m", ArtifactURI: uri, ArtifactSHA256: sum, Framework: api.FrameworkMLOpsLinear,
		Inputs:   []api.ModelSignatureField{{Name: "x", ValueType: api.ValueTypeFloat64}},
		Approval: api.ApprovalRequest{Status: api.ApprovalPending},
	}))(f.t)
}

// waitEndpointReady waits until endpoint name in env is ready.
func (f *fixture) waitEndpointReady(env, name string) {
	f.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ep, err := f.c.GetModelEndpoint(f.ctx, env, name)
		if err != nil {
			f.t.Fatal(err)
		}
		if ep.Status.Phase == api.PhaseReady && ep.Status.ObservedGeneration >= ep.Metadata.Generation {
			return
		}
		if ep.Status.Phase == api.PhaseFailed || time.Now().After(deadline) {
			f.t.Fatalf("endpoint %s/%s: %s (%s)", env, name, ep.Status.Phase, ep.Status.Message)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
