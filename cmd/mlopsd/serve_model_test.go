package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// serveModelMain is main for a test binary started as a model replica.
func serveModelMain() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "mlopsd:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func writeModel(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return "file://" + path
}

// TestProcessBackends runs replicas as real child processes: this test
// binary started again as "mlopsd serve-model".
func TestProcessBackends(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b := runtime.NewProcessBackends(exe)
	t.Cleanup(b.Close)
	ctx := context.Background()
	key := runtime.BackendKey{EndpointUID: "uid", Variant: "primary", Version: "v1"}
	url, err := b.Ensure(ctx, key, runtime.BackendSpec{ArtifactURI: writeModel(t, `{"slope": 2, "intercept": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx, url); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+"/predict", "application/json", bytes.NewReader([]byte(`{"inputs": [10]}`)))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Prediction float64 }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Prediction != 21 {
		t.Fatalf("prediction = %+v, %v", out, err)
	}
	_ = resp.Body.Close()
	if again, err := b.Ensure(ctx, key, runtime.BackendSpec{ArtifactURI: "file:///unused"}); err != nil || again != url {
		t.Fatalf("second Ensure = %q, %v; want the running %q", again, err, url)
	}

	// A broken artifact: the replica exits and says why.
	bad := runtime.BackendKey{EndpointUID: "uid", Variant: "primary", Version: "bad"}
	if _, err := b.Ensure(ctx, bad, runtime.BackendSpec{ArtifactURI: writeModel(t, "not a model")}); err == nil || !strings.Contains(err.Error(), "not an mlops-linear model") {
		t.Fatalf("broken artifact: err = %v", err)
	}
	if got := b.Keys("uid"); len(got) != 1 || got[0] != key {
		t.Fatalf("keys = %+v", got)
	}

	// A replica whose process dies reads as not running, so the reconciler
	// starts it again.
	b.Stop(key)
	if b.Running(key) != "" || len(b.Keys("uid")) != 0 {
		t.Fatal("a stopped replica still runs")
	}
	url2, err := b.Ensure(ctx, key, runtime.BackendSpec{ArtifactURI: writeModel(t, `{"weights": [1, 1], "bias": 0}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx, url2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	killReplicas(t)
	for b.Running(key) != "" {
		if time.Now().After(deadline) {
			t.Fatal("a killed replica still reads as running")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestProcessBackends_DrainsInFlightRequest: a stopped serve-model
// replica gets SIGTERM, stops listening and finishes the request in flight.
func TestProcessBackends_DrainsInFlightRequest(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b := runtime.NewProcessBackends(exe)
	t.Cleanup(b.Close)
	key := runtime.BackendKey{EndpointUID: "uid", Variant: "primary", Version: "v1"}
	url, err := b.Ensure(t.Context(), key, runtime.BackendSpec{ArtifactURI: writeModel(t, `{"slope": 2, "intercept": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	finish := mlopsdtest.StartInFlightPredict(t, url, `{"inputs": [10]}`)
	b.Stop(key)
	mlopsdtest.WaitRefused(t, url)
	if status, body := finish(); status != http.StatusOK || !strings.Contains(body, `"prediction":21`) {
		t.Fatalf("the request in flight got %d %s", status, body)
	}
}

func TestServeModelCommand_Flags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-artifact is required"},
		{[]string{"-artifact", "file:///m.json", "extra"}, `unexpected argument "extra"`},
		{[]string{"-artifact", "file:///m.json", "-drain-timeout", "0s"}, "use a positive duration"},
	} {
		err := serveModelCommand(t.Context(), tc.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

// killReplicas kills, from outside and as a crash would, every serve-model
// child process of this test (one is running when it is called).
func killReplicas(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc to find the replica's process")
	}
	self := fmt.Sprint(os.Getpid())
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The parent pid is the fourth field (the command name holds no
		// spaces here: it is this test binary's).
		fields := strings.Fields(string(stat))
		if len(fields) < 4 || fields[3] != self {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if !strings.Contains(string(cmdline), runtime.ServeModelCommand) {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
