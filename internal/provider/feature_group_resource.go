package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                   = (*featureGroupResource)(nil)
	_ resource.ResourceWithConfigure      = (*featureGroupResource)(nil)
	_ resource.ResourceWithImportState    = (*featureGroupResource)(nil)
	_ resource.ResourceWithValidateConfig = (*featureGroupResource)(nil)
)

// NewFeatureGroupResource returns the mlops_feature_group resource.
func NewFeatureGroupResource() resource.Resource {
	return &featureGroupResource{}
}

type featureGroupResource struct {
	client *client.Client
}

type featureGroupModel struct {
	ID           types.String   `tfsdk:"id"`
	Environment  types.String   `tfsdk:"environment"`
	Name         types.String   `tfsdk:"name"`
	FeatureStore types.String   `tfsdk:"feature_store"`
	Description  types.String   `tfsdk:"description"`
	Labels       types.Map      `tfsdk:"labels"`
	Entities     types.List     `tfsdk:"entities"`
	Features     types.List     `tfsdk:"features"`
	Online       types.Bool     `tfsdk:"online"`
	Offline      types.Bool     `tfsdk:"offline"`
	TTLSeconds   types.Int64    `tfsdk:"ttl_seconds"`
	SourceURI    types.String   `tfsdk:"source_uri"`
	UID          types.String   `tfsdk:"uid"`
	CreatedAt    types.String   `tfsdk:"created_at"`
	Timeouts     timeouts.Value `tfsdk:"timeouts"`
}

type featureGroupEntityModel struct {
	Name      types.String `tfsdk:"name"`
	ValueType types.String `tfsdk:"value_type"`
}

type featureGroupFeatureModel struct {
	Name        types.String `tfsdk:"name"`
	ValueType   types.String `tfsdk:"value_type"`
	Description types.String `tfsdk:"description"`
}

var featureGroupEntityAttrTypes = map[string]attr.Type{
	"name":       types.StringType,
	"value_type": types.StringType,
}

var featureGroupFeatureAttrTypes = map[string]attr.Type{
	"name":        types.StringType,
	"value_type":  types.StringType,
	"description": types.StringType,
}

// entityValueTypes are the value types a join key may have.
var entityValueTypes = []string{api.ValueTypeString, api.ValueTypeInt64, api.ValueTypeBytes}

// Limits of a feature group, the same as the server's.
const (
	featureGroupMaxEntities   = 16
	featureGroupMaxFeatures   = 1000
	featureGroupMaxTTLSeconds = 10 * 365 * 24 * 3600
)

// Default timeouts of feature group operations.
const featureGroupDefaultTimeout = 10 * time.Minute

func (r *featureGroupResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_feature_group"
}

