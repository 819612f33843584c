package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ datasource.DataSource              = (*environmentDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*environmentDataSource)(nil)
)

// NewEnvironmentDataSource returns the mlops_environment data source.
func NewEnvironmentDataSource() datasource.DataSource {
	return &environmentDataSource{}
}

type environmentDataSource struct {
	client *client.Client
}

type environmentDataSourceModel struct {
	ID            types.String `tfsdk:"id"`
	Name          types.String `tfsdk:"name"`
	Description   types.String `tfsdk:"description"`
	Labels        types.Map    `tfsdk:"labels"`
	Policy        types.Object `tfsdk:"policy"`
	UID           types.String `tfsdk:"uid"`
	CreatedAt     types.String `tfsdk:"created_at"`
	Phase         types.String `tfsdk:"phase"`
	GPUsAllocated types.Int64  `tfsdk:"gpus_allocated"`
}

func (d *environmentDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_environment"
}

func (d *environmentDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads an environment, its policy and how much of its GPU cap the compute pools in it use now. " +
			"Use it to refer to an environment that another configuration manages.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The environment's name.",
				Computed:            true,
			},
			"name":        lookupNameAttribute("Name of the environment to read."),
			"description": dataSourceDescriptionAttribute(),
			"labels":      dataSourceLabelsAttribute(),
			"policy": schema.SingleNestedAttribute{
				MarkdownDescription: "Guardrails the control plane enforces on the environment's compute pools.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"max_gpus": schema.Int64Attribute{
						MarkdownDescription: "Most GPUs the compute pools may hold in total (`max_nodes × accelerator_count` per pool); null means no cap.",
						Computed:            true,
					},
					"allowed_accelerator_types": schema.SetAttribute{
						MarkdownDescription: "Accelerator types compute pools may use; null allows any type.",
						ElementType:         types.StringType,
						Computed:            true,
					},
					"require_approved_models": schema.BoolAttribute{
						MarkdownDescription: "Whether model endpoints may only serve approved model versions.",
						Computed:            true,
					},
					"required_alarms": schema.SetAttribute{
						MarkdownDescription: "Alarm metrics every model endpoint must be watched by before what it serves may change; null requires none.",
						ElementType:         types.StringType,
						Computed:            true,
					},
				},
			},
			"uid":        dataSourceUIDAttribute(),
			"created_at": dataSourceCreatedAtAttribute("environment"),
			"phase": schema.StringAttribute{
				MarkdownDescription: "Live phase of the environment, e.g. `ready`. Owned by the control plane.",
				Computed:            true,
			},
			"gpus_allocated": schema.Int64Attribute{
				MarkdownDescription: "GPUs the environment's compute pools hold now, summed as `max_nodes × accelerator_count`: the figure `policy.max_gpus` is checked against. Owned by the control plane.",
				Computed:            true,
			},
		},
	}
}

func (d *environmentDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *environmentDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg environmentDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := cfg.Name.ValueString()
	env, err := d.client.GetEnvironment(ctx, name)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading environment", environmentObject(name), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, environmentDataSourceFromAPI(ctx, env, &resp.Diagnostics))...)
}

// environmentDataSourceFromAPI builds the data source model. Spec fields are
// converted as the resource converts them, so both read alike.
func environmentDataSourceFromAPI(ctx context.Context, env *api.Environment, diags *diag.Diagnostics) environmentDataSourceModel {
	policy, d := types.ObjectValue(environmentPolicyAttrTypes, map[string]attr.Value{
		"max_gpus":                  types.Int64PointerValue(env.Spec.Policy.MaxGPUs),
		"allowed_accelerator_types": setFromAPI(ctx, env.Spec.Policy.AllowedAcceleratorTypes, diags),
		"require_approved_models":   types.BoolValue(env.Spec.Policy.RequireApprovedModels),
		"required_alarms":           setFromAPI(ctx, env.Spec.Policy.RequiredAlarms, diags),
	})
	diags.Append(d...)
	return environmentDataSourceModel{
		ID:            types.StringValue(env.Metadata.Name),
		Name:          types.StringValue(env.Metadata.Name),
		Description:   types.StringValue(env.Spec.Description),
		Labels:        mapFromAPI(ctx, env.Spec.Labels, diags),
		Policy:        policy,
		UID:           types.StringValue(env.Metadata.UID),
		CreatedAt:     types.StringValue(env.Metadata.CreatedAt.Format(time.RFC3339)),
		Phase:         types.StringValue(env.Status.Phase),
		GPUsAllocated: types.Int64Value(env.Status.GPUsAllocated),
	}
}
