package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// endpointFixture adds pool cpu, model version v1 (predicts 2x+1) and
// endpoint api serving it to an RBAC fixture, and waits until it is ready.
func endpointFixture(t *testing.T) (*apiClient, map[string]*apiClient) {
	t.Helper()
	admin, c := rbacFixture(t)
	createPool(admin, "dev", "cpu", api.ComputePoolSpec{MaxNodes: 1})
	content := []byte(`{"slope": 2, "intercept": 1}`)
	path := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	admin.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: "v1", Spec: api.ModelVersionSpec{
		Model: "churn", ArtifactURI: "file://" + path, ArtifactSHA256: hex.EncodeToString(sum[:]), Framework: api.FrameworkMLOpsLinear,
		Approval: api.ApprovalRequest{Status: api.ApprovalPending},
	}})
	admin.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelEndpoint, ""), api.CreateModelEndpointRequest{Name: "api", Spec: endpointSpec(100)})
	admin.waitFor(objPath("dev", api.KindModelEndpoint, "api"), 20*time.Second, func(r response) bool {
		ep := decode[api.ModelEndpoint](t, r)
		return ep.Status.Phase == api.PhaseReady && ep.Status.ObservedGeneration == ep.Metadata.Generation
	})
	return admin, c
}

func endpointSpec(traffic int64) api.ModelEndpointSpec {
	return api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v1", ComputePool: "cpu", Replicas: 2, TrafficPercent: traffic}},
		Shadow:   &api.EndpointVariant{Name: "shadow", ModelVersion: "v1", ComputePool: "cpu", Replicas: 1},
		Rollout:  api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
	}
}

func TestModelEndpoint_PredictNeedsInvoker(t *testing.T) {
	admin, c := endpointFixture(t)
	predict := objPath("dev", api.KindModelEndpoint, "api") + "/predict"
	body := api.PredictRequest{Inputs: []float64{10}}
	wantError(t, c["viewer"].do(http.MethodPost, predict, body), http.StatusForbidden, api.EFORBIDDEN, "")
	wantError(t, c["nobody"].do(http.MethodPost, predict, body), http.StatusForbidden, api.EFORBIDDEN, "")
	for _, who := range []string{"invoker", "editor", "owner"} {
		got := decode[api.PredictResponse](t, c[who].must(http.StatusOK, http.MethodPost, predict, body))
		if got != (api.PredictResponse{Variant: "primary", ModelVersion: "v1", Prediction: 21}) {
			t.Fatalf("%s: predict = %+v", who, got)
		}
	}
	r := c["invoker"].do(http.MethodPost, predict, api.PredictRequest{Inputs: []float64{1, 2}})
	e := wantError(t, r, http.StatusBadRequest, api.EINVALID, "inputs")
	if !strings.HasPrefix(e.Message, `variant "primary" (model version "v1"): `) || r.Header.Get(api.HeaderVariant) != "primary" || r.Header.Get(api.HeaderModelVersion) != "v1" {
		t.Fatalf("bad inputs: message %q, headers %v; want the variant and version named", e.Message, r.Header)
	}
	wantError(t, c["invoker"].do(http.MethodPost, objPath("dev", api.KindModelEndpoint, "missing")+"/predict", body), http.StatusNotFound, api.ENOTFOUND, "")

	// The gateway's per-variant metrics, the shadow's copies included; a
	// bad input is the caller's error, not the variant's.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := string(admin.must(http.StatusOK, http.MethodGet, "/metrics", nil).Body)
		if strings.Contains(m, `mlopsd_endpoint_invocations_total{endpoint="api",env="dev",model_version="v1",variant="primary"} 4`) &&
			strings.Contains(m, `mlopsd_endpoint_invocations_total{endpoint="api",env="dev",model_version="v1",variant="shadow"} 4`) &&
			strings.Contains(m, `mlopsd_endpoint_errors_total{endpoint="api",env="dev",model_version="v1",variant="primary"} 0`) &&
			strings.Contains(m, `mlopsd_endpoint_latency_seconds_count{endpoint="api",env="dev",model_version="v1",variant="primary"} 4`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack the endpoint series:\n%s", m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestModelEndpoint_Validation(t *testing.T) {
	admin, _ := endpointFixture(t)
	coll := objPath("dev", api.KindModelEndpoint, "")
	create := func(spec api.ModelEndpointSpec) response {
		return admin.do(http.MethodPost, coll, api.CreateModelEndpointRequest{Name: "other", Spec: spec})
	}
	wantError(t, create(endpointSpec(90)), http.StatusBadRequest, api.EINVALID, "spec.variants")
	s := endpointSpec(100)
	s.Shadow.TrafficPercent = 5
	wantError(t, create(s), http.StatusBadRequest, api.EINVALID, "spec.shadow.traffic_percent")
	s = endpointSpec(100)
	s.Variants[0].Autoscaling = &api.EndpointAutoscaling{MinReplicas: 1, MaxReplicas: 2}
	wantError(t, create(s), http.StatusBadRequest, api.EINVALID, "spec.variants[0].replicas")
	s = endpointSpec(100)
	s.Rollout.Strategy = "yolo"
	wantError(t, create(s), http.StatusBadRequest, api.EINVALID, "spec.rollout.strategy")
	s = endpointSpec(100)
	s.Variants[0].ComputePool = "gpu"
	wantError(t, create(s), http.StatusBadRequest, api.EINVALID, "spec.variants[0].compute_pool")

	// An environment that serves only approved versions refuses v1 (pending).
	admin.must(http.StatusCreated, http.MethodPost, "/v1/environments", api.CreateEnvironmentRequest{Name: "strict", Spec: api.EnvironmentSpec{Policy: api.EnvironmentPolicy{RequireApprovedModels: true}}})
	env := decode[api.Environment](t, admin.must(http.StatusOK, http.MethodGet, envPath("strict"), nil))
	if !env.Spec.Policy.RequireApprovedModels {
		t.Fatalf("policy = %+v", env.Spec.Policy)
	}
	env = decode[api.Environment](t, admin.must(http.StatusOK, http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Policy: api.EnvironmentPolicy{RequireApprovedModels: true}}}))
	e := wantError(t, create(endpointSpec(100)), http.StatusBadRequest, api.EINVALID, "spec.variants[0].model_version")
	if !strings.Contains(e.Message, "require_approved_models") {
		t.Fatalf("message = %q", e.Message)
	}
}

