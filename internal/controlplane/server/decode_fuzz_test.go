package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// The fuzz tests below feed arbitrary bytes to the spec decoders the handlers
// use. Properties, for every input:
//   - no panic;
//   - an error is an *api.Error with code invalid and a field below "spec";
//   - only valid JSON is accepted;
//   - the canonical output decodes to itself (normalisation is idempotent,
//     so a stored spec compares equal to the same spec sent again);
//   - the output obeys the kind's invariants (defaults filled, ranges held).
//
// The seeds run with every `go test`; `go test -fuzz FuzzDecodeComputePoolSpec`
// explores further.

// checkDecodeSpec asserts the common properties and returns the canonical
// spec, or nil when raw was refused.
func checkDecodeSpec(t *testing.T, k kindHandler, raw []byte) []byte {
	t.Helper()
	out, err := k.decodeSpec(raw)
	if err != nil {
		apiErr, ok := err.(*api.Error)
		if !ok {
			t.Fatalf("decodeSpec(%q) error %T %v, want *api.Error", raw, err, err)
		}
		if apiErr.Code != api.EINVALID {
			t.Fatalf("decodeSpec(%q) error code %q, want invalid", raw, apiErr.Code)
		}
		if apiErr.Field != "spec" && !strings.HasPrefix(apiErr.Field, "spec.") && !strings.HasPrefix(apiErr.Field, "spec[") {
			t.Fatalf("decodeSpec(%q) error field %q is not below spec (%v)", raw, apiErr.Field, apiErr)
		}
		if apiErr.Message == "" {
			t.Fatalf("decodeSpec(%q) error without a message", raw)
		}
		return nil
	}
	if !json.Valid(raw) {
		t.Fatalf("decodeSpec accepted invalid JSON %q as %s", raw, out)
	}
	if !json.Valid(out) || !bytes.HasPrefix(out, []byte("{")) {
		t.Fatalf("decodeSpec(%q) = %q, not a JSON object", raw, out)
	}
	again, err := k.decodeSpec(out)
	if err != nil {
		t.Fatalf("decodeSpec(%q) = %s, which is refused when decoded again: %v", raw, out, err)
	}
	if !bytes.Equal(out, again) {
		t.Fatalf("normalisation is not idempotent:\n input %q\n once  %s\n twice %s", raw, out, again)
	}
	return out
}

func addSeeds(f *testing.F, seeds ...string) {
	common := []string{``, ` `, `null`, `{}`, `[]`, `"spec"`, `1`, `true`, `{`, `}`, `{"a":1}`, `{} {}`, `{}x`, "{}\n", `{"":1}`}
	for _, s := range append(common, seeds...) {
		f.Add([]byte(s))
	}
}

func FuzzDecodeComputePoolSpec(f *testing.F) {
	addSeeds(f,
		`{"max_nodes":1}`,
		`{"driver":"local","accelerator_type":"nvidia-a100","accelerator_count":8,"cpu_per_node":32,"memory_gib_per_node":256,"min_nodes":1,"max_nodes":4,"spot":true,"idle_scale_down_minutes":30}`,
		`{"accelerator_type":"none","accelerator_count":1,"max_nodes":1}`,
		`{"accelerator_type":"nvidia-l4","accelerator_count":0,"max_nodes":1}`,
		`{"accelerator_type":"NVIDIA","accelerator_count":1,"max_nodes":1}`,
		`{"accelerator_type":"<b>&","accelerator_count":1,"max_nodes":1}`,
		`{"min_nodes":-1,"max_nodes":1}`,
		`{"min_nodes":3,"max_nodes":2}`,
		`{"max_nodes":1001}`,
		`{"max_nodes":1.5}`,
		`{"max_nodes":1e2}`,
		`{"max_nodes":"1"}`,
		`{"max_nodes":99999999999999999999}`,
		`{"max_nodes":-0}`,
		`{"max_nodes":1,"max_nodes":2}`,
		`{"MAX_NODES":3}`,
		`{"max_nodes":1,"spot":"yes"}`,
		`{"max_nodes":1,"driver":"slurm"}`,
		`{"max_nodes":1,"bogus":{}}`,
		`{"max_nodes":1,"idle_scale_down_minutes":10081}`,
		`{"max_nodes":1,"cpu_per_node":-4}`,
		`{"max_nodes":1}{"max_nodes":2}`,
		`{"max_nodes":1} trailing`,
		`{"max_nodes":null,"driver":null}`,
	)
	k := computePoolKind()
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := checkDecodeSpec(t, k, raw)
		if out == nil {
			return
		}
		var s api.ComputePoolSpec
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("canonical spec %s does not decode: %v", out, err)
		}
		if err := poolInvariants(s); err != nil {
			t.Fatalf("decodeSpec(%q) = %s: %v", raw, out, err)
		}
	})
}

