package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/boolvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ datasource.DataSource                     = (*modelVersionDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*modelVersionDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*modelVersionDataSource)(nil)
)

// NewModelVersionDataSource returns the mlops_model_version data source.
func NewModelVersionDataSource() datasource.DataSource {
	return &modelVersionDataSource{}
}

type modelVersionDataSource struct {
	client *client.Client
}

type modelVersionDataSourceModel struct {
	ID                 types.String `tfsdk:"id"`
	Environment        types.String `tfsdk:"environment"`
	Model              types.String `tfsdk:"model"`
	Version            types.String `tfsdk:"version"`
	Alias              types.String `tfsdk:"alias"`
	LatestApproved     types.Bool   `tfsdk:"latest_approved"`
	Description        types.String `tfsdk:"description"`
	ArtifactURI        types.String `tfsdk:"artifact_uri"`
	ArtifactSHA256     types.String `tfsdk:"artifact_sha256"`
	BaselineURI        types.String `tfsdk:"baseline_uri"`
	BaselineSHA256     types.String `tfsdk:"baseline_sha256"`
	Framework          types.String `tfsdk:"framework"`
	Inputs             types.List   `tfsdk:"inputs"`
	Outputs            types.List   `tfsdk:"outputs"`
	Metrics            types.Map    `tfsdk:"metrics"`
	Lineage            types.Object `tfsdk:"lineage"`
	Approval           types.Object `tfsdk:"approval"`
	ApprovedBy         types.String `tfsdk:"approved_by"`
	ApprovedAt         types.String `tfsdk:"approved_at"`
	ApprovalHistory    types.List   `tfsdk:"approval_history"`
	UID                types.String `tfsdk:"uid"`
	CreatedAt          types.String `tfsdk:"created_at"`
	Phase              types.String `tfsdk:"phase"`
	ObservedGeneration types.Int64  `tfsdk:"observed_generation"`
}

func (d *modelVersionDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_model_version"
}

// computedString is a read-only string attribute.
func computedString(description string) schema.StringAttribute {
	return schema.StringAttribute{MarkdownDescription: description, Computed: true}
}

// signatureDataSourceAttribute is the read-only inputs or outputs.
func signatureDataSourceAttribute(what string) schema.ListNestedAttribute {
	return schema.ListNestedAttribute{
		MarkdownDescription: "The model's " + what + ", in order; null when none were registered.",
		Computed:            true,
		NestedObject: schema.NestedAttributeObject{
			Attributes: map[string]schema.Attribute{
				"name":       computedString("Field name."),
				"value_type": computedString("Field type: `string`, `int64`, `float64`, `bool`, `timestamp` or `bytes`."),
			},
		},
	}
}

