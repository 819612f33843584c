package provider

import (
	"context"
	"reflect"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                = (*modelResource)(nil)
	_ resource.ResourceWithConfigure   = (*modelResource)(nil)
	_ resource.ResourceWithImportState = (*modelResource)(nil)
)

// NewModelResource returns the mlops_model resource.
func NewModelResource() resource.Resource {
	return &modelResource{}
}

type modelResource struct {
	client *client.Client
}

type modelModel struct {
	ID           types.String   `tfsdk:"id"`
	Environment  types.String   `tfsdk:"environment"`
	Name         types.String   `tfsdk:"name"`
	Description  types.String   `tfsdk:"description"`
	TaskType     types.String   `tfsdk:"task_type"`
	Labels       types.Map      `tfsdk:"labels"`
	UID          types.String   `tfsdk:"uid"`
	CreatedAt    types.String   `tfsdk:"created_at"`
	ForceDestroy types.Bool     `tfsdk:"force_destroy"`
	Timeouts     timeouts.Value `tfsdk:"timeouts"`
}

// Default timeouts of model registry operations. Registering is a write to
// the control plane's database, so they are short.
const modelDefaultTimeout = 5 * time.Minute

func (r *modelResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_model"
}

func (r *modelResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A registered model: the named thing, such as a churn classifier, whose versions the model registry tracks " +
			"(`mlops_model_version`) and whose aliases (`mlops_model_alias`) say which version plays which role. " +
			"A model can only be deleted once it has no versions and no aliases; the control plane refuses with their names. " +
			"Versions that pipeline runs register (`mlops_training_pipeline`) are in no Terraform state, so a model that a pipeline " +
			"trained cannot be destroyed unless `force_destroy` is `true`.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, as Terraform's resource ID."),
			"environment": environmentAttribute("model"),
			"name":        nameAttribute("model"),
			"description": descriptionAttribute(),
			"task_type": schema.StringAttribute{
				MarkdownDescription: "What the model does: `classification`, `regression`, `ranking`, `forecasting`, `generation`, `embedding` or `other`. Changes in place.",
				Required:            true,
				Validators:          []validator.String{stringvalidator.OneOf(api.TaskTypes...)},
			},
			"labels":     labelsAttribute(),
			"uid":        uidAttribute("model"),
			"created_at": createdAtAttribute("model"),
			"force_destroy": schema.BoolAttribute{
				MarkdownDescription: "Boolean that indicates all versions and aliases of the model (including versions that pipeline runs registered, " +
					"which are in no Terraform state) should be deleted *when the model is destroyed*, so that the model can be destroyed without error. " +
					"The control plane deletes the aliases, then the versions, then the model, each an audited delete; registered artifact files stay " +
					"where they are, but the versions are *not* recoverable. Defaults to `false`: destroying a model that still has versions or " +
					"aliases fails with their names. " +
					"This only deletes versions and aliases when the model is destroyed, *not* when setting this attribute to `true`. " +
					"It is kept in Terraform state only (the control plane never sees it), so once it is set to `true`, there must be a successful " +
					"`terraform apply` before a destroy for the new value to be in state; without one, the flag has no effect. " +
					"If setting it in the same operation that would replace or destroy the model, it will not work. " +
					"Importing a model sets it to `false`; a successful `terraform apply` is required to set it in state before it takes effect on a destroy.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *modelResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *modelResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan modelModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, modelDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	spec := modelToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	m, err := r.client.CreateModel(ctx, env, name, spec)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating model", modelObject(env, name), err)
		return
	}
	// Save what exists before waiting, so a timeout leaves a tracked object
	// rather than an orphan that the next apply would collide with.
	resp.Diagnostics.Append(resp.State.Set(ctx, modelFromAPI(ctx, m, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, m.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m, err = r.waitReady(ctx, env, name, m)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for model", err.Error())
		return
	}
	tflog.Info(ctx, "created model", map[string]any{"environment": env, "name": name, "uid": m.Metadata.UID})
	resp.Diagnostics.Append(resp.State.Set(ctx, modelFromAPI(ctx, m, plan, &resp.Diagnostics))...)
}

func (r *modelResource) waitReady(ctx context.Context, env, name string, written *api.Model) (*api.Model, error) {
	return waitReady(ctx, modelObject(env, name), written,
		func(ctx context.Context, gen int64) (*api.Model, error) {
			return r.client.WaitModelSettled(ctx, env, name, gen)
		},
		func(m *api.Model) (api.Metadata, api.Status) { return m.Metadata, m.Status })
}

func (r *modelResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state modelModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	m, err := r.client.GetModel(ctx, env, name)
	if readFailed(ctx, resp, err, "model", modelObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, modelFromAPI(ctx, m, state, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, m.Metadata.ETag)...)
}

func (r *modelResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan modelModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state modelModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	timeout, diags := plan.Timeouts.Update(ctx, modelDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	spec := modelToAPI(ctx, plan, &resp.Diagnostics)
	prior := modelToAPI(ctx, state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if reflect.DeepEqual(spec, prior) {
		// Only provider-side attributes changed (force_destroy, timeouts):
		// nothing to send to the control plane.
		state.ForceDestroy, state.Timeouts = plan.ForceDestroy, plan.Timeouts
		resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	m, err := r.client.UpdateModel(ctx, env, name, spec, etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating model", modelObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(setETag(ctx, resp.Private, m.Metadata.ETag)...)
	m, err = r.waitReady(ctx, env, name, m)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for model", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, modelFromAPI(ctx, m, plan, &resp.Diagnostics))...)
}

func (r *modelResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state modelModel
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
	// force_destroy also deletes the versions and aliases, some of which
	// pipeline runs registered outside Terraform; without it the control
	// plane refuses while any exist and names them.
	opts := client.DeleteModelOptions{Force: state.ForceDestroy.ValueBool()}
	deleteAndWaitGone(ctx, &resp.Diagnostics, "model", modelObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) {
			return r.client.DeleteModelWithOptions(ctx, env, name, opts)
		},
		func(ctx context.Context) error { return r.client.WaitModelGone(ctx, env, name) })
}

func (r *modelResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importEnvName(ctx, req, resp, "model", "terraform import mlops_model.churn dev/churn")
}

// modelObject names a model in diagnostics.
func modelObject(env, name string) string {
	return envObject("model", env, name)
}

// modelToAPI builds the spec from a plan.
func modelToAPI(ctx context.Context, m modelModel, diags *diag.Diagnostics) api.ModelSpec {
	return api.ModelSpec{
		Description: m.Description.ValueString(),
		TaskType:    m.TaskType.ValueString(),
		Labels:      mapToAPI(ctx, m.Labels, diags),
	}
}

// modelFromAPI builds the model from the server's object. prior supplies
// what the server does not know (force_destroy, false after an import, and
// timeouts).
func modelFromAPI(ctx context.Context, m *api.Model, prior modelModel, diags *diag.Diagnostics) modelModel {
	forceDestroy := prior.ForceDestroy
	if forceDestroy.IsNull() || forceDestroy.IsUnknown() {
		forceDestroy = types.BoolValue(false)
	}
	return modelModel{
		ID:           types.StringValue(m.Metadata.Environment + "/" + m.Metadata.Name),
		Environment:  types.StringValue(m.Metadata.Environment),
		Name:         types.StringValue(m.Metadata.Name),
		Description:  types.StringValue(m.Spec.Description),
		TaskType:     types.StringValue(m.Spec.TaskType),
		Labels:       mapFromAPI(ctx, m.Spec.Labels, diags),
		UID:          types.StringValue(m.Metadata.UID),
		CreatedAt:    types.StringValue(m.Metadata.CreatedAt.Format(time.RFC3339)),
		ForceDestroy: forceDestroy,
		Timeouts:     prior.Timeouts,
	}
}