func (r *featureGroupResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A feature group is a typed set of features keyed by entities (join keys), kept in a feature store. " +
			"Features can be added in place; removing a feature or changing its `value_type` replaces the feature group " +
			"(the plan says so), because rows already written hold the old schema.",
		Attributes: map[string]schema.Attribute{
			"id":            computedOnceAttribute("`<environment>/<name>`, as Terraform's resource ID."),
			"environment":   environmentAttribute("feature group"),
			"name":          nameAttribute("feature group"),
			"feature_store": immutableNameAttribute("Name of the feature store, in the same environment, that keeps the group's data. It must exist. Changing it replaces the feature group."),
			"description":   descriptionAttribute(),
			"labels":        labelsAttribute(),
			"entities": schema.ListNestedAttribute{
				MarkdownDescription: "Join keys of the group, e.g. `customer_id` (1 to 16). Names must be unique across entities and features. " +
					"Changing the entities in any way replaces the feature group, because stored rows are keyed by them.",
				Required:      true,
				Validators:    []validator.List{listvalidator.SizeBetween(1, featureGroupMaxEntities)},
				PlanModifiers: []planmodifier.List{listplanmodifier.RequiresReplace()},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							MarkdownDescription: "Name of the join key: 1-63 lowercase letters, digits and `_`, starting with a letter or `_`.",
							Required:            true,
							Validators:          []validator.String{identifierValidator()},
						},
						"value_type": schema.StringAttribute{
							MarkdownDescription: "Type of the join key: `string`, `int64` or `bytes`.",
							Required:            true,
							Validators:          []validator.String{stringvalidator.OneOf(entityValueTypes...)},
						},
					},
				},
			},
			"features": schema.ListNestedAttribute{
				MarkdownDescription: "Typed values of the group, in declared order (1 to 1000). Names must be unique across entities and features. " +
					"Adding features, reordering them and editing descriptions change the group in place; " +
					"removing a feature or changing a feature's `value_type` replaces the feature group.",
				Required:      true,
				Validators:    []validator.List{listvalidator.SizeBetween(1, featureGroupMaxFeatures)},
				PlanModifiers: []planmodifier.List{featureSchemaRequiresReplace()},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							MarkdownDescription: "Name of the feature: 1-63 lowercase letters, digits and `_`, starting with a letter or `_`.",
							Required:            true,
							Validators:          []validator.String{identifierValidator()},
						},
						"value_type": schema.StringAttribute{
							MarkdownDescription: "Type of the feature: `string`, `int64`, `float64`, `bool`, `timestamp` or `bytes`. Changing it replaces the feature group.",
							Required:            true,
							Validators:          []validator.String{stringvalidator.OneOf(api.ValueTypes...)},
						},
						"description": descriptionAttribute(),
					},
				},
			},
			"online": schema.BoolAttribute{
				MarkdownDescription: "Serve the latest value per entity from the feature store's online store. Defaults to `false`; changes in place. " +
					"At least one of `online` and `offline` must be `true`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"offline": schema.BoolAttribute{
				MarkdownDescription: "Keep history in the feature store's offline store. Defaults to `true`; changes in place. " +
					"At least one of `online` and `offline` must be `true`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
			},
			"ttl_seconds": schema.Int64Attribute{
				MarkdownDescription: "How long an online value stays valid, in seconds, from 0 to 315360000 (ten years). `0`, the default, means forever. Changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(0),
				Validators:          []validator.Int64{int64validator.Between(0, featureGroupMaxTTLSeconds)},
			},
			"source_uri": schema.StringAttribute{
				MarkdownDescription: "Where the group's data comes from, as `scheme://location`, e.g. `file:///data/events.parquet` or `bigquery://project.dataset.table`. " +
					"Defaults to an empty string; changes in place.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(""),
				Validators: []validator.String{uriValidator("file:///data/events.parquet or bigquery://project.dataset.table")},
			},
			"uid":        uidAttribute("feature group"),
			"created_at": createdAtAttribute("feature group"),
			"timeouts":   timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *featureGroupResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *featureGroupResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan featureGroupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, featureGroupDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	spec := featureGroupToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	fg, err := r.client.CreateFeatureGroup(ctx, env, name, spec)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating feature group", featureGroupObject(env, name), err)
		return
	}
	// Save what exists before waiting, so a timeout leaves a tracked object
	// rather than an orphan that the next apply would collide with.
	resp.Diagnostics.Append(resp.State.Set(ctx, featureGroupFromAPI(ctx, fg, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, fg.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	fg, err = r.waitReady(ctx, env, name, fg)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for feature group", err.Error())
		return
	}
	tflog.Info(ctx, "created feature group", map[string]any{"environment": env, "name": name, "uid": fg.Metadata.UID})
	resp.Diagnostics.Append(resp.State.Set(ctx, featureGroupFromAPI(ctx, fg, plan, &resp.Diagnostics))...)
}

func (r *featureGroupResource) waitReady(ctx context.Context, env, name string, written *api.FeatureGroup) (*api.FeatureGroup, error) {
	return waitReady(ctx, featureGroupObject(env, name), written,
		func(ctx context.Context, gen int64) (*api.FeatureGroup, error) {
			return r.client.WaitFeatureGroupSettled(ctx, env, name, gen)
		},
		func(fg *api.FeatureGroup) (api.Metadata, api.Status) { return fg.Metadata, fg.Status })
}

func (r *featureGroupResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state featureGroupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	fg, err := r.client.GetFeatureGroup(ctx, env, name)
	if readFailed(ctx, resp, err, "feature group", featureGroupObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, featureGroupFromAPI(ctx, fg, state, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, fg.Metadata.ETag)...)
}

func (r *featureGroupResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan featureGroupModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, featureGroupDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	spec := featureGroupToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	fg, err := r.client.UpdateFeatureGroup(ctx, env, name, spec, etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating feature group", featureGroupObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(setETag(ctx, resp.Private, fg.Metadata.ETag)...)
	fg, err = r.waitReady(ctx, env, name, fg)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for feature group", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, featureGroupFromAPI(ctx, fg, plan, &resp.Diagnostics))...)
}

func (r *featureGroupResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state featureGroupModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, featureGroupDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := state.Environment.ValueString(), state.Name.ValueString()
	deleteAndWaitGone(ctx, &resp.Diagnostics, "feature group", featureGroupObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) {
			return r.client.DeleteFeatureGroup(ctx, env, name)
		},
		func(ctx context.Context) error { return r.client.WaitFeatureGroupGone(ctx, env, name) })
}

func (r *featureGroupResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importEnvName(ctx, req, resp, "feature group", "terraform import mlops_feature_group.customer dev/customer-stats")
}

// ValidateConfig checks at plan time what the schema cannot express alone:
// names unique across entities and features, and online or offline set.
// Unknown values are skipped; the server checks them again at apply.
func (r *featureGroupResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var entities, features types.List
	var online, offline types.Bool
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("entities"), &entities)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("features"), &features)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("online"), &online)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("offline"), &offline)...)
	if resp.Diagnostics.HasError() {
		return
	}

	seen := map[string]string{}
	check := func(list types.List, attrName string) {
		if list.IsNull() || list.IsUnknown() {
			return
		}
		for i, el := range list.Elements() {
			// Entities and features both carry a name attribute.
			name, _, ok := featureNameAndType(el)
			if !ok {
				continue
			}
			here := fmt.Sprintf("%s[%d].name", attrName, i)
			if prev, dup := seen[name]; dup {
				resp.Diagnostics.AddAttributeError(path.Root(attrName).AtListIndex(i).AtName("name"), "Duplicate name in feature group",
					fmt.Sprintf("%s is %q, which is already used by %s; names must be unique across entities and features. Rename one of them.", here, name, prev))
				continue
			}
			seen[name] = here
		}
	}
	check(entities, "entities")
	check(features, "features")

	// Null means the default: online false, offline true.
	if online.IsUnknown() || offline.IsUnknown() {
		return
	}
	isOnline := !online.IsNull() && online.ValueBool()
	isOffline := offline.IsNull() || offline.ValueBool()
	if !isOnline && !isOffline {
		resp.Diagnostics.AddAttributeError(path.Root("offline"), "Feature group stores nothing",
			"offline and online are both false, but a feature group must be online, offline or both: set offline = true to keep history, or online = true to serve the latest values.")
	}
}

