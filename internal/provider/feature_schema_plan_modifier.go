package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ planmodifier.List = featureSchemaModifier{}

// featureSchemaRequiresReplace plans a replacement of a feature group when
// its features change in a way the control plane refuses in place: a feature
// in state is missing from the plan, or has another value_type. Rows already
// written hold every old feature with its old type, so only additions,
// reordering and description edits are safe. The server enforces the same
// rule; this modifier makes the plan say so before apply.
func featureSchemaRequiresReplace() planmodifier.List {
	return featureSchemaModifier{}
}

type featureSchemaModifier struct{}

func (m featureSchemaModifier) Description(_ context.Context) string {
	return "Removing a feature or changing a feature's value_type replaces the feature group; adding, reordering or re-describing features changes it in place."
}

func (m featureSchemaModifier) MarkdownDescription(_ context.Context) string {
	return "Removing a feature or changing a feature's `value_type` replaces the feature group; adding, reordering or re-describing features changes it in place."
}

func (m featureSchemaModifier) PlanModifyList(_ context.Context, req planmodifier.ListRequest, resp *planmodifier.ListResponse) {
	// Nothing to compare on create (null state) or destroy (null plan). An
	// unknown list cannot be compared yet; Terraform plans again once it is known.
	if req.StateValue.IsNull() || req.StateValue.IsUnknown() || req.PlanValue.IsNull() || req.PlanValue.IsUnknown() {
		return
	}
	planned := make(map[string]attr.Value, len(req.PlanValue.Elements()))
	for _, el := range req.PlanValue.Elements() {
		name, valueType, ok := featureNameAndType(el)
		if ok {
			planned[name] = valueType
		}
	}
	for _, el := range req.StateValue.Elements() {
		name, valueType, ok := featureNameAndType(el)
		if !ok {
			continue
		}
		// A feature whose planned name is unknown may or may not be this
		// one, so a state feature not found by name counts as removed:
		// planning a replacement that turns out unnecessary is safer than an
		// update the server refuses at apply.
		pv, found := planned[name]
		if !found || pv == nil || !pv.Equal(valueType) {
			resp.RequiresReplace = true
			return
		}
	}
}

// featureNameAndType returns the name and value_type of one features
// element, and false when the element or its name is null or unknown.
func featureNameAndType(el attr.Value) (string, attr.Value, bool) {
	obj, ok := el.(types.Object)
	if !ok || obj.IsNull() || obj.IsUnknown() {
		return "", nil, false
	}
	attrs := obj.Attributes()
	name, ok := attrs["name"].(types.String)
	if !ok || name.IsNull() || name.IsUnknown() {
		return "", nil, false
	}
	return name.ValueString(), attrs["value_type"], true
}
