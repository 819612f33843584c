package main

import (
	"context"
	"math/big"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

var _ resource.Resource = schemaTwin{}

// schemaTwin is a resource with the schema of an mlops resource and no
// behaviour of its own: no ValidateConfig, no ModifyPlan, no API. Create
// and Update store the plan with what is left unknown (the computed
// attributes) made known; Read keeps the state as it is.
type schemaTwin struct {
	name string
	of   resource.Resource
}

func (t schemaTwin) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_" + t.name
}

func (t schemaTwin) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
	t.of.Schema(ctx, req, resp)
}

func (schemaTwin) Create(_ context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	storeKnown(req.Plan.Raw, &resp.State, &resp.Diagnostics)
}

func (schemaTwin) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

func (schemaTwin) Update(_ context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	storeKnown(req.Plan.Raw, &resp.State, &resp.Diagnostics)
}

func (schemaTwin) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}

// storeKnown stores plan as the new state, with its unknown values known.
func storeKnown(plan tftypes.Value, state *tfsdk.State, diags *diag.Diagnostics) {
	raw, err := known(plan)
	if err != nil {
		diags.AddError("floor: making the plan known", err.Error())
		return
	}
	state.Raw = raw
}

// known replaces every unknown value in v: a primitive by a fixed value of
// its type, anything else by null.
func known(v tftypes.Value) (tftypes.Value, error) {
	return tftypes.Transform(v, func(_ *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		switch ty := v.Type(); {
		case ty.Is(tftypes.String):
			return tftypes.NewValue(ty, "floor"), nil
		case ty.Is(tftypes.Number):
			return tftypes.NewValue(ty, big.NewFloat(0)), nil
		case ty.Is(tftypes.Bool):
			return tftypes.NewValue(ty, false), nil
		default:
			return tftypes.NewValue(ty, nil), nil
		}
	})
}
