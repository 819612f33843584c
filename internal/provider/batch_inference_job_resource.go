package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                   = (*batchInferenceJobResource)(nil)
	_ resource.ResourceWithConfigure      = (*batchInferenceJobResource)(nil)
	_ resource.ResourceWithImportState    = (*batchInferenceJobResource)(nil)
	_ resource.ResourceWithValidateConfig = (*batchInferenceJobResource)(nil)
)

// NewBatchInferenceJobResource returns the mlops_batch_inference_job resource.
func NewBatchInferenceJobResource() resource.Resource {
	return &batchInferenceJobResource{}
}

type batchInferenceJobResource struct {
	client *client.Client
}

type batchInferenceJobModel struct {
	ID                   types.String   `tfsdk:"id"`
	Environment          types.String   `tfsdk:"environment"`
	Name                 types.String   `tfsdk:"name"`
	Description          types.String   `tfsdk:"description"`
	ModelVersion         types.String   `tfsdk:"model_version"`
	Model                types.String   `tfsdk:"model"`
	Alias                types.String   `tfsdk:"alias"`
	ComputePool          types.String   `tfsdk:"compute_pool"`
	InputURI             types.String   `tfsdk:"input_uri"`
	InputFormat          types.String   `tfsdk:"input_format"`
	FeatureColumns       types.List     `tfsdk:"feature_columns"`
	OutputURI            types.String   `tfsdk:"output_uri"`
	MaxFailedRowsPercent types.Int64    `tfsdk:"max_failed_rows_percent"`
	TimeoutSeconds       types.Int64    `tfsdk:"timeout_seconds"`
	Triggers             types.Object   `tfsdk:"triggers"`
	UID                  types.String   `tfsdk:"uid"`
	CreatedAt            types.String   `tfsdk:"created_at"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

type batchTriggersModel struct {
	Schedule  types.String `tfsdk:"schedule"`
	OnNewData types.Bool   `tfsdk:"on_new_data"`
}

var batchTriggersAttrTypes = map[string]attr.Type{
	"schedule":    types.StringType,
	"on_new_data": types.BoolType,
}

// batchTriggersDefault is no triggers, as the server reads it back.
func batchTriggersDefault() types.Object {
	return types.ObjectValueMust(batchTriggersAttrTypes, map[string]attr.Value{
		"schedule":    types.StringValue(""),
		"on_new_data": types.BoolValue(false),
	})
}

// Limits and defaults of a batch inference job, the same as the server's.
const (
	batchMaxFeatureColumns     = 1000
	batchDefaultTimeoutSeconds = 3600
	batchMaxTimeoutSeconds     = 604800
	batchJobDefaultTimeout     = 5 * time.Minute
	batchJobMaxNameLength      = api.NameMaxLength - 11 // room for "-<run number>" in run names
	batchJobImportExample      = "terraform import mlops_batch_inference_job.nightly dev/nightly-scores"
)

func (r *batchInferenceJobResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_batch_inference_job"
}

func (r *batchInferenceJobResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	name := nameAttribute("batch inference job")
	name.MarkdownDescription = "Name of the batch inference job, unique in its environment: 1-52 lowercase letters, digits and `-`, starting with a letter " +
		"(runs are named `<name>-<number>`, which must fit 63 characters). Changing it replaces the job."
	name.Validators = append(name.Validators, stringvalidator.LengthAtMost(batchJobMaxNameLength))
	optionalName := func(description string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: description, Optional: true, Validators: []validator.String{nameValidator()}}
	}

	resp.Schema = schema.Schema{
		MarkdownDescription: "A batch inference job scores a dataset (a CSV or JSON-lines file, or a folder of them) with a model version, " +
			"on a schedule, when new data arrives, or when started by hand (`mlopsd batch start`). Each run writes one predictions file per " +
			"input file and `summary.json` (counts, input SHA-256s, the first failed rows) into `<output_uri>/<run name>/`, and is recorded " +
			"like a pipeline run: phase, counts, errors and the model version it scored with.\n\n" +
			"Every attribute but `environment` and `name` changes in place as a new generation: runs under way keep the spec and model " +
			"version they started with. Runs are owned by the runtime and are not part of this resource; read them with the " +
			"`mlops_batch_inference_run` data source. Deleting the job cancels its active runs and deletes its runs; their output folders stay.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, Terraform's resource ID and the import ID. Set by the provider."),
			"environment": environmentAttribute("batch inference job"),
			"name":        name,
			"description": descriptionAttribute(),
			"model_version": optionalName("Name of the model version (`mlops_model_version`, framework `mlops-linear`) every run scores with. " +
				"Set exactly one of `model_version` and the pair `model` + `alias`. Changes in place."),
			"model": optionalName("Name of the model whose `alias` the runs score with; set together with `alias`, instead of `model_version`. Changes in place."),
			"alias": optionalName("Name of a model alias (`mlops_model_alias`, e.g. `champion`) of `model`. Each run resolves it when it starts and " +
				"records the version it used, so moving the alias changes what the next run scores with. Set together with `model`. Changes in place."),
			"compute_pool": schema.StringAttribute{
				MarkdownDescription: "Name of the compute pool, in the same environment, the scoring step runs on (a local process, or a Slurm batch job on a " +
					"`slurm` pool); it shares the pool's `max_nodes` with pipeline steps. It must exist. Changes in place.",
				Required:   true,
				Validators: []validator.String{nameValidator()},
			},
			"input_uri": schema.StringAttribute{
				MarkdownDescription: "The data to score, as an absolute `file://` URI: a file, or a folder whose `.csv`, `.jsonl` and `.ndjson` files " +
					"(not hidden ones) are scored in name order. Producers should write files under a hidden name and rename them into place. Changes in place.",
				Required: true,
			},
			"input_format": schema.StringAttribute{
				MarkdownDescription: "`auto` (by extension: `.csv`, or `.jsonl`/`.ndjson`), `csv` (a header row, then one row per record) or `jsonl` " +
					"(one JSON object per line). With `csv` or `jsonl` a folder's files of the other format are left alone. Defaults to `auto`; changes in place.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(api.BatchFormatAuto),
				Validators: []validator.String{stringvalidator.OneOf(api.BatchFormats...)},
			},
			"feature_columns": schema.ListAttribute{
				MarkdownDescription: "The CSV columns or JSON fields that are the model's inputs, in its input order (1 to 1000, unique). " +
					"Omitted: every CSV column in file order (but one named `prediction`), or the `inputs` array of each JSON line. Changes in place.",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.List{listvalidator.SizeBetween(1, batchMaxFeatureColumns), listvalidator.UniqueValues()},
			},
			"output_uri": schema.StringAttribute{
				MarkdownDescription: "Absolute `file://` URI of the folder runs write to: run `R` writes `<folder>/R/` with one predictions file per " +
					"input file (CSV: the input's columns plus `prediction`; JSON lines: each object plus `\"prediction\"`) and `summary.json`. " +
					"A run's files appear only once all are complete, and only when it succeeded; `summary.json` is written last, also for a failed run. Changes in place.",
				Required: true,
			},
			"max_failed_rows_percent": schema.Int64Attribute{
				MarkdownDescription: "Share of rows, 0-100, that may fail to score (not a number, wrong number of inputs, unparsable) before the run fails. " +
					"Failed rows are left out of the predictions and listed in `summary.json` with their row numbers. Defaults to `0`; changes in place.",
				Optional:   true,
				Computed:   true,
				Default:    int64default.StaticInt64(0),
				Validators: []validator.Int64{int64validator.Between(0, 100)},
			},
			"timeout_seconds": schema.Int64Attribute{
				MarkdownDescription: "Seconds one scoring attempt may run before it is stopped and the run fails, 1-604800 (one week). Defaults to `3600`; changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(batchDefaultTimeoutSeconds),
				Validators:          []validator.Int64{int64validator.Between(1, batchMaxTimeoutSeconds)},
			},
			"triggers": schema.SingleNestedAttribute{
				MarkdownDescription: "When the job runs besides manual runs. Defaults to no triggers; changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             objectdefault.StaticValue(batchTriggersDefault()),
				Attributes: map[string]schema.Attribute{
					"schedule": schema.StringAttribute{
						MarkdownDescription: "Standard 5-field cron expression in UTC (minute hour day-of-month month day-of-week), e.g. `0 3 * * *` for 03:00 daily, " +
							"or a descriptor such as `@daily`. One run starts per fire time, also when several passed while `mlopsd` was down. Defaults to an empty string (no schedule).",
						Optional: true,
						Computed: true,
						Default:  stringdefault.StaticString(""),
					},
					"on_new_data": schema.BoolAttribute{
						MarkdownDescription: "Start a run whenever the content of `input_uri` changes (the file's SHA-256, or those of the folder's scored files). " +
							"The first content seen is the baseline and starts nothing, and an emptied folder starts nothing either; to score files as they arrive, " +
							"point `input_uri` at a folder. A file modified less than a second ago is still being written: the run starts once its writer has been quiet for a second, on the whole file. Defaults to `false`.",
						Optional: true,
						Computed: true,
						Default:  booldefault.StaticBool(false),
					},
				},
			},
			"uid":        uidAttribute("batch inference job"),
			"created_at": createdAtAttribute("batch inference job"),
			"timeouts":   timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *batchInferenceJobResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *batchInferenceJobResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan batchInferenceJobModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, batchJobDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	spec := batchInferenceJobToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	what := batchInferenceJobObject(env, name)
	j, err := r.client.CreateBatchInferenceJob(ctx, env, name, spec)
	if client.IsAlreadyExists(err) && r.beingDeleted(ctx, env, name) {
		// A job deleted outside Terraform keeps its name until its runs
		// are cancelled and deleted; wait for that instead of failing.
		tflog.Info(ctx, "batch inference job of the same name is being deleted, waiting", map[string]any{"environment": env, "name": name})
		gone := func(ctx context.Context) error { return r.client.WaitBatchInferenceJobGone(ctx, env, name) }
		if err = waitGone(ctx, what, gone); err == nil {
			j, err = r.client.CreateBatchInferenceJob(ctx, env, name, spec)
		}
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating batch inference job", what, err)
		return
	}
	// Save what exists before waiting, so a timeout leaves a tracked object.
	resp.Diagnostics.Append(resp.State.Set(ctx, batchInferenceJobFromAPI(ctx, j, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, j.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settled, err := r.waitReady(ctx, env, name, j)
	if settled != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, batchInferenceJobFromAPI(ctx, settled, plan, &resp.Diagnostics))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error creating batch inference job", err.Error())
		return
	}
	tflog.Info(ctx, "created batch inference job", map[string]any{"environment": env, "name": name, "uid": settled.Metadata.UID})
}