func (d *modelVersionDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads one version of a model, chosen in exactly one of three ways: by its name (`version`), " +
			"by an alias that points at it (`alias`, e.g. the champion), or as the latest approved version (`latest_approved = true`): " +
			"the approved version of the model whose latest approval decision is the newest. Use it to deploy what the registry says, " +
			"e.g. to point an endpoint at the champion or at whatever was approved last.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<environment>/<version>` of the version read.",
				Computed:            true,
			},
			"environment": dataSourceEnvironmentAttribute("model"),
			"model":       lookupNameAttribute("Name of the model whose version to read."),
			"version": schema.StringAttribute{
				MarkdownDescription: "Name of the version to read. Exactly one of `version`, `alias` and `latest_approved` must be set; " +
					"when the version is chosen by alias or as the latest approved, this is the name of the version found.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{nameValidator()},
			},
			"alias": schema.StringAttribute{
				MarkdownDescription: "Name of an alias (`mlops_model_alias`) of the model; the version it points at is read.",
				Optional:            true,
				Validators:          []validator.String{nameValidator()},
			},
			"latest_approved": schema.BoolAttribute{
				MarkdownDescription: "Set to `true` to read the model's approved version with the newest approval decision. It is an error when the model has no approved version.",
				Optional:            true,
				Validators:          []validator.Bool{boolvalidator.Equals(true)},
			},
			"description":     dataSourceDescriptionAttribute(),
			"artifact_uri":    computedString("Where the artifact lives."),
			"artifact_sha256": computedString("SHA-256 of the artifact, as 64 lowercase hex digits."),
			"baseline_uri":    computedString("The baseline file of the training data's feature values that drift alarms compare served inputs with; null when the version has none."),
			"baseline_sha256": computedString("SHA-256 of the baseline file, as 64 lowercase hex digits; null when the version has no baseline."),
			"framework":       computedString("Framework that reads the artifact."),
			"inputs":          signatureDataSourceAttribute("inputs"),
			"outputs":         signatureDataSourceAttribute("outputs"),
			"metrics": schema.MapAttribute{
				MarkdownDescription: "Evaluation results by name, as decimal strings; null when none were registered. Use `tonumber()` to compare them.",
				ElementType:         types.StringType,
				Computed:            true,
			},
			"lineage": schema.SingleNestedAttribute{
				MarkdownDescription: "Where the version came from; null when no lineage was registered, and each unknown part null.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"pipeline_run":   computedString("Name of the pipeline run that trained the version."),
					"dataset_uri":    computedString("Location of the training data."),
					"dataset_sha256": computedString("SHA-256 of the training data as used."),
					"code_ref":       computedString("The code that trained the version."),
					"parameters": schema.MapAttribute{
						MarkdownDescription: "Training parameters as used.",
						ElementType:         types.StringType,
						Computed:            true,
					},
				},
			},
			"approval": schema.SingleNestedAttribute{
				MarkdownDescription: "The version's approval state.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"status": computedString("`pending`, `approved` or `rejected`."),
					"reason": computedString("The reason given; empty when none."),
				},
			},
			"approved_by": computedString("Who made the latest approval decision, as the control plane authenticated them; null while none was made."),
			"approved_at": computedString("When the latest approval decision was made (RFC 3339); null while none was made."),
			"approval_history": schema.ListNestedAttribute{
				MarkdownDescription: "Every approval decision, oldest first.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"status":     computedString("`approved` or `rejected`."),
						"reason":     computedString("The reason given; empty when none."),
						"approver":   computedString("Who decided."),
						"decided_at": computedString("When (RFC 3339)."),
					},
				},
			},
			"uid":        dataSourceUIDAttribute(),
			"created_at": dataSourceCreatedAtAttribute("version"),
			"phase":      computedString("Summary state the control plane observed, normally `ready`. Owned by the server."),
			"observed_generation": schema.Int64Attribute{
				MarkdownDescription: "Spec generation that `phase` describes.",
				Computed:            true,
			},
		},
	}
}

// ConfigValidators requires exactly one way of choosing the version.
func (d *modelVersionDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("version"), path.MatchRoot("alias"), path.MatchRoot("latest_approved")),
	}
}

