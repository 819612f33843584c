package server

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Compute pool defaults, applied when a field is left zero.
const (
	defaultCPUPerNode       = 4
	defaultMemoryGiBPerNode = 16
	acceleratorNone         = "none"
)

// slurmPartitionRE is what Slurm accepts as a partition name, kept short.
var slurmPartitionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// poolOptions is what the compute pool rules need to know about this mlopsd.
type poolOptions struct {
	// slurm is true when mlopsd is configured with a Slurm cluster.
	slurm bool
}

func computePoolKind() *kind[api.ComputePoolSpec] { return computePoolKindWith(poolOptions{}) }

func computePoolKindWith(opts poolOptions) *kind[api.ComputePoolSpec] {
	return &kind[api.ComputePoolSpec]{
		name:     api.KindComputePool,
		teardown: true,
		validate: func(s *api.ComputePoolSpec) error {
			if s.Driver == "" {
				s.Driver = api.DriverLocal
			}
			if err := oneOf("spec.driver", s.Driver, api.DriverLocal, api.DriverSlurm); err != nil {
				return err
			}
			if s.Driver == api.DriverSlurm && !opts.slurm {
				return api.Errorf(api.EINVALID, "spec.driver", "is slurm, but this mlopsd has no Slurm cluster configured; start mlopsd with -slurm-conf /path/to/slurm.conf (or MLOPSD_SLURM_CONF), or use driver local")
			}
			if s.SlurmPartition != "" {
				if s.Driver != api.DriverSlurm {
					return api.Errorf(api.EINVALID, "spec.slurm_partition", "is only for driver slurm; remove it or set driver = \"slurm\"")
				}
				if !slurmPartitionRE.MatchString(s.SlurmPartition) {
					return api.Errorf(api.EINVALID, "spec.slurm_partition", "%q is not a valid Slurm partition name; use letters, digits, '_', '.' and '-'", s.SlurmPartition)
				}
			}
			if s.AcceleratorType == "" {
				s.AcceleratorType = acceleratorNone
			}
			if !acceleratorRE.MatchString(s.AcceleratorType) {
				return api.Errorf(api.EINVALID, "spec.accelerator_type", "%q is not a valid accelerator type; use lowercase letters, digits and '-', e.g. nvidia-a100, or none", s.AcceleratorType)
			}
			if s.AcceleratorType == acceleratorNone && s.AcceleratorCount != 0 {
				return api.Errorf(api.EINVALID, "spec.accelerator_count", "is %d but accelerator_type is none; set accelerator_type, or set accelerator_count to 0", s.AcceleratorCount)
			}
			if s.AcceleratorType != acceleratorNone {
				if err := validateRange("spec.accelerator_count", s.AcceleratorCount, 1, 16); err != nil {
					return err
				}
			}
			if s.CPUPerNode == 0 {
				s.CPUPerNode = defaultCPUPerNode
			}
			if err := validateRange("spec.cpu_per_node", s.CPUPerNode, 1, 1024); err != nil {
				return err
			}
			if s.MemoryGiBPerNode == 0 {
				s.MemoryGiBPerNode = defaultMemoryGiBPerNode
			}
			if err := validateRange("spec.memory_gib_per_node", s.MemoryGiBPerNode, 1, 16384); err != nil {
				return err
			}
			if err := validateRange("spec.max_nodes", s.MaxNodes, 1, 1000); err != nil {
				return err
			}
			if s.MinNodes < 0 || s.MinNodes > s.MaxNodes {
				return api.Errorf(api.EINVALID, "spec.min_nodes", "is %d; it must be between 0 and max_nodes (%d)", s.MinNodes, s.MaxNodes)
			}
			return validateRange("spec.idle_scale_down_minutes", s.IdleScaleDownMinutes, 0, 10080)
		},
		immutable: func(old, s *api.ComputePoolSpec) error {
			switch {
			case old.Driver != s.Driver:
				return immutableErr("spec.driver", old.Driver, s.Driver)
			case old.AcceleratorType != s.AcceleratorType:
				return immutableErr("spec.accelerator_type", old.AcceleratorType, s.AcceleratorType)
			case old.AcceleratorCount != s.AcceleratorCount:
				return immutableErr("spec.accelerator_count", old.AcceleratorCount, s.AcceleratorCount)
			case old.Spot != s.Spot:
				return immutableErr("spec.spot", old.Spot, s.Spot)
			case old.SlurmPartition != s.SlurmPartition:
				return immutableErr("spec.slurm_partition", old.SlurmPartition, s.SlurmPartition)
			}
			return nil
		},
		crossCheck: func(ctx context.Context, v store.View, ref api.Ref, s *api.ComputePoolSpec) error {
			if err := computePoolPolicyCheck(ctx, v, ref, s); err != nil {
				return err
			}
			return computePoolFitsReplicas(ctx, v, ref, s)
		},
		initialStatus: func(s *api.ComputePoolSpec) any {
			return api.ComputePoolStatus{
				Status:       api.Status{Phase: api.PhaseProvisioning, Reason: "Created", Message: "waiting for the reconciler"},
				DesiredNodes: s.MinNodes,
			}
		},
	}
}

