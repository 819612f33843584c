package server

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// FuzzDecodeModelEndpointSpec feeds arbitrary specs to the model endpoint's
// decoder. Besides checkDecodeSpec's properties: an accepted spec's smoke
// test has a JSON object for a body and a json_path of the documented
// syntax, its rollback alarms are valid distinct names, and its commands
// and cpu/memory requests are within their bounds.
func FuzzDecodeModelEndpointSpec(f *testing.F) {
	variant := `{"name":"primary","model_version":"v1","compute_pool":"cpu","replicas":1,"traffic_percent":100`
	rollout := `"rollout":{"strategy":"canary","step_percent":10,"bake_time_seconds":60`
	addSeeds(f,
		`{"variants":[`+variant+`}],`+rollout+`}}`,
		`{"variants":[`+variant+`,"command":["/opt/serve","-x"]}],`+rollout+`,"rollback_alarms":["errors-high"]}}`,
		`{"variants":[`+variant+`,"command":[""]}],`+rollout+`}}`,
		`{"variants":[`+variant+`}],`+rollout+`,"rollback_alarms":["a","a"]}}`,
		`{"variants":[`+variant+`}],`+rollout+`},"smoke_test":{"request_body":"{\"inputs\":[1]}","expected_status":200,"json_path":"prediction","expected_json_value":"3"}}`,
		`{"variants":[`+variant+`}],`+rollout+`},"smoke_test":{"request_body":"[1]"}}`,
		`{"variants":[`+variant+`}],`+rollout+`},"smoke_test":{"request_body":"{}","json_path":"a..b"}}`,
		`{"variants":[`+variant+`}],`+rollout+`},"smoke_test":{"request_body":"{}","expected_json_value":"1"}}`,
		`{"variants":[`+variant+`,"cpu_millicores":500,"memory_mib":256}],`+rollout+`},"shadow":{"name":"s","model_version":"v1","compute_pool":"cpu","replicas":1,"memory_mib":8}}`,
		`{"variants":[`+variant+`,"cpu_millicores":-1}],`+rollout+`}}`,
		`{"variants":[{"name":"primary","model_version":"v1","compute_pool":"cpu","autoscaling":{"min_replicas":1,"max_replicas":3,"target_rps":5,"scale_in_cooldown_seconds":300},"traffic_percent":100}],`+rollout+`}}`,
	)
	k := modelEndpointKind()
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := checkDecodeSpec(t, k, raw)
		if out == nil {
			return
		}
		var s api.ModelEndpointSpec
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatal(err)
		}
		if err := modelEndpointInvariants(s); err != nil {
			t.Fatalf("decodeSpec(%q) = %s: %v", raw, out, err)
		}
	})
}

func modelEndpointInvariants(s api.ModelEndpointSpec) error {
	if t := s.SmokeTest; t != nil {
		var body map[string]any
		if err := json.Unmarshal([]byte(t.RequestBody), &body); err != nil || body == nil {
			return fmt.Errorf("smoke test body %q is not a JSON object", t.RequestBody)
		}
		if t.JSONPath != "" && !smokeJSONPathRE.MatchString(t.JSONPath) {
			return fmt.Errorf("json_path %q", t.JSONPath)
		}
		if t.ExpectedJSONValue != "" && t.JSONPath == "" {
			return fmt.Errorf("expected_json_value without json_path")
		}
	}
	seen := map[string]bool{}
	for _, n := range s.Rollout.RollbackAlarms {
		if seen[n] || validateName("", n) != nil {
			return fmt.Errorf("rollback alarm %q", n)
		}
		seen[n] = true
	}
	variants := append([]api.EndpointVariant(nil), s.Variants...)
	if s.Shadow != nil {
		variants = append(variants, *s.Shadow)
	}
	for _, v := range variants {
		if len(v.Command) > api.MaxCommandArgs || (len(v.Command) > 0 && v.Command[0] == "") {
			return fmt.Errorf("command %q", v.Command)
		}
		if r := v.ReplicaResources; r.CPUMillicores < 0 || r.CPUMillicores > api.MaxCPUMillicores ||
			r.MemoryMiB < 0 || (r.MemoryMiB > 0 && r.MemoryMiB < api.MinMemoryMiB) || r.MemoryMiB > api.MaxMemoryMiB {
			return fmt.Errorf("requests %+v", r)
		}
		if a := v.Autoscaling; a != nil && (a.ScaleInCooldownSeconds < 0 || a.ScaleInCooldownSeconds > maxScaleInCooldownSeconds) {
			return fmt.Errorf("scale_in_cooldown_seconds %d", a.ScaleInCooldownSeconds)
		}
	}
	return nil
}
