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
	_ datasource.DataSource              = (*trainingPipelineDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*trainingPipelineDataSource)(nil)
)

// NewTrainingPipelineDataSource returns the mlops_training_pipeline data source.
func NewTrainingPipelineDataSource() datasource.DataSource {
	return &trainingPipelineDataSource{}
}

type trainingPipelineDataSource struct {
	client *client.Client
}

type trainingPipelineDataSourceModel struct {
	ID                 types.String `tfsdk:"id"`
	Environment        types.String `tfsdk:"environment"`
	Name               types.String `tfsdk:"name"`
	Description        types.String `tfsdk:"description"`
	Labels             types.Map    `tfsdk:"labels"`
	ComputePool        types.String `tfsdk:"compute_pool"`
	Model              types.String `tfsdk:"model"`
	Parameters         types.List   `tfsdk:"parameters"`
	Steps              types.List   `tfsdk:"steps"`
	Triggers           types.Object `tfsdk:"triggers"`
	UID                types.String `tfsdk:"uid"`
	CreatedAt          types.String `tfsdk:"created_at"`
	Phase              types.String `tfsdk:"phase"`
	Message            types.String `tfsdk:"message"`
	ObservedGeneration types.Int64  `tfsdk:"observed_generation"`
	RunCount           types.Int64  `tfsdk:"run_count"`
	LastRun            types.String `tfsdk:"last_run"`
	NextScheduledAt    types.String `tfsdk:"next_scheduled_at"`
}

func (d *trainingPipelineDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_training_pipeline"
}

func (d *trainingPipelineDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computedString := func(description string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: description, Computed: true}
	}
	computedStrings := func(description string) schema.ListAttribute {
		return schema.ListAttribute{MarkdownDescription: description, ElementType: types.StringType, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a training pipeline: its steps, parameters and triggers, and what the control plane observed about it " +
			"(how many runs it started, the newest run, when the schedule fires next). The run counters are runtime-owned, so every read is live.",
		Attributes: map[string]schema.Attribute{
			"id":           computedString("`<environment>/<name>`."),
			"environment":  dataSourceEnvironmentAttribute("training pipeline"),
			"name":         dataSourceNameAttribute("training pipeline"),
			"description":  dataSourceDescriptionAttribute(),
			"labels":       dataSourceLabelsAttribute(),
			"compute_pool": computedString("Name of the compute pool whose capacity the steps use."),
			"model":        computedString("Name of the registered model that successful runs add versions to."),
			"parameters": schema.ListNestedAttribute{
				MarkdownDescription: "Typed inputs of the pipeline, in declared order; null when there are none.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":    computedString("Name of the parameter; steps read it as `MLOPS_PARAM_<NAME>`."),
						"type":    computedString("Type of the parameter: `string`, `int`, `float` or `bool`."),
						"default": computedString("Value used when a run does not set the parameter; empty means required."),
					},
				},
			},
			"steps": schema.ListNestedAttribute{
				MarkdownDescription: "Steps of the pipeline, in declared order.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":            computedString("Name of the step."),
						"command":         computedStrings("Program and arguments the step runs; null when it runs an image."),
						"image":           computedString("Container image the step runs; empty when it runs a command."),
						"env":             schema.MapAttribute{MarkdownDescription: "Extra environment variables of the step; null when none.", ElementType: types.StringType, Computed: true},
						"inputs":          computedStrings("URIs the step reads; null when none."),
						"outputs":         computedStrings("Paths the step writes, relative to the run's output directory; null when none."),
						"depends_on":      computedStrings("Steps that must succeed first; null when none."),
						"retries":         schema.Int64Attribute{MarkdownDescription: "How many times a failed attempt is retried.", Computed: true},
						"timeout_seconds": schema.Int64Attribute{MarkdownDescription: "Seconds one attempt may run.", Computed: true},
					},
				},
			},
			"triggers": schema.SingleNestedAttribute{
				MarkdownDescription: "When the pipeline runs besides manual runs.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"schedule":    computedString("Cron schedule in UTC; empty when none."),
					"on_new_data": computedStrings("Watched `file://` URIs; null when none."),
					"on_alarm":    computedStrings("Alarms that start a run; null when none."),
				},
			},
			"uid":                 dataSourceUIDAttribute(),
			"created_at":          dataSourceCreatedAtAttribute("training pipeline"),
			"phase":               computedString("Summary state the control plane observed: `pending`, `ready` (triggers armed) or `failed` (e.g. its compute pool or model is gone)."),
			"message":             computedString("What the control plane says about the pipeline, e.g. when the schedule fires next."),
			"observed_generation": schema.Int64Attribute{MarkdownDescription: "Spec generation that `phase` describes.", Computed: true},
			"run_count":           schema.Int64Attribute{MarkdownDescription: "How many runs the pipeline started, manual and triggered. Owned by the runtime.", Computed: true},
			"last_run":            computedString("Name of the newest run; empty before the first. Read it with the `mlops_pipeline_run` data source."),
			"next_scheduled_at":   computedString("When the schedule fires next (RFC 3339); null without a schedule."),
		},
	}
}

func (d *trainingPipelineDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *trainingPipelineDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg trainingPipelineDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := cfg.Environment.ValueString(), cfg.Name.ValueString()
	p, err := d.client.GetTrainingPipeline(ctx, env, name)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading training pipeline", trainingPipelineObject(env, name), err)
		return
	}
	state := trainingPipelineDataSourceModel{
		ID:                 types.StringValue(p.Metadata.Environment + "/" + p.Metadata.Name),
		Environment:        types.StringValue(p.Metadata.Environment),
		Name:               types.StringValue(p.Metadata.Name),
		Description:        types.StringValue(p.Spec.Description),
		Labels:             mapFromAPI(ctx, p.Spec.Labels, &resp.Diagnostics),
		ComputePool:        types.StringValue(p.Spec.ComputePool),
		Model:              types.StringValue(p.Spec.Model),
		Parameters:         pipelineParametersFromAPI(ctx, p.Spec.Parameters, &resp.Diagnostics),
		Steps:              pipelineStepsFromAPI(ctx, p.Spec.Steps, &resp.Diagnostics),
		Triggers:           pipelineTriggersFromAPI(ctx, p.Spec.Triggers, &resp.Diagnostics),
		UID:                types.StringValue(p.Metadata.UID),
		CreatedAt:          types.StringValue(p.Metadata.CreatedAt.Format(time.RFC3339)),
		Phase:              types.StringValue(p.Status.Phase),
		Message:            types.StringValue(p.Status.Message),
		ObservedGeneration: types.Int64Value(p.Status.ObservedGeneration),
		RunCount:           types.Int64Value(p.Status.RunCount),
		LastRun:            types.StringValue(p.Status.LastRun),
		NextScheduledAt:    timeStringOrNull(p.Status.NextScheduledAt),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}