func immutableErr(field string, before, after any) error {
	return api.Errorf(api.EINVALID, field, "cannot change from %v to %v in place; replace the object instead (Terraform plans this as a replacement)", before, after)
}

// computePoolPolicyCheck enforces the environment's accelerator allow-list
// and GPU cap. It runs inside the write transaction, so two pools created at
// once cannot both squeeze under the cap.
func computePoolPolicyCheck(ctx context.Context, v store.View, ref api.Ref, s *api.ComputePoolSpec) error {
	envObj, err := v.Get(ctx, api.Ref{Kind: api.KindEnvironment, Name: ref.Environment})
	if err != nil {
		if apiErr, ok := err.(*api.Error); ok && apiErr.Code == api.ENOTFOUND {
			return api.Errorf(api.EINVALID, "environment", "environment %q does not exist; create it first (mlops_environment)", ref.Environment)
		}
		return err
	}
	var env api.EnvironmentSpec
	if err := json.Unmarshal(envObj.Spec, &env); err != nil {
		return fmt.Errorf("decoding %s: %w", envObj.Ref(), err)
	}
	if allowed := env.Policy.AllowedAcceleratorTypes; len(allowed) > 0 && s.AcceleratorType != acceleratorNone && !contains(allowed, s.AcceleratorType) {
		return api.NewError(api.EINVALID, "spec.accelerator_type", api.AcceleratorNotAllowedMessage(ref.Environment, s.AcceleratorType, allowed))
	}
	if env.Policy.MaxGPUs == nil {
		return nil
	}
	pools, err := v.ListAll(ctx, api.KindComputePool, ref.Environment)
	if err != nil {
		return err
	}
	var others int64
	for _, p := range pools {
		if p.Meta.Name == ref.Name {
			continue
		}
		var ps api.ComputePoolSpec
		if err := json.Unmarshal(p.Spec, &ps); err != nil {
			return fmt.Errorf("decoding %s: %w", p.Ref(), err)
		}
		others += ps.MaxNodes * ps.AcceleratorCount
	}
	asked := s.MaxNodes * s.AcceleratorCount
	if others+asked > *env.Policy.MaxGPUs {
		return api.NewError(api.EINVALID, "spec.max_nodes", api.GPUQuotaMessage(ref.Environment, *env.Policy.MaxGPUs, others, s.MaxNodes, s.AcceleratorCount))
	}
	return nil
}

// computePoolFitsReplicas refuses to shrink a pool's nodes below what a
// replica of a model endpoint variant on it asks for (cpu_millicores,
// memory_mib): the endpoint's write was checked against the pool as it
// was, and its replicas would no longer fit on a node.
func computePoolFitsReplicas(ctx context.Context, v store.View, ref api.Ref, s *api.ComputePoolSpec) error {
	endpoints, err := v.ListAll(ctx, api.KindModelEndpoint, ref.Environment)
	if err != nil {
		return err
	}
	for _, ep := range endpoints {
		if ep.Meta.DeletionRequestedAt != nil {
			continue
		}
		var spec api.ModelEndpointSpec
		if err := json.Unmarshal(ep.Spec, &spec); err != nil {
			return fmt.Errorf("decoding %s: %w", ep.Ref(), err)
		}
		variants := spec.Variants
		if spec.Shadow != nil {
			variants = append(variants, *spec.Shadow)
		}
		for _, vr := range variants {
			if vr.ComputePool != ref.Name {
				continue
			}
			attr, _ := vr.FitProblem(ref.Name, *s)
			switch attr {
			case "cpu_millicores":
				return api.Errorf(api.EINVALID, "spec.cpu_per_node",
					"is %d, but variant %q of model endpoint %q asks for %d millicores per replica on this pool; keep cpu_per_node at least %d, or lower the variant's cpu_millicores first",
					s.CPUPerNode, vr.Name, ep.Meta.Name, vr.CPUMillicores, (vr.CPUMillicores+999)/1000)
			case "memory_mib":
				return api.Errorf(api.EINVALID, "spec.memory_gib_per_node",
					"is %d, but variant %q of model endpoint %q asks for %d MiB per replica on this pool; keep memory_gib_per_node at least %d, or lower the variant's memory_mib first",
					s.MemoryGiBPerNode, vr.Name, ep.Meta.Name, vr.MemoryMiB, (vr.MemoryMiB+1023)/1024)
			}
		}
	}
	return nil
}
