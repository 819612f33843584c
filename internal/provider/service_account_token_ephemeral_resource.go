package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ ephemeral.EphemeralResource              = (*serviceAccountTokenEphemeralResource)(nil)
	_ ephemeral.EphemeralResourceWithConfigure = (*serviceAccountTokenEphemeralResource)(nil)
)

// NewServiceAccountTokenEphemeralResource returns the
// mlops_service_account_token ephemeral resource.
func NewServiceAccountTokenEphemeralResource() ephemeral.EphemeralResource {
	return &serviceAccountTokenEphemeralResource{}
}

type serviceAccountTokenEphemeralResource struct {
	client *client.Client
}

// serviceAccountTokenDefaultTTL is the lifetime of a token when ttl_seconds
// is unset: long enough for one apply.
const serviceAccountTokenDefaultTTL = 3600

type serviceAccountTokenModel struct {
	ServiceAccount types.String `tfsdk:"service_account"`
	TTLSeconds     types.Int64  `tfsdk:"ttl_seconds"`
	ID             types.String `tfsdk:"id"`
	Token          types.String `tfsdk:"token"`
	ExpiresAt      types.String `tfsdk:"expires_at"`
}

func (e *serviceAccountTokenEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_account_token"
}

func (e *serviceAccountTokenEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Issues a short-lived bearer token for a service account, e.g. to configure another provider or a CI secret. " +
			"Being ephemeral, the token never lands in the plan or the state. Needs Terraform 1.10 or later, an admin token, and mlopsd with `-auth on`. " +
			"Every token issued is recorded in the audit log (kind `tokens`), without its secret.",
		Attributes: map[string]schema.Attribute{
			"service_account": schema.StringAttribute{
				MarkdownDescription: "Name of the service account (`mlops_service_account`) the token acts as.",
				Required:            true,
				Validators:          []validator.String{nameValidator()},
			},
			"ttl_seconds": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How long the token works, in seconds: %d to %d; default %d.", api.MinTokenTTLSeconds, api.MaxTokenTTLSeconds, serviceAccountTokenDefaultTTL),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(api.MinTokenTTLSeconds, api.MaxTokenTTLSeconds)},
			},
			"id": schema.StringAttribute{
				MarkdownDescription: "ID of the token, as the audit log names it; not a secret.",
				Computed:            true,
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "The bearer token. Sensitive; mlopsd keeps only its SHA-256 digest, so it cannot be read again.",
				Computed:            true,
				Sensitive:           true,
			},
			"expires_at": schema.StringAttribute{
				MarkdownDescription: "When the token stops working (RFC 3339).",
				Computed:            true,
			},
		},
	}
}

func (e *serviceAccountTokenEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	e.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (e *serviceAccountTokenEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var cfg serviceAccountTokenModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ttl := int64(serviceAccountTokenDefaultTTL)
	if !cfg.TTLSeconds.IsNull() {
		ttl = cfg.TTLSeconds.ValueInt64()
	}
	name := cfg.ServiceAccount.ValueString()
	tok, err := e.client.IssueServiceAccountToken(ctx, name, ttl)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error issuing service account token", serviceAccountObject(name), err)
		return
	}
	tflog.Info(ctx, "issued service account token", map[string]any{"service_account": name, "token_id": tok.ID})
	cfg.ID = types.StringValue(tok.ID)
	cfg.Token = types.StringValue(tok.Token)
	cfg.ExpiresAt = types.StringValue(tok.ExpiresAt.UTC().Format(time.RFC3339))
	resp.Diagnostics.Append(resp.Result.Set(ctx, cfg)...)
}
