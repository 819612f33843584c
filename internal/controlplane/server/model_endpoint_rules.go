package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Limits of a model endpoint.
const (
	maxEndpointVariants = 10
	maxEndpointReplicas = 100
	maxBakeTimeSeconds  = 86400
)

func modelEndpointKind() *kind[api.ModelEndpointSpec] {
	return &kind[api.ModelEndpointSpec]{
		name:     api.KindModelEndpoint,
		teardown: true,
		validate: validateModelEndpoint,
		crossCheck: func(ctx context.Context, v store.View, ref api.Ref, s *api.ModelEndpointSpec) error {
			if err := rolloutInProgressCheck(ctx, v, ref, s); err != nil {
				return err
			}
			return modelEndpointRefCheck(ctx, v, ref, s)
		},
		initialStatus: func(*api.ModelEndpointSpec) any {
			return api.ModelEndpointStatus{Status: api.Status{Phase: api.PhaseProvisioning, Reason: "Created", Message: "waiting for the reconciler"}}
		},
	}
}

// validateModelEndpoint checks an endpoint's spec on its own.
func validateModelEndpoint(s *api.ModelEndpointSpec) error {
	if len(s.Variants) == 0 {
		return api.NewError(api.EINVALID, "spec.variants", "at least one variant is required")
	}
	if len(s.Variants) > maxEndpointVariants {
		return api.Errorf(api.EINVALID, "spec.variants", "has %d variants; use at most %d", len(s.Variants), maxEndpointVariants)
	}
	seen := map[string]bool{}
	var sum int64
	for i := range s.Variants {
		v := &s.Variants[i]
		field := fmt.Sprintf("spec.variants[%d]", i)
		if err := validateVariant(field, v); err != nil {
			return err
		}
		if seen[v.Name] {
			return api.Errorf(api.EINVALID, field+".name", "variant name %q is used twice; give each variant its own name", v.Name)
		}
		seen[v.Name] = true
		if err := validateRange(field+".traffic_percent", v.TrafficPercent, 0, 100); err != nil {
			return err
		}
		sum += v.TrafficPercent
	}
	if sum != 100 {
		return api.Errorf(api.EINVALID, "spec.variants", "traffic_percent of the variants sums to %d; it must sum to 100", sum)
	}
	if s.Shadow != nil {
		if err := validateVariant("spec.shadow", s.Shadow); err != nil {
			return err
		}
		if seen[s.Shadow.Name] {
			return api.Errorf(api.EINVALID, "spec.shadow.name", "%q is also the name of a variant; give the shadow variant its own name", s.Shadow.Name)
		}
		if s.Shadow.TrafficPercent != 0 {
			return api.NewError(api.EINVALID, "spec.shadow.traffic_percent", "a shadow variant receives a copy of every request, not a share; set traffic_percent to 0 or leave it out")
		}
	}
	if err := validateRange("spec.request_log_sample_rate_percent", s.RequestLogSampleRatePercent, 0, 100); err != nil {
		return err
	}
	if err := oneOf("spec.rollout.strategy", s.Rollout.Strategy, api.RolloutStrategies...); err != nil {
		return err
	}
	if err := validateRange("spec.rollout.step_percent", s.Rollout.StepPercent, 1, 100); err != nil {
		return err
	}
	return validateRange("spec.rollout.bake_time_seconds", s.Rollout.BakeTimeSeconds, 0, maxBakeTimeSeconds)
}

func validateVariant(field string, v *api.EndpointVariant) error {
	if err := validateName(field+".name", v.Name); err != nil {
		return err
	}
	if err := validateName(field+".model_version", v.ModelVersion); err != nil {
		return err
	}
	if err := validateName(field+".compute_pool", v.ComputePool); err != nil {
		return err
	}
	switch {
	case v.Autoscaling == nil && v.Replicas == 0:
		return api.NewError(api.EINVALID, field+".replicas", "set replicas (1-100) or autoscaling")
	case v.Autoscaling != nil && v.Replicas != 0:
		return api.NewError(api.EINVALID, field+".replicas", "set replicas or autoscaling, not both: with autoscaling the runtime owns the replica count")
	case v.Autoscaling == nil:
		return validateRange(field+".replicas", v.Replicas, 1, maxEndpointReplicas)
	}
	a := v.Autoscaling
	if err := validateRange(field+".autoscaling.max_replicas", a.MaxReplicas, 1, maxEndpointReplicas); err != nil {
		return err
	}
	if a.MinReplicas < 1 || a.MinReplicas > a.MaxReplicas {
		return api.Errorf(api.EINVALID, field+".autoscaling.min_replicas", "is %d; it must be between 1 and max_replicas (%d)", a.MinReplicas, a.MaxReplicas)
	}
	return validateRange(field+".autoscaling.target_rps", a.TargetRPS, 0, 1000000)
}

