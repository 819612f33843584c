package runtime_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestModelHandler_Statuses: the caller's bad input is 400, a model that
// overflows is 500, both with {"error": ...}.
func TestModelHandler_Statuses(t *testing.T) {
	for _, tc := range []struct {
		model, body string
		status      int
		want        string
	}{
		{`{"slope": 2, "intercept": 1}`, `{"inputs": [10]}`, http.StatusOK, `"prediction":21`},
		{`{"slope": 2, "intercept": 1}`, `{"inputs": [1, 2]}`, http.StatusBadRequest, "takes 1 inputs, got 2"},
		{`{"slope": 2, "intercept": 1}`, `not json`, http.StatusBadRequest, `{\"inputs\": [numbers]}`},
		{`{"weights": [1e308], "bias": 0}`, `{"inputs": [10]}`, http.StatusInternalServerError, "not a finite number"},
		// Zeros still predict the bias: the health/predict check passes.
		{`{"weights": [1e308], "bias": 0}`, `{"inputs": [0]}`, http.StatusOK, `"prediction":0`},
	} {
		m, err := runtime.ParseLinearModel([]byte(tc.model))
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(runtime.ModelHandler(m))
		status, body := post(t, srv.URL+"/predict", tc.body)
		srv.Close()
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s with %s = %d %s; want %d with %s", tc.model, tc.body, status, body, tc.status, tc.want)
		}
		if status != http.StatusOK {
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("%s with %s: body %q is not {\"error\": ...}", tc.model, tc.body, body)
			}
		}
	}
}