func TestModelEndpoint_ConflictsWhileRollingOutAndServedVersions(t *testing.T) {
	admin, _ := endpointFixture(t)
	item := objPath("dev", api.KindModelEndpoint, "api")
	v1 := decode[api.ModelVersion](t, admin.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindModelVersion, "v1"), nil))
	v2 := v1.Spec
	v2.ApprovalHistory = nil
	admin.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: "v2", Spec: v2})

	// A version an endpoint serves cannot be deleted.
	e := wantError(t, admin.do(http.MethodDelete, objPath("dev", api.KindModelVersion, "v1"), nil), http.StatusConflict, api.ECONFLICT, "")
	if !strings.Contains(e.Message, `served by model endpoint "api"`) {
		t.Fatalf("message = %q", e.Message)
	}

	// A canary with a long bake stays rolling_out.
	spec := endpointSpec(100)
	spec.Variants[0].ModelVersion = "v2"
	spec.Rollout = api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 25, BakeTimeSeconds: 3600}
	admin.must(http.StatusOK, http.MethodPut, item, api.UpdateModelEndpointRequest{Spec: spec})
	admin.waitFor(item, 20*time.Second, func(r response) bool {
		ep := decode[api.ModelEndpoint](t, r)
		return ep.Status.Phase == api.PhaseRollingOut && ep.Status.Variants[0].CanaryPercent == 25
	})
	// A second version change while it runs is a conflict, naming the field.
	other := spec
	other.Variants = []api.EndpointVariant{spec.Variants[0]}
	other.Variants[0].ModelVersion = "v1"
	e = wantError(t, admin.do(http.MethodPut, item, api.UpdateModelEndpointRequest{Spec: other}), http.StatusConflict, api.ECONFLICT, "spec.variants[0].model_version")
	if !strings.Contains(e.Message, "is in progress") {
		t.Fatalf("message = %q", e.Message)
	}
	// So is a change of the rolling variant's requests, which would be a
	// rollout of its own.
	other.Variants[0].ModelVersion, other.Variants[0].MemoryMiB = "v2", 256
	e = wantError(t, admin.do(http.MethodPut, item, api.UpdateModelEndpointRequest{Spec: other}), http.StatusConflict, api.ECONFLICT, "spec.variants[0].memory_mib")
	if !strings.Contains(e.Message, "is in progress") {
		t.Fatalf("message = %q", e.Message)
	}
	// Other changes go through.
	spec.Variants[0].Replicas = 3
	admin.must(http.StatusOK, http.MethodPut, item, api.UpdateModelEndpointRequest{Spec: spec})
	// The predictions split between both versions while the canary bakes.
	seen := map[string]bool{}
	for i := 0; i < 200 && len(seen) < 2; i++ {
		got := decode[api.PredictResponse](t, admin.must(http.StatusOK, http.MethodPost, item+"/predict", api.PredictRequest{Inputs: []float64{1}}))
		seen[got.ModelVersion] = true
	}
	if !seen["v1"] || !seen["v2"] {
		t.Fatalf("versions answering during the canary: %v", seen)
	}
}

