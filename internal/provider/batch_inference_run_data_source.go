package provider

import (
	"context"
	"fmt"
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
	_ datasource.DataSource                     = (*batchInferenceRunDataSource)(nil)
	_ datasource.DataSourceWithConfigure        = (*batchInferenceRunDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*batchInferenceRunDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig   = (*batchInferenceRunDataSource)(nil)
)

// NewBatchInferenceRunDataSource returns the mlops_batch_inference_run data source.
func NewBatchInferenceRunDataSource() datasource.DataSource {
	return &batchInferenceRunDataSource{}
}

type batchInferenceRunDataSource struct {
	client *client.Client
}

type batchInferenceRunDataSourceModel struct {
	ID             types.String `tfsdk:"id"`
	Environment    types.String `tfsdk:"environment"`
	Name           types.String `tfsdk:"name"`
	Job            types.String `tfsdk:"job"`
	Latest         types.Bool   `tfsdk:"latest"`
	UID            types.String `tfsdk:"uid"`
	CreatedAt      types.String `tfsdk:"created_at"`
	Trigger        types.String `tfsdk:"trigger"`
	JobGeneration  types.Int64  `tfsdk:"job_generation"`
	ModelVersion   types.String `tfsdk:"model_version"`
	ArtifactURI    types.String `tfsdk:"artifact_uri"`
	ArtifactSHA256 types.String `tfsdk:"artifact_sha256"`
	Phase          types.String `tfsdk:"phase"`
	Reason         types.String `tfsdk:"reason"`
	Message        types.String `tfsdk:"message"`
	StartedAt      types.String `tfsdk:"started_at"`
	FinishedAt     types.String `tfsdk:"finished_at"`
	Attempts       types.Int64  `tfsdk:"attempts"`
	InputURI       types.String `tfsdk:"input_uri"`
	InputSHA256    types.String `tfsdk:"input_sha256"`
	OutputURI      types.String `tfsdk:"output_uri"`
	RowsTotal      types.Int64  `tfsdk:"rows_total"`
	RowsScored     types.Int64  `tfsdk:"rows_scored"`
	RowsFailed     types.Int64  `tfsdk:"rows_failed"`
	Files          types.List   `tfsdk:"files"`
	Errors         types.List   `tfsdk:"errors"`
}

type batchRunFileModel struct {
	Input       types.String `tfsdk:"input"`
	InputSHA256 types.String `tfsdk:"input_sha256"`
	Output      types.String `tfsdk:"output"`
	Rows        types.Int64  `tfsdk:"rows"`
	Failed      types.Int64  `tfsdk:"failed"`
}

type batchRunErrorModel struct {
	File    types.String `tfsdk:"file"`
	Row     types.Int64  `tfsdk:"row"`
	Message types.String `tfsdk:"message"`
}

var batchRunFileAttrTypes = map[string]attr.Type{
	"input":        types.StringType,
	"input_sha256": types.StringType,
	"output":       types.StringType,
	"rows":         types.Int64Type,
	"failed":       types.Int64Type,
}

var batchRunErrorAttrTypes = map[string]attr.Type{
	"file":    types.StringType,
	"row":     types.Int64Type,
	"message": types.StringType,
}

func (d *batchInferenceRunDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_batch_inference_run"
}

func (d *batchInferenceRunDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computedString := func(description string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: description, Computed: true}
	}
	computedInt := func(description string) schema.Int64Attribute {
		return schema.Int64Attribute{MarkdownDescription: description, Computed: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads one run of a batch inference job as the control plane has it now: its phase, the model version it scored with, " +
			"its row counts, the files it scored and wrote, and its first failed rows. Look a run up by `name`, or read the newest run of a job " +
			"with `job` and `latest = true`. Runs are owned by the runtime (a trigger or a manual start creates them), so every read is live.",
		Attributes: map[string]schema.Attribute{
			"id":          computedString("`<environment>/<run name>`."),
			"environment": dataSourceEnvironmentAttribute("run"),
			"name": schema.StringAttribute{
				MarkdownDescription: "Name of the run, `<job>-<number>`, e.g. `nightly-scores-3`. Set exactly one of `name` and `job`; with `job`, it is the name of the newest run.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{nameValidator()},
			},
			"job": schema.StringAttribute{
				MarkdownDescription: "Name of the batch inference job whose newest run to read (the highest run number); needs `latest = true`. Set exactly one of `name` and `job`; with `name`, it is the run's job.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{nameValidator()},
			},
			"latest": schema.BoolAttribute{
				MarkdownDescription: "Read the newest run of `job`. Must be `true` when `job` is set; it makes explicit that the result changes with every new run.",
				Optional:            true,
			},
			"uid":             dataSourceUIDAttribute(),
			"created_at":      dataSourceCreatedAtAttribute("run"),
			"trigger":         computedString("What started the run: `manual`, `schedule` or `new_data`."),
			"job_generation":  computedInt("Generation of the job's spec the run executes; later edits of the job never change a run under way."),
			"model_version":   computedString("Name of the model version the run scores with, fixed when it started (the job's alias resolved then)."),
			"artifact_uri":    computedString("The model version's artifact, as registered."),
			"artifact_sha256": computedString("The artifact's SHA-256 as registered; the scoring step refuses an artifact that no longer has it."),
			"phase":           computedString("Phase of the run: `pending`, `running`, `succeeded`, `failed` or `cancelled`."),
			"reason":          computedString("CamelCase reason of the phase, e.g. `ScoringFailed`; empty when there is none."),
			"message":         computedString("What the control plane says about the run: the counts, or why it failed (too many failed rows, the end of the step's log)."),
			"started_at":      computedString("When the run started (RFC 3339); null until then."),
			"finished_at":     computedString("When the run finished (RFC 3339); null while it runs."),
			"attempts":        computedInt("Attempts of the scoring step so far; an attempt lost to a restart of `mlopsd` is tried again."),
			"input_uri":       computedString("The input the run scores (the job's `input_uri` when it started)."),
			"input_sha256":    computedString("Digest of the input as scored (lineage): the file's SHA-256, or for a folder the SHA-256 of the `sha256sum` lines of its scored files; empty until the run finished."),
			"output_uri":      computedString("The run's output folder, `<output_uri>/<run name>`, with the predictions files and `summary.json`."),
			"rows_total":      computedInt("Rows read, over all input files; 0 until the run finished."),
			"rows_scored":     computedInt("Rows scored into the predictions files."),
			"rows_failed":     computedInt("Rows that failed to score."),
			"files": schema.ListNestedAttribute{
				MarkdownDescription: "Input files scored, in name order, with the predictions file written for each; empty until the run finished.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"input":        computedString("The input file, as a `file://` URI."),
						"input_sha256": computedString("The input file's SHA-256 as read."),
						"output":       computedString("The predictions file, as a `file://` URI; empty when the run failed (no predictions are kept then)."),
						"rows":         computedInt("Rows of the file."),
						"failed":       computedInt("Rows of the file that failed to score."),
					},
				},
			},
			"errors": schema.ListNestedAttribute{
				MarkdownDescription: fmt.Sprintf("The first failed rows (at most %d), in input order.", api.MaxBatchRowErrors),
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"file":    computedString("Name of the input file."),
						"row":     computedInt("Row number: data rows from 1 in a CSV file (the header is no row), the line number in a JSON-lines file."),
						"message": computedString("Why the row failed to score."),
					},
				},
			},
		},
	}
}