// TestLocalBackends_DrainsInFlightRequest: stopping an in-process replica
// returns at once, the replica stops listening, and a request that was in
// flight still completes with 200.
func TestLocalBackends_DrainsInFlightRequest(t *testing.T) {
	b := runtime.NewLocalBackends()
	t.Cleanup(b.Close)
	key := runtime.BackendKey{EndpointUID: "uid", Variant: "primary", Version: "v1"}
	url, err := b.Ensure(t.Context(), key, runtime.BackendSpec{ArtifactURI: "file://" + writeFile(t, "model.json", `{"slope": 2, "intercept": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	finish := mlopsdtest.StartInFlightPredict(t, url, `{"inputs": [10]}`)
	b.Stop(key)
	if b.Running(key) != "" || len(b.Keys("uid")) != 0 {
		t.Fatal("a stopped replica is still listed")
	}
	mlopsdtest.WaitRefused(t, url)
	if status, body := finish(); status != http.StatusOK || !strings.Contains(body, `"prediction":21`) {
		t.Fatalf("the request in flight got %d %s", status, body)
	}
}

// backendImpls are both implementations; command replicas need no mlopsd
// executable.
func backendImpls() map[string]func() runtime.ModelBackends {
	return map[string]func() runtime.ModelBackends{
		"inprocess": func() runtime.ModelBackends {
			b := runtime.NewLocalBackends()
			b.StartTimeout, b.DrainTimeout = 5*time.Second, 300*time.Millisecond
			return b
		},
		"process": func() runtime.ModelBackends {
			b := runtime.NewProcessBackends("/nonexistent/mlopsd")
			b.StartTimeout, b.DrainTimeout = 5*time.Second, 300*time.Millisecond
			return b
		},
	}
}

// TestCommandReplicas runs a real user model server (testdata/echomodel,
// built with go build) as command replicas of both implementations.
func TestCommandReplicas(t *testing.T) {
	echo := mlopsdtest.BuildEchoModel(t)
	artifact := "file://" + writeFile(t, "model.json", `{"scale": 2}`)
	for name, newBackends := range backendImpls() {
		t.Run(name, func(t *testing.T) {
			b := newBackends()
			t.Cleanup(b.Close)
			ctx := t.Context()
			key := runtime.BackendKey{EndpointUID: "uid", Variant: "primary", Version: "v1", CommandDigest: runtime.CommandDigest([]string{echo})}
			url, err := b.Ensure(ctx, key, runtime.BackendSpec{ArtifactURI: artifact, Command: []string{echo}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(url, "http://127.0.0.1:") {
				t.Fatalf("url = %q", url)
			}
			// MLOPS_ARTIFACT_PATH located the model, MLOPS_MODEL_URI named it.
			status, body := post(t, url+"/predict", `{"inputs": [1, 2]}`)
			if status != http.StatusOK || !strings.Contains(body, `"prediction":6`) || !strings.Contains(body, `"model_uri":"`+artifact+`"`) {
				t.Fatalf("predict = %d %s", status, body)
			}
			// Its /healthz says no input count: the check is the health route.
			if err := b.Check(ctx, url); err != nil {
				t.Fatal(err)
			}
			if again, err := b.Ensure(ctx, key, runtime.BackendSpec{ArtifactURI: artifact, Command: []string{echo}}); err != nil || again != url {
				t.Fatalf("second Ensure = %q, %v; want the running %q", again, err, url)
			}

			// With an input count the zeros prediction is checked too.
			withInputs := []string{echo, "-inputs", "3"}
			k2 := runtime.BackendKey{EndpointUID: "uid", Variant: "primary", Version: "v1", CommandDigest: runtime.CommandDigest(withInputs), Replica: 1}
			url2, err := b.Ensure(ctx, k2, runtime.BackendSpec{ArtifactURI: artifact, Command: withInputs})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Check(ctx, url2); err != nil {
				t.Fatal(err)
			}

			// A command that exits: the error names it and quotes its output.
			bad := runtime.BackendKey{EndpointUID: "uid", Variant: "primary", Version: "bad"}
			_, err = b.Ensure(ctx, bad, runtime.BackendSpec{ArtifactURI: artifact, Command: []string{echo, "-exit-with", "no GPU found"}})
			if err == nil || !strings.Contains(err.Error(), echo+" -exit-with no GPU found") || !strings.Contains(err.Error(), "exited (exit status 3)") ||
				!strings.Contains(err.Error(), "its output ends: no GPU found") {
				t.Fatalf("exiting command: err = %v", err)
			}
			// An artifact it cannot read makes it exit too.
			_, err = b.Ensure(ctx, bad, runtime.BackendSpec{ArtifactURI: "file://" + writeFile(t, "other.json", `[]`), Command: []string{echo}})
			if err == nil || !strings.Contains(err.Error(), "is not an echomodel artifact") {
				t.Fatalf("unreadable artifact: err = %v", err)
			}
			// One that never answers 200 is stopped after the start timeout.
			slow := runtime.BackendKey{EndpointUID: "uid", Variant: "primary", Version: "slow"}
			switch bb := b.(type) {
			case *runtime.LocalBackends:
				bb.StartTimeout = 300 * time.Millisecond
			case *runtime.ProcessBackends:
				bb.StartTimeout = 300 * time.Millisecond
			}
			_, err = b.Ensure(ctx, slow, runtime.BackendSpec{ArtifactURI: artifact, Command: []string{echo, "-never-healthy"}})
			if err == nil || !strings.Contains(err.Error(), "did not answer GET /healthz with 200") || !strings.Contains(err.Error(), "echomodel: serving") {
				t.Fatalf("never healthy: err = %v", err)
			}
			// A command that is not there.
			_, err = b.Ensure(ctx, bad, runtime.BackendSpec{ArtifactURI: artifact, Command: []string{"/nonexistent/model-server"}})
			if err == nil || !strings.Contains(err.Error(), `"/nonexistent/model-server"`) {
				t.Fatalf("missing command: err = %v", err)
			}
			if got := b.Keys("uid"); len(got) != 2 || !slices.Contains(got, key) || !slices.Contains(got, k2) {
				t.Fatalf("keys = %+v", got)
			}

			// Stopping drains: SIGTERM, and the request in flight completes.
			finish := mlopsdtest.StartInFlightPredict(t, url, `{"inputs": [5]}`)
			b.Stop(key)
			if b.Running(key) != "" {
				t.Fatal("a stopped replica still runs")
			}
			mlopsdtest.WaitRefused(t, url)
			if status, body := finish(); status != http.StatusOK || !strings.Contains(body, `"prediction":10`) {
				t.Fatalf("the request in flight got %d %s", status, body)
			}
		})
	}
}

// TestCommandReplicas_KilledAfterDrainTimeout: a command that ignores
// SIGTERM gets SIGKILL once the drain timeout passed; Close waits for it.
func TestCommandReplicas_KilledAfterDrainTimeout(t *testing.T) {
	echo := mlopsdtest.BuildEchoModel(t)
	for name, newBackends := range backendImpls() {
		t.Run(name, func(t *testing.T) {
			b := newBackends()
			cmd := []string{echo, "-ignore-sigterm"}
			key := runtime.BackendKey{EndpointUID: "uid", Variant: "primary", Version: "v1", CommandDigest: runtime.CommandDigest(cmd)}
			url, err := b.Ensure(t.Context(), key, runtime.BackendSpec{ArtifactURI: "s3://bucket/model", Command: cmd})
			if err != nil {
				t.Fatal(err)
			}
			b.Stop(key)
			// SIGTERM changed nothing: it still answers.
			if status, _ := post(t, url+"/predict", `{"inputs": [1]}`); status != http.StatusOK {
				t.Fatalf("predict after SIGTERM = %d", status)
			}
			b.Close()
			if _, err := http.Get(url + "/healthz"); err == nil {
				t.Fatal("the replica still answers after Close")
			}
		})
	}
}

func TestCommandDigest(t *testing.T) {
	if runtime.CommandDigest(nil) != "" {
		t.Fatal("no command has a digest")
	}
	a, b := runtime.CommandDigest([]string{"serve", "a b"}), runtime.CommandDigest([]string{"serve a", "b"})
	if a == "" || a == b || a != runtime.CommandDigest([]string{"serve", "a b"}) {
		t.Fatalf("digests %q and %q", a, b)
	}
}

// TestLocalBackends_CloseStopsEveryReplica: Close returns once every
// replica stopped.
func TestLocalBackends_CloseStopsEveryReplica(t *testing.T) {
	b := runtime.NewLocalBackends()
	var urls []string
	for i := range 3 {
		u, err := b.Ensure(context.Background(), runtime.BackendKey{EndpointUID: "uid", Variant: "v", Version: "v1", Replica: i},
			runtime.BackendSpec{ArtifactURI: "file://" + writeFile(t, "model.json", `{"slope": 1, "intercept": 0}`)})
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, u)
	}
	b.Close()
	for _, u := range urls {
		if _, err := http.Get(u + "/healthz"); err == nil {
			t.Fatalf("%s still answers after Close", u)
		}
	}
}

// TestProcessBackends_ResourceEnv: a built-in replica run as a process
// starts with GOMAXPROCS = ceil(cpu_millicores / 1000) and GOMEMLIMIT from
// memory_mib, in place of mlopsd's own. The stand-in executable says what
// it got in the URL it announces.
func TestProcessBackends_ResourceEnv(t *testing.T) {
	t.Setenv("GOMAXPROCS", "7")
	script := writeFile(t, "fake-mlopsd", "#!/bin/sh\necho \"listening on http://127.0.0.1:1/procs=$GOMAXPROCS/limit=$GOMEMLIMIT\"\nexec sleep 30\n")
	if err := os.Chmod(script, 0o700); err != nil {
		t.Fatal(err)
	}
	b := runtime.NewProcessBackends(script)
	b.DrainTimeout = 100 * time.Millisecond
	t.Cleanup(b.Close)
	for _, tc := range []struct {
		res  api.ReplicaResources
		want string
	}{
		{api.ReplicaResources{CPUMillicores: 1500, MemoryMiB: 300}, "/procs=2/limit=300MiB"},
		{api.ReplicaResources{CPUMillicores: 250}, "/procs=1/limit="},
		{api.ReplicaResources{}, "/procs=7/limit="},
	} {
		key := runtime.BackendKey{EndpointUID: "uid", Variant: "primary", Version: "v1", Resources: tc.res}
		url, err := b.Ensure(t.Context(), key, runtime.BackendSpec{ArtifactURI: "file:///unused", Resources: tc.res})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(url, tc.want) {
			t.Errorf("%+v: the replica saw %q, want %q", tc.res, url, tc.want)
		}
	}
}