// waitReady waits (long-polling) until the control plane armed the job's current
// generation: its compute pool and model version exist and its triggers
// are set.
func (r *batchInferenceJobResource) waitReady(ctx context.Context, env, name string, written *api.BatchInferenceJob) (*api.BatchInferenceJob, error) {
	return waitReady(ctx, batchInferenceJobObject(env, name), written,
		func(ctx context.Context, gen int64) (*api.BatchInferenceJob, error) {
			return r.client.WaitBatchInferenceJobSettled(ctx, env, name, gen)
		},
		func(j *api.BatchInferenceJob) (api.Metadata, api.Status) { return j.Metadata, j.Status.Status })
}

// beingDeleted reports whether the job exists and is tearing down.
func (r *batchInferenceJobResource) beingDeleted(ctx context.Context, env, name string) bool {
	j, err := r.client.GetBatchInferenceJob(ctx, env, name)
	return err == nil && j.Metadata.DeletionRequestedAt != nil
}

// Read refreshes the spec so that out-of-band edits show as drift. Runs and
// the job's run counters are runtime-owned and stay out of the state.
func (r *batchInferenceJobResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state batchInferenceJobModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	j, err := r.client.GetBatchInferenceJob(ctx, env, name)
	if readFailed(ctx, resp, err, "batch inference job", batchInferenceJobObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	if j.Metadata.DeletionRequestedAt != nil {
		// Deleted outside Terraform and still deleting its runs: gone for
		// good, so plan to create it again.
		tflog.Info(ctx, "batch inference job is being deleted, removing from state", map[string]any{"environment": env, "name": name})
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, batchInferenceJobFromAPI(ctx, j, state, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, j.Metadata.ETag)...)
}

func (r *batchInferenceJobResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan batchInferenceJobModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, batchJobDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	spec := batchInferenceJobToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	j, err := r.client.UpdateBatchInferenceJob(ctx, env, name, spec, etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating batch inference job", batchInferenceJobObject(env, name), err)
		return
	}
	// The new spec is stored whatever the wait brings; record it now.
	resp.Diagnostics.Append(resp.State.Set(ctx, batchInferenceJobFromAPI(ctx, j, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, j.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settled, err := r.waitReady(ctx, env, name, j)
	if settled != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, batchInferenceJobFromAPI(ctx, settled, plan, &resp.Diagnostics))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error updating batch inference job", err.Error())
	}
}

func (r *batchInferenceJobResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state batchInferenceJobModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, batchJobDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := state.Environment.ValueString(), state.Name.ValueString()
	// A job cancels its active runs and deletes its runs before it
	// disappears; their output folders stay.
	deleteAndWaitGone(ctx, &resp.Diagnostics, "batch inference job", batchInferenceJobObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) {
			return r.client.DeleteBatchInferenceJob(ctx, env, name)
		},
		func(ctx context.Context) error { return r.client.WaitBatchInferenceJobGone(ctx, env, name) })
}

func (r *batchInferenceJobResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	env, name := importEnvName(ctx, req, resp, "batch inference job", batchJobImportExample)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), env+"/"+name)...)
}