// modelEndpointRefCheck checks, inside the write transaction, that the
// variants' model versions and compute pools exist, that the versions are
// of a framework the model runtime serves, and the environment's policy.
func modelEndpointRefCheck(ctx context.Context, v store.View, ref api.Ref, s *api.ModelEndpointSpec) error {
	envObj, err := v.Get(ctx, api.Ref{Kind: api.KindEnvironment, Name: ref.Environment})
	if isCode(err, api.ENOTFOUND) {
		return api.Errorf(api.EINVALID, "environment", "environment %q does not exist; create it first (mlops_environment)", ref.Environment)
	}
	if err != nil {
		return err
	}
	var env api.EnvironmentSpec
	if err := json.Unmarshal(envObj.Spec, &env); err != nil {
		return fmt.Errorf("decoding %s: %w", envObj.Ref(), err)
	}
	check := func(field string, vr api.EndpointVariant) error {
		if _, err := v.Get(ctx, api.Ref{Kind: api.KindComputePool, Environment: ref.Environment, Name: vr.ComputePool}); isCode(err, api.ENOTFOUND) {
			return api.Errorf(api.EINVALID, field+".compute_pool", "compute pool %q does not exist in environment %q; create it first (mlops_compute_pool)", vr.ComputePool, ref.Environment)
		} else if err != nil {
			return err
		}
		mvObj, err := v.Get(ctx, api.Ref{Kind: api.KindModelVersion, Environment: ref.Environment, Name: vr.ModelVersion})
		if isCode(err, api.ENOTFOUND) {
			return api.Errorf(api.EINVALID, field+".model_version", "model version %q does not exist in environment %q; register it first (mlops_model_version)", vr.ModelVersion, ref.Environment)
		}
		if err != nil {
			return err
		}
		var mv api.ModelVersionSpec
		if err := json.Unmarshal(mvObj.Spec, &mv); err != nil {
			return fmt.Errorf("decoding %s: %w", mvObj.Ref(), err)
		}
		if mv.Framework != api.FrameworkMLOpsLinear {
			return api.Errorf(api.EINVALID, field+".model_version",
				"model version %q has framework %q; the built-in model runtime serves only %q models", vr.ModelVersion, mv.Framework, api.FrameworkMLOpsLinear)
		}
		if env.Policy.RequireApprovedModels && mv.Approval.Status != api.ApprovalApproved {
			return api.Errorf(api.EINVALID, field+".model_version",
				"model version %q is %s, and environment %q serves only approved versions (policy.require_approved_models); approve the version first or pick an approved one",
				vr.ModelVersion, mv.Approval.Status, ref.Environment)
		}
		return nil
	}
	for i, vr := range s.Variants {
		if err := check(fmt.Sprintf("spec.variants[%d]", i), vr); err != nil {
			return err
		}
	}
	if s.Shadow != nil {
		return check("spec.shadow", *s.Shadow)
	}
	return nil
}

// rolloutInProgressCheck refuses, with 409, to change the model version of
// the variant a rollout is moving, or to remove that variant, while the
// rollout runs: a second change while one is in progress is never a silent
// overwrite. Other changes (replicas, traffic) go through.
func rolloutInProgressCheck(ctx context.Context, v store.View, ref api.Ref, s *api.ModelEndpointSpec) error {
	cur, err := v.Get(ctx, ref)
	if isCode(err, api.ENOTFOUND) {
		return nil
	}
	if err != nil {
		return err
	}
	var st api.ModelEndpointStatus
	if err := json.Unmarshal(cur.Status, &st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", cur.Ref(), err)
	}
	ro := st.Rollout
	if ro == nil {
		return nil
	}
	for i, vr := range s.Variants {
		if vr.Name == ro.Variant {
			if vr.ModelVersion == ro.ToVersion {
				return nil
			}
			return api.Errorf(api.ECONFLICT, fmt.Sprintf("spec.variants[%d].model_version", i),
				"a rollout of variant %q from %q to %q (%s) is in progress; wait until it finishes (phase ready or rolled_back) and apply again",
				ro.Variant, ro.FromVersion, ro.ToVersion, ro.Strategy)
		}
	}
	return api.Errorf(api.ECONFLICT, "spec.variants",
		"a rollout of variant %q from %q to %q is in progress; wait until it finishes before removing the variant", ro.Variant, ro.FromVersion, ro.ToVersion)
}

// modelVersionNotServed refuses to delete a model version that a model
// endpoint declares or serves (also as a rollout's old or new version): its
// replicas could not start again.
func modelVersionNotServed(ctx context.Context, v store.View, obj *store.Object) error {
	endpoints, err := v.ListAll(ctx, api.KindModelEndpoint, obj.Meta.Environment)
	if err != nil {
		return err
	}
	version := obj.Meta.Name
	var names []string
	for _, ep := range endpoints {
		var spec api.ModelEndpointSpec
		var st api.ModelEndpointStatus
		if err := json.Unmarshal(ep.Spec, &spec); err != nil {
			return fmt.Errorf("decoding %s: %w", ep.Ref(), err)
		}
		if err := json.Unmarshal(ep.Status, &st); err != nil {
			return fmt.Errorf("decoding status of %s: %w", ep.Ref(), err)
		}
		uses := false
		for _, vr := range spec.Variants {
			uses = uses || vr.ModelVersion == version
		}
		uses = uses || (spec.Shadow != nil && spec.Shadow.ModelVersion == version)
		for _, vs := range st.Variants {
			uses = uses || vs.ModelVersion == version || vs.CanaryVersion == version
		}
		if uses {
			names = append(names, strconv.Quote(ep.Meta.Name))
		}
	}
	if len(names) == 0 {
		return nil
	}
	return api.Errorf(api.ECONFLICT, "",
		"model version %q in environment %q is served by model endpoint %s; point the endpoint's variants at another version or delete the endpoint first",
		version, obj.Meta.Environment, strings.Join(names, ", "))
}
