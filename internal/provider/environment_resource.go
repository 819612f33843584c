package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                = (*environmentResource)(nil)
	_ resource.ResourceWithConfigure   = (*environmentResource)(nil)
	_ resource.ResourceWithImportState = (*environmentResource)(nil)
)

// NewEnvironmentResource returns the mlops_environment resource.
func NewEnvironmentResource() resource.Resource {
	return &environmentResource{}
}

type environmentResource struct {
	client *client.Client
}

type environmentModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Description types.String `tfsdk:"description"`
	Labels      types.Map    `tfsdk:"labels"`
	Policy      types.Object `tfsdk:"policy"`
	// DeletionProtection is the API's spec.policy.deletion_protection, kept
	// at the top level where Terraform users look for it.
	DeletionProtection types.Bool     `tfsdk:"deletion_protection"`
	UID                types.String   `tfsdk:"uid"`
	CreatedAt          types.String   `tfsdk:"created_at"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

type environmentPolicyModel struct {
	MaxGPUs                 types.Int64 `tfsdk:"max_gpus"`
	AllowedAcceleratorTypes types.Set   `tfsdk:"allowed_accelerator_types"`
	RequireApprovedModels   types.Bool  `tfsdk:"require_approved_models"`
	RequiredAlarms          types.Set   `tfsdk:"required_alarms"`
}

var environmentPolicyAttrTypes = map[string]attr.Type{
	"max_gpus":                  types.Int64Type,
	"allowed_accelerator_types": types.SetType{ElemType: types.StringType},
	"require_approved_models":   types.BoolType,
	"required_alarms":           types.SetType{ElemType: types.StringType},
}

// Default timeouts of environment operations.
const environmentDefaultTimeout = 5 * time.Minute

func (r *environmentResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_environment"
}

func (r *environmentResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An environment (for example `dev`, `staging` or `prod`) is the namespace every other object lives in, " +
			"with a policy that the control plane enforces on them: which accelerators compute pools may use and how many GPUs they may hold in total. " +
			"An environment can only be deleted once it is empty, and not at all while `deletion_protection` is `true`.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("The environment's name, as Terraform's resource ID."),
			"name":        immutableNameAttribute("Name of the environment: 1-63 lowercase letters, digits and `-`, starting with a letter. Changing it replaces the environment."),
			"description": descriptionAttribute(),
			"labels":      labelsAttribute(),
			"policy": schema.SingleNestedAttribute{
				MarkdownDescription: "Guardrails the control plane enforces on the environment's compute pools and model endpoints, at create and " +
					"update time. Tightening the policy below what existing pools use is refused with the pool named. Changes in place.",
				Optional: true,
				Computed: true,
				Default: objectdefault.StaticValue(types.ObjectValueMust(environmentPolicyAttrTypes, map[string]attr.Value{
					"max_gpus":                  types.Int64Null(),
					"allowed_accelerator_types": types.SetNull(types.StringType),
					"require_approved_models":   types.BoolValue(false),
					"required_alarms":           types.SetNull(types.StringType),
				})),
				Attributes: map[string]schema.Attribute{
					"max_gpus": schema.Int64Attribute{
						MarkdownDescription: "Most GPUs the environment's compute pools may hold in total, counted as `max_nodes × accelerator_count` per pool. `0` forbids GPUs; unset means no cap.",
						Optional:            true,
						Validators:          []validator.Int64{int64validator.Between(0, 100000)},
					},
					"allowed_accelerator_types": schema.SetAttribute{
						MarkdownDescription: "Accelerator types compute pools may use, e.g. `[\"nvidia-t4\", \"nvidia-a100\"]`. Unset allows any type.",
						ElementType:         types.StringType,
						Optional:            true,
						Validators:          []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(acceleratorTypeValidator())},
					},
					"require_approved_models": schema.BoolAttribute{
						MarkdownDescription: "When `true`, model endpoints (`mlops_model_endpoint`) may only serve model versions whose approval status is `approved`. Defaults to `false`.",
						Optional:            true,
						Computed:            true,
						Default:             booldefault.StaticBool(false),
					},
					"required_alarms": schema.SetAttribute{
						MarkdownDescription: "Alarm metrics every model endpoint in the environment must be watched by, e.g. `[\"error_rate\", \"latency\"]` " +
							"(an `mlops_alarm` with that `metric` naming the endpoint). A change of what an endpoint serves (a variant's `model_version` or " +
							"`command`, a new variant) is refused until the alarms exist — at plan time when the provider can read them, and always by the " +
							"control plane. Creating an endpoint is allowed (its alarms name it, so they come after it); the `mlops_model_endpoint` data " +
							"source's `message` says what it still lacks. Each one of the alarm metrics: " + strings.Join(api.AlarmMetrics, ", ") + ". Unset requires none.",
						ElementType: types.StringType,
						Optional:    true,
						Validators:  []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(stringvalidator.OneOf(api.AlarmMetrics...))},
					},
				},
			},
			"deletion_protection": schema.BoolAttribute{
				MarkdownDescription: "When `true`, the control plane refuses to delete the environment, so `terraform destroy` (or removing the resource, " +
					"or a change that replaces it) fails until you set it to `false` and apply. Defaults to `false`; changes in place.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"uid":        uidAttribute("environment"),
			"created_at": createdAtAttribute("environment"),
			"timeouts":   timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *environmentResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *environmentResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan environmentModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, environmentDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	spec := environmentToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	name := plan.Name.ValueString()
	env, err := r.client.CreateEnvironment(ctx, name, spec)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating environment", environmentObject(name), err)
		return
	}
	// Save what exists before waiting, so a timeout leaves a tracked object
	// rather than an orphan that the next apply would collide with.
	resp.Diagnostics.Append(resp.State.Set(ctx, environmentFromAPI(ctx, env, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, env.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, err = r.waitReady(ctx, name, env)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for environment", err.Error())
		return
	}
	tflog.Info(ctx, "created environment", map[string]any{"name": name, "uid": env.Metadata.UID})
	resp.Diagnostics.Append(resp.State.Set(ctx, environmentFromAPI(ctx, env, plan, &resp.Diagnostics))...)
}

func (r *environmentResource) waitReady(ctx context.Context, name string, written *api.Environment) (*api.Environment, error) {
	return waitReady(ctx, environmentObject(name), written,
		func(ctx context.Context, gen int64) (*api.Environment, error) {
			return r.client.WaitEnvironmentSettled(ctx, name, gen)
		},
		func(env *api.Environment) (api.Metadata, api.Status) { return env.Metadata, env.Status.Status })
}

func (r *environmentResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state environmentModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, err := r.client.GetEnvironment(ctx, state.Name.ValueString())
	if readFailed(ctx, resp, err, "environment", environmentObject(state.Name.ValueString()), map[string]any{"name": state.Name.ValueString()}) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, environmentFromAPI(ctx, env, state, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, env.Metadata.ETag)...)
}