func poolInvariants(s api.ComputePoolSpec) error {
	switch {
	case s.Driver != api.DriverLocal:
		return fmt.Errorf("driver %q", s.Driver)
	case s.AcceleratorType == "":
		return errors.New("accelerator_type not defaulted")
	case s.AcceleratorType == acceleratorNone && s.AcceleratorCount != 0:
		return errors.New("accelerators counted on a CPU pool")
	case s.AcceleratorType != acceleratorNone && (s.AcceleratorCount < 1 || s.AcceleratorCount > 16):
		return fmt.Errorf("accelerator_count %d", s.AcceleratorCount)
	case s.CPUPerNode < 1 || s.CPUPerNode > 1024:
		return fmt.Errorf("cpu_per_node %d", s.CPUPerNode)
	case s.MemoryGiBPerNode < 1 || s.MemoryGiBPerNode > 16384:
		return fmt.Errorf("memory_gib_per_node %d", s.MemoryGiBPerNode)
	case s.MaxNodes < 1 || s.MaxNodes > 1000:
		return fmt.Errorf("max_nodes %d", s.MaxNodes)
	case s.MinNodes < 0 || s.MinNodes > s.MaxNodes:
		return fmt.Errorf("min_nodes %d with max_nodes %d", s.MinNodes, s.MaxNodes)
	case s.IdleScaleDownMinutes < 0 || s.IdleScaleDownMinutes > 10080:
		return fmt.Errorf("idle_scale_down_minutes %d", s.IdleScaleDownMinutes)
	}
	return nil
}

func FuzzDecodeFeatureGroupSpec(f *testing.F) {
	addSeeds(f,
		`{"feature_store":"fs","entities":[{"name":"customer_id","value_type":"string"}],"features":[{"name":"age","value_type":"int64"}],"online":true}`,
		`{"feature_store":"fs","description":"d","labels":{"team":"ml"},"entities":[{"name":"id","value_type":"int64"}],"features":[{"name":"a","value_type":"float64","description":"<&>"},{"name":"b","value_type":"bytes"}],"online":true,"offline":true,"ttl_seconds":3600,"source_uri":"s3://bucket/x"}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"float64"}],"features":[{"name":"a","value_type":"int64"}],"online":true}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":[{"name":"id","value_type":"int64"}],"online":true}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":[{"name":"a","value_type":"int64"}]}`,
		`{"feature_store":"fs","entities":[],"features":[{"name":"a","value_type":"int64"}],"online":true}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":[],"online":true}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":null,"online":true}`,
		`{"feature_store":"fs","entities":[null],"features":[{"name":"a","value_type":"int64"}],"online":true}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":[{"name":"a","value_type":5}],"online":true}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"string","extra":1}],"features":[{"name":"a","value_type":"int64"}],"online":true}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":[{"name":"a","value_type":"int64"}],"online":true,"ttl_seconds":-1}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":[{"name":"a","value_type":"int64"}],"online":true,"source_uri":"not a uri"}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":[{"name":"a","value_type":"int64"}],"online":true,"labels":{"Bad Key":"v"}}`,
		`{"feature_store":"Bad","entities":[{"name":"id","value_type":"string"}],"features":[{"name":"a","value_type":"int64"}],"online":true}`,
		`{"feature_store":"fs","entities":{"name":"id"},"features":[{"name":"a","value_type":"int64"}],"online":true}`,
		`{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":[{"name":"a\u00e9","value_type":"int64"}],"online":true}`,
		"{\"feature_store\":\"fs\",\"description\":\"\xff\xfe\",\"entities\":[{\"name\":\"id\",\"value_type\":\"string\"}],\"features\":[{\"name\":\"a\",\"value_type\":\"int64\"}],\"online\":true}",
	)
	k := featureGroupKind()
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := checkDecodeSpec(t, k, raw)
		if out == nil {
			return
		}
		var s api.FeatureGroupSpec
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("canonical spec %s does not decode: %v", out, err)
		}
		if err := featureGroupInvariants(s); err != nil {
			t.Fatalf("decodeSpec(%q) = %s: %v", raw, out, err)
		}
		// A spec is always a valid in-place update of itself.
		if err := featureSchemaChange(s.Features, s.Features); err != nil {
			t.Fatalf("%s is not an in-place update of itself: %v", out, err)
		}
	})
}

