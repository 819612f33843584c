package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
)

// useStateUnlessChanged keeps the state's value of a computed attribute in
// the plan unless the attribute it derives from (watched) changes. A model
// version's approval history changes only with its approval, an alias's
// move history only with its version; without this modifier every edit of
// a description would show them as "(known after apply)", and with
// UseStateForUnknown a real change would leave a stale value in the plan.
func useStateUnlessChanged(watched path.Path) useStateUnlessChangedModifier {
	return useStateUnlessChangedModifier{watched: watched}
}

type useStateUnlessChangedModifier struct {
	watched path.Path
}

var (
	_ planmodifier.String = useStateUnlessChangedModifier{}
	_ planmodifier.List   = useStateUnlessChangedModifier{}
)

func (m useStateUnlessChangedModifier) Description(context.Context) string {
	return "Keeps the prior value unless " + m.watched.String() + " changes."
}

func (m useStateUnlessChangedModifier) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (m useStateUnlessChangedModifier) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if m.keep(ctx, req.Config, req.State, req.Plan, req.PlanValue, &resp.Diagnostics) {
		resp.PlanValue = req.StateValue
	}
}

func (m useStateUnlessChangedModifier) PlanModifyList(ctx context.Context, req planmodifier.ListRequest, resp *planmodifier.ListResponse) {
	if m.keep(ctx, req.Config, req.State, req.Plan, req.PlanValue, &resp.Diagnostics) {
		resp.PlanValue = req.StateValue
	}
}

// keep reports whether an unknown planned value may take the state's value:
// the resource exists, is not being destroyed, and the watched attribute is
// known and the same as in state, or left out of the configuration. An
// omitted watched attribute must be Optional+Computed with UseStateForUnknown
// (a model version's approval when Terraform does not manage it): it then
// keeps its state, but attribute plan modifiers all see the plan from before
// any of them ran, where it is still unknown.
func (m useStateUnlessChangedModifier) keep(ctx context.Context, config tfsdk.Config, state tfsdk.State, plan tfsdk.Plan, planValue attr.Value, diags *diag.Diagnostics) bool {
	if state.Raw.IsNull() || plan.Raw.IsNull() || !planValue.IsUnknown() {
		return false
	}
	var configured, before, after attr.Value
	diags.Append(config.GetAttribute(ctx, m.watched, &configured)...)
	diags.Append(state.GetAttribute(ctx, m.watched, &before)...)
	diags.Append(plan.GetAttribute(ctx, m.watched, &after)...)
	if diags.HasError() {
		return false
	}
	if configured.IsNull() {
		return true
	}
	if after.IsUnknown() {
		return false
	}
	return before.Equal(after)
}
