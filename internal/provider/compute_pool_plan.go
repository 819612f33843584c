package provider

import (
	"context"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// planTimeNote follows a policy error found at plan time: the check reads
// the environment as it is now, which an apply that also changes the
// environment's policy would change first.
const planTimeNote = "\n\nThis was checked at plan time against the environment's current policy. " +
	"If the same configuration raises the policy, apply the environment first " +
	"(terraform apply -target=<its mlops_environment resource>), then the pool."

// ModifyPlan checks, at plan time, the pool against its environment's
// policy as the control plane will at apply (computePoolPolicyCheck): the
// accelerator allow-list and the GPU cap over all pools in the environment.
// It says nothing when it cannot know: a destroy, an unknown value, an
// environment that does not exist yet, or a control plane it cannot read.
// The control plane still enforces the policy at apply.
func (r *computePoolResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.client == nil {
		return
	}
	var plan computePoolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	for _, v := range []interface{ IsUnknown() bool }{plan.Environment, plan.Name, plan.AcceleratorType, plan.AcceleratorCount, plan.MaxNodes} {
		if v.IsUnknown() {
			return
		}
	}
	if !req.State.Raw.IsNull() {
		// A pool whose GPU ask does not change cannot newly break the
		// policy: the control plane refuses to tighten a policy below
		// what pools already use.
		var state computePoolModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		if state.Environment.Equal(plan.Environment) && state.AcceleratorType.Equal(plan.AcceleratorType) &&
			state.AcceleratorCount.Equal(plan.AcceleratorCount) && state.MaxNodes.ValueInt64() >= plan.MaxNodes.ValueInt64() {
			return
		}
	}
	envName, name := plan.Environment.ValueString(), plan.Name.ValueString()
	acceleratorType := plan.AcceleratorType.ValueString()
	if plan.AcceleratorType.IsNull() {
		acceleratorType = computePoolDefaultAcceleratorType
	}
	count, maxNodes := plan.AcceleratorCount.ValueInt64(), plan.MaxNodes.ValueInt64()
	if acceleratorType == computePoolDefaultAcceleratorType && count == 0 {
		// A pool without accelerators meets every policy (the allow-list
		// is of accelerator types, the cap of GPUs): nothing to read.
		return
	}

	env, err := r.client.GetEnvironment(ctx, envName)
	if err != nil {
		if !client.IsNotFound(err) {
			tflog.Warn(ctx, "skipping the plan-time policy check of a compute pool", map[string]any{"environment": envName, "error": err.Error()})
		}
		return
	}
	policy := env.Spec.Policy
	if len(policy.AllowedAcceleratorTypes) > 0 && acceleratorType != computePoolDefaultAcceleratorType && !slices.Contains(policy.AllowedAcceleratorTypes, acceleratorType) {
		resp.Diagnostics.AddAttributeError(path.Root("accelerator_type"), "Accelerator type not allowed by the environment's policy",
			api.AcceleratorNotAllowedMessage(envName, acceleratorType, policy.AllowedAcceleratorTypes)+planTimeNote)
		return
	}
	if policy.MaxGPUs == nil || count == 0 {
		return
	}
	others, err := r.otherPoolsGPUs(ctx, envName, name)
	if err != nil {
		tflog.Warn(ctx, "skipping the plan-time GPU quota check of a compute pool", map[string]any{"environment": envName, "error": err.Error()})
		return
	}
	if others+maxNodes*count > *policy.MaxGPUs {
		resp.Diagnostics.AddAttributeError(path.Root("max_nodes"), "GPU quota of the environment exceeded",
			api.GPUQuotaMessage(envName, *policy.MaxGPUs, others, maxNodes, count)+planTimeNote)
	}
}

// otherPoolsGPUs sums max_nodes × accelerator_count over the pools of env
// other than name, as the control plane counts them.
func (r *computePoolResource) otherPoolsGPUs(ctx context.Context, env, name string) (int64, error) {
	var sum int64
	opts := api.ListOptions{Limit: api.MaxPageSize}
	for {
		page, err := r.client.ListComputePools(ctx, env, opts)
		if err != nil {
			return 0, err
		}
		for _, p := range page.Items {
			if p.Metadata.Name != name {
				sum += p.Spec.MaxNodes * p.Spec.AcceleratorCount
			}
		}
		if page.NextPageToken == "" {
			return sum, nil
		}
		opts.PageToken = page.NextPageToken
	}
}
