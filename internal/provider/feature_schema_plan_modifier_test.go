package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var testFeatureObjectType = types.ObjectType{AttrTypes: featureGroupFeatureAttrTypes}

// testFeature builds one features element; an empty valueType stands for
// an unknown one.
func testFeature(name, valueType, description string) attr.Value {
	vt := types.StringValue(valueType)
	if valueType == "" {
		vt = types.StringUnknown()
	}
	return types.ObjectValueMust(featureGroupFeatureAttrTypes, map[string]attr.Value{
		"name":        types.StringValue(name),
		"value_type":  vt,
		"description": types.StringValue(description),
	})
}

func testFeatures(elems ...attr.Value) types.List {
	return types.ListValueMust(testFeatureObjectType, elems)
}

func TestFeatureSchemaRequiresReplace(t *testing.T) {
	clicks := testFeature("clicks_7d", "int64", "")
	basket := testFeature("avg_basket", "float64", "mean basket value")
	state := testFeatures(clicks, basket)

	tests := map[string]struct {
		state, plan types.List
		want        bool
	}{
		"create": {
			state: types.ListNull(testFeatureObjectType),
			plan:  state,
		},
		"destroy": {
			state: state,
			plan:  types.ListNull(testFeatureObjectType),
		},
		"unknown plan": {
			state: state,
			plan:  types.ListUnknown(testFeatureObjectType),
		},
		"unchanged": {
			state: state,
			plan:  testFeatures(clicks, basket),
		},
		"feature added": {
			state: state,
			plan:  testFeatures(clicks, basket, testFeature("last_seen", "timestamp", "")),
		},
		"features reordered": {
			state: state,
			plan:  testFeatures(basket, clicks),
		},
		"description edited": {
			state: state,
			plan:  testFeatures(clicks, testFeature("avg_basket", "float64", "another text")),
		},
		"feature removed": {
			state: state,
			plan:  testFeatures(clicks),
			want:  true,
		},
		"feature removed while another is added": {
			state: state,
			plan:  testFeatures(clicks, testFeature("basket_avg", "float64", "")),
			want:  true,
		},
		"feature retyped": {
			state: state,
			plan:  testFeatures(clicks, testFeature("avg_basket", "int64", "mean basket value")),
			want:  true,
		},
		"feature retyped and moved": {
			state: state,
			plan:  testFeatures(testFeature("avg_basket", "string", ""), clicks),
			want:  true,
		},
		"value_type unknown": {
			state: state,
			plan:  testFeatures(clicks, testFeature("avg_basket", "", "mean basket value")),
			want:  true,
		},
		"element unknown": {
			state: state,
			plan:  testFeatures(clicks, types.ObjectUnknown(featureGroupFeatureAttrTypes)),
			want:  true,
		},
		"added element unknown": {
			state: state,
			plan:  testFeatures(clicks, basket, types.ObjectUnknown(featureGroupFeatureAttrTypes)),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := planmodifier.ListRequest{StateValue: tc.state, PlanValue: tc.plan, ConfigValue: tc.plan}
			resp := &planmodifier.ListResponse{PlanValue: tc.plan}
			featureSchemaRequiresReplace().PlanModifyList(context.Background(), req, resp)
			if resp.Diagnostics.HasError() {
				t.Fatalf("diagnostics: %v", resp.Diagnostics)
			}
			if resp.RequiresReplace != tc.want {
				t.Errorf("RequiresReplace = %v, want %v", resp.RequiresReplace, tc.want)
			}
			if !resp.PlanValue.Equal(tc.plan) {
				t.Errorf("plan value changed: %v", resp.PlanValue)
			}
		})
	}
}

func TestFeatureSchemaRequiresReplace_describes(t *testing.T) {
	m := featureSchemaRequiresReplace()
	if m.Description(context.Background()) == "" || m.MarkdownDescription(context.Background()) == "" {
		t.Fatal("the plan modifier must describe itself for docs")
	}
}
