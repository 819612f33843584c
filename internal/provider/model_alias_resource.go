package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                = (*modelAliasResource)(nil)
	_ resource.ResourceWithConfigure   = (*modelAliasResource)(nil)
	_ resource.ResourceWithImportState = (*modelAliasResource)(nil)
)

// NewModelAliasResource returns the mlops_model_alias resource.
func NewModelAliasResource() resource.Resource {
	return &modelAliasResource{}
}

type modelAliasResource struct {
	client *client.Client
}

type modelAliasModel struct {
	ID          types.String   `tfsdk:"id"`
	Environment types.String   `tfsdk:"environment"`
	Name        types.String   `tfsdk:"name"`
	Model       types.String   `tfsdk:"model"`
	Version     types.String   `tfsdk:"version"`
	History     types.List     `tfsdk:"history"`
	UID         types.String   `tfsdk:"uid"`
	CreatedAt   types.String   `tfsdk:"created_at"`
	Timeouts    timeouts.Value `tfsdk:"timeouts"`
}

type aliasMoveModel struct {
	Version types.String `tfsdk:"version"`
	MovedBy types.String `tfsdk:"moved_by"`
	MovedAt types.String `tfsdk:"moved_at"`
}

var aliasMoveAttrTypes = map[string]attr.Type{
	"version":  types.StringType,
	"moved_by": types.StringType,
	"moved_at": types.StringType,
}

func (r *modelAliasResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_model_alias"
}

func (r *modelAliasResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A model alias is a named pointer, such as a champion or a challenger, to one version of a model. " +
			"Serving and pipelines refer to the alias, so promoting a version is moving the alias: an in-place update whose every move " +
			"the control plane keeps in `history`, with who moved it and when.\n\n" +
			"Alias names are unique per environment across all models, like every object's name, so include the model in the name " +
			"(e.g. `churn-champion` and `fraud-champion`) to keep the aliases of different models apart. " +
			"While an alias points at a version, that version cannot be deleted.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, as Terraform's resource ID."),
			"environment": environmentAttribute("alias"),
			"name": immutableNameAttribute("Name of the alias, unique among all aliases in its environment, e.g. `churn-champion`: " +
				"1-63 lowercase letters, digits and `-`, starting with a letter. Changing it replaces the alias."),
			"model": immutableNameAttribute("Name of the model (`mlops_model`) the alias belongs to. Changing it replaces the alias."),
			"version": schema.StringAttribute{
				MarkdownDescription: "Name of the model version (`mlops_model_version`) the alias points at; it must be a version of `model`. " +
					"Changing it moves the alias in place and adds an entry to `history`.",
				Required:   true,
				Validators: []validator.String{nameValidator()},
			},
			"history": schema.ListNestedAttribute{
				MarkdownDescription: "Every version the alias pointed at, oldest first, with who moved it and when. Owned by the server.",
				Computed:            true,
				PlanModifiers:       []planmodifier.List{useStateUnlessChanged(path.Root("version"))},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"version":  schema.StringAttribute{MarkdownDescription: "The version the alias was moved to.", Computed: true},
						"moved_by": schema.StringAttribute{MarkdownDescription: "Who moved it, as the control plane authenticated them.", Computed: true},
						"moved_at": schema.StringAttribute{MarkdownDescription: "When (RFC 3339).", Computed: true},
					},
				},
			},
			"uid":        uidAttribute("alias"),
			"created_at": createdAtAttribute("alias"),
			"timeouts":   timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *modelAliasResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *modelAliasResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan modelAliasModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, modelDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	a, err := r.client.CreateModelAlias(ctx, env, name, modelAliasToAPI(plan))
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating model alias", modelAliasObject(env, name), err)
		return
	}
	// Save what exists before waiting, so a timeout leaves a tracked object
	// rather than an orphan that the next apply would collide with.
	resp.Diagnostics.Append(resp.State.Set(ctx, modelAliasFromAPI(ctx, a, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, a.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	a, err = r.waitReady(ctx, env, name, a)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for model alias", err.Error())
		return
	}
	tflog.Info(ctx, "created model alias", map[string]any{"environment": env, "name": name, "version": a.Spec.Version})
	resp.Diagnostics.Append(resp.State.Set(ctx, modelAliasFromAPI(ctx, a, plan, &resp.Diagnostics))...)
}

func (r *modelAliasResource) waitReady(ctx context.Context, env, name string, written *api.ModelAlias) (*api.ModelAlias, error) {
	return waitReady(ctx, modelAliasObject(env, name), written,
		func(ctx context.Context, gen int64) (*api.ModelAlias, error) {
			return r.client.WaitModelAliasSettled(ctx, env, name, gen)
		},
		func(a *api.ModelAlias) (api.Metadata, api.Status) { return a.Metadata, a.Status })
}

func (r *modelAliasResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state modelAliasModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	a, err := r.client.GetModelAlias(ctx, env, name)
	if readFailed(ctx, resp, err, "model alias", modelAliasObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, modelAliasFromAPI(ctx, a, state, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, a.Metadata.ETag)...)
}

func (r *modelAliasResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan modelAliasModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, modelDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	a, err := r.client.UpdateModelAlias(ctx, env, name, modelAliasToAPI(plan), etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error moving model alias", modelAliasObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(setETag(ctx, resp.Private, a.Metadata.ETag)...)
	a, err = r.waitReady(ctx, env, name, a)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for model alias", err.Error())
		return
	}
	tflog.Info(ctx, "moved model alias", map[string]any{"environment": env, "name": name, "version": a.Spec.Version})
	resp.Diagnostics.Append(resp.State.Set(ctx, modelAliasFromAPI(ctx, a, plan, &resp.Diagnostics))...)
}

func (r *modelAliasResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state modelAliasModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, modelDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := state.Environment.ValueString(), state.Name.ValueString()
	deleteAndWaitGone(ctx, &resp.Diagnostics, "model alias", modelAliasObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) {
			return r.client.DeleteModelAlias(ctx, env, name)
		},
		func(ctx context.Context) error { return r.client.WaitModelAliasGone(ctx, env, name) })
}

