package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                   = (*notificationChannelResource)(nil)
	_ resource.ResourceWithConfigure      = (*notificationChannelResource)(nil)
	_ resource.ResourceWithImportState    = (*notificationChannelResource)(nil)
	_ resource.ResourceWithValidateConfig = (*notificationChannelResource)(nil)
)

// NewNotificationChannelResource returns the mlops_notification_channel resource.
func NewNotificationChannelResource() resource.Resource {
	return &notificationChannelResource{}
}

type notificationChannelResource struct {
	client *client.Client
}

type notificationChannelModel struct {
	ID                     types.String   `tfsdk:"id"`
	Environment            types.String   `tfsdk:"environment"`
	Name                   types.String   `tfsdk:"name"`
	Description            types.String   `tfsdk:"description"`
	Type                   types.String   `tfsdk:"type"`
	URL                    types.String   `tfsdk:"url"`
	SigningSecretWO        types.String   `tfsdk:"signing_secret_wo"`
	SigningSecretWOVersion types.Int64    `tfsdk:"signing_secret_wo_version"`
	UID                    types.String   `tfsdk:"uid"`
	CreatedAt              types.String   `tfsdk:"created_at"`
	Timeouts               timeouts.Value `tfsdk:"timeouts"`
}

// Limits of a notification channel, the same as the server's.
const (
	notificationChannelDefaultTimeout = 5 * time.Minute
	signingSecretMinBytes             = 16
	signingSecretMaxBytes             = 512
)

func (r *notificationChannelResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_notification_channel"
}

func (r *notificationChannelResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A notification channel is where alarms (`mlops_alarm`, `actions.notification_channels`) send their state " +
			"transitions. A `webhook` channel receives each transition as a JSON `POST` to `url`, with the headers `X-Mlops-Delivery` " +
			"(unique per delivery, the same on every retry), `X-Mlops-Timestamp` (Unix seconds) and, when the channel has a signing secret, " +
			"`X-Mlops-Signature`: `sha256=` followed by the hex HMAC-SHA256 of `<timestamp>.<body>` under the secret.\n\n" +
			"The signing secret is write-only (`signing_secret_wo`, Terraform 1.11 or later): it is sent to the control plane but never " +
			"stored in the plan or the state, and the control plane never returns it. Terraform sends it on create and whenever " +
			"`signing_secret_wo_version` changes, so bump the version to rotate the secret; remove both to remove it. Every attribute but " +
			"`environment` and `name` changes in place.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, Terraform's resource ID and the import ID. Set by the provider."),
			"environment": environmentAttribute("notification channel"),
			"name":        nameAttribute("notification channel"),
			"description": descriptionAttribute(),
			"type": schema.StringAttribute{
				MarkdownDescription: "How notifications are delivered: `webhook` (a JSON `POST` to `url`), the only type for now. Defaults to `webhook`; changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(api.ChannelWebhook),
				Validators:          []validator.String{stringvalidator.OneOf(api.ChannelTypes...)},
			},
			"url": schema.StringAttribute{
				MarkdownDescription: "The absolute `http://` or `https://` address notifications are POSTed to, e.g. `https://hooks.example.com/mlops`, " +
					"at most 2048 characters, without credentials (`user:password@`, which every read would show; sign the deliveries with " +
					"`signing_secret_wo` instead) and without a `#fragment`. Changes in place.",
				Required:   true,
				Validators: []validator.String{webhookURLValidator{}},
			},
			"signing_secret_wo": schema.StringAttribute{
				MarkdownDescription: "Write-only secret, 16-512 bytes (e.g. 32 random bytes, hex-encoded), with which every delivery is signed " +
					"(`X-Mlops-Signature`). Never stored in the plan or state. Sent on create and whenever `signing_secret_wo_version` " +
					"changes; a new value under the same version is not sent. Needs `signing_secret_wo_version`.",
				Optional:   true,
				Sensitive:  true,
				WriteOnly:  true,
				Validators: []validator.String{stringvalidator.LengthBetween(signingSecretMinBytes, signingSecretMaxBytes)},
			},
			"signing_secret_wo_version": schema.Int64Attribute{
				MarkdownDescription: "Version of `signing_secret_wo`, 1 or more, chosen by you: changing it sends the secret again (an in-place " +
					"update), which is how the secret is rotated. The control plane keeps it with the secret and returns it, so the plan " +
					"shows when the control plane holds another secret, or none. Needs `signing_secret_wo`; remove both to remove the secret.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"uid":        uidAttribute("notification channel"),
			"created_at": createdAtAttribute("notification channel"),
			"timeouts":   timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *notificationChannelResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig requires the signing secret and its version together.
// Values Terraform does not know yet are skipped: terraform validate sees
// every variable, ephemeral ones included, as unknown, and the check runs
// again at plan time with the values. Both errors point at the version,
// which is the attribute the configuration has (a missing secret has no
// line to point at).
func (r *notificationChannelResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var secret types.String
	var version types.Int64
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("signing_secret_wo"), &secret)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("signing_secret_wo_version"), &version)...)
	if resp.Diagnostics.HasError() {
		return
	}
	switch {
	case secret.IsUnknown() || version.IsUnknown():
		return
	case !secret.IsNull() && version.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root("signing_secret_wo_version"), "Missing signing_secret_wo_version",
			"signing_secret_wo is set, so signing_secret_wo_version is needed: set it to 1 (or more), and bump it whenever you change the "+
				"secret, because Terraform cannot see a changed write-only value and only sends the secret when the version changes")
	case secret.IsNull() && !version.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root("signing_secret_wo_version"), "Missing signing_secret_wo",
			"signing_secret_wo_version is set but signing_secret_wo is not; set the secret (e.g. from an ephemeral variable), or remove "+
				"signing_secret_wo_version to have no signing secret")
	}
}

