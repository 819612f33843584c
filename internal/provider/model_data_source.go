package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ datasource.DataSource              = (*modelDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*modelDataSource)(nil)
)

// NewModelDataSource returns the mlops_model data source.
func NewModelDataSource() datasource.DataSource {
	return &modelDataSource{}
}

type modelDataSource struct {
	client *client.Client
}

type modelDataSourceModel struct {
	ID                 types.String `tfsdk:"id"`
	Environment        types.String `tfsdk:"environment"`
	Name               types.String `tfsdk:"name"`
	Description        types.String `tfsdk:"description"`
	TaskType           types.String `tfsdk:"task_type"`
	Labels             types.Map    `tfsdk:"labels"`
	UID                types.String `tfsdk:"uid"`
	CreatedAt          types.String `tfsdk:"created_at"`
	Phase              types.String `tfsdk:"phase"`
	ObservedGeneration types.Int64  `tfsdk:"observed_generation"`
}

func (d *modelDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_model"
}

func (d *modelDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a registered model, e.g. to check that it exists and what task it does before registering versions of it " +
			"from another configuration. Use `mlops_model_version` to read one of its versions.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<environment>/<name>`.",
				Computed:            true,
			},
			"environment": dataSourceEnvironmentAttribute("model"),
			"name":        dataSourceNameAttribute("model"),
			"description": dataSourceDescriptionAttribute(),
			"task_type": schema.StringAttribute{
				MarkdownDescription: "What the model does, e.g. `classification` or `regression`.",
				Computed:            true,
			},
			"labels":     dataSourceLabelsAttribute(),
			"uid":        dataSourceUIDAttribute(),
			"created_at": dataSourceCreatedAtAttribute("model"),
			"phase": schema.StringAttribute{
				MarkdownDescription: "Summary state the control plane observed, normally `ready`. Owned by the server.",
				Computed:            true,
			},
			"observed_generation": schema.Int64Attribute{
				MarkdownDescription: "Spec generation that `phase` describes.",
				Computed:            true,
			},
		},
	}
}

func (d *modelDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *modelDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg modelDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := cfg.Environment.ValueString(), cfg.Name.ValueString()
	m, err := d.client.GetModel(ctx, env, name)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading model", modelObject(env, name), err)
		return
	}
	state := modelDataSourceModel{
		ID:                 types.StringValue(m.Metadata.Environment + "/" + m.Metadata.Name),
		Environment:        types.StringValue(m.Metadata.Environment),
		Name:               types.StringValue(m.Metadata.Name),
		Description:        types.StringValue(m.Spec.Description),
		TaskType:           types.StringValue(m.Spec.TaskType),
		Labels:             mapFromAPI(ctx, m.Spec.Labels, &resp.Diagnostics),
		UID:                types.StringValue(m.Metadata.UID),
		CreatedAt:          types.StringValue(m.Metadata.CreatedAt.Format(time.RFC3339)),
		Phase:              types.StringValue(m.Status.Phase),
		ObservedGeneration: types.Int64Value(m.Status.ObservedGeneration),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}