func TestModelEndpoint_ValidationOfGatesAndCommands(t *testing.T) {
	admin, _ := endpointFixture(t)
	coll := objPath("dev", api.KindModelEndpoint, "")
	create := func(edit func(*api.ModelEndpointSpec)) response {
		s := endpointSpec(100)
		edit(&s)
		return admin.do(http.MethodPost, coll, api.CreateModelEndpointRequest{Name: "other", Spec: s})
	}
	smoke := func(t api.EndpointSmokeTest) func(*api.ModelEndpointSpec) {
		return func(s *api.ModelEndpointSpec) { s.SmokeTest = &t }
	}
	for _, tc := range []struct {
		edit  func(*api.ModelEndpointSpec)
		field string
		words string
	}{
		{smoke(api.EndpointSmokeTest{RequestBody: `[1, 2]`}), "spec.smoke_test.request_body", "must be a JSON object"},
		{smoke(api.EndpointSmokeTest{RequestBody: `not json`}), "spec.smoke_test.request_body", "jsonencode"},
		{smoke(api.EndpointSmokeTest{RequestBody: `null`}), "spec.smoke_test.request_body", "must be a JSON object"},
		{smoke(api.EndpointSmokeTest{RequestBody: `{"inputs": [` + strings.Repeat("1,", 40000) + `1]}`}), "spec.smoke_test.request_body", "at most 65536"},
		{smoke(api.EndpointSmokeTest{RequestBody: `{}`, ExpectedStatus: 99}), "spec.smoke_test.expected_status", ""},
		{smoke(api.EndpointSmokeTest{RequestBody: `{}`, ExpectedStatus: 600}), "spec.smoke_test.expected_status", ""},
		{smoke(api.EndpointSmokeTest{RequestBody: `{}`, JSONPath: "a..b"}), "spec.smoke_test.json_path", "dot-separated"},
		{smoke(api.EndpointSmokeTest{RequestBody: `{}`, JSONPath: "$.prediction"}), "spec.smoke_test.json_path", "dot-separated"},
		{smoke(api.EndpointSmokeTest{RequestBody: `{}`, ExpectedJSONValue: "21"}), "spec.smoke_test.expected_json_value", "set json_path too"},
		{smoke(api.EndpointSmokeTest{RequestBody: `{}`, ExpectedResponseContains: strings.Repeat("x", 5000)}), "spec.smoke_test.expected_response_contains", "at most 4096"},
		{func(s *api.ModelEndpointSpec) { s.Rollout.RollbackAlarms = []string{"ok", "Not_A_Name"} }, "spec.rollout.rollback_alarms[1]", ""},
		{func(s *api.ModelEndpointSpec) { s.Rollout.RollbackAlarms = []string{"a", "b", "a"} }, "spec.rollout.rollback_alarms[2]", "named twice"},
		{func(s *api.ModelEndpointSpec) {
			s.Rollout.RollbackAlarms = strings.Split("a,b,c,d,e,f,g,h,i,j,k", ",")
		}, "spec.rollout.rollback_alarms", "at most 10"},
		{func(s *api.ModelEndpointSpec) { s.Variants[0].Command = make([]string, 65) }, "spec.variants[0].command", "at most 64"},
		{func(s *api.ModelEndpointSpec) { s.Variants[0].Command = []string{" ", "x"} }, "spec.variants[0].command[0]", "name the program"},
		{func(s *api.ModelEndpointSpec) { s.Shadow.Command = []string{"serve", strings.Repeat("x", 4097)} }, "spec.shadow.command[1]", "at most 4096"},
		{func(s *api.ModelEndpointSpec) {
			s.Variants[0].Replicas, s.Variants[0].Autoscaling = 0, &api.EndpointAutoscaling{MinReplicas: 1, MaxReplicas: 2, ScaleInCooldownSeconds: 3601}
		}, "spec.variants[0].autoscaling.scale_in_cooldown_seconds", ""},
	} {
		e := wantError(t, create(tc.edit), http.StatusBadRequest, api.EINVALID, tc.field)
		if !strings.Contains(e.Message, tc.words) {
			t.Errorf("%s: message %q lacks %q", tc.field, e.Message, tc.words)
		}
	}

	// Rollback alarms need not exist yet (alarms name their endpoint), and
	// a good smoke test is taken as is.
	created := decode[api.ModelEndpoint](t, admin.must(http.StatusCreated, http.MethodPost, coll, api.CreateModelEndpointRequest{Name: "gated", Spec: func() api.ModelEndpointSpec {
		s := endpointSpec(100)
		s.Rollout.RollbackAlarms = []string{"errors-high"}
		s.SmokeTest = &api.EndpointSmokeTest{RequestBody: `{"inputs": [10]}`, ExpectedStatus: 200, JSONPath: "prediction", ExpectedJSONValue: "21"}
		return s
	}()}))
	if created.Spec.SmokeTest == nil || created.Spec.SmokeTest.RequestBody != `{"inputs": [10]}` || created.Spec.Rollout.RollbackAlarms[0] != "errors-high" {
		t.Fatalf("spec = %+v", created.Spec)
	}

	// Without a command only mlops-linear versions are served; with one,
	// any framework.
	content := []byte(`{"scale": 2}`)
	path := filepath.Join(t.TempDir(), "model.pkl")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	admin.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: "sk", Spec: api.ModelVersionSpec{
		Model: "churn", ArtifactURI: "file://" + path, ArtifactSHA256: hex.EncodeToString(sum[:]), Framework: "sklearn",
		Approval: api.ApprovalRequest{Status: api.ApprovalPending},
	}})
	e := wantError(t, create(func(s *api.ModelEndpointSpec) { s.Variants[0].ModelVersion = "sk" }), http.StatusBadRequest, api.EINVALID, "spec.variants[0].model_version")
	if !strings.Contains(e.Message, `framework "sklearn"`) || !strings.Contains(e.Message, "set command") {
		t.Fatalf("message = %q", e.Message)
	}
	withCommand := endpointSpec(100)
	withCommand.Variants[0].ModelVersion, withCommand.Variants[0].Command = "sk", []string{"/opt/models/serve", "--port-from-env"}
	withCommand.Shadow = nil
	got := decode[api.ModelEndpoint](t, admin.must(http.StatusCreated, http.MethodPost, coll, api.CreateModelEndpointRequest{Name: "custom", Spec: withCommand}))
	if len(got.Spec.Variants[0].Command) != 2 {
		t.Fatalf("spec = %+v", got.Spec)
	}
}

