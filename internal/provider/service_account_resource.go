package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                = (*serviceAccountResource)(nil)
	_ resource.ResourceWithConfigure   = (*serviceAccountResource)(nil)
	_ resource.ResourceWithImportState = (*serviceAccountResource)(nil)
)

// NewServiceAccountResource returns the mlops_service_account resource.
func NewServiceAccountResource() resource.Resource {
	return &serviceAccountResource{}
}

type serviceAccountResource struct {
	client *client.Client
}

type serviceAccountModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Description types.String `tfsdk:"description"`
	UID         types.String `tfsdk:"uid"`
	CreatedAt   types.String `tfsdk:"created_at"`
}

func (r *serviceAccountResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_account"
}

func (r *serviceAccountResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A service account is an identity for automation (CI, schedulers) that lives in no environment. " +
			"`mlops_role_binding` grants it roles per environment, and the ephemeral resource `mlops_service_account_token` issues it short-lived tokens. " +
			"Managing service accounts needs an admin token when mlopsd runs with `-auth on`. A service account still named by role bindings cannot be deleted.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("The service account's name, as Terraform's resource ID."),
			"name":        immutableNameAttribute("Name of the service account: 1-63 lowercase letters, digits and `-`, starting with a letter; `admin` is reserved. Changing it replaces the service account."),
			"description": descriptionAttribute(),
			"uid":         uidAttribute("service account"),
			"created_at":  createdAtAttribute("service account"),
		},
	}
}

func (r *serviceAccountResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *serviceAccountResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serviceAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	sa, err := r.client.CreateServiceAccount(ctx, name, serviceAccountToAPI(plan))
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating service account", serviceAccountObject(name), err)
		return
	}
	tflog.Info(ctx, "created service account", map[string]any{"name": name, "uid": sa.Metadata.UID})
	resp.Diagnostics.Append(resp.State.Set(ctx, serviceAccountFromAPI(sa))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, sa.Metadata.ETag)...)
}

func (r *serviceAccountResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	sa, err := r.client.GetServiceAccount(ctx, name)
	if readFailed(ctx, resp, err, "service account", serviceAccountObject(name), map[string]any{"name": name}) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, serviceAccountFromAPI(sa))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, sa.Metadata.ETag)...)
}

func (r *serviceAccountResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan serviceAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	sa, err := r.client.UpdateServiceAccount(ctx, name, serviceAccountToAPI(plan), etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating service account", serviceAccountObject(name), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, serviceAccountFromAPI(sa))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, sa.Metadata.ETag)...)
}

func (r *serviceAccountResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	if _, err := r.client.DeleteServiceAccount(ctx, name); err != nil {
		addAPIError(&resp.Diagnostics, "Error deleting service account", serviceAccountObject(name), err)
	}
}

func (r *serviceAccountResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := validateNameValue(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Import ID %q is not a service account name: %s. Use the name, e.g. terraform import mlops_service_account.ci ci", req.ID, err))
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("name"), req, resp)
}

func serviceAccountObject(name string) string {
	return fmt.Sprintf("service account %q", name)
}

func serviceAccountToAPI(m serviceAccountModel) api.ServiceAccountSpec {
	return api.ServiceAccountSpec{Description: m.Description.ValueString()}
}

func serviceAccountFromAPI(sa *api.ServiceAccount) serviceAccountModel {
	return serviceAccountModel{
		ID:          types.StringValue(sa.Metadata.Name),
		Name:        types.StringValue(sa.Metadata.Name),
		Description: types.StringValue(sa.Spec.Description),
		UID:         types.StringValue(sa.Metadata.UID),
		CreatedAt:   types.StringValue(sa.Metadata.CreatedAt.Format(time.RFC3339)),
	}
}
