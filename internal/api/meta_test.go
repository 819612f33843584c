package api_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

func TestStatus_Settled(t *testing.T) {
	phases := []string{"", api.PhasePending, api.PhaseProvisioning, api.PhaseReady, api.PhaseScaling, api.PhaseDeleting, api.PhaseFailed}
	for _, phase := range phases {
		for _, observed := range []int64{0, 1, 2, 3} {
			const generation = 2
			s := api.Status{Phase: phase, ObservedGeneration: observed}
			terminal := phase == api.PhaseReady || phase == api.PhaseFailed
			want := terminal && observed >= generation
			if got := s.Settled(generation); got != want {
				t.Errorf("Status{%q, observed %d}.Settled(%d) = %v, want %v", phase, observed, generation, got, want)
			}
		}
	}
}

func TestRef_String(t *testing.T) {
	if got := (api.Ref{Kind: api.KindEnvironment, Name: "dev"}).String(); got != "environments/dev" {
		t.Errorf("environment ref = %q", got)
	}
	if got := (api.Ref{Kind: api.KindComputePool, Environment: "dev", Name: "gpu"}).String(); got != "environments/dev/compute-pools/gpu" {
		t.Errorf("pool ref = %q", got)
	}
}

func TestNamePattern(t *testing.T) {
	re := regexp.MustCompile(api.NamePattern)
	for name, want := range map[string]bool{
		"a": true, "dev": true, "gpu-pool-2": true, strings.Repeat("a", api.NameMaxLength): true,
		"": false, "Dev": false, "2dev": false, "dev-": false, "-dev": false, "de_v": false, "dev.x": false,
		strings.Repeat("a", api.NameMaxLength+1): false,
	} {
		if got := re.MatchString(name); got != want {
			t.Errorf("NamePattern matches %q = %v, want %v", name, got, want)
		}
	}
}

func TestRoutes(t *testing.T) {
	ops := map[string]bool{}
	paths := map[string]bool{}
	for _, rt := range api.Routes {
		if ops[rt.OperationID] {
			t.Errorf("operationId %s used twice", rt.OperationID)
		}
		ops[rt.OperationID] = true
		key := rt.Method + " " + rt.Path
		if paths[key] {
			t.Errorf("route %s listed twice", key)
		}
		paths[key] = true
		if rt.Status < 200 || rt.Status > 299 {
			t.Errorf("%s success status %d", rt.OperationID, rt.Status)
		}
	}
	// Every kind has the five operations, but pipeline and batch inference
	// runs, which are started and cancelled by routes of their own and
	// never written through the generic create and update.
	for _, k := range api.Kinds {
		runs := k == api.KindPipelineRun || k == api.KindBatchInferenceRun
		n, want := 0, 5
		if runs {
			want = 3
		}
		for _, rt := range api.Routes {
			if rt.Kind == k {
				n++
				if runs && (rt.Op == api.OpCreate || rt.Op == api.OpUpdate) {
					t.Errorf("%s have a %s route", k, rt.Op)
				}
			}
		}
		if n != want {
			t.Errorf("kind %s has %d routes, want %d", k, n, want)
		}
	}
	for _, id := range []string{api.OpIDStartPipelineRun, api.OpIDCancelPipelineRun, api.OpIDGetPipelineRunLogs,
		api.OpIDStartBatchInferenceRun, api.OpIDCancelBatchInferenceRun} {
		if !ops[id] {
			t.Errorf("no route %s", id)
		}
	}
}

func TestOpenAPI_Document(t *testing.T) {
	b, err := json.Marshal(api.OpenAPI("v1.2.3"))
	if err != nil {
		t.Fatalf("OpenAPI document does not encode: %v", err)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rt := range api.Routes {
		if _, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("document lacks %s %s", rt.Method, rt.Path)
		}
	}
	// Nested and embedded types are described too.
	for schema, prop := range map[string]string{
		"ComputePoolSpec":   "max_nodes",
		"EnvironmentPolicy": "allowed_accelerator_types",
		"FeatureGroupSpec":  "features",
		"Feature":           "value_type",
		"EnvironmentStatus": "observed_generation",
		"Error":             "field",
		"Metadata":          "deletion_requested_at",
	} {
		if _, ok := doc.Components.Schemas[schema].Properties[prop]; !ok {
			t.Errorf("schema %s lacks property %s", schema, prop)
		}
	}
}
