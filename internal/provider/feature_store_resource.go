package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                = (*featureStoreResource)(nil)
	_ resource.ResourceWithConfigure   = (*featureStoreResource)(nil)
	_ resource.ResourceWithImportState = (*featureStoreResource)(nil)
)

// NewFeatureStoreResource returns the mlops_feature_store resource.
func NewFeatureStoreResource() resource.Resource {
	return &featureStoreResource{}
}

type featureStoreResource struct {
	client *client.Client
}

type featureStoreModel struct {
	ID              types.String   `tfsdk:"id"`
	Environment     types.String   `tfsdk:"environment"`
	Name            types.String   `tfsdk:"name"`
	Description     types.String   `tfsdk:"description"`
	Labels          types.Map      `tfsdk:"labels"`
	OfflineStoreURI types.String   `tfsdk:"offline_store_uri"`
	OnlineStore     types.String   `tfsdk:"online_store"`
	UID             types.String   `tfsdk:"uid"`
	CreatedAt       types.String   `tfsdk:"created_at"`
	Timeouts        timeouts.Value `tfsdk:"timeouts"`
}

// Default timeouts of feature store operations.
const featureStoreDefaultTimeout = 10 * time.Minute

func (r *featureStoreResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_feature_store"
}

func (r *featureStoreResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A feature store groups the feature groups of an environment that share storage: " +
			"an offline store for history and, optionally, an online store that serves the latest values. " +
			"A feature store can only be deleted once no feature group uses it.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, as Terraform's resource ID."),
			"environment": environmentAttribute("feature store"),
			"name":        nameAttribute("feature store"),
			"description": descriptionAttribute(),
			"labels":      labelsAttribute(),
			"offline_store_uri": schema.StringAttribute{
				MarkdownDescription: "Where offline (historical) feature data lives, as `scheme://location`, e.g. `file:///data/features` or `s3://bucket/prefix`. " +
					"Defaults to an empty string, meaning no offline store is configured. " +
					"Changing it replaces the feature store, because moving it would orphan the data already written.",
				Optional:      true,
				Computed:      true,
				Default:       stringdefault.StaticString(""),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{uriValidator("file:///data/features or s3://bucket/prefix")},
			},
			"online_store": schema.StringAttribute{
				MarkdownDescription: "Online store that serves the latest feature values: `embedded` (served by mlopsd) or `none`. Defaults to `embedded`; changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(api.OnlineStoreEmbedded),
				Validators:          []validator.String{stringvalidator.OneOf(api.OnlineStoreNone, api.OnlineStoreEmbedded)},
			},
			"uid":        uidAttribute("feature store"),
			"created_at": createdAtAttribute("feature store"),
			"timeouts":   timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *featureStoreResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *featureStoreResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan featureStoreModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, featureStoreDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	spec := featureStoreToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	fs, err := r.client.CreateFeatureStore(ctx, env, name, spec)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating feature store", featureStoreObject(env, name), err)
		return
	}
	// Save what exists before waiting, so a timeout leaves a tracked object
	// rather than an orphan that the next apply would collide with.
	resp.Diagnostics.Append(resp.State.Set(ctx, featureStoreFromAPI(ctx, fs, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, fs.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	fs, err = r.waitReady(ctx, env, name, fs)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for feature store", err.Error())
		return
	}
	tflog.Info(ctx, "created feature store", map[string]any{"environment": env, "name": name, "uid": fs.Metadata.UID})
	resp.Diagnostics.Append(resp.State.Set(ctx, featureStoreFromAPI(ctx, fs, plan, &resp.Diagnostics))...)
}

func (r *featureStoreResource) waitReady(ctx context.Context, env, name string, written *api.FeatureStore) (*api.FeatureStore, error) {
	return waitReady(ctx, featureStoreObject(env, name), written,
		func(ctx context.Context, gen int64) (*api.FeatureStore, error) {
			return r.client.WaitFeatureStoreSettled(ctx, env, name, gen)
		},
		func(fs *api.FeatureStore) (api.Metadata, api.Status) { return fs.Metadata, fs.Status })
}

func (r *featureStoreResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state featureStoreModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	fs, err := r.client.GetFeatureStore(ctx, env, name)
	if readFailed(ctx, resp, err, "feature store", featureStoreObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, featureStoreFromAPI(ctx, fs, state, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, fs.Metadata.ETag)...)
}

func (r *featureStoreResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan featureStoreModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, featureStoreDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	spec := featureStoreToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	fs, err := r.client.UpdateFeatureStore(ctx, env, name, spec, etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating feature store", featureStoreObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(setETag(ctx, resp.Private, fs.Metadata.ETag)...)
	fs, err = r.waitReady(ctx, env, name, fs)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for feature store", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, featureStoreFromAPI(ctx, fs, plan, &resp.Diagnostics))...)
}

func (r *featureStoreResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state featureStoreModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, featureStoreDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := state.Environment.ValueString(), state.Name.ValueString()
	deleteAndWaitGone(ctx, &resp.Diagnostics, "feature store", featureStoreObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) {
			return r.client.DeleteFeatureStore(ctx, env, name)
		},
		func(ctx context.Context) error { return r.client.WaitFeatureStoreGone(ctx, env, name) })
}

func (r *featureStoreResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importEnvName(ctx, req, resp, "feature store", "terraform import mlops_feature_store.main dev/main")
}

// featureStoreObject names a feature store in diagnostics.
func featureStoreObject(env, name string) string {
	return envObject("feature store", env, name)
}

// featureStoreToAPI builds the spec from a plan.
func featureStoreToAPI(ctx context.Context, m featureStoreModel, diags *diag.Diagnostics) api.FeatureStoreSpec {
	return api.FeatureStoreSpec{
		Description:     m.Description.ValueString(),
		Labels:          mapToAPI(ctx, m.Labels, diags),
		OfflineStoreURI: m.OfflineStoreURI.ValueString(),
		OnlineStore:     m.OnlineStore.ValueString(),
	}
}

// featureStoreFromAPI builds the model from the server's object. prior
// supplies what the server does not know (timeouts).
func featureStoreFromAPI(ctx context.Context, fs *api.FeatureStore, prior featureStoreModel, diags *diag.Diagnostics) featureStoreModel {
	return featureStoreModel{
		ID:              types.StringValue(fs.Metadata.Environment + "/" + fs.Metadata.Name),
		Environment:     types.StringValue(fs.Metadata.Environment),
		Name:            types.StringValue(fs.Metadata.Name),
		Description:     types.StringValue(fs.Spec.Description),
		Labels:          mapFromAPI(ctx, fs.Spec.Labels, diags),
		OfflineStoreURI: types.StringValue(fs.Spec.OfflineStoreURI),
		OnlineStore:     types.StringValue(fs.Spec.OnlineStore),
		UID:             types.StringValue(fs.Metadata.UID),
		CreatedAt:       types.StringValue(fs.Metadata.CreatedAt.Format(time.RFC3339)),
		Timeouts:        prior.Timeouts,
	}
}
