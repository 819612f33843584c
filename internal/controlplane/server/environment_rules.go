package server

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

func environmentKind() *kind[api.EnvironmentSpec] {
	return &kind[api.EnvironmentSpec]{
		name: api.KindEnvironment,
		validate: func(s *api.EnvironmentSpec) error {
			if err := validateDescription("spec.description", s.Description); err != nil {
				return err
			}
			if err := validateLabels(s.Labels); err != nil {
				return err
			}
			if s.Policy.MaxGPUs != nil {
				if err := validateRange("spec.policy.max_gpus", *s.Policy.MaxGPUs, 0, 100000); err != nil {
					return err
				}
			}
			seen := map[string]bool{}
			for i, t := range s.Policy.AllowedAcceleratorTypes {
				field := fmt.Sprintf("spec.policy.allowed_accelerator_types[%d]", i)
				if !acceleratorRE.MatchString(t) {
					return api.Errorf(api.EINVALID, field, "%q is not a valid accelerator type; use lowercase letters, digits and '-', e.g. nvidia-a100", t)
				}
				if seen[t] {
					return api.Errorf(api.EINVALID, field, "%q is listed twice; list each accelerator type once", t)
				}
				seen[t] = true
			}
			required := map[string]bool{}
			for i, m := range s.Policy.RequiredAlarms {
				field := fmt.Sprintf("spec.policy.required_alarms[%d]", i)
				if err := oneOf(field, m, api.AlarmMetrics...); err != nil {
					return err
				}
				if required[m] {
					return api.Errorf(api.EINVALID, field, "%q is listed twice; list each metric once", m)
				}
				required[m] = true
			}
			return nil
		},
		// Tightening a policy below what pools already use would leave the
		// environment breaking its own rules, so it is refused with the fix.
		crossCheck: func(ctx context.Context, v store.View, ref api.Ref, s *api.EnvironmentSpec) error {
			return environmentPolicyCheck(ctx, v, ref.Name, s)
		},
		deleteCheck: environmentNotProtected,
		initialStatus: func(*api.EnvironmentSpec) any {
			return api.EnvironmentStatus{Status: readyStatus("environment is ready")}
		},
		readHook: func(ctx context.Context, st store.Store, obj *store.Object) error {
			pools, err := listAllPools(ctx, st, obj.Meta.Name)
			if err != nil {
				return err
			}
			var status api.EnvironmentStatus
			if err := json.Unmarshal(obj.Status, &status); err != nil {
				return fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
			}
			status.GPUsAllocated = 0
			for _, p := range pools {
				status.GPUsAllocated += p.MaxNodes * p.AcceleratorCount
			}
			b, err := json.Marshal(status)
			obj.Status = b
			return err
		},
	}
}

// environmentPolicyCheck checks an environment's policy against the compute
// pools it already holds.
func environmentPolicyCheck(ctx context.Context, v store.View, name string, s *api.EnvironmentSpec) error {
	pools, err := v.ListAll(ctx, api.KindComputePool, name)
	if err != nil {
		return err
	}
	var used int64
	for _, p := range pools {
		var spec api.ComputePoolSpec
		if err := json.Unmarshal(p.Spec, &spec); err != nil {
			return fmt.Errorf("decoding %s: %w", p.Ref(), err)
		}
		used += spec.MaxNodes * spec.AcceleratorCount
		if len(s.Policy.AllowedAcceleratorTypes) > 0 && spec.AcceleratorType != "none" && !contains(s.Policy.AllowedAcceleratorTypes, spec.AcceleratorType) {
			return api.Errorf(api.EINVALID, "spec.policy.allowed_accelerator_types",
				"compute pool %q uses accelerator type %q, which this list leaves out; add it, or replace the pool first", p.Meta.Name, spec.AcceleratorType)
		}
	}
	if s.Policy.MaxGPUs != nil && used > *s.Policy.MaxGPUs {
		return api.Errorf(api.EINVALID, "spec.policy.max_gpus",
			"compute pools in environment %q already use %d GPUs (max_nodes × accelerator_count), more than %d; raise max_gpus or shrink the pools first", name, used, *s.Policy.MaxGPUs)
	}
	return nil
}

// environmentNotProtected refuses to delete an environment whose policy
// has deletion_protection set, naming the two steps that delete it.
func environmentNotProtected(_ context.Context, _ store.View, obj *store.Object) error {
	var spec api.EnvironmentSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return fmt.Errorf("decoding %s: %w", obj.Ref(), err)
	}
	if spec.Policy.DeletionProtection {
		return api.Errorf(api.ECONFLICT, "spec.policy.deletion_protection",
			"environment %q has deletion_protection = true; set it to false and apply first, then delete", obj.Meta.Name)
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// readyStatus is the initial status of a kind that is ready as soon as it is
// stored: a new object's spec is generation 1.
func readyStatus(msg string) api.Status {
	return api.Status{
		Phase:              api.PhaseReady,
		ObservedGeneration: 1,
		Message:            msg,
	}
}

// listAllPools reads every compute pool spec of an environment, page by page.
func listAllPools(ctx context.Context, st store.Store, env string) ([]api.ComputePoolSpec, error) {
	var out []api.ComputePoolSpec
	token := ""
	for {
		objs, next, err := st.List(ctx, api.KindComputePool, env, api.ListOptions{Limit: api.MaxPageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			var spec api.ComputePoolSpec
			if err := json.Unmarshal(o.Spec, &spec); err != nil {
				return nil, fmt.Errorf("decoding %s: %w", o.Ref(), err)
			}
			out = append(out, spec)
		}
		if next == "" {
			return out, nil
		}
		token = next
	}
}