// ValidateConfig checks at plan time what the schema cannot express alone
// (batch_inference_validation.go): the model selection, the URIs, the
// feature columns and the schedule. Unknown values are skipped; the server
// checks everything again at apply.
func (r *batchInferenceJobResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg batchInferenceJobModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	problems := batchModelProblems(batchModelCheck{
		VersionSet: !cfg.ModelVersion.IsNull(), VersionKnown: !cfg.ModelVersion.IsUnknown(),
		ModelSet: !cfg.Model.IsNull(), ModelKnown: !cfg.Model.IsUnknown(),
		AliasSet: !cfg.Alias.IsNull(), AliasKnown: !cfg.Alias.IsUnknown(),
	})
	for _, u := range []struct {
		attr string
		v    types.String
	}{{"input_uri", cfg.InputURI}, {"output_uri", cfg.OutputURI}} {
		if u.v.IsNull() || u.v.IsUnknown() {
			continue
		}
		if msg := batchURIProblem(u.attr, u.v.ValueString()); msg != "" {
			problems = append(problems, pipelineProblem{path.Root(u.attr), "Invalid " + u.attr, msg})
		}
	}
	if !cfg.FeatureColumns.IsNull() && !cfg.FeatureColumns.IsUnknown() {
		for i, el := range cfg.FeatureColumns.Elements() {
			s, ok := el.(types.String)
			if !ok || s.IsNull() || s.IsUnknown() {
				continue
			}
			if msg := featureColumnProblem(s.ValueString()); msg != "" {
				problems = append(problems, pipelineProblem{path.Root("feature_columns").AtListIndex(i), "Invalid feature column", msg})
			}
		}
	}
	if !cfg.Triggers.IsNull() && !cfg.Triggers.IsUnknown() {
		var t batchTriggersModel
		resp.Diagnostics.Append(cfg.Triggers.As(ctx, &t, objectAsOptions)...)
		if resp.Diagnostics.HasError() {
			return
		}
		if !t.Schedule.IsNull() && !t.Schedule.IsUnknown() {
			if msg := scheduleProblem(t.Schedule.ValueString()); msg != "" {
				problems = append(problems, pipelineProblem{path.Root("triggers").AtName("schedule"), "Invalid schedule", msg})
			}
		}
	}
	for _, p := range problems {
		resp.Diagnostics.AddAttributeError(p.Path, p.Summary, p.Detail)
	}
}

