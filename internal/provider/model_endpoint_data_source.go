package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ datasource.DataSource              = (*modelEndpointDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*modelEndpointDataSource)(nil)
)

// NewModelEndpointDataSource returns the mlops_model_endpoint data source.
func NewModelEndpointDataSource() datasource.DataSource {
	return &modelEndpointDataSource{}
}

type modelEndpointDataSource struct {
	client *client.Client
}

type modelEndpointDataSourceModel struct {
	ID                 types.String                 `tfsdk:"id"`
	Environment        types.String                 `tfsdk:"environment"`
	Name               types.String                 `tfsdk:"name"`
	UID                types.String                 `tfsdk:"uid"`
	Phase              types.String                 `tfsdk:"phase"`
	Reason             types.String                 `tfsdk:"reason"`
	Message            types.String                 `tfsdk:"message"`
	ObservedGeneration types.Int64                  `tfsdk:"observed_generation"`
	Variants           []endpointVariantStatusModel `tfsdk:"variants"`
	Shadow             *endpointVariantStatusModel  `tfsdk:"shadow"`
	RolloutHistory     []endpointRolloutRecordModel `tfsdk:"rollout_history"`
}

type endpointVariantStatusModel struct {
	Name            types.String  `tfsdk:"name"`
	ModelVersion    types.String  `tfsdk:"model_version"`
	Replicas        types.Int64   `tfsdk:"replicas"`
	DesiredReplicas types.Int64   `tfsdk:"desired_replicas"`
	ObservedRPS     types.Float64 `tfsdk:"observed_rps"`
	LastScaleTime   types.String  `tfsdk:"last_scale_time"`
	CanaryVersion   types.String  `tfsdk:"canary_version"`
	CanaryPercent   types.Int64   `tfsdk:"canary_percent"`
	CPUMillicores   types.Int64   `tfsdk:"cpu_millicores"`
	MemoryMiB       types.Int64   `tfsdk:"memory_mib"`
}

type endpointRolloutRecordModel struct {
	Variant     types.String  `tfsdk:"variant"`
	FromVersion types.String  `tfsdk:"from_version"`
	ToVersion   types.String  `tfsdk:"to_version"`
	Strategy    types.String  `tfsdk:"strategy"`
	Result      types.String  `tfsdk:"result"`
	Message     types.String  `tfsdk:"message"`
	Alarm       types.String  `tfsdk:"alarm"`
	Steps       []types.Int64 `tfsdk:"steps"`
	StartedAt   types.String  `tfsdk:"started_at"`
	FinishedAt  types.String  `tfsdk:"finished_at"`
}

func (d *modelEndpointDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_model_endpoint"
}

func computedInt64(desc string) schema.Int64Attribute {
	return schema.Int64Attribute{MarkdownDescription: desc, Computed: true}
}

func variantStatusAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"name":          computedString("Name of the variant."),
		"model_version": computedString("Model version that serves the variant's stable traffic (after a rollback: the previous version)."),
		"replicas":      computedInt64("Replicas of that version serving now. Owned by the runtime."),
		"desired_replicas": computedInt64("Replicas the runtime aims for: the fixed `replicas`, or with autoscaling the count the load calls for " +
			"(`min_replicas` without `target_rps`). Owned by the runtime."),
		"observed_rps": schema.Float64Attribute{
			MarkdownDescription: "Predictions per second of the variant (all its versions) over the last 30 seconds, as autoscaling on `target_rps` " +
				"saw them; `0` without `target_rps`.",
			Computed: true,
		},
		"last_scale_time": computedString("When autoscaling last changed `desired_replicas` (RFC 3339); empty when it never did."),
		"canary_version":  computedString("During a rollout, the new version; empty otherwise."),
		"canary_percent":  computedInt64("During a rollout, the share of the variant's traffic on the new version."),
		"cpu_millicores": computedInt64("CPU each replica of `model_version` asks for, in millicores (after a rollback: the previous request); " +
			"`0` for none."),
		"memory_mib": computedInt64("Memory each replica of `model_version` asks for, in MiB (after a rollback: the previous request); `0` for none."),
	}
}

