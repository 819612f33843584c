package provider

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ datasource.DataSource                     = (*pipelineRunDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*pipelineRunDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*pipelineRunDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig   = (*pipelineRunDataSource)(nil)
)

// NewPipelineRunDataSource returns the mlops_pipeline_run data source.
func NewPipelineRunDataSource() datasource.DataSource {
	return &pipelineRunDataSource{}
}

type pipelineRunDataSource struct {
	client *client.Client
}

type pipelineRunDataSourceModel struct {
	ID                 types.String `tfsdk:"id"`
	Environment        types.String `tfsdk:"environment"`
	Name               types.String `tfsdk:"name"`
	Pipeline           types.String `tfsdk:"pipeline"`
	Latest             types.Bool   `tfsdk:"latest"`
	UID                types.String `tfsdk:"uid"`
	CreatedAt          types.String `tfsdk:"created_at"`
	Trigger            types.String `tfsdk:"trigger"`
	Parameters         types.Map    `tfsdk:"parameters"`
	PipelineGeneration types.Int64  `tfsdk:"pipeline_generation"`
	Phase              types.String `tfsdk:"phase"`
	Reason             types.String `tfsdk:"reason"`
	Message            types.String `tfsdk:"message"`
	StartedAt          types.String `tfsdk:"started_at"`
	FinishedAt         types.String `tfsdk:"finished_at"`
	ModelVersion       types.String `tfsdk:"model_version"`
	Steps              types.List   `tfsdk:"steps"`
}

type pipelineRunStepModel struct {
	Name       types.String `tfsdk:"name"`
	Phase      types.String `tfsdk:"phase"`
	Attempts   types.Int64  `tfsdk:"attempts"`
	ExitCode   types.Int64  `tfsdk:"exit_code"`
	Message    types.String `tfsdk:"message"`
	StartedAt  types.String `tfsdk:"started_at"`
	FinishedAt types.String `tfsdk:"finished_at"`
}

var pipelineRunStepAttrTypes = map[string]attr.Type{
	"name":        types.StringType,
	"phase":       types.StringType,
	"attempts":    types.Int64Type,
	"exit_code":   types.Int64Type,
	"message":     types.StringType,
	"started_at":  types.StringType,
	"finished_at": types.StringType,
}

func (d *pipelineRunDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_pipeline_run"
}

func (d *pipelineRunDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computedString := func(description string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: description, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads one run of a training pipeline as the control plane has it now: its phase, its steps and the model version it registered. " +
			"Look a run up by `name`, or read the newest run of a pipeline with `pipeline` and `latest = true`. " +
			"Runs are owned by the runtime (a trigger or a manual start creates them), so every read is live and may differ from the last.",
		Attributes: map[string]schema.Attribute{
			"id":          computedString("`<environment>/<run name>`."),
			"environment": dataSourceEnvironmentAttribute("run"),
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the run, `<pipeline>-<number>`, e.g. `churn-train-3`. Set exactly one of `name` and `pipeline`; with `pipeline`, it is the name of the newest run.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{nameValidator()},
			},
			"pipeline": schema.StringAttribute{
				MarkdownDescription: "Name of the training pipeline whose newest run to read (the highest run number); needs `latest = true`. Set exactly one of `name` and `pipeline`; with `name`, it is the run's pipeline.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{nameValidator()},
			},
			"latest": schema.BoolAttribute{
				MarkdownDescription: "Read the newest run of `pipeline`. Must be `true` when `pipeline` is set; it makes explicit that the result changes with every new run.",
				Optional:            true,
			},
			"uid":                 dataSourceUIDAttribute(),
			"created_at":          dataSourceCreatedAtAttribute("run"),
			"trigger":             computedString("What started the run: `manual`, `schedule`, `new_data` or `alarm`."),
			"parameters":          schema.MapAttribute{MarkdownDescription: "Parameter values the run uses, defaults filled in; null when the pipeline has no parameters.", ElementType: types.StringType, Computed: true},
			"pipeline_generation": schema.Int64Attribute{MarkdownDescription: "Generation of the pipeline's spec the run executes; later edits of the pipeline never change a run under way.", Computed: true},
			"phase":               computedString("Phase of the run: `pending`, `running`, `succeeded`, `failed` or `cancelled`."),
			"reason":              computedString("CamelCase reason of the phase, e.g. `StepFailed`; empty when there is none."),
			"message":             computedString("What the control plane says about the run, e.g. the end of a failed step's log."),
			"started_at":          computedString("When the run's first step started (RFC 3339); null until then."),
			"finished_at":         computedString("When the run finished (RFC 3339); null while it runs."),
			"model_version":       computedString("Name of the model version the run registered; empty unless it succeeded with a `model.json` output."),
			"steps": schema.ListNestedAttribute{
				MarkdownDescription: "Steps of the run, in the pipeline's order.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name":        computedString("Name of the step."),
						"phase":       computedString("Phase of the step: `pending`, `running`, `succeeded`, `failed` or `cancelled`."),
						"attempts":    schema.Int64Attribute{MarkdownDescription: "Attempts started so far, retries included.", Computed: true},
						"exit_code":   schema.Int64Attribute{MarkdownDescription: "Exit code of the last attempt; null while it runs or when it never started.", Computed: true},
						"message":     computedString("What the control plane says about the step; empty when there is nothing to say."),
						"started_at":  computedString("When the last attempt started (RFC 3339); null before."),
						"finished_at": computedString("When the step finished (RFC 3339); null before."),
					},
				},
			},
		},
	}
}