// TestModelEndpoint_ReplicaResources: cpu_millicores and memory_mib are
// validated on their own and against a node of the variant's pool (cpu:
// 4 cores, 16 GiB by default); a refused write stores nothing, and a pool
// cannot shrink below what a replica on it asks for.
func TestModelEndpoint_ReplicaResources(t *testing.T) {
	admin, _ := endpointFixture(t)
	coll := objPath("dev", api.KindModelEndpoint, "")
	for _, tc := range []struct {
		name  string
		edit  func(*api.ModelEndpointSpec)
		field string
		words string
	}{
		{"NegativeCPU", func(s *api.ModelEndpointSpec) { s.Variants[0].CPUMillicores = -500 }, "spec.variants[0].cpu_millicores", "thousandths of a core"},
		{"HugeMemory", func(s *api.ModelEndpointSpec) { s.Variants[0].MemoryMiB = api.MaxMemoryMiB + 1 }, "spec.variants[0].memory_mib", "between 16 and"},
		{"ShadowTinyMemory", func(s *api.ModelEndpointSpec) { s.Shadow.MemoryMiB = 8 }, "spec.shadow.memory_mib", "between 16 and"},
		{"CPULargerThanNode", func(s *api.ModelEndpointSpec) { s.Variants[0].CPUMillicores = 4001 }, "spec.variants[0].cpu_millicores",
			`more than a node of compute pool "cpu" has (cpu_per_node = 4, 4000 millicores); lower cpu_millicores to at most 4000`},
		{"ShadowMemoryLargerThanNode", func(s *api.ModelEndpointSpec) { s.Shadow.MemoryMiB = 16*1024 + 1 }, "spec.shadow.memory_mib",
			"lower memory_mib to at most 16384, raise the pool's memory_gib_per_node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := endpointSpec(100)
			tc.edit(&s)
			e := wantError(t, admin.do(http.MethodPost, coll, api.CreateModelEndpointRequest{Name: "sized", Spec: s}), http.StatusBadRequest, api.EINVALID, tc.field)
			if !strings.Contains(e.Message, tc.words) {
				t.Fatalf("message %q lacks %q", e.Message, tc.words)
			}
			wantError(t, admin.do(http.MethodGet, objPath("dev", api.KindModelEndpoint, "sized"), nil), http.StatusNotFound, api.ENOTFOUND, "")
			// An update is refused the same way and leaves the spec alone.
			before := decode[api.ModelEndpoint](t, admin.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindModelEndpoint, "api"), nil))
			wantError(t, admin.do(http.MethodPut, objPath("dev", api.KindModelEndpoint, "api"), api.UpdateModelEndpointRequest{Spec: s}), http.StatusBadRequest, api.EINVALID, tc.field)
			after := decode[api.ModelEndpoint](t, admin.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindModelEndpoint, "api"), nil))
			if after.Metadata.Generation != before.Metadata.Generation || after.Spec.Variants[0].ReplicaResources != (api.ReplicaResources{}) {
				t.Fatalf("a refused update changed the endpoint: %+v", after)
			}
		})
	}

	s := endpointSpec(100)
	s.Variants[0].ReplicaResources = api.ReplicaResources{CPUMillicores: 4000, MemoryMiB: 2048}
	s.Shadow.ReplicaResources = api.ReplicaResources{MemoryMiB: 512}
	got := decode[api.ModelEndpoint](t, admin.must(http.StatusCreated, http.MethodPost, coll, api.CreateModelEndpointRequest{Name: "sized", Spec: s}))
	if got.Spec.Variants[0].ReplicaResources != s.Variants[0].ReplicaResources || got.Spec.Shadow.ReplicaResources != s.Shadow.ReplicaResources {
		t.Fatalf("stored spec = %+v", got.Spec)
	}
	// The pool cannot shrink below a replica's request.
	pool := objPath("dev", api.KindComputePool, "cpu")
	e := wantError(t, admin.do(http.MethodPut, pool, api.UpdateComputePoolRequest{Spec: api.ComputePoolSpec{MaxNodes: 1, CPUPerNode: 3}}),
		http.StatusBadRequest, api.EINVALID, "spec.cpu_per_node")
	if !strings.Contains(e.Message, `variant "primary" of model endpoint "sized" asks for 4000 millicores`) {
		t.Fatalf("message = %q", e.Message)
	}
	admin.must(http.StatusOK, http.MethodPut, pool, api.UpdateComputePoolRequest{Spec: api.ComputePoolSpec{MaxNodes: 1, CPUPerNode: 4, MemoryGiBPerNode: 2}})
}