func (r *notificationChannelResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan notificationChannelModel
	var secret types.String
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("signing_secret_wo"), &secret)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, notificationChannelDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	spec := notificationChannelToAPI(plan)
	spec.SigningSecret = secret.ValueString()
	ch, err := r.client.CreateNotificationChannel(ctx, env, name, spec)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating notification channel", notificationChannelObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, notificationChannelFromAPI(ch, plan))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, ch.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ch, err = r.waitReady(ctx, env, name, ch)
	if ch != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, notificationChannelFromAPI(ch, plan))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for notification channel", err.Error())
		return
	}
	tflog.Info(ctx, "created notification channel", map[string]any{"environment": env, "name": name, "uid": ch.Metadata.UID})
}

func (r *notificationChannelResource) waitReady(ctx context.Context, env, name string, written *api.NotificationChannel) (*api.NotificationChannel, error) {
	return waitReady(ctx, notificationChannelObject(env, name), written,
		func(ctx context.Context, gen int64) (*api.NotificationChannel, error) {
			return r.client.WaitNotificationChannelSettled(ctx, env, name, gen)
		},
		func(ch *api.NotificationChannel) (api.Metadata, api.Status) { return ch.Metadata, ch.Status.Status })
}

// Read refreshes the channel. The secret never comes back; its version
// does, so a secret removed or rotated outside Terraform shows as a diff.
func (r *notificationChannelResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state notificationChannelModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	ch, err := r.client.GetNotificationChannel(ctx, env, name)
	if readFailed(ctx, resp, err, "notification channel", notificationChannelObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, notificationChannelFromAPI(ch, state))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, ch.Metadata.ETag)...)
}

// Update sends the secret only when its version changed. An unchanged
// version sends none, which keeps the stored secret; no version sends
// version 0, which removes it.
func (r *notificationChannelResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state notificationChannelModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, notificationChannelDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	spec := notificationChannelToAPI(plan)
	if !plan.SigningSecretWOVersion.IsNull() && !plan.SigningSecretWOVersion.Equal(state.SigningSecretWOVersion) {
		spec.SigningSecret = configuredSigningSecret(ctx, req.Config.GetAttribute, &resp.Diagnostics)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	ch, err := r.client.UpdateNotificationChannel(ctx, env, name, spec, etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating notification channel", notificationChannelObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, notificationChannelFromAPI(ch, plan))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, ch.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ch, err = r.waitReady(ctx, env, name, ch)
	if ch != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, notificationChannelFromAPI(ch, plan))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for notification channel", err.Error())
	}
}

func (r *notificationChannelResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state notificationChannelModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, notificationChannelDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := state.Environment.ValueString(), state.Name.ValueString()
	deleteAndWait(ctx, &resp.Diagnostics, "notification channel", notificationChannelObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) {
			return r.client.DeleteNotificationChannel(ctx, env, name)
		},
		func(ctx context.Context) error {
			_, err := r.client.GetNotificationChannel(ctx, env, name)
			return err
		})
}

func (r *notificationChannelResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	env, name := importEnvName(ctx, req, resp, "notification channel", "terraform import mlops_notification_channel.ops dev/ops")
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), env+"/"+name)...)
}

// notificationChannelObject names a notification channel in diagnostics.
func notificationChannelObject(env, name string) string {
	return envObject("notification channel", env, name)
}

// configuredSigningSecret reads the write-only secret, which only the
// configuration carries (it is null in the plan and state).
func configuredSigningSecret(ctx context.Context, get func(context.Context, path.Path, any) diag.Diagnostics, diags *diag.Diagnostics) string {
	var v types.String
	diags.Append(get(ctx, path.Root("signing_secret_wo"), &v)...)
	return v.ValueString()
}

// notificationChannelToAPI builds the spec from a plan, without the
// secret: the caller adds it when it is to be sent. No version is 0, which
// removes a stored secret.
func notificationChannelToAPI(m notificationChannelModel) api.NotificationChannelSpec {
	return api.NotificationChannelSpec{
		Description:          m.Description.ValueString(),
		Type:                 m.Type.ValueString(),
		URL:                  m.URL.ValueString(),
		SigningSecretVersion: m.SigningSecretWOVersion.ValueInt64(),
	}
}

// notificationChannelFromAPI builds the model from the server's object.
// The secret is always null; version 0 (no secret) reads as null, as an
// omitted attribute does. prior supplies what the server does not know
// (timeouts).
func notificationChannelFromAPI(ch *api.NotificationChannel, prior notificationChannelModel) notificationChannelModel {
	version := types.Int64Null()
	if ch.Spec.SigningSecretVersion != 0 {
		version = types.Int64Value(ch.Spec.SigningSecretVersion)
	}
	return notificationChannelModel{
		ID:                     types.StringValue(ch.Metadata.Environment + "/" + ch.Metadata.Name),
		Environment:            types.StringValue(ch.Metadata.Environment),
		Name:                   types.StringValue(ch.Metadata.Name),
		Description:            types.StringValue(ch.Spec.Description),
		Type:                   types.StringValue(ch.Spec.Type),
		URL:                    types.StringValue(ch.Spec.URL),
		SigningSecretWO:        types.StringNull(),
		SigningSecretWOVersion: version,
		UID:                    types.StringValue(ch.Metadata.UID),
		CreatedAt:              types.StringValue(ch.Metadata.CreatedAt.Format(time.RFC3339)),
		Timeouts:               prior.Timeouts,
	}
}