// featureGroupObject names a feature group in diagnostics.
func featureGroupObject(env, name string) string {
	return envObject("feature group", env, name)
}

// featureGroupToAPI builds the spec from a plan.
func featureGroupToAPI(ctx context.Context, m featureGroupModel, diags *diag.Diagnostics) api.FeatureGroupSpec {
	spec := api.FeatureGroupSpec{
		FeatureStore: m.FeatureStore.ValueString(),
		Description:  m.Description.ValueString(),
		Labels:       mapToAPI(ctx, m.Labels, diags),
		Online:       m.Online.ValueBool(),
		Offline:      m.Offline.ValueBool(),
		TTLSeconds:   m.TTLSeconds.ValueInt64(),
		SourceURI:    m.SourceURI.ValueString(),
	}
	var entities []featureGroupEntityModel
	diags.Append(m.Entities.ElementsAs(ctx, &entities, false)...)
	for _, e := range entities {
		spec.Entities = append(spec.Entities, api.Entity{Name: e.Name.ValueString(), ValueType: e.ValueType.ValueString()})
	}
	var features []featureGroupFeatureModel
	diags.Append(m.Features.ElementsAs(ctx, &features, false)...)
	for _, f := range features {
		spec.Features = append(spec.Features, api.Feature{
			Name:        f.Name.ValueString(),
			ValueType:   f.ValueType.ValueString(),
			Description: f.Description.ValueString(),
		})
	}
	return spec
}

// featureGroupFromAPI builds the model from the server's object. prior
// supplies what the server does not know (timeouts).
func featureGroupFromAPI(ctx context.Context, fg *api.FeatureGroup, prior featureGroupModel, diags *diag.Diagnostics) featureGroupModel {
	return featureGroupModel{
		ID:           types.StringValue(fg.Metadata.Environment + "/" + fg.Metadata.Name),
		Environment:  types.StringValue(fg.Metadata.Environment),
		Name:         types.StringValue(fg.Metadata.Name),
		FeatureStore: types.StringValue(fg.Spec.FeatureStore),
		Description:  types.StringValue(fg.Spec.Description),
		Labels:       mapFromAPI(ctx, fg.Spec.Labels, diags),
		Entities:     entitiesFromAPI(ctx, fg.Spec.Entities, diags),
		Features:     featuresFromAPI(ctx, fg.Spec.Features, diags),
		Online:       types.BoolValue(fg.Spec.Online),
		Offline:      types.BoolValue(fg.Spec.Offline),
		TTLSeconds:   types.Int64Value(fg.Spec.TTLSeconds),
		SourceURI:    types.StringValue(fg.Spec.SourceURI),
		UID:          types.StringValue(fg.Metadata.UID),
		CreatedAt:    types.StringValue(fg.Metadata.CreatedAt.Format(time.RFC3339)),
		Timeouts:     prior.Timeouts,
	}
}

// entitiesFromAPI converts the server's entities, keeping their order.
func entitiesFromAPI(ctx context.Context, entities []api.Entity, diags *diag.Diagnostics) types.List {
	out := make([]featureGroupEntityModel, 0, len(entities))
	for _, e := range entities {
		out = append(out, featureGroupEntityModel{Name: types.StringValue(e.Name), ValueType: types.StringValue(e.ValueType)})
	}
	v, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: featureGroupEntityAttrTypes}, out)
	diags.Append(d...)
	return v
}

// featuresFromAPI converts the server's features, keeping their order.
func featuresFromAPI(ctx context.Context, features []api.Feature, diags *diag.Diagnostics) types.List {
	out := make([]featureGroupFeatureModel, 0, len(features))
	for _, f := range features {
		out = append(out, featureGroupFeatureModel{
			Name:        types.StringValue(f.Name),
			ValueType:   types.StringValue(f.ValueType),
			Description: types.StringValue(f.Description),
		})
	}
	v, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: featureGroupFeatureAttrTypes}, out)
	diags.Append(d...)
	return v
}
