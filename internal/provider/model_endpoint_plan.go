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

// ModifyPlan checks, at plan time, what the control plane checks when an
// update changes what the endpoint serves (requiredAlarmsCheck): that the
// endpoint has an alarm on every metric its environment's
// policy.required_alarms names. A create is not checked (the alarms name
// the endpoint, so they come after it), and neither is anything the
// provider cannot know yet: unknown values, an environment or alarms it
// cannot read. The control plane still checks at apply.
func (r *modelEndpointResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() || r.client == nil {
		return
	}
	var plan, state modelEndpointModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || plan.Environment.IsUnknown() || plan.Name.IsUnknown() {
		return
	}
	changed, ok := servingChange(plan.Variants, state.Variants)
	if !ok || changed == nil {
		return
	}
	envName, name := plan.Environment.ValueString(), plan.Name.ValueString()
	env, err := r.client.GetEnvironment(ctx, envName)
	if err != nil {
		tflog.Warn(ctx, "skipping the plan-time check of required alarms", map[string]any{"environment": envName, "error": err.Error()})
		return
	}
	required := env.Spec.Policy.RequiredAlarms
	if len(required) == 0 {
		return
	}
	var alarms []api.AlarmSpec
	opts := api.ListOptions{Limit: api.MaxPageSize}
	for {
		page, err := r.client.ListAlarms(ctx, envName, opts)
		if err != nil {
			if !client.IsNotFound(err) {
				tflog.Warn(ctx, "skipping the plan-time check of required alarms", map[string]any{"environment": envName, "error": err.Error()})
			}
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
		resp.Diagnostics.AddAttributeError(*changed, "Endpoint lacks alarms its environment requires",
			api.RequiredAlarmsMessage(envName, name, required, missing)+
				".\n\nThis was checked at plan time against the alarms that exist now. If this configuration also creates them, "+
				"apply them first (terraform apply -target=<each mlops_alarm resource>), then the endpoint.")
	}
}

// servingChange returns the path of the first variant of plan whose model
// version or command differs from state, or that state does not have; nil
// when what serves does not change. ok is false when a value is not known
// yet.
func servingChange(plan, state []endpointVariantModel) (changed *path.Path, ok bool) {
	for i, v := range plan {
		if v.Name.IsUnknown() || v.ModelVersion.IsUnknown() || slices.ContainsFunc(v.Command, types.String.IsUnknown) {
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
		default:
			continue
		}
		return &p, true
	}
	return nil, true
}