func (r *environmentResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan environmentModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, environmentDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	spec := environmentToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	name := plan.Name.ValueString()
	env, err := r.client.UpdateEnvironment(ctx, name, spec, etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating environment", environmentObject(name), err)
		return
	}
	resp.Diagnostics.Append(setETag(ctx, resp.Private, env.Metadata.ETag)...)
	env, err = r.waitReady(ctx, name, env)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for environment", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, environmentFromAPI(ctx, env, plan, &resp.Diagnostics))...)
}

func (r *environmentResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state environmentModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, environmentDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	name := state.Name.ValueString()
	deleteAndWaitGone(ctx, &resp.Diagnostics, "environment", environmentObject(name),
		func(ctx context.Context) (*client.DeleteResult, error) { return r.client.DeleteEnvironment(ctx, name) },
		func(ctx context.Context) error { return r.client.WaitEnvironmentGone(ctx, name) })
}

func (r *environmentResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := validateNameValue(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Import ID %q is not an environment name: %s. Use the environment's name, e.g. terraform import mlops_environment.dev dev", req.ID, err))
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
}

// environmentToAPI builds the spec from a plan.
func environmentToAPI(ctx context.Context, m environmentModel, diags *diag.Diagnostics) api.EnvironmentSpec {
	spec := api.EnvironmentSpec{
		Description: m.Description.ValueString(),
		Labels:      mapToAPI(ctx, m.Labels, diags),
	}
	spec.Policy.DeletionProtection = m.DeletionProtection.ValueBool()
	if !m.Policy.IsNull() && !m.Policy.IsUnknown() {
		var p environmentPolicyModel
		diags.Append(m.Policy.As(ctx, &p, objectAsOptions)...)
		if !p.MaxGPUs.IsNull() {
			v := p.MaxGPUs.ValueInt64()
			spec.Policy.MaxGPUs = &v
		}
		spec.Policy.AllowedAcceleratorTypes = setToAPI(ctx, p.AllowedAcceleratorTypes, diags)
		spec.Policy.RequireApprovedModels = p.RequireApprovedModels.ValueBool()
		spec.Policy.RequiredAlarms = setToAPI(ctx, p.RequiredAlarms, diags)
	}
	return spec
}

// environmentFromAPI builds the model from the server's object. prior
// supplies what the server does not know (timeouts).
func environmentFromAPI(ctx context.Context, env *api.Environment, prior environmentModel, diags *diag.Diagnostics) environmentModel {
	policy := map[string]attr.Value{
		"max_gpus":                  types.Int64PointerValue(env.Spec.Policy.MaxGPUs),
		"allowed_accelerator_types": setFromAPI(ctx, env.Spec.Policy.AllowedAcceleratorTypes, diags),
		"require_approved_models":   types.BoolValue(env.Spec.Policy.RequireApprovedModels),
		"required_alarms":           setFromAPI(ctx, env.Spec.Policy.RequiredAlarms, diags),
	}
	obj, d := types.ObjectValue(environmentPolicyAttrTypes, policy)
	diags.Append(d...)
	return environmentModel{
		ID:                 types.StringValue(env.Metadata.Name),
		Name:               types.StringValue(env.Metadata.Name),
		Description:        types.StringValue(env.Spec.Description),
		Labels:             mapFromAPI(ctx, env.Spec.Labels, diags),
		Policy:             obj,
		DeletionProtection: types.BoolValue(env.Spec.Policy.DeletionProtection),
		UID:                types.StringValue(env.Metadata.UID),
		CreatedAt:          types.StringValue(env.Metadata.CreatedAt.Format(time.RFC3339)),
		Timeouts:           prior.Timeouts,
	}
}
