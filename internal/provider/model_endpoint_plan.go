package provider

import (
	"context"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var _ resource.ResourceWithModifyPlan = (*modelEndpointResource)(nil)

// ModifyPlan checks, at plan time, what the control plane checks against
// the environment's policy when the endpoint is written:
//
//   - with policy.require_approved_models, that every variant (and the
//     shadow) serves an approved model version (modelEndpointRefCheck);
//   - with policy.required_alarms, when an update changes what the endpoint
//     serves, that alarms on the required metrics watch it
//     (requiredAlarmsCheck). A create is not checked: the alarms name the
//     endpoint, so they come after it;
//   - that each variant's cpu_millicores and memory_mib fit on a node of
//     its compute pool (modelEndpointRefCheck). This is a warning, not an
//     error: the same apply may grow the pool before it writes the
//     endpoint.
//
// It says nothing when it cannot know: a destroy, unknown values, an
// environment, version or alarms it cannot read. The control plane still
// checks at apply.
func (r *modelEndpointResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	// Only a write is checked, as the control plane checks only writes: a
	// plan that leaves the endpoint alone passes even if a version it
	// serves was rejected since.
	if req.Plan.Raw.IsNull() || r.client == nil || req.Plan.Raw.Equal(req.State.Raw) {
		return
	}
	var plan modelEndpointModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Environment.IsUnknown() || plan.Name.IsUnknown() {
		return
	}
	envName, name := plan.Environment.ValueString(), plan.Name.ValueString()
	r.checkFit(ctx, plan, envName, resp)
	env, err := r.client.GetEnvironment(ctx, envName)
	if err != nil {
		if !client.IsNotFound(err) {
			tflog.Warn(ctx, "skipping the plan-time policy checks of a model endpoint", map[string]any{"environment": envName, "error": err.Error()})
		}
		return
	}
	if env.Spec.Policy.RequireApprovedModels {
		r.checkApproved(ctx, plan, envName, resp)
	}
	if req.State.Raw.IsNull() || len(env.Spec.Policy.RequiredAlarms) == 0 {
		return
	}
	var state modelEndpointModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	changed, ok := servingChange(plan.Variants, state.Variants)
	if !ok || changed == nil {
		return
	}
	required := env.Spec.Policy.RequiredAlarms
	var alarms []api.AlarmSpec
	opts := api.ListOptions{Limit: api.MaxPageSize}
	for {
		page, err := r.client.ListAlarms(ctx, envName, opts)
		if err != nil {
			tflog.Warn(ctx, "skipping the plan-time check of required alarms", map[string]any{"environment": envName, "error": err.Error()})
			return
		}
		for _, a := range page.Items {
			alarms = append(alarms, a.Spec)
		}
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	if missing := api.MissingRequiredAlarms(required, name, alarms); len(missing) > 0 {
		resp.Diagnostics.AddAttributeError(*changed, "Endpoint lacks alarms its environment requires", changed.String()+": "+
			api.RequiredAlarmsMessage(envName, name, required, missing)+
			".\n\nThis was checked at plan time against the alarms that exist now. If this configuration also creates them, "+
			"apply them first (terraform apply -target=<each mlops_alarm resource>), then the endpoint.")
	}
}

// checkApproved reports every variant, and the shadow, whose model version
// exists and is not approved. A version that does not exist yet (created
// by the same apply) is left to the control plane.
func (r *modelEndpointResource) checkApproved(ctx context.Context, plan modelEndpointModel, envName string, resp *resource.ModifyPlanResponse) {
	check := func(p path.Path, version types.String) {
		if version.IsUnknown() || version.IsNull() {
			return
		}
		mv, err := r.client.GetModelVersion(ctx, envName, version.ValueString())
		if err != nil {
			if !client.IsNotFound(err) {
				tflog.Warn(ctx, "skipping the plan-time approval check of a model version", map[string]any{"environment": envName, "error": err.Error()})
			}
			return
		}
		if mv.Spec.Approval.Status != api.ApprovalApproved {
			// Terraform shows a nested attribute's error on the resource
			// block, so the message names the attribute itself.
			resp.Diagnostics.AddAttributeError(p, "Model version not approved", p.String()+": "+
				api.UnapprovedVersionMessage(envName, version.ValueString(), mv.Spec.Approval.Status)+
				".\n\nThis was checked at plan time: an owner of the environment approves the version (mlopsctl versions approve <version> -e <env> --reason ..., the console's model page, or the approval of its mlops_model_version applied with an owner's token), then apply again.")
		}
	}
	for i, v := range plan.Variants {
		check(path.Root("variants").AtListIndex(i).AtName("model_version"), v.ModelVersion)
	}
	if plan.Shadow != nil {
		check(path.Root("shadow").AtName("model_version"), plan.Shadow.ModelVersion)
	}
}

// checkFit warns about every variant, and the shadow, whose replica asks
// for more CPU or memory than a node of its compute pool, as the pool is
// now, declares. A pool it cannot read (one the same apply creates) is left
// to the control plane.
func (r *modelEndpointResource) checkFit(ctx context.Context, plan modelEndpointModel, envName string, resp *resource.ModifyPlanResponse) {
	pools := map[string]*api.ComputePool{}
	fit := func(p path.Path, pool types.String, cpu, mem types.Int64) {
		if pool.IsUnknown() || pool.IsNull() || cpu.IsUnknown() || mem.IsUnknown() || (cpu.IsNull() && mem.IsNull()) {
			return
		}
		cp, seen := pools[pool.ValueString()]
		if !seen {
			got, err := r.client.GetComputePool(ctx, envName, pool.ValueString())
			if err != nil && !client.IsNotFound(err) {
				tflog.Warn(ctx, "skipping the plan-time fit check of a model endpoint's requests", map[string]any{"environment": envName, "error": err.Error()})
			}
			cp, pools[pool.ValueString()] = got, got
		}
		if cp == nil {
			return
		}
		attr, msg := resourcesToAPI(cpu, mem).FitProblem(pool.ValueString(), cp.Spec)
		if attr == "" {
			return
		}
		p = p.AtName(attr)
		resp.Diagnostics.AddAttributeWarning(p, "Replica larger than a node of its compute pool", p.String()+": "+msg+
			".\n\nThis was checked at plan time against the compute pool as it is now: unless this apply grows the pool's nodes before it writes "+
			"the endpoint, the control plane refuses the endpoint.")
	}
	for i, v := range plan.Variants {
		fit(path.Root("variants").AtListIndex(i), v.ComputePool, v.CPUMillicores, v.MemoryMiB)
	}
	if s := plan.Shadow; s != nil {
		fit(path.Root("shadow"), s.ComputePool, s.CPUMillicores, s.MemoryMiB)
	}
}

// servingChange returns the path of the first variant of plan whose model
// version, command or replica requests differ from state, or that state
// does not have; nil when what serves does not change. ok is false when a
// value is not known yet.
func servingChange(plan, state []endpointVariantModel) (changed *path.Path, ok bool) {
	for i, v := range plan {
		if v.Name.IsUnknown() || v.ModelVersion.IsUnknown() || slices.ContainsFunc(v.Command, types.String.IsUnknown) ||
			v.CPUMillicores.IsUnknown() || v.MemoryMiB.IsUnknown() {
			return nil, false
		}
		j := slices.IndexFunc(state, func(s endpointVariantModel) bool { return s.Name.Equal(v.Name) })
		p := path.Root("variants").AtListIndex(i)
		switch {
		case j < 0:
			p = p.AtName("name")
		case !state[j].ModelVersion.Equal(v.ModelVersion):
			p = p.AtName("model_version")
		case !slices.EqualFunc(state[j].Command, v.Command, func(a, b types.String) bool { return a.Equal(b) }):
			p = p.AtName("command")
		case !state[j].CPUMillicores.Equal(v.CPUMillicores):
			p = p.AtName("cpu_millicores")
		case !state[j].MemoryMiB.Equal(v.MemoryMiB):
			p = p.AtName("memory_mib")
		default:
			continue
		}
		return &p, true
	}
	return nil, true
}