func (r *modelAliasResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importEnvName(ctx, req, resp, "model alias", "terraform import mlops_model_alias.champion dev/churn-champion")
}

// modelAliasObject names a model alias in diagnostics.
func modelAliasObject(env, name string) string {
	return envObject("model alias", env, name)
}

// modelAliasToAPI builds the spec from a plan. The history is the server's
// and is never sent.
func modelAliasToAPI(m modelAliasModel) api.ModelAliasSpec {
	return api.ModelAliasSpec{Model: m.Model.ValueString(), Version: m.Version.ValueString()}
}

// modelAliasFromAPI builds the model from the server's object. prior
// supplies what the server does not know (timeouts).
func modelAliasFromAPI(ctx context.Context, a *api.ModelAlias, prior modelAliasModel, diags *diag.Diagnostics) modelAliasModel {
	return modelAliasModel{
		ID:          types.StringValue(a.Metadata.Environment + "/" + a.Metadata.Name),
		Environment: types.StringValue(a.Metadata.Environment),
		Name:        types.StringValue(a.Metadata.Name),
		Model:       types.StringValue(a.Spec.Model),
		Version:     types.StringValue(a.Spec.Version),
		History:     aliasHistoryFromAPI(ctx, a.Spec.History, diags),
		UID:         types.StringValue(a.Metadata.UID),
		CreatedAt:   types.StringValue(a.Metadata.CreatedAt.Format(time.RFC3339)),
		Timeouts:    prior.Timeouts,
	}
}

// aliasHistoryFromAPI converts the moves, oldest first.
func aliasHistoryFromAPI(ctx context.Context, history []api.AliasMove, diags *diag.Diagnostics) types.List {
	out := make([]aliasMoveModel, 0, len(history))
	for _, m := range history {
		out = append(out, aliasMoveModel{
			Version: types.StringValue(m.Version),
			MovedBy: types.StringValue(m.MovedBy),
			MovedAt: types.StringValue(m.MovedAt.UTC().Format(time.RFC3339)),
		})
	}
	v, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: aliasMoveAttrTypes}, out)
	diags.Append(d...)
	return v
}
