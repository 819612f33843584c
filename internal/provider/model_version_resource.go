package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
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
	_ resource.Resource                   = (*modelVersionResource)(nil)
	_ resource.ResourceWithConfigure      = (*modelVersionResource)(nil)
	_ resource.ResourceWithImportState    = (*modelVersionResource)(nil)
	_ resource.ResourceWithValidateConfig = (*modelVersionResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*modelVersionResource)(nil)
)

// NewModelVersionResource returns the mlops_model_version resource.
func NewModelVersionResource() resource.Resource {
	return &modelVersionResource{}
}

type modelVersionResource struct {
	client *client.Client
}

type modelVersionModel struct {
	ID              types.String   `tfsdk:"id"`
	Environment     types.String   `tfsdk:"environment"`
	Name            types.String   `tfsdk:"name"`
	Model           types.String   `tfsdk:"model"`
	Description     types.String   `tfsdk:"description"`
	ArtifactURI     types.String   `tfsdk:"artifact_uri"`
	ArtifactSHA256  types.String   `tfsdk:"artifact_sha256"`
	BaselineURI     types.String   `tfsdk:"baseline_uri"`
	BaselineSHA256  types.String   `tfsdk:"baseline_sha256"`
	Framework       types.String   `tfsdk:"framework"`
	Inputs          types.List     `tfsdk:"inputs"`
	Outputs         types.List     `tfsdk:"outputs"`
	Metrics         types.Map      `tfsdk:"metrics"`
	Lineage         types.Object   `tfsdk:"lineage"`
	Approval        types.Object   `tfsdk:"approval"`
	ApprovedBy      types.String   `tfsdk:"approved_by"`
	ApprovedAt      types.String   `tfsdk:"approved_at"`
	ApprovalHistory types.List     `tfsdk:"approval_history"`
	UID             types.String   `tfsdk:"uid"`
	CreatedAt       types.String   `tfsdk:"created_at"`
	Timeouts        timeouts.Value `tfsdk:"timeouts"`
}

type modelSignatureFieldModel struct {
	Name      types.String `tfsdk:"name"`
	ValueType types.String `tfsdk:"value_type"`
}

type modelLineageModel struct {
	PipelineRun   types.String `tfsdk:"pipeline_run"`
	DatasetURI    types.String `tfsdk:"dataset_uri"`
	DatasetSHA256 types.String `tfsdk:"dataset_sha256"`
	CodeRef       types.String `tfsdk:"code_ref"`
	Parameters    types.Map    `tfsdk:"parameters"`
}

type modelApprovalModel struct {
	Status types.String `tfsdk:"status"`
	Reason types.String `tfsdk:"reason"`
}

type approvalDecisionModel struct {
	Status    types.String `tfsdk:"status"`
	Reason    types.String `tfsdk:"reason"`
	Approver  types.String `tfsdk:"approver"`
	DecidedAt types.String `tfsdk:"decided_at"`
}

var modelSignatureFieldAttrTypes = map[string]attr.Type{
	"name":       types.StringType,
	"value_type": types.StringType,
}

var modelLineageAttrTypes = map[string]attr.Type{
	"pipeline_run":   types.StringType,
	"dataset_uri":    types.StringType,
	"dataset_sha256": types.StringType,
	"code_ref":       types.StringType,
	"parameters":     types.MapType{ElemType: types.StringType},
}

var modelApprovalAttrTypes = map[string]attr.Type{
	"status": types.StringType,
	"reason": types.StringType,
}

var approvalDecisionAttrTypes = map[string]attr.Type{
	"status":     types.StringType,
	"reason":     types.StringType,
	"approver":   types.StringType,
	"decided_at": types.StringType,
}

// approvalStatuses are the approval states, in the order people meet them.
var approvalStatuses = []string{api.ApprovalPending, api.ApprovalApproved, api.ApprovalRejected}

// Limits of a model version, the same as the server's.
const (
	modelVersionMaxSignatureFields = 1000
	modelVersionMaxMetrics         = 100
	modelVersionMaxParameters      = 200
)

func (r *modelVersionResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_model_version"
}