func (d *modelVersionDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *modelVersionDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg modelVersionDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, model := cfg.Environment.ValueString(), cfg.Model.ValueString()
	var v *api.ModelVersion
	switch {
	case !cfg.Version.IsNull():
		v = d.byName(ctx, env, model, cfg.Version.ValueString(), path.Root("version"), "", resp)
	case !cfg.Alias.IsNull():
		v = d.byAlias(ctx, env, model, cfg.Alias.ValueString(), resp)
	default:
		v = d.latestApproved(ctx, env, model, resp)
	}
	if v == nil || resp.Diagnostics.HasError() {
		return
	}
	approvedBy, approvedAt := latestDecisionFromAPI(v.Spec.ApprovalHistory)
	state := modelVersionDataSourceModel{
		ID:                 types.StringValue(v.Metadata.Environment + "/" + v.Metadata.Name),
		Environment:        types.StringValue(v.Metadata.Environment),
		Model:              types.StringValue(v.Spec.Model),
		Version:            types.StringValue(v.Metadata.Name),
		Alias:              cfg.Alias,
		LatestApproved:     cfg.LatestApproved,
		Description:        types.StringValue(v.Spec.Description),
		ArtifactURI:        types.StringValue(v.Spec.ArtifactURI),
		ArtifactSHA256:     types.StringValue(v.Spec.ArtifactSHA256),
		BaselineURI:        stringOrNull(v.Spec.BaselineURI),
		BaselineSHA256:     stringOrNull(v.Spec.BaselineSHA256),
		Framework:          types.StringValue(v.Spec.Framework),
		Inputs:             signatureFromAPI(ctx, v.Spec.Inputs, &resp.Diagnostics),
		Outputs:            signatureFromAPI(ctx, v.Spec.Outputs, &resp.Diagnostics),
		Metrics:            mapFromAPI(ctx, v.Spec.Metrics, &resp.Diagnostics),
		Lineage:            lineageFromAPI(ctx, v.Spec.Lineage, &resp.Diagnostics),
		Approval:           approvalFromAPI(v.Spec.Approval),
		ApprovedBy:         approvedBy,
		ApprovedAt:         approvedAt,
		ApprovalHistory:    approvalHistoryFromAPI(ctx, v.Spec.ApprovalHistory, &resp.Diagnostics),
		UID:                types.StringValue(v.Metadata.UID),
		CreatedAt:          types.StringValue(v.Metadata.CreatedAt.Format(time.RFC3339)),
		Phase:              types.StringValue(v.Status.Phase),
		ObservedGeneration: types.Int64Value(v.Status.ObservedGeneration),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// byName reads a version and checks that it is one of model's. via says
// how the name was found, for the error ("" when the user gave it).
func (d *modelVersionDataSource) byName(ctx context.Context, env, model, name string, at path.Path, via string, resp *datasource.ReadResponse) *api.ModelVersion {
	v, err := d.client.GetModelVersion(ctx, env, name)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading model version", modelVersionObject(env, name)+via, err)
		return nil
	}
	if v.Spec.Model != model {
		resp.Diagnostics.AddAttributeError(at, "Model version of another model",
			fmt.Sprintf("%s%s is a version of model %q, not of model %q; fix the version or the model.", modelVersionObject(env, name), via, v.Spec.Model, model))
		return nil
	}
	return v
}

func (d *modelVersionDataSource) byAlias(ctx context.Context, env, model, alias string, resp *datasource.ReadResponse) *api.ModelVersion {
	a, err := d.client.GetModelAlias(ctx, env, alias)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading model alias", modelAliasObject(env, alias), err)
		return nil
	}
	if a.Spec.Model != model {
		resp.Diagnostics.AddAttributeError(path.Root("alias"), "Alias of another model",
			fmt.Sprintf("%s belongs to model %q, not to model %q; alias names are unique per environment, so use the alias of model %q (e.g. %s-champion).",
				modelAliasObject(env, alias), a.Spec.Model, model, model, model))
		return nil
	}
	return d.byName(ctx, env, model, a.Spec.Version, path.Root("alias"), fmt.Sprintf(" (alias %q)", alias), resp)
}

func (d *modelVersionDataSource) latestApproved(ctx context.Context, env, model string, resp *datasource.ReadResponse) *api.ModelVersion {
	all, err := d.client.ListAllModelVersions(ctx, env)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error listing model versions", fmt.Sprintf("model versions in environment %q", env), err)
		return nil
	}
	v := latestApprovedVersion(all, model)
	if v == nil {
		resp.Diagnostics.AddAttributeError(path.Root("latest_approved"), "No approved model version",
			fmt.Sprintf("%s has no approved version. Approve one (approval = { status = \"approved\" } on its mlops_model_version), or select a version by name or alias.",
				modelObject(env, model)))
	}
	return v
}

// latestApprovedVersion returns model's approved version whose latest
// approval decision is the newest, or nil. Equal times, which a clock step
// could produce, go to the greater name so the choice is stable.
func latestApprovedVersion(versions []api.ModelVersion, model string) *api.ModelVersion {
	var best *api.ModelVersion
	var bestAt time.Time
	for i := range versions {
		v := &versions[i]
		if v.Spec.Model != model || v.Spec.Approval.Status != api.ApprovalApproved {
			continue
		}
		var at time.Time
		if h := v.Spec.ApprovalHistory; len(h) > 0 {
			at = h[len(h)-1].DecidedAt
		}
		if best == nil || at.After(bestAt) || (at.Equal(bestAt) && v.Metadata.Name > best.Metadata.Name) {
			best, bestAt = v, at
		}
	}
	return best
}