// batchInferenceJobObject names a batch inference job in diagnostics.
func batchInferenceJobObject(env, name string) string {
	return envObject("batch inference job", env, name)
}

// batchInferenceJobToAPI builds the spec from a plan.
func batchInferenceJobToAPI(ctx context.Context, m batchInferenceJobModel, diags *diag.Diagnostics) api.BatchInferenceJobSpec {
	spec := api.BatchInferenceJobSpec{
		Description:          m.Description.ValueString(),
		ModelVersion:         m.ModelVersion.ValueString(),
		Model:                m.Model.ValueString(),
		Alias:                m.Alias.ValueString(),
		ComputePool:          m.ComputePool.ValueString(),
		InputURI:             m.InputURI.ValueString(),
		InputFormat:          m.InputFormat.ValueString(),
		FeatureColumns:       pipelineListToAPI(ctx, m.FeatureColumns, diags),
		OutputURI:            m.OutputURI.ValueString(),
		MaxFailedRowsPercent: m.MaxFailedRowsPercent.ValueInt64(),
		TimeoutSeconds:       m.TimeoutSeconds.ValueInt64(),
	}
	if !m.Triggers.IsNull() && !m.Triggers.IsUnknown() {
		var t batchTriggersModel
		diags.Append(m.Triggers.As(ctx, &t, objectAsOptions)...)
		spec.Triggers = api.BatchTriggers{Schedule: t.Schedule.ValueString(), OnNewData: t.OnNewData.ValueBool()}
	}
	return spec
}

