package reconcile_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// healthOf returns what a replica's GET /healthz answers.
func healthOf(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEndpoint_ReplicaResourcesReachCommandAndRollOut: a user command
// replica gets its variant's cpu_millicores and memory_mib as
// MLOPS_CPU_MILLICORES and MLOPS_MEMORY_MIB; changing them is rolled out
// like a new version (new replicas next to the old ones, then the old
// ones stop), and the status says what serves.
func TestEndpoint_ReplicaResourcesReachCommandAndRollOut(t *testing.T) {
	echo := mlopsdtest.BuildEchoModel(t)
	ro := api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 50, BakeTimeSeconds: 60}
	res := api.ReplicaResources{CPUMillicores: 1500, MemoryMiB: 256}
	e := newEndpointFixtureWith(t, ro, func(s *api.ModelEndpointSpec) {
		s.Variants[0].ModelVersion, s.Variants[0].Command, s.Variants[0].ReplicaResources = "echo", []string{echo}, res
	})
	e.addVersion("echo", `{"scale": 2}`, "echomodel")
	st := e.pass()
	if st.Phase != api.PhaseReady || st.Variants[0].ReplicaResources != res || len(st.Variants[0].Backends) != 2 {
		t.Fatalf("after create: %+v", st)
	}
	for _, u := range st.Variants[0].Backends {
		if h := healthOf(t, u); h["cpu_millicores"] != "1500" || h["memory_mib"] != "256" {
			t.Fatalf("replica %s sees %v; want MLOPS_CPU_MILLICORES=1500 and MLOPS_MEMORY_MIB=256", u, h)
		}
	}

	// Only memory changes, and cpu goes away: a rollout of the same version.
	bigger := api.ReplicaResources{MemoryMiB: 512}
	spec := e.spec("echo", ro)
	spec.Variants[0].ReplicaResources = bigger
	e.updateSpec(e.ref, spec)
	st = e.pass()
	if st.Phase != api.PhaseRollingOut || st.Rollout == nil || st.Rollout.ReplicaResources != bigger || st.Variants[0].CanaryPercent != 50 ||
		st.Variants[0].ReplicaResources != res || !strings.Contains(st.Message, "memory_mib = 512 (before: cpu_millicores = 1500, memory_mib = 256)") {
		t.Fatalf("first step: %+v", st)
	}
	for _, u := range st.Variants[0].CanaryBackends {
		if h := healthOf(t, u); h["memory_mib"] != "512" || h["cpu_millicores"] != nil {
			t.Fatalf("new replica %s sees %v; want MLOPS_MEMORY_MIB=512 and no MLOPS_CPU_MILLICORES", u, h)
		}
	}
	for range 3 {
		e.clock = e.clock.Add(time.Minute)
		st = e.pass()
	}
	if st.Phase != api.PhaseReady || st.Rollout != nil || st.Variants[0].ReplicaResources != bigger || st.Variants[0].ModelVersion != "echo" {
		t.Fatalf("after the rollout: %+v", st)
	}
	if h := st.RolloutHistory[len(st.RolloutHistory)-1]; h.Result != api.RolloutSucceeded || !strings.Contains(h.Message, "replicas with memory_mib = 512") {
		t.Fatalf("history = %+v", h)
	}
	keys := e.b.Keys(e.obj().Meta.UID)
	if len(keys) != 2 || keys[0].Resources != bigger || keys[1].Resources != bigger {
		t.Fatalf("replicas = %+v; want only the two with the new requests", keys)
	}
}