func (d *batchInferenceRunDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("name"), path.MatchRoot("job")),
	}
}

// ValidateConfig ties latest to job, as mlops_pipeline_run ties it to
// pipeline.
func (d *batchInferenceRunDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var cfg batchInferenceRunDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || cfg.Latest.IsUnknown() {
		return
	}
	latest := cfg.Latest.ValueBool()
	if !cfg.Job.IsNull() && !cfg.Job.IsUnknown() && !latest {
		resp.Diagnostics.AddAttributeError(path.Root("latest"), "Missing latest = true",
			fmt.Sprintf("job is %q, which reads the job's newest run; set latest = true to say so, or set name to a run name (e.g. %q) instead of job.",
				cfg.Job.ValueString(), cfg.Job.ValueString()+"-1"))
	}
	if !cfg.Name.IsNull() && latest {
		resp.Diagnostics.AddAttributeError(path.Root("latest"), "latest needs job",
			"latest = true reads the newest run of a job, but name names one run; remove latest, or replace name with job.")
	}
}

func (d *batchInferenceRunDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *batchInferenceRunDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg batchInferenceRunDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env := cfg.Environment.ValueString()
	var run *api.BatchInferenceRun
	if !cfg.Name.IsNull() {
		name := cfg.Name.ValueString()
		r, err := d.client.GetBatchInferenceRun(ctx, env, name)
		if err != nil {
			addAPIError(&resp.Diagnostics, "Error reading batch inference run", batchInferenceRunObject(env, name), err)
			return
		}
		run = r
	} else {
		run = d.latestRun(ctx, env, cfg.Job.ValueString(), &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	state := batchInferenceRunFromAPI(ctx, run, &resp.Diagnostics)
	state.Latest = cfg.Latest
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// latestRun finds the newest run of job: the one with the highest run
// number, the newest created_at on a tie.
func (d *batchInferenceRunDataSource) latestRun(ctx context.Context, env, job string, diags *diag.Diagnostics) *api.BatchInferenceRun {
	var newest *api.BatchInferenceRun
	var newestN int64
	opts := api.ListOptions{Limit: api.MaxPageSize}
	for {
		page, err := d.client.ListBatchInferenceRuns(ctx, env, opts)
		if err != nil {
			addAPIError(diags, "Error listing batch inference runs", fmt.Sprintf("runs of batch inference job %q in environment %q", job, env), err)
			return nil
		}
		for i := range page.Items {
			r := &page.Items[i]
			if r.Spec.Job != job {
				continue
			}
			n, ok := pipelineRunNumber(job, r.Metadata.Name)
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
	// Say whether the job is missing or has not run yet.
	if _, err := d.client.GetBatchInferenceJob(ctx, env, job); err != nil {
		addAPIError(diags, "Error reading batch inference run", batchInferenceJobObject(env, job), err)
		return nil
	}
	diags.AddAttributeError(path.Root("job"), "Job has no runs",
		fmt.Sprintf("%s has no runs yet. Start one (mlopsd batch start -env %s %s) or wait for a trigger, then read it again.",
			batchInferenceJobObject(env, job), env, job))
	return nil
}

// batchInferenceRunObject names a run in diagnostics.
func batchInferenceRunObject(env, name string) string {
	return envObject("batch inference run", env, name)
}

// batchInferenceRunFromAPI builds the data source's model from the
// server's run.
func batchInferenceRunFromAPI(ctx context.Context, r *api.BatchInferenceRun, diags *diag.Diagnostics) batchInferenceRunDataSourceModel {
	st := r.Status
	files := []batchRunFileModel{}
	errs := []batchRunErrorModel{}
	var total, scored, failed int64
	if sum := st.Summary; sum != nil {
		total, scored, failed = sum.RowsTotal, sum.RowsScored, sum.RowsFailed
		for _, f := range sum.Files {
			files = append(files, batchRunFileModel{
				Input:       types.StringValue(f.Input),
				InputSHA256: types.StringValue(f.InputSHA256),
				Output:      types.StringValue(f.Output),
				Rows:        types.Int64Value(f.Rows),
				Failed:      types.Int64Value(f.Failed),
			})
		}
		for _, e := range sum.Errors {
			errs = append(errs, batchRunErrorModel{File: types.StringValue(e.File), Row: types.Int64Value(e.Row), Message: types.StringValue(e.Message)})
		}
	}
	fileList, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: batchRunFileAttrTypes}, files)
	diags.Append(d...)
	errList, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: batchRunErrorAttrTypes}, errs)
	diags.Append(d...)
	attempts := int64(0)
	if st.Step != nil {
		attempts = st.Step.Attempts
	}
	return batchInferenceRunDataSourceModel{
		ID:             types.StringValue(r.Metadata.Environment + "/" + r.Metadata.Name),
		Environment:    types.StringValue(r.Metadata.Environment),
		Name:           types.StringValue(r.Metadata.Name),
		Job:            types.StringValue(r.Spec.Job),
		UID:            types.StringValue(r.Metadata.UID),
		CreatedAt:      types.StringValue(r.Metadata.CreatedAt.Format(time.RFC3339)),
		Trigger:        types.StringValue(r.Spec.Trigger),
		JobGeneration:  types.Int64Value(r.Spec.JobGeneration),
		ModelVersion:   types.StringValue(r.Spec.ModelVersion),
		ArtifactURI:    types.StringValue(r.Spec.ArtifactURI),
		ArtifactSHA256: types.StringValue(r.Spec.ArtifactSHA256),
		Phase:          types.StringValue(st.Phase),
		Reason:         types.StringValue(st.Reason),
		Message:        types.StringValue(st.Message),
		StartedAt:      timeStringOrNull(st.StartedAt),
		FinishedAt:     timeStringOrNull(st.FinishedAt),
		Attempts:       types.Int64Value(attempts),
		InputURI:       types.StringValue(r.Spec.JobSpec.InputURI),
		InputSHA256:    types.StringValue(st.InputSHA256),
		OutputURI:      types.StringValue(st.OutputURI),
		RowsTotal:      types.Int64Value(total),
		RowsScored:     types.Int64Value(scored),
		RowsFailed:     types.Int64Value(failed),
		Files:          fileList,
		Errors:         errList,
	}
}
