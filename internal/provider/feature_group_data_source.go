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
	_ datasource.DataSource              = (*featureGroupDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*featureGroupDataSource)(nil)
)

// NewFeatureGroupDataSource returns the mlops_feature_group data source.
func NewFeatureGroupDataSource() datasource.DataSource {
	return &featureGroupDataSource{}
}

type featureGroupDataSource struct {
	client *client.Client
}

type featureGroupDataSourceModel struct {
	ID                 types.String `tfsdk:"id"`
	Environment        types.String `tfsdk:"environment"`
	Name               types.String `tfsdk:"name"`
	FeatureStore       types.String `tfsdk:"feature_store"`
	Description        types.String `tfsdk:"description"`
	Labels             types.Map    `tfsdk:"labels"`
	Entities           types.List   `tfsdk:"entities"`
	Features           types.List   `tfsdk:"features"`
	Online             types.Bool   `tfsdk:"online"`
	Offline            types.Bool   `tfsdk:"offline"`
	TTLSeconds         types.Int64  `tfsdk:"ttl_seconds"`
	SourceURI          types.String `tfsdk:"source_uri"`
	UID                types.String `tfsdk:"uid"`
	CreatedAt          types.String `tfsdk:"created_at"`
	Phase              types.String `tfsdk:"phase"`
	ObservedGeneration types.Int64  `tfsdk:"observed_generation"`
}

func (d *featureGroupDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_feature_group"
}

func (d *featureGroupDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a feature group: its schema (entities and features), its settings, and what the control plane observed about it. " +
			"Use it to consume a feature group that another configuration manages.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<environment>/<name>`.",
				Computed:            true,
			},
			"environment": dataSourceEnvironmentAttribute("feature group"),
			"name":        dataSourceNameAttribute("feature group"),
			"feature_store": schema.StringAttribute{
				MarkdownDescription: "Name of the feature store that keeps the group's data.",
				Computed:            true,
			},
			"description": dataSourceDescriptionAttribute(),
			"labels":      dataSourceLabelsAttribute(),
			"entities": schema.ListNestedAttribute{
				MarkdownDescription: "Join keys of the group, in declared order.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							MarkdownDescription: "Name of the join key.",
							Computed:            true,
						},
						"value_type": schema.StringAttribute{
							MarkdownDescription: "Type of the join key: `string`, `int64` or `bytes`.",
							Computed:            true,
						},
					},
				},
			},
			"features": schema.ListNestedAttribute{
				MarkdownDescription: "Typed values of the group, in declared order.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							MarkdownDescription: "Name of the feature.",
							Computed:            true,
						},
						"value_type": schema.StringAttribute{
							MarkdownDescription: "Type of the feature: `string`, `int64`, `float64`, `bool`, `timestamp` or `bytes`.",
							Computed:            true,
						},
						"description": dataSourceDescriptionAttribute(),
					},
				},
			},
			"online": schema.BoolAttribute{
				MarkdownDescription: "Whether the latest value per entity is served from the online store.",
				Computed:            true,
			},
			"offline": schema.BoolAttribute{
				MarkdownDescription: "Whether history is kept in the offline store.",
				Computed:            true,
			},
			"ttl_seconds": schema.Int64Attribute{
				MarkdownDescription: "How long an online value stays valid, in seconds; `0` means forever.",
				Computed:            true,
			},
			"source_uri": schema.StringAttribute{
				MarkdownDescription: "Where the group's data comes from; empty when unset.",
				Computed:            true,
			},
			"uid":        dataSourceUIDAttribute(),
			"created_at": dataSourceCreatedAtAttribute("feature group"),
			"phase": schema.StringAttribute{
				MarkdownDescription: "Summary state the control plane observed, e.g. `provisioning`, `ready` or `failed`. Owned by the server; it can change between reads.",
				Computed:            true,
			},
			"observed_generation": schema.Int64Attribute{
				MarkdownDescription: "Spec generation that `phase` describes. When it is behind the object's generation, the control plane has not acted on the latest change yet.",
				Computed:            true,
			},
		},
	}
}

func (d *featureGroupDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *featureGroupDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg featureGroupDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := cfg.Environment.ValueString(), cfg.Name.ValueString()
	fg, err := d.client.GetFeatureGroup(ctx, env, name)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading feature group", featureGroupObject(env, name), err)
		return
	}
	state := featureGroupDataSourceModel{
		ID:                 types.StringValue(fg.Metadata.Environment + "/" + fg.Metadata.Name),
		Environment:        types.StringValue(fg.Metadata.Environment),
		Name:               types.StringValue(fg.Metadata.Name),
		FeatureStore:       types.StringValue(fg.Spec.FeatureStore),
		Description:        types.StringValue(fg.Spec.Description),
		Labels:             mapFromAPI(ctx, fg.Spec.Labels, &resp.Diagnostics),
		Entities:           entitiesFromAPI(ctx, fg.Spec.Entities, &resp.Diagnostics),
		Features:           featuresFromAPI(ctx, fg.Spec.Features, &resp.Diagnostics),
		Online:             types.BoolValue(fg.Spec.Online),
		Offline:            types.BoolValue(fg.Spec.Offline),
		TTLSeconds:         types.Int64Value(fg.Spec.TTLSeconds),
		SourceURI:          types.StringValue(fg.Spec.SourceURI),
		UID:                types.StringValue(fg.Metadata.UID),
		CreatedAt:          types.StringValue(fg.Metadata.CreatedAt.Format(time.RFC3339)),
		Phase:              types.StringValue(fg.Status.Phase),
		ObservedGeneration: types.Int64Value(fg.Status.ObservedGeneration),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}
