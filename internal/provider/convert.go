package provider

import (
	"context"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

// objectAsOptions treat unknown and null nested values as zero values, the
// same way the API treats omitted fields.
var objectAsOptions = basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true}

// mapToAPI converts a map attribute; null and unknown become nil.
func mapToAPI(ctx context.Context, m types.Map, diags *diag.Diagnostics) map[string]string {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	out := map[string]string{}
	diags.Append(m.ElementsAs(ctx, &out, false)...)
	return out
}

// mapFromAPI converts a server map; empty becomes null, which is how an
// omitted attribute reads, so leaving labels out never shows a diff.
func mapFromAPI(ctx context.Context, m map[string]string, diags *diag.Diagnostics) types.Map {
	return mapOfFromAPI(ctx, types.StringType, m, diags)
}

// float64MapFromAPI converts a server map of numbers; empty is null.
func float64MapFromAPI(ctx context.Context, m map[string]float64, diags *diag.Diagnostics) types.Map {
	return mapOfFromAPI(ctx, types.Float64Type, m, diags)
}

// mapOfFromAPI converts a server map whose values are of elem; empty is
// null.
func mapOfFromAPI[V any](ctx context.Context, elem attr.Type, m map[string]V, diags *diag.Diagnostics) types.Map {
	if len(m) == 0 {
		return types.MapNull(elem)
	}
	v, d := types.MapValueFrom(ctx, elem, m)
	diags.Append(d...)
	return v
}

// setToAPI converts a set of strings, sorted so the request is stable.
func setToAPI(ctx context.Context, s types.Set, diags *diag.Diagnostics) []string {
	if s.IsNull() || s.IsUnknown() {
		return nil
	}
	var out []string
	diags.Append(s.ElementsAs(ctx, &out, false)...)
	sort.Strings(out)
	return out
}

// setFromAPI converts a server list to a set; empty becomes null.
func setFromAPI(ctx context.Context, list []string, diags *diag.Diagnostics) types.Set {
	if len(list) == 0 {
		return types.SetNull(types.StringType)
	}
	v, d := types.SetValueFrom(ctx, types.StringType, list)
	diags.Append(d...)
	return v
}