func (d *modelEndpointDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a model endpoint's live status: phase, the version and replica count each variant serves with now, " +
			"the count autoscaling aims for and the load it follows (runtime-owned, so the `mlops_model_endpoint` resource does not record them), " +
			"a rollout in progress and the rollout history.",
		Attributes: map[string]schema.Attribute{
			"id":                  computedString("`<environment>/<name>`."),
			"environment":         dataSourceEnvironmentAttribute("endpoint"),
			"name":                dataSourceNameAttribute("endpoint"),
			"uid":                 dataSourceUIDAttribute(),
			"phase":               computedString("`provisioning`, `ready`, `rolling_out`, `rolled_back` or `failed`."),
			"reason":              computedString("Why the endpoint is in its phase, one CamelCase word; empty when ready."),
			"message":             computedString("The phase explained for people."),
			"observed_generation": computedInt64("Spec generation the status describes."),
			"variants": schema.ListNestedAttribute{
				MarkdownDescription: "The variants as they serve now, in spec order.",
				Computed:            true,
				NestedObject:        schema.NestedAttributeObject{Attributes: variantStatusAttributes()},
			},
			"shadow": schema.SingleNestedAttribute{
				MarkdownDescription: "The shadow variant as it serves now; null without one.",
				Computed:            true,
				Attributes:          variantStatusAttributes(),
			},
			"rollout_history": schema.ListNestedAttribute{
				MarkdownDescription: "Finished rollouts, oldest first (the last 20).",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"variant":      computedString("Variant rolled out."),
					"from_version": computedString("Version that served before."),
					"to_version":   computedString("Version rolled out."),
					"strategy":     computedString("Rollout strategy."),
					"result":       computedString("`succeeded`, `rolled_back` or `superseded`."),
					"message":      computedString("What happened; for a rollback, why."),
					"alarm":        computedString("The alarm whose `ALARM` state rolled the rollout back; empty when something else ended it."),
					"steps": schema.ListAttribute{
						MarkdownDescription: "Traffic steps taken: the new version's share of the variant's traffic at each.",
						ElementType:         types.Int64Type,
						Computed:            true,
					},
					"started_at":  computedString("When the rollout started (RFC 3339)."),
					"finished_at": computedString("When it finished (RFC 3339)."),
				}},
			},
		},
	}
}

func (d *modelEndpointDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *modelEndpointDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg modelEndpointDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := cfg.Environment.ValueString(), cfg.Name.ValueString()
	ep, err := d.client.GetModelEndpoint(ctx, env, name)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading model endpoint", modelEndpointObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, modelEndpointDataSourceFromAPI(ep))...)
}

func variantStatusFromAPI(v api.EndpointVariantStatus) endpointVariantStatusModel {
	m := endpointVariantStatusModel{
		Name: types.StringValue(v.Name), ModelVersion: types.StringValue(v.ModelVersion), Replicas: types.Int64Value(v.Replicas),
		DesiredReplicas: types.Int64Value(v.DesiredReplicas), ObservedRPS: types.Float64Value(v.ObservedRPS), LastScaleTime: types.StringValue(""),
		CanaryVersion: types.StringValue(v.CanaryVersion), CanaryPercent: types.Int64Value(v.CanaryPercent),
		CPUMillicores: types.Int64Value(v.CPUMillicores), MemoryMiB: types.Int64Value(v.MemoryMiB),
	}
	if v.LastScaleTime != nil {
		m.LastScaleTime = types.StringValue(v.LastScaleTime.Format(time.RFC3339))
	}
	return m
}

func modelEndpointDataSourceFromAPI(ep *api.ModelEndpoint) modelEndpointDataSourceModel {
	m := modelEndpointDataSourceModel{
		ID:                 types.StringValue(ep.Metadata.Environment + "/" + ep.Metadata.Name),
		Environment:        types.StringValue(ep.Metadata.Environment),
		Name:               types.StringValue(ep.Metadata.Name),
		UID:                types.StringValue(ep.Metadata.UID),
		Phase:              types.StringValue(ep.Status.Phase),
		Reason:             types.StringValue(ep.Status.Reason),
		Message:            types.StringValue(ep.Status.Message),
		ObservedGeneration: types.Int64Value(ep.Status.ObservedGeneration),
		Variants:           []endpointVariantStatusModel{},
		RolloutHistory:     []endpointRolloutRecordModel{},
	}
	for _, v := range ep.Status.Variants {
		m.Variants = append(m.Variants, variantStatusFromAPI(v))
	}
	if ep.Status.Shadow != nil {
		s := variantStatusFromAPI(*ep.Status.Shadow)
		m.Shadow = &s
	}
	for _, r := range ep.Status.RolloutHistory {
		rec := endpointRolloutRecordModel{
			Variant: types.StringValue(r.Variant), FromVersion: types.StringValue(r.FromVersion), ToVersion: types.StringValue(r.ToVersion),
			Strategy: types.StringValue(r.Strategy), Result: types.StringValue(r.Result), Message: types.StringValue(r.Message),
			Alarm:     types.StringValue(r.Alarm),
			Steps:     []types.Int64{},
			StartedAt: types.StringValue(r.StartedAt.Format(time.RFC3339)), FinishedAt: types.StringValue(r.FinishedAt.Format(time.RFC3339)),
		}
		for _, s := range r.Steps {
			rec.Steps = append(rec.Steps, types.Int64Value(s.Percent))
		}
		m.RolloutHistory = append(m.RolloutHistory, rec)
	}
	return m
}
