package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                = (*roleBindingResource)(nil)
	_ resource.ResourceWithConfigure   = (*roleBindingResource)(nil)
	_ resource.ResourceWithImportState = (*roleBindingResource)(nil)
)

// NewRoleBindingResource returns the mlops_role_binding resource.
func NewRoleBindingResource() resource.Resource {
	return &roleBindingResource{}
}

type roleBindingResource struct {
	client *client.Client
}

type roleBindingModel struct {
	ID          types.String `tfsdk:"id"`
	Environment types.String `tfsdk:"environment"`
	Name        types.String `tfsdk:"name"`
	Subject     types.String `tfsdk:"subject"`
	Role        types.String `tfsdk:"role"`
	UID         types.String `tfsdk:"uid"`
	CreatedAt   types.String `tfsdk:"created_at"`
}

func (r *roleBindingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_role_binding"
}

func (r *roleBindingResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Grants a service account a role in one environment. Roles, weakest first: `viewer` reads objects and audit records, " +
			"`invoker` also starts and cancels pipeline runs, `editor` also writes objects, `owner` also manages role bindings and approves model versions. " +
			"Takes effect when mlopsd runs with `-auth on`; managing role bindings needs `owner` in the environment (or admin).",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, as Terraform's resource ID."),
			"environment": environmentAttribute("role binding"),
			"name":        nameAttribute("role binding"),
			"subject":     immutableNameAttribute("Name of the service account (`mlops_service_account`) the role is granted to. Changing it replaces the binding."),
			"role": schema.StringAttribute{
				MarkdownDescription: "`viewer`, `invoker`, `editor` or `owner`. Changes in place.",
				Required:            true,
				Validators:          []validator.String{stringvalidator.OneOf(api.Roles...)},
			},
			"uid":        uidAttribute("role binding"),
			"created_at": createdAtAttribute("role binding"),
		},
	}
}

func (r *roleBindingResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *roleBindingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan roleBindingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	rb, err := r.client.CreateRoleBinding(ctx, env, name, roleBindingToAPI(plan))
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating role binding", envObject("role binding", env, name), err)
		return
	}
	tflog.Info(ctx, "created role binding", map[string]any{"environment": env, "name": name, "uid": rb.Metadata.UID})
	resp.Diagnostics.Append(resp.State.Set(ctx, roleBindingFromAPI(rb))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, rb.Metadata.ETag)...)
}

func (r *roleBindingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state roleBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	rb, err := r.client.GetRoleBinding(ctx, env, name)
	if readFailed(ctx, resp, err, "role binding", envObject("role binding", env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, roleBindingFromAPI(rb))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, rb.Metadata.ETag)...)
}

func (r *roleBindingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan roleBindingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	rb, err := r.client.UpdateRoleBinding(ctx, env, name, roleBindingToAPI(plan), etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating role binding", envObject("role binding", env, name), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, roleBindingFromAPI(rb))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, rb.Metadata.ETag)...)
}

func (r *roleBindingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state roleBindingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	if _, err := r.client.DeleteRoleBinding(ctx, env, name); err != nil {
		addAPIError(&resp.Diagnostics, "Error deleting role binding", envObject("role binding", env, name), err)
	}
}

func (r *roleBindingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importEnvName(ctx, req, resp, "role binding", "terraform import mlops_role_binding.ci dev/ci-editor")
}

func roleBindingToAPI(m roleBindingModel) api.RoleBindingSpec {
	return api.RoleBindingSpec{Subject: m.Subject.ValueString(), Role: m.Role.ValueString()}
}

func roleBindingFromAPI(rb *api.RoleBinding) roleBindingModel {
	return roleBindingModel{
		ID:          types.StringValue(rb.Metadata.Environment + "/" + rb.Metadata.Name),
		Environment: types.StringValue(rb.Metadata.Environment),
		Name:        types.StringValue(rb.Metadata.Name),
		Subject:     types.StringValue(rb.Spec.Subject),
		Role:        types.StringValue(rb.Spec.Role),
		UID:         types.StringValue(rb.Metadata.UID),
		CreatedAt:   types.StringValue(rb.Metadata.CreatedAt.Format(time.RFC3339)),
	}
}