// signatureAttribute is the schema of a version's inputs or outputs.
func signatureAttribute(what string) schema.ListNestedAttribute {
	return schema.ListNestedAttribute{
		MarkdownDescription: "The model's " + what + ", in order (1 to 1000 named, typed fields); omit the attribute for none. Changing it replaces the version.",
		Optional:            true,
		Validators:          []validator.List{listvalidator.SizeBetween(1, modelVersionMaxSignatureFields)},
		PlanModifiers:       []planmodifier.List{listplanmodifier.RequiresReplace()},
		NestedObject: schema.NestedAttributeObject{
			Attributes: map[string]schema.Attribute{
				"name": schema.StringAttribute{
					MarkdownDescription: "Field name, unique in the list: 1-63 lowercase letters, digits and `_`, starting with a letter or `_`.",
					Required:            true,
					Validators:          []validator.String{identifierValidator()},
				},
				"value_type": schema.StringAttribute{
					MarkdownDescription: "Field type: `string`, `int64`, `float64`, `bool`, `timestamp` or `bytes`.",
					Required:            true,
					Validators:          []validator.String{stringvalidator.OneOf(api.ValueTypes...)},
				},
			},
		},
	}
}

func (r *modelVersionResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	// The approval outputs change only when the approval does.
	approvalDerived := []planmodifier.String{useStateUnlessChanged(path.Root("approval"))}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One registered version of a model: an artifact with its SHA-256, framework, signature, evaluation metrics and lineage " +
			"(the pipeline run, data and code that produced it), plus its approval state.\n\n" +
			"A registered version is immutable: only `description` and `approval` change in place, and changing anything else replaces the version " +
			"(the plan says so). To ship a new model, register a new version under a new name and move the alias (`mlops_model_alias`) to it. " +
			"A version an alias points at cannot be deleted (the control plane refuses and names the alias), so replacing it in place fails until the alias moves. " +
			"Declare versions with `lifecycle { create_before_destroy = true }` so that when one apply moves an alias to a new version and removes the old one, " +
			"Terraform moves the alias before it deletes the old version (without it, Terraform deletes first, and the delete is refused).\n\n" +
			"When `artifact_uri` is a local file (`file:///absolute/path`), the control plane reads the file at registration and refuses a digest " +
			"that does not match or a file that does not exist. Other schemes are recorded as given.\n\n" +
			"Approval moves from `pending` to `approved` or `rejected`; an approved version can be rejected (revoked) and a rejected one approved again " +
			"with a reason, but no version goes back to `pending`. The control plane records every decision in `approval_history` under the " +
			"authenticated identity of the caller (the provider's token), never a name from the configuration.\n\n" +
			"Approvals usually come from people (the CLI, a console, the API), not from Terraform. Leave `approval` out and Terraform does not " +
			"manage it: a new version starts `pending`, and a decision made out of band shows in state without a diff. Set `approval` and " +
			"Terraform drives it: a decision made out of band then shows as drift that the next apply reverts with a decision of its own.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, as Terraform's resource ID."),
			"environment": environmentAttribute("model version"),
			"name": immutableNameAttribute("Name of the version, unique among all model versions in its environment, e.g. `churn-7`: " +
				"1-63 lowercase letters, digits and `-`, starting with a letter. Changing it replaces the version."),
			"model": immutableNameAttribute("Name of the model (`mlops_model`), in the same environment, that this is a version of. It must exist. Changing it replaces the version."),
			"description": schema.StringAttribute{
				MarkdownDescription: "Free text for people, at most 1024 characters. Defaults to an empty string; one of the two attributes that change in place.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(""),
				Validators:          []validator.String{stringvalidator.LengthAtMost(1024)},
			},
			"artifact_uri": schema.StringAttribute{
				MarkdownDescription: "Where the artifact lives, as `scheme://location`, e.g. `file:///var/lib/mlops/models/churn/7/model.json` or `s3://models/churn/7/`. " +
					"A `file://` artifact must exist on the control plane's host and match `artifact_sha256`. Changing it replaces the version.",
				Required:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 2048),
					uriValidator("file:///var/lib/mlops/models/churn/7/model.json or s3://models/churn/7/"),
				},
			},
			"artifact_sha256": schema.StringAttribute{
				MarkdownDescription: "SHA-256 of the artifact as 64 lowercase hex digits (what `sha256sum` prints, or `filesha256()` in Terraform). Changing it replaces the version.",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{sha256Validator()},
			},
			"baseline_uri": schema.StringAttribute{
				MarkdownDescription: "The training data's feature values, which drift alarms (`feature_drift_psi`, `feature_drift_ks`) compare the inputs an endpoint serves with: " +
					"a local JSON file `file:///absolute/path` of the form `{\"features\": [{\"name\": \"sqft\", \"values\": [...]}, ...]}`, one feature per model input in input order, " +
					"each with 10 to 100000 finite values. The control plane reads it at registration and refuses a file that does not match `baseline_sha256` or is not a valid baseline. " +
					"Pipeline runs register one from a `baseline.json` in their output. Omit it for no baseline; requires `baseline_sha256`. Changing it replaces the version.",
				Optional:      true,
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 2048),
					uriValidator("file:///var/lib/mlops/models/churn/7/baseline.json"),
					stringvalidator.AlsoRequires(path.MatchRoot("baseline_sha256")),
				},
			},
			"baseline_sha256": schema.StringAttribute{
				MarkdownDescription: "SHA-256 of the baseline file as 64 lowercase hex digits (`filesha256()` in Terraform); requires `baseline_uri`. Changing it replaces the version.",
				Optional:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{sha256Validator(), stringvalidator.AlsoRequires(path.MatchRoot("baseline_uri"))},
			},
			"framework": schema.StringAttribute{
				MarkdownDescription: "Framework that reads the artifact, e.g. `sklearn`, `xgboost`, `pytorch`, `onnx` or `mlops-linear`. Changing it replaces the version.",
				Required:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{frameworkValidator()},
			},
			"inputs":  signatureAttribute("inputs"),
			"outputs": signatureAttribute("outputs"),
			"metrics": schema.MapAttribute{
				MarkdownDescription: "Evaluation results by name (at most 100), e.g. `{ auc = \"0.91\" }`. Values are decimal numbers written as strings, " +
					"so no precision is lost on the way. Names use lowercase letters, digits and `_`. Changing them replaces the version.",
				ElementType:   types.StringType,
				Optional:      true,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				Validators: []validator.Map{
					mapvalidator.SizeBetween(1, modelVersionMaxMetrics),
					mapvalidator.KeysAre(identifierValidator()),
					mapvalidator.ValueStringsAre(decimalValidator()),
				},
			},
			"lineage": schema.SingleNestedAttribute{
				MarkdownDescription: "Where the version came from. Set the attributes you know; omit `lineage` when none is known. Changing it replaces the version.",
				Optional:            true,
				PlanModifiers:       []planmodifier.Object{objectplanmodifier.RequiresReplace()},
				Attributes: map[string]schema.Attribute{
					"pipeline_run": schema.StringAttribute{
						MarkdownDescription: "Name of the pipeline run that trained the version.",
						Optional:            true,
						Validators:          []validator.String{nameValidator()},
					},
					"dataset_uri": schema.StringAttribute{
						MarkdownDescription: "Location of the training data, as `scheme://location`.",
						Optional:            true,
						Validators:          []validator.String{stringvalidator.LengthBetween(1, 2048), uriValidator("file:///data/churn/2024-06.parquet")},
					},
					"dataset_sha256": schema.StringAttribute{
						MarkdownDescription: "SHA-256 of the training data as used, as 64 lowercase hex digits.",
						Optional:            true,
						Validators:          []validator.String{sha256Validator()},
					},
					"code_ref": schema.StringAttribute{
						MarkdownDescription: "The code that trained the version, e.g. a git commit, `git@host:repo@sha` or an image digest (no spaces, at most 256 characters).",
						Optional:            true,
						Validators:          []validator.String{codeRefValidator()},
					},
					"parameters": schema.MapAttribute{
						MarkdownDescription: "Training parameters as used, by name (at most 200; values at most 4096 characters), e.g. `{ max_depth = \"6\" }`.",
						ElementType:         types.StringType,
						Optional:            true,
						Validators: []validator.Map{
							mapvalidator.SizeBetween(1, modelVersionMaxParameters),
							mapvalidator.KeysAre(parameterKeyValidator()),
							mapvalidator.ValueStringsAre(stringvalidator.LengthAtMost(4096)),
						},
					},
				},
			},
			"approval": schema.SingleNestedAttribute{
				MarkdownDescription: "The approval you request for this version; changes in place, and each change of status or reason is " +
					"recorded as a decision in `approval_history`. Optional: when left out, Terraform does not manage the approval and the " +
					"attribute reflects the control plane's (`{ status = \"pending\" }` for a new version, or whatever decision was made since " +
					"through the CLI, a console or the API), never causing a diff.",
				Optional:      true,
				Computed:      true,
				PlanModifiers: []planmodifier.Object{objectplanmodifier.UseStateForUnknown()},
				Attributes: map[string]schema.Attribute{
					"status": schema.StringAttribute{
						MarkdownDescription: "`pending` (the default), `approved` or `rejected`. A version never goes back to `pending` once decided.",
						Optional:            true,
						Computed:            true,
						Default:             stringdefault.StaticString(api.ApprovalPending),
						Validators:          []validator.String{stringvalidator.OneOf(approvalStatuses...)},
					},
					"reason": schema.StringAttribute{
						MarkdownDescription: "Why, for the audit trail, at most 1024 characters. Required to reject, and to approve a rejected version again. Defaults to an empty string.",
						Optional:            true,
						Computed:            true,
						Default:             stringdefault.StaticString(""),
						Validators:          []validator.String{stringvalidator.LengthAtMost(1024)},
					},
				},
			},
			"approved_by": schema.StringAttribute{
				MarkdownDescription: "Who made the latest approval decision (approve or reject), as the control plane authenticated them; null while no decision was made. Owned by the server.",
				Computed:            true,
				PlanModifiers:       approvalDerived,
			},
			"approved_at": schema.StringAttribute{
				MarkdownDescription: "When the latest approval decision was made (RFC 3339); null while no decision was made. Owned by the server.",
				Computed:            true,
				PlanModifiers:       approvalDerived,
			},
			"approval_history": schema.ListNestedAttribute{
				MarkdownDescription: "Every approval decision, oldest first, as the control plane recorded it. Owned by the server.",
				Computed:            true,
				PlanModifiers:       []planmodifier.List{useStateUnlessChanged(path.Root("approval"))},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"status":     schema.StringAttribute{MarkdownDescription: "`approved` or `rejected`.", Computed: true},
						"reason":     schema.StringAttribute{MarkdownDescription: "The reason given; empty when none.", Computed: true},
						"approver":   schema.StringAttribute{MarkdownDescription: "Who decided, as the control plane authenticated them.", Computed: true},
						"decided_at": schema.StringAttribute{MarkdownDescription: "When (RFC 3339).", Computed: true},
					},
				},
			},
			"uid":        uidAttribute("model version"),
			"created_at": createdAtAttribute("model version"),
			"timeouts":   timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *modelVersionResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *modelVersionResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan modelVersionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, modelDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	spec := modelVersionToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	v, err := r.client.CreateModelVersion(ctx, env, name, spec)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error registering model version", modelVersionObject(env, name), err)
		return
	}
	// Save what exists before waiting, so a timeout leaves a tracked object
	// rather than an orphan that the next apply would collide with.
	resp.Diagnostics.Append(resp.State.Set(ctx, modelVersionFromAPI(ctx, v, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, v.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	v, err = r.waitReady(ctx, env, name, v)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for model version", err.Error())
		return
	}
	tflog.Info(ctx, "registered model version", map[string]any{"environment": env, "name": name, "model": v.Spec.Model, "uid": v.Metadata.UID})
	resp.Diagnostics.Append(resp.State.Set(ctx, modelVersionFromAPI(ctx, v, plan, &resp.Diagnostics))...)
}

func (r *modelVersionResource) waitReady(ctx context.Context, env, name string, written *api.ModelVersion) (*api.ModelVersion, error) {
	return waitReady(ctx, modelVersionObject(env, name), written,
		func(ctx context.Context, gen int64) (*api.ModelVersion, error) {
			return r.client.WaitModelVersionSettled(ctx, env, name, gen)
		},
		func(v *api.ModelVersion) (api.Metadata, api.Status) { return v.Metadata, v.Status })
}

func (r *modelVersionResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state modelVersionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	v, err := r.client.GetModelVersion(ctx, env, name)
	if readFailed(ctx, resp, err, "model version", modelVersionObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, modelVersionFromAPI(ctx, v, state, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, v.Metadata.ETag)...)
}

func (r *modelVersionResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan modelVersionModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, modelDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	spec := modelVersionToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	v, err := r.client.UpdateModelVersion(ctx, env, name, spec, etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating model version", modelVersionObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(setETag(ctx, resp.Private, v.Metadata.ETag)...)
	v, err = r.waitReady(ctx, env, name, v)
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for model version", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, modelVersionFromAPI(ctx, v, plan, &resp.Diagnostics))...)
}

func (r *modelVersionResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state modelVersionModel
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
	deleteAndWaitGone(ctx, &resp.Diagnostics, "model version", modelVersionObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) {
			return r.client.DeleteModelVersion(ctx, env, name)
		},
		func(ctx context.Context) error { return r.client.WaitModelVersionGone(ctx, env, name) })
}

func (r *modelVersionResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importEnvName(ctx, req, resp, "model version", "terraform import mlops_model_version.churn_7 dev/churn-7")
}

// ValidateConfig checks at plan time what the schema cannot express alone:
// a rejection needs a reason, and a lineage, when given, says something.
// Unknown values are skipped; the server checks again at apply.
func (r *modelVersionResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg modelVersionModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !cfg.Approval.IsNull() && !cfg.Approval.IsUnknown() {
		var a modelApprovalModel
		resp.Diagnostics.Append(cfg.Approval.As(ctx, &a, objectAsOptions)...)
		if a.Status.ValueString() == api.ApprovalRejected && !a.Reason.IsUnknown() && a.Reason.ValueString() == "" {
			resp.Diagnostics.AddAttributeError(path.Root("approval").AtName("reason"), "Rejection without a reason",
				"approval.status is \"rejected\", but approval.reason is empty: a rejection needs a reason for the audit trail. Set approval.reason, e.g. \"auc below the champion's\".")
		}
	}
	if !cfg.Lineage.IsNull() && !cfg.Lineage.IsUnknown() {
		allNull := true
		for _, v := range cfg.Lineage.Attributes() {
			if !v.IsNull() {
				allNull = false
			}
		}
		if allNull {
			resp.Diagnostics.AddAttributeError(path.Root("lineage"), "Empty lineage",
				"lineage is set but says nothing: set at least one of pipeline_run, dataset_uri, dataset_sha256, code_ref or parameters, or leave lineage out.")
		}
	}
}

// ModifyPlan refuses at plan time approval changes the control plane would
// refuse at apply: going back to pending, and approving a rejected version
// without a reason. A version being replaced starts afresh, so its approval
// is not a transition.
func (r *modelVersionResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var state, plan modelVersionModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Approval.IsUnknown() || !modelVersionSameArtifact(state, plan) {
		return
	}
	var from, to modelApprovalModel
	resp.Diagnostics.Append(state.Approval.As(ctx, &from, objectAsOptions)...)
	resp.Diagnostics.Append(plan.Approval.As(ctx, &to, objectAsOptions)...)
	if resp.Diagnostics.HasError() || to.Status.IsUnknown() || to.Reason.IsUnknown() {
		return
	}
	fromStatus, toStatus := from.Status.ValueString(), to.Status.ValueString()
	switch {
	case toStatus == api.ApprovalPending && fromStatus != api.ApprovalPending:
		resp.Diagnostics.AddAttributeError(path.Root("approval").AtName("status"), "Approval cannot go back to pending",
			fmt.Sprintf("approval.status cannot change from %q to \"pending\": %s was decided, and a decision is only revised by another decision. "+
				"Set approval.status to \"approved\" or \"rejected\" (with a reason), or register a new version.",
				fromStatus, modelVersionObject(state.Environment.ValueString(), state.Name.ValueString())))
	case fromStatus == api.ApprovalRejected && toStatus == api.ApprovalApproved && to.Reason.ValueString() == "":
		resp.Diagnostics.AddAttributeError(path.Root("approval").AtName("reason"), "Re-approval without a reason",
			fmt.Sprintf("approval.reason is empty, but %s was rejected, and approving it again needs a reason. Set approval.reason to say why the rejection no longer holds.",
				modelVersionObject(state.Environment.ValueString(), state.Name.ValueString())))
	}
}

// modelVersionSameArtifact reports whether the plan keeps every attribute
// that would replace the version; an unknown value might change it.
func modelVersionSameArtifact(state, plan modelVersionModel) bool {
	for _, pair := range [][2]attr.Value{
		{state.Environment, plan.Environment},
		{state.Name, plan.Name},
		{state.Model, plan.Model},
		{state.ArtifactURI, plan.ArtifactURI},
		{state.ArtifactSHA256, plan.ArtifactSHA256},
		{state.BaselineURI, plan.BaselineURI},
		{state.BaselineSHA256, plan.BaselineSHA256},
		{state.Framework, plan.Framework},
		{state.Inputs, plan.Inputs},
		{state.Outputs, plan.Outputs},
		{state.Metrics, plan.Metrics},
		{state.Lineage, plan.Lineage},
	} {
		if pair[1].IsUnknown() || !pair[0].Equal(pair[1]) {
			return false
		}
	}
	return true
}

// modelVersionObject names a model version in diagnostics.
func modelVersionObject(env, name string) string {
	return envObject("model version", env, name)
}

// modelVersionToAPI builds the spec from a plan. The approval history is the
// server's and is never sent.
func modelVersionToAPI(ctx context.Context, m modelVersionModel, diags *diag.Diagnostics) api.ModelVersionSpec {
	spec := api.ModelVersionSpec{
		Model:          m.Model.ValueString(),
		Description:    m.Description.ValueString(),
		ArtifactURI:    m.ArtifactURI.ValueString(),
		ArtifactSHA256: m.ArtifactSHA256.ValueString(),
		BaselineURI:    m.BaselineURI.ValueString(),
		BaselineSHA256: m.BaselineSHA256.ValueString(),
		Framework:      m.Framework.ValueString(),
		Inputs:         signatureToAPI(ctx, m.Inputs, diags),
		Outputs:        signatureToAPI(ctx, m.Outputs, diags),
		Metrics:        mapToAPI(ctx, m.Metrics, diags),
	}
	if !m.Lineage.IsNull() && !m.Lineage.IsUnknown() {
		var l modelLineageModel
		diags.Append(m.Lineage.As(ctx, &l, objectAsOptions)...)
		spec.Lineage = api.ModelLineage{
			PipelineRun:   l.PipelineRun.ValueString(),
			DatasetURI:    l.DatasetURI.ValueString(),
			DatasetSHA256: l.DatasetSHA256.ValueString(),
			CodeRef:       l.CodeRef.ValueString(),
			Parameters:    mapToAPI(ctx, l.Parameters, diags),
		}
	}
	if !m.Approval.IsNull() && !m.Approval.IsUnknown() {
		var a modelApprovalModel
		diags.Append(m.Approval.As(ctx, &a, objectAsOptions)...)
		spec.Approval = api.ApprovalRequest{Status: a.Status.ValueString(), Reason: a.Reason.ValueString()}
	}
	return spec
}

func signatureToAPI(ctx context.Context, l types.List, diags *diag.Diagnostics) []api.ModelSignatureField {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var fields []modelSignatureFieldModel
	diags.Append(l.ElementsAs(ctx, &fields, false)...)
	out := make([]api.ModelSignatureField, 0, len(fields))
	for _, f := range fields {
		out = append(out, api.ModelSignatureField{Name: f.Name.ValueString(), ValueType: f.ValueType.ValueString()})
	}
	return out
}

// modelVersionFromAPI builds the model from the server's object. prior
// supplies what the server does not know (timeouts).
func modelVersionFromAPI(ctx context.Context, v *api.ModelVersion, prior modelVersionModel, diags *diag.Diagnostics) modelVersionModel {
	approvedBy, approvedAt := latestDecisionFromAPI(v.Spec.ApprovalHistory)
	return modelVersionModel{
		ID:              types.StringValue(v.Metadata.Environment + "/" + v.Metadata.Name),
		Environment:     types.StringValue(v.Metadata.Environment),
		Name:            types.StringValue(v.Metadata.Name),
		Model:           types.StringValue(v.Spec.Model),
		Description:     types.StringValue(v.Spec.Description),
		ArtifactURI:     types.StringValue(v.Spec.ArtifactURI),
		ArtifactSHA256:  types.StringValue(v.Spec.ArtifactSHA256),
		BaselineURI:     stringOrNull(v.Spec.BaselineURI),
		BaselineSHA256:  stringOrNull(v.Spec.BaselineSHA256),
		Framework:       types.StringValue(v.Spec.Framework),
		Inputs:          signatureFromAPI(ctx, v.Spec.Inputs, diags),
		Outputs:         signatureFromAPI(ctx, v.Spec.Outputs, diags),
		Metrics:         mapFromAPI(ctx, v.Spec.Metrics, diags),
		Lineage:         lineageFromAPI(ctx, v.Spec.Lineage, diags),
		Approval:        approvalFromAPI(v.Spec.Approval),
		ApprovedBy:      approvedBy,
		ApprovedAt:      approvedAt,
		ApprovalHistory: approvalHistoryFromAPI(ctx, v.Spec.ApprovalHistory, diags),
		UID:             types.StringValue(v.Metadata.UID),
		CreatedAt:       types.StringValue(v.Metadata.CreatedAt.Format(time.RFC3339)),
		Timeouts:        prior.Timeouts,
	}
}

// signatureFromAPI converts inputs or outputs; none reads back as null, as
// the omitted attribute does.
func signatureFromAPI(ctx context.Context, fields []api.ModelSignatureField, diags *diag.Diagnostics) types.List {
	elemType := types.ObjectType{AttrTypes: modelSignatureFieldAttrTypes}
	if len(fields) == 0 {
		return types.ListNull(elemType)
	}
	out := make([]modelSignatureFieldModel, 0, len(fields))
	for _, f := range fields {
		out = append(out, modelSignatureFieldModel{Name: types.StringValue(f.Name), ValueType: types.StringValue(f.ValueType)})
	}
	v, d := types.ListValueFrom(ctx, elemType, out)
	diags.Append(d...)
	return v
}

// lineageFromAPI converts the lineage; an empty one reads back as null and
// each unset field as null, as omitted attributes do.
func lineageFromAPI(ctx context.Context, l api.ModelLineage, diags *diag.Diagnostics) types.Object {
	if l.PipelineRun == "" && l.DatasetURI == "" && l.DatasetSHA256 == "" && l.CodeRef == "" && len(l.Parameters) == 0 {
		return types.ObjectNull(modelLineageAttrTypes)
	}
	v, d := types.ObjectValueFrom(ctx, modelLineageAttrTypes, modelLineageModel{
		PipelineRun:   stringOrNull(l.PipelineRun),
		DatasetURI:    stringOrNull(l.DatasetURI),
		DatasetSHA256: stringOrNull(l.DatasetSHA256),
		CodeRef:       stringOrNull(l.CodeRef),
		Parameters:    mapFromAPI(ctx, l.Parameters, diags),
	})
	diags.Append(d...)
	return v
}

func approvalFromAPI(a api.ApprovalRequest) types.Object {
	return types.ObjectValueMust(modelApprovalAttrTypes, map[string]attr.Value{
		"status": types.StringValue(a.Status),
		"reason": types.StringValue(a.Reason),
	})
}

// approvalHistoryFromAPI converts the decisions, oldest first; none is an
// empty list, so length() works on it.
func approvalHistoryFromAPI(ctx context.Context, history []api.ApprovalDecision, diags *diag.Diagnostics) types.List {
	out := make([]approvalDecisionModel, 0, len(history))
	for _, d := range history {
		out = append(out, approvalDecisionModel{
			Status:    types.StringValue(d.Status),
			Reason:    types.StringValue(d.Reason),
			Approver:  types.StringValue(d.Approver),
			DecidedAt: types.StringValue(d.DecidedAt.UTC().Format(time.RFC3339)),
		})
	}
	v, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: approvalDecisionAttrTypes}, out)
	diags.Append(d...)
	return v
}

// latestDecisionFromAPI returns who made the latest decision and when, null
// while there is none.
func latestDecisionFromAPI(history []api.ApprovalDecision) (by, at types.String) {
	if len(history) == 0 {
		return types.StringNull(), types.StringNull()
	}
	last := history[len(history)-1]
	return types.StringValue(last.Approver), types.StringValue(last.DecidedAt.UTC().Format(time.RFC3339))
}

// stringOrNull maps the API's "unset" empty string to null.
func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}