func (d *pipelineRunDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("name"), path.MatchRoot("pipeline")),
	}
}

// ValidateConfig ties latest to pipeline: looking a run up by pipeline
// only makes sense for the newest run, and saying so keeps it explicit.
func (d *pipelineRunDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var cfg pipelineRunDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || cfg.Latest.IsUnknown() {
		return
	}
	latest := cfg.Latest.ValueBool()
	if !cfg.Pipeline.IsNull() && !cfg.Pipeline.IsUnknown() && !latest {
		resp.Diagnostics.AddAttributeError(path.Root("latest"), "Missing latest = true",
			fmt.Sprintf("pipeline is %q, which reads the pipeline's newest run; set latest = true to say so, or set name to a run name (e.g. %q) instead of pipeline.",
				cfg.Pipeline.ValueString(), cfg.Pipeline.ValueString()+"-1"))
	}
	if !cfg.Name.IsNull() && latest {
		resp.Diagnostics.AddAttributeError(path.Root("latest"), "latest needs pipeline",
			"latest = true reads the newest run of a pipeline, but name names one run; remove latest, or replace name with pipeline.")
	}
}

func (d *pipelineRunDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *pipelineRunDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg pipelineRunDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env := cfg.Environment.ValueString()
	var run *api.PipelineRun
	if !cfg.Name.IsNull() {
		name := cfg.Name.ValueString()
		r, err := d.client.GetPipelineRun(ctx, env, name)
		if err != nil {
			addAPIError(&resp.Diagnostics, "Error reading pipeline run", pipelineRunObject(env, name), err)
			return
		}
		run = r
	} else {
		run = d.latestRun(ctx, env, cfg.Pipeline.ValueString(), &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	state := pipelineRunFromAPI(ctx, run, &resp.Diagnostics)
	state.Latest = cfg.Latest
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// latestRun finds the newest run of pipeline: the one with the highest run
// number, the newest created_at on a tie. Runs of an earlier pipeline of the
// same name count too; a new pipeline's runs are numbered after theirs.
func (d *pipelineRunDataSource) latestRun(ctx context.Context, env, pipeline string, diags *diag.Diagnostics) *api.PipelineRun {
	var newest *api.PipelineRun
	var newestN int64
	opts := api.ListOptions{Limit: api.MaxPageSize}
	for {
		page, err := d.client.ListPipelineRuns(ctx, env, opts)
		if err != nil {
			addAPIError(diags, "Error listing pipeline runs", fmt.Sprintf("runs of training pipeline %q in environment %q", pipeline, env), err)
			return nil
		}
		for i := range page.Items {
			r := &page.Items[i]
			if r.Spec.Pipeline != pipeline {
				continue
			}
			n, ok := pipelineRunNumber(pipeline, r.Metadata.Name)
			if !ok {
				continue
			}
			if newest == nil || n > newestN || (n == newestN && r.Metadata.CreatedAt.After(newest.Metadata.CreatedAt)) {
				newest, newestN = r, n
			}
		}
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	if newest != nil {
		return newest
	}
	// Say whether the pipeline is missing or has not run yet.
	if _, err := d.client.GetTrainingPipeline(ctx, env, pipeline); err != nil {
		addAPIError(diags, "Error reading pipeline run", trainingPipelineObject(env, pipeline), err)
		return nil
	}
	diags.AddAttributeError(path.Root("pipeline"), "Pipeline has no runs",
		fmt.Sprintf("%s has no runs yet. Start one (POST /v1/environments/%s/training-pipelines/%s/runs) or wait for a trigger, then read it again.",
			trainingPipelineObject(env, pipeline), env, pipeline))
	return nil
}

// pipelineRunNumber returns n when run is named "<pipeline>-<n>".
func pipelineRunNumber(pipeline, run string) (int64, bool) {
	rest, ok := strings.CutPrefix(run, pipeline+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != rest {
		return 0, false
	}
	return n, true
}

// pipelineRunObject names a run in diagnostics.
func pipelineRunObject(env, name string) string {
	return envObject("pipeline run", env, name)
}

// pipelineRunFromAPI builds the data source's model from the server's run.
func pipelineRunFromAPI(ctx context.Context, r *api.PipelineRun, diags *diag.Diagnostics) pipelineRunDataSourceModel {
	steps := make([]pipelineRunStepModel, 0, len(r.Status.Steps))
	for _, s := range r.Status.Steps {
		exit := types.Int64Null()
		if s.ExitCode != nil {
			exit = types.Int64Value(*s.ExitCode)
		}
		steps = append(steps, pipelineRunStepModel{
			Name:       types.StringValue(s.Name),
			Phase:      types.StringValue(s.Phase),
			Attempts:   types.Int64Value(s.Attempts),
			ExitCode:   exit,
			Message:    types.StringValue(s.Message),
			StartedAt:  timeStringOrNull(s.StartedAt),
			FinishedAt: timeStringOrNull(s.FinishedAt),
		})
	}
	stepList, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: pipelineRunStepAttrTypes}, steps)
	diags.Append(d...)
	return pipelineRunDataSourceModel{
		ID:                 types.StringValue(r.Metadata.Environment + "/" + r.Metadata.Name),
		Environment:        types.StringValue(r.Metadata.Environment),
		Name:               types.StringValue(r.Metadata.Name),
		Pipeline:           types.StringValue(r.Spec.Pipeline),
		UID:                types.StringValue(r.Metadata.UID),
		CreatedAt:          types.StringValue(r.Metadata.CreatedAt.Format(time.RFC3339)),
		Trigger:            types.StringValue(r.Spec.Trigger),
		Parameters:         mapFromAPI(ctx, r.Spec.Parameters, diags),
		PipelineGeneration: types.Int64Value(r.Spec.PipelineGeneration),
		Phase:              types.StringValue(r.Status.Phase),
		Reason:             types.StringValue(r.Status.Reason),
		Message:            types.StringValue(r.Status.Message),
		StartedAt:          timeStringOrNull(r.Status.StartedAt),
		FinishedAt:         timeStringOrNull(r.Status.FinishedAt),
		ModelVersion:       types.StringValue(r.Status.ModelVersion),
		Steps:              stepList,
	}
}

// timeStringOrNull renders a server time as RFC 3339; unset is null.
func timeStringOrNull(t *time.Time) types.String {
	if t == nil {
		return types.StringNull()
	}
	return types.StringValue(t.UTC().Format(time.RFC3339))
}
