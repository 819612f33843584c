package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// TestDiff compares two environments that start equal and are then made
// to differ in policy, versions, approval, aliases and endpoint config.
func TestDiff(t *testing.T) {
	f := newFixture(t)
	endpoint := api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v1", ComputePool: "cpu", Replicas: 1, TrafficPercent: 100}},
		Rollout:  api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
	}
	for _, env := range []string{"dev", "prod"} {
		f.createEnv(env, api.EnvironmentPolicy{RequiredAlarms: []string{api.AlarmMetricLatency}})
		// The same artifact in both, registered under different paths.
		f.createVersion(env, "v1", 2)
		mlopsdtest.Must(f.c.CreateModelAlias(f.ctx, env, "champion", api.ModelAliasSpec{Model: "m", Version: "v1"}))(t)
		mlopsdtest.Must(f.c.CreateModelEndpoint(f.ctx, env, "ep", endpoint))(t)
	}

	t.Run("Equal", func(t *testing.T) {
		f.t = t
		out := f.ok("diff", "--from", "dev", "--to", "prod")
		if !strings.Contains(out, "do not differ") {
			t.Errorf("diff of equal environments:\n%s", out)
		}
		if out := f.ok("diff", "--from", "dev", "--to", "prod", "-o", "json"); strings.TrimSpace(out) != "[]" {
			t.Errorf("diff -o json of equal environments: %s", out)
		}
	})

	// dev moves ahead: a GPU cap, a new version v2, v1 approved, the
	// champion on v2, and a canary rollout.
	gpus := int64(8)
	envDev := mlopsdtest.Must(f.c.GetEnvironment(f.ctx, "dev"))(t)
	envDev.Spec.Policy.MaxGPUs = &gpus
	mlopsdtest.Must(f.c.UpdateEnvironment(f.ctx, "dev", envDev.Spec, envDev.Metadata.ETag))(t)
	f.createVersion("dev", "v2", 3)
	mv := mlopsdtest.Must(f.c.GetModelVersion(f.ctx, "dev", "v1"))(t)
	mv.Spec.Approval = api.ApprovalRequest{Status: api.ApprovalApproved, Reason: "ok"}
	mlopsdtest.Must(f.c.UpdateModelVersion(f.ctx, "dev", "v1", mv.Spec, mv.Metadata.ETag))(t)
	al := mlopsdtest.Must(f.c.GetModelAlias(f.ctx, "dev", "champion"))(t)
	al.Spec.Version = "v2"
	mlopsdtest.Must(f.c.UpdateModelAlias(f.ctx, "dev", "champion", al.Spec, al.Metadata.ETag))(t)
	ep := mlopsdtest.Must(f.c.GetModelEndpoint(f.ctx, "dev", "ep"))(t)
	ep.Spec.Rollout = api.EndpointRollout{Strategy: api.RolloutCanary, StepPercent: 20, BakeTimeSeconds: 60}
	mlopsdtest.Must(f.c.UpdateModelEndpoint(f.ctx, "dev", "ep", ep.Spec, ep.Metadata.ETag))(t)
	// prod has an alias dev lacks.
	mlopsdtest.Must(f.c.CreateModelAlias(f.ctx, "prod", "challenger", api.ModelAliasSpec{Model: "m", Version: "v1"}))(t)

	t.Run("Different", func(t *testing.T) {
		f.t = t
		r := f.want(ExitNo, "diff", "--from", "dev", "--to", "prod")
		t.Logf("diff output:\n%s", r.stdout)
		for _, want := range []string{
			"--- dev\n+++ prod\n",
			"~ environment policy\n    max_gpus: 8 → (unset)\n",
			"+ model-aliases/challenger (only in prod)\n",
			"~ model-aliases/champion\n    version: \"v2\" → \"v1\"\n",
			"~ model-endpoints/ep\n",
			"    rollout.strategy: \"canary\" → \"all_at_once\"\n",
			"    rollout.bake_time_seconds: 60 → 0\n",
			"~ model-versions/v1\n    approval.status: \"approved\" → \"pending\"\n",
			"- model-versions/v2 (only in dev)\n",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("diff output lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "artifact") || strings.Contains(r.stdout, "variants") || r.stderr != "" {
			t.Errorf("diff shows what does not differ, or complains:\n%s\nstderr: %s", r.stdout, r.stderr)
		}

		var diffs []difference
		out := f.want(ExitNo, "diff", "--from", "dev", "--to", "prod", "-o", "json").stdout
		if err := json.Unmarshal([]byte(out), &diffs); err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, d := range diffs {
			kinds[d.Kind]++
		}
		if kinds[api.KindEnvironment] != 1 || kinds[api.KindModelVersion] != 2 || kinds[api.KindModelAlias] != 2 || kinds[api.KindModelEndpoint] < 2 {
			t.Errorf("differences by kind %v:\n%s", kinds, out)
		}
	})
	t.Run("ErrorsExit2", func(t *testing.T) {
		f.t = t
		if r := f.want(ExitUsage, "diff", "--from", "dev", "--to", "nope"); !strings.Contains(r.stderr, "nope") {
			t.Errorf("stderr %q", r.stderr)
		}
		f.want(ExitUsage, "diff", "--from", "dev")
		f.want(ExitUsage, "diff", "--from", "dev", "--to", "prod", "--endpoint", "http://127.0.0.1:1")
	})
}

func TestFlatten(t *testing.T) {
	got, err := flatten(api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v1", TrafficPercent: 90}, {Name: "canary", ModelVersion: "v2", TrafficPercent: 10}},
		Rollout:  api.EndpointRollout{RollbackAlarms: []string{"a", "b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"variants[primary].traffic_percent": "90",
		"variants[canary].model_version":    `"v2"`,
		"rollout.rollback_alarms":           `["a","b"]`,
	} {
		if got[path] != want {
			t.Errorf("%s = %q, want %q (all: %v)", path, got[path], want, got)
		}
	}
	if _, ok := got["shadow"]; ok {
		t.Errorf("an unset shadow is in the paths: %v", got)
	}
}