func featureGroupInvariants(s api.FeatureGroupSpec) error {
	if !nameRE.MatchString(s.FeatureStore) {
		return fmt.Errorf("feature_store %q", s.FeatureStore)
	}
	if len(s.Entities) < 1 || len(s.Entities) > 16 || len(s.Features) < 1 || len(s.Features) > 1000 {
		return fmt.Errorf("%d entities, %d features", len(s.Entities), len(s.Features))
	}
	seen := map[string]bool{}
	for _, e := range s.Entities {
		if seen[e.Name] || !identifierRE.MatchString(e.Name) {
			return fmt.Errorf("entity name %q", e.Name)
		}
		seen[e.Name] = true
	}
	for _, f := range s.Features {
		if seen[f.Name] || !identifierRE.MatchString(f.Name) || !contains(api.ValueTypes, f.ValueType) {
			return fmt.Errorf("feature %+v", f)
		}
		seen[f.Name] = true
	}
	if !s.Online && !s.Offline {
		return errors.New("neither online nor offline")
	}
	if s.TTLSeconds < 0 || s.TTLSeconds > maxTTLSeconds {
		return fmt.Errorf("ttl_seconds %d", s.TTLSeconds)
	}
	return nil
}

func FuzzDecodeEnvironmentSpec(f *testing.F) {
	addSeeds(f,
		`{"description":"dev","labels":{"team":"ml","cost-center":"42"},"policy":{"max_gpus":16,"allowed_accelerator_types":["nvidia-a100","nvidia-l4"]}}`,
		`{"policy":{"max_gpus":0}}`,
		`{"policy":{"max_gpus":null,"allowed_accelerator_types":[]}}`,
		`{"policy":{"max_gpus":-1}}`,
		`{"policy":{"max_gpus":100001}}`,
		`{"policy":{"allowed_accelerator_types":["a","a"]}}`,
		`{"policy":{"allowed_accelerator_types":[""]}}`,
		`{"policy":{"max_gpu":1}}`,
		`{"labels":{"":"x"}}`,
		`{"labels":{"k":1}}`,
		`{"labels":null,"policy":null}`,
	)
	k := environmentKind()
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := checkDecodeSpec(t, k, raw)
		if out == nil {
			return
		}
		var s api.EnvironmentSpec
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("canonical spec %s does not decode: %v", out, err)
		}
		if p := s.Policy.MaxGPUs; p != nil && (*p < 0 || *p > 100000) {
			t.Fatalf("decodeSpec(%q) kept max_gpus %d", raw, *p)
		}
	})
}

func FuzzDecodeFeatureStoreSpec(f *testing.F) {
	addSeeds(f,
		`{"offline_store_uri":"file:///data/features","online_store":"embedded"}`,
		`{"offline_store_uri":"s3://bucket/prefix","online_store":"none","description":"d","labels":{"a":"b"}}`,
		`{"online_store":"redis"}`,
		`{"offline_store_uri":"no scheme"}`,
	)
	k := featureStoreKind()
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := checkDecodeSpec(t, k, raw)
		if out == nil {
			return
		}
		var s api.FeatureStoreSpec
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("canonical spec %s does not decode: %v", out, err)
		}
		if s.OnlineStore != api.OnlineStoreNone && s.OnlineStore != api.OnlineStoreEmbedded {
			t.Fatalf("decodeSpec(%q) kept online_store %q", raw, s.OnlineStore)
		}
	})
}