// batchInferenceJobFromAPI builds the model from the server's object. prior
// supplies what the server does not know (timeouts).
func batchInferenceJobFromAPI(ctx context.Context, j *api.BatchInferenceJob, prior batchInferenceJobModel, diags *diag.Diagnostics) batchInferenceJobModel {
	s := j.Spec
	triggers, d := types.ObjectValueFrom(ctx, batchTriggersAttrTypes, batchTriggersModel{
		Schedule:  types.StringValue(s.Triggers.Schedule),
		OnNewData: types.BoolValue(s.Triggers.OnNewData),
	})
	diags.Append(d...)
	return batchInferenceJobModel{
		ID:                   types.StringValue(j.Metadata.Environment + "/" + j.Metadata.Name),
		Environment:          types.StringValue(j.Metadata.Environment),
		Name:                 types.StringValue(j.Metadata.Name),
		Description:          types.StringValue(s.Description),
		ModelVersion:         stringOrNull(s.ModelVersion),
		Model:                stringOrNull(s.Model),
		Alias:                stringOrNull(s.Alias),
		ComputePool:          types.StringValue(s.ComputePool),
		InputURI:             types.StringValue(s.InputURI),
		InputFormat:          types.StringValue(s.InputFormat),
		FeatureColumns:       pipelineListFromAPI(ctx, s.FeatureColumns, diags),
		OutputURI:            types.StringValue(s.OutputURI),
		MaxFailedRowsPercent: types.Int64Value(s.MaxFailedRowsPercent),
		TimeoutSeconds:       types.Int64Value(s.TimeoutSeconds),
		Triggers:             triggers,
		UID:                  types.StringValue(j.Metadata.UID),
		CreatedAt:            types.StringValue(j.Metadata.CreatedAt.Format(time.RFC3339)),
		Timeouts:             prior.Timeouts,
	}
}
