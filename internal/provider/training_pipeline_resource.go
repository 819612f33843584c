package provider

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                   = (*trainingPipelineResource)(nil)
	_ resource.ResourceWithConfigure      = (*trainingPipelineResource)(nil)
	_ resource.ResourceWithImportState    = (*trainingPipelineResource)(nil)
	_ resource.ResourceWithValidateConfig = (*trainingPipelineResource)(nil)
)

// NewTrainingPipelineResource returns the mlops_training_pipeline resource.
func NewTrainingPipelineResource() resource.Resource {
	return &trainingPipelineResource{}
}

type trainingPipelineResource struct {
	client *client.Client
}

type trainingPipelineModel struct {
	ID          types.String   `tfsdk:"id"`
	Environment types.String   `tfsdk:"environment"`
	Name        types.String   `tfsdk:"name"`
	Description types.String   `tfsdk:"description"`
	Labels      types.Map      `tfsdk:"labels"`
	ComputePool types.String   `tfsdk:"compute_pool"`
	Model       types.String   `tfsdk:"model"`
	Parameters  types.List     `tfsdk:"parameters"`
	Steps       types.List     `tfsdk:"steps"`
	Triggers    types.Object   `tfsdk:"triggers"`
	UID         types.String   `tfsdk:"uid"`
	CreatedAt   types.String   `tfsdk:"created_at"`
	Timeouts    timeouts.Value `tfsdk:"timeouts"`
}

type pipelineParameterModel struct {
	Name    types.String `tfsdk:"name"`
	Type    types.String `tfsdk:"type"`
	Default types.String `tfsdk:"default"`
}

type pipelineStepModel struct {
	Name           types.String `tfsdk:"name"`
	Command        types.List   `tfsdk:"command"`
	Image          types.String `tfsdk:"image"`
	Env            types.Map    `tfsdk:"env"`
	Inputs         types.List   `tfsdk:"inputs"`
	Outputs        types.List   `tfsdk:"outputs"`
	DependsOn      types.List   `tfsdk:"depends_on"`
	Retries        types.Int64  `tfsdk:"retries"`
	TimeoutSeconds types.Int64  `tfsdk:"timeout_seconds"`
}

type pipelineTriggersModel struct {
	Schedule  types.String `tfsdk:"schedule"`
	OnNewData types.List   `tfsdk:"on_new_data"`
	OnAlarm   types.List   `tfsdk:"on_alarm"`
}

var pipelineParameterAttrTypes = map[string]attr.Type{
	"name":    types.StringType,
	"type":    types.StringType,
	"default": types.StringType,
}

var pipelineStepAttrTypes = map[string]attr.Type{
	"name":            types.StringType,
	"command":         types.ListType{ElemType: types.StringType},
	"image":           types.StringType,
	"env":             types.MapType{ElemType: types.StringType},
	"inputs":          types.ListType{ElemType: types.StringType},
	"outputs":         types.ListType{ElemType: types.StringType},
	"depends_on":      types.ListType{ElemType: types.StringType},
	"retries":         types.Int64Type,
	"timeout_seconds": types.Int64Type,
}

var pipelineTriggersAttrTypes = map[string]attr.Type{
	"schedule":    types.StringType,
	"on_new_data": types.ListType{ElemType: types.StringType},
	"on_alarm":    types.ListType{ElemType: types.StringType},
}

// pipelineTriggersDefault is no triggers, as the server reads it back.
func pipelineTriggersDefault() types.Object {
	return types.ObjectValueMust(pipelineTriggersAttrTypes, map[string]attr.Value{
		"schedule":    types.StringValue(""),
		"on_new_data": types.ListNull(types.StringType),
		"on_alarm":    types.ListNull(types.StringType),
	})
}

// Limits and defaults of a training pipeline, the same as the server's.
const (
	pipelineMaxNameLength         = api.NameMaxLength - 11 // room for "-<run number>" in run names
	pipelineMaxSteps              = 100
	pipelineMaxParameters         = 100
	pipelineMaxStepArgs           = 1000
	pipelineMaxStepEnv            = 100
	pipelineMaxStepURIs           = 100
	pipelineMaxWatchedURIs        = 32
	pipelineMaxTriggerAlarms      = 32
	pipelineMaxRetries            = 10
	pipelineDefaultTimeoutSeconds = 3600
	pipelineMaxTimeoutSeconds     = 604800
)

// Default timeouts of training pipeline operations. Deleting a pipeline
// cancels its active runs and deletes its runs first, which waits for their
// steps to stop.
const trainingPipelineDefaultTimeout = 5 * time.Minute

var (
	// stepNameRE is the server's rule for step names: they name log files.
	stepNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	// stepEnvNameRE is the server's rule for step environment variable names.
	stepEnvNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	// stepInputURIRE is the server's rule for step inputs.
	stepInputURIRE = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://[^\s]+$`)
)

func stepNameValidator() validator.String {
	return stringvalidator.RegexMatches(stepNameRE, "must be 1-63 lowercase letters, digits, '_' and '-', starting with a letter (e.g. train)")
}

func (r *trainingPipelineResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_training_pipeline"
}

func (r *trainingPipelineResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	name := nameAttribute("training pipeline")
	name.MarkdownDescription = "Name of the training pipeline, unique in its environment: 1-52 lowercase letters, digits and `-`, starting with a letter " +
		"(runs are named `<name>-<number>`, which must fit 63 characters). Changing it replaces the training pipeline."
	name.Validators = append(name.Validators, stringvalidator.LengthAtMost(pipelineMaxNameLength))

	stringList := func(description string, maxSize int, extra ...validator.String) schema.ListAttribute {
		v := []validator.List{listvalidator.SizeBetween(1, maxSize)}
		if len(extra) > 0 {
			v = append(v, listvalidator.ValueStringsAre(extra...))
		}
		return schema.ListAttribute{
			MarkdownDescription: description,
			ElementType:         types.StringType,
			Optional:            true,
			Validators:          v,
		}
	}

	resp.Schema = schema.Schema{
		MarkdownDescription: "A training pipeline is a DAG of steps that trains a model, run on a compute pool, with optional triggers " +
			"(a cron schedule, new data in watched files). Every successful run whose output directory holds `model.json` registers " +
			"a new version of `model`.\n\n" +
			"Changing steps, parameters, triggers or the compute pool updates the pipeline in place as a new generation: runs under way " +
			"keep the generation they started with, and the next run uses the new one. Runs are owned by the runtime and are not part " +
			"of this resource; read them with the `mlops_pipeline_run` data source. Deleting the pipeline cancels its active runs, " +
			"waits for them to stop and deletes all of its runs with their logs and outputs; the model versions they registered stay " +
			"(with lineage naming the run), and the control plane's audit log keeps the runs' history.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, Terraform's resource ID and the import ID. Set by the provider."),
			"environment": environmentAttribute("training pipeline"),
			"name":        name,
			"description": descriptionAttribute(),
			"labels":      labelsAttribute(),
			"compute_pool": schema.StringAttribute{
				MarkdownDescription: "Name of the compute pool, in the same environment, whose capacity the steps use: at most `max_nodes` steps run at once on it, over all runs. It must exist. Changes in place; runs under way keep their pool.",
				Required:            true,
				Validators:          []validator.String{nameValidator()},
			},
			"model": immutableNameAttribute("Name of the registered model (`mlops_model`), in the same environment, that successful runs add versions to. " +
				"It must exist. Changing it replaces the training pipeline, because a pipeline's versions belong to one model."),
			"parameters": schema.ListNestedAttribute{
				MarkdownDescription: "Typed inputs of the pipeline (1 to 100 when set). A step reads each as the environment variable `MLOPS_PARAM_<NAME>` " +
					"(the name in upper case). Manual runs may set them; triggered runs use the defaults, so a pipeline with triggers needs a default " +
					"for every parameter. Changes in place.",
				Optional:   true,
				Validators: []validator.List{listvalidator.SizeBetween(1, pipelineMaxParameters)},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							MarkdownDescription: "Name of the parameter, unique in the pipeline: 1-63 lowercase letters, digits and `_`, starting with a letter or `_`.",
							Required:            true,
							Validators: []validator.String{stringvalidator.RegexMatches(identifierRE,
								"must be 1-63 lowercase letters, digits and '_', starting with a letter or '_' (e.g. learning_rate)")},
						},
						"type": schema.StringAttribute{
							MarkdownDescription: "Type of the parameter's values: `string`, `int`, `float` or `bool`. Values travel as strings and are checked against it.",
							Required:            true,
							Validators:          []validator.String{stringvalidator.OneOf(api.ParamTypes...)},
						},
						"default": schema.StringAttribute{
							MarkdownDescription: "Value used when a run does not set the parameter, written as a string of the parameter's type (`\"0.01\"`, `\"true\"`). " +
								"Defaults to an empty string, which makes the parameter required for manual runs.",
							Optional: true,
							Computed: true,
							Default:  stringdefault.StaticString(""),
						},
					},
				},
			},
			"steps": schema.ListNestedAttribute{
				MarkdownDescription: "Steps of the pipeline (1 to 100), a DAG through `depends_on`. A step starts once every step it depends on succeeded; " +
					"the first step that fails for good fails the run. Changes in place.",
				Required:   true,
				Validators: []validator.List{listvalidator.SizeBetween(1, pipelineMaxSteps)},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"name": schema.StringAttribute{
							MarkdownDescription: "Name of the step, unique in the pipeline: 1-63 lowercase letters, digits, `_` and `-`, starting with a letter.",
							Required:            true,
							Validators:          []validator.String{stepNameValidator()},
						},
						"command": stringList("Program and arguments the step runs, e.g. `[\"python\", \"train.py\"]`, in the run's working directory. "+
							"The environment holds `MLOPS_RUN_DIR`, `MLOPS_OUTPUT_DIR` and `MLOPS_PARAM_<NAME>`. Exactly one of `command` and `image` is set.", pipelineMaxStepArgs),
						"image": schema.StringAttribute{
							MarkdownDescription: "Container image the step runs, for compute pools whose driver runs containers (the `local` driver does not). " +
								"Exactly one of `command` and `image` is set. Defaults to an empty string (no image).",
							Optional: true,
							Computed: true,
							Default:  stringdefault.StaticString(""),
						},
						"env": schema.MapAttribute{
							MarkdownDescription: "Extra environment variables of the step (at most 100). Names starting with `MLOPS_` are reserved.",
							ElementType:         types.StringType,
							Optional:            true,
							Validators: []validator.Map{mapvalidator.SizeBetween(1, pipelineMaxStepEnv), mapvalidator.KeysAre(stringvalidator.RegexMatches(stepEnvNameRE,
								"environment variable names use letters, digits and '_', not starting with a digit"))},
						},
						"inputs": stringList("URIs the step reads, as `scheme://location` (at most 100). The first `file://` input is hashed into the lineage "+
							"of the model version a run registers.", pipelineMaxStepURIs,
							stringvalidator.RegexMatches(stepInputURIRE, "must be a URI of the form scheme://location, e.g. file:///data/train.csv")),
						"outputs":    stringList("Paths the step writes, relative to the run's output directory, e.g. `model.json` (at most 100).", pipelineMaxStepURIs),
						"depends_on": stringList("Names of the steps that must succeed before this one starts.", pipelineMaxSteps, stepNameValidator()),
						"retries": schema.Int64Attribute{
							MarkdownDescription: "How many times a failed attempt is retried, 0-10. Defaults to `0`.",
							Optional:            true,
							Computed:            true,
							Default:             int64default.StaticInt64(0),
							Validators:          []validator.Int64{int64validator.Between(0, pipelineMaxRetries)},
						},
						"timeout_seconds": schema.Int64Attribute{
							MarkdownDescription: "Seconds one attempt may run before it is stopped and counts as failed, 1-604800 (one week). Defaults to `3600`.",
							Optional:            true,
							Computed:            true,
							Default:             int64default.StaticInt64(pipelineDefaultTimeoutSeconds),
							Validators:          []validator.Int64{int64validator.Between(1, pipelineMaxTimeoutSeconds)},
						},
					},
				},
			},
			"triggers": schema.SingleNestedAttribute{
				MarkdownDescription: "When the pipeline runs besides manual runs. Triggered runs use the parameters' defaults. Defaults to no triggers; changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             objectdefault.StaticValue(pipelineTriggersDefault()),
				Attributes: map[string]schema.Attribute{
					"schedule": schema.StringAttribute{
						MarkdownDescription: "Standard 5-field cron expression in UTC (minute hour day-of-month month day-of-week), e.g. `0 3 * * *` for 03:00 daily, " +
							"or a descriptor such as `@daily`. One run starts per fire time, also when several passed while `mlopsd` was down. Defaults to an empty string (no schedule).",
						Optional: true,
						Computed: true,
						Default:  stringdefault.StaticString(""),
					},
					"on_new_data": schema.ListAttribute{
						MarkdownDescription: "Local files, as absolute `file://` URIs (e.g. `file:///data/train.csv`), whose content is watched: a change of a file's SHA-256 starts a run (at most 32). A file modified less than a second ago is still being written: the run starts once its writer has been quiet for a second, on the whole file.",
						ElementType:         types.StringType,
						Optional:            true,
						Validators:          []validator.List{listvalidator.SizeBetween(1, pipelineMaxWatchedURIs), listvalidator.UniqueValues()},
					},
					"on_alarm": schema.ListAttribute{
						MarkdownDescription: "Names of alarms in the same environment (at most 32): every transition of one into `ALARM` starts one run with trigger `alarm`, for continuous training. The alarms need not exist yet; transitions made before both the pipeline and the alarm existed start nothing, and of those before the pipeline first saw an alarm only the newest into `ALARM` starts a run.",
						ElementType:         types.StringType,
						Optional:            true,
						Validators: []validator.List{listvalidator.SizeBetween(1, pipelineMaxTriggerAlarms), listvalidator.UniqueValues(),
							listvalidator.ValueStringsAre(nameValidator())},
					},
				},
			},
			"uid":        uidAttribute("training pipeline"),
			"created_at": createdAtAttribute("training pipeline"),
			"timeouts":   timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *trainingPipelineResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *trainingPipelineResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan trainingPipelineModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, trainingPipelineDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	spec := trainingPipelineToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	what := trainingPipelineObject(env, name)
	p, err := r.client.CreateTrainingPipeline(ctx, env, name, spec)
	if client.IsAlreadyExists(err) && r.beingDeleted(ctx, env, name) {
		// A pipeline deleted outside Terraform keeps its name until its
		// runs are cancelled and deleted; wait for that instead of failing the apply.
		tflog.Info(ctx, "training pipeline of the same name is being deleted, waiting", map[string]any{"environment": env, "name": name})
		if err = waitGone(ctx, what, r.gone(env, name)); err == nil {
			p, err = r.client.CreateTrainingPipeline(ctx, env, name, spec)
		}
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating training pipeline", what, err)
		return
	}
	// Save what exists before waiting, so a timeout leaves a tracked object
	// rather than an orphan that the next apply would collide with.
	resp.Diagnostics.Append(resp.State.Set(ctx, trainingPipelineFromAPI(ctx, p, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, p.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settled, err := r.waitReady(ctx, env, name, p)
	if settled != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, trainingPipelineFromAPI(ctx, settled, plan, &resp.Diagnostics))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error creating training pipeline", err.Error())
		return
	}
	tflog.Info(ctx, "created training pipeline", map[string]any{"environment": env, "name": name, "uid": settled.Metadata.UID})
}

// waitReady polls until the control plane armed the pipeline's current
// generation: its compute pool and model exist and its triggers are set.
func (r *trainingPipelineResource) waitReady(ctx context.Context, env, name string, written *api.TrainingPipeline) (*api.TrainingPipeline, error) {
	return waitReady(ctx, trainingPipelineObject(env, name), written,
		func(ctx context.Context, gen int64) (*api.TrainingPipeline, error) {
			return r.client.WaitTrainingPipelineSettled(ctx, env, name, gen)
		},
		func(p *api.TrainingPipeline) (api.Metadata, api.Status) { return p.Metadata, p.Status.Status })
}

// beingDeleted reports whether the pipeline exists and is tearing down.
func (r *trainingPipelineResource) beingDeleted(ctx context.Context, env, name string) bool {
	p, err := r.client.GetTrainingPipeline(ctx, env, name)
	return err == nil && p.Metadata.DeletionRequestedAt != nil
}

// gone returns a wait that ends once the pipeline no longer exists.
func (r *trainingPipelineResource) gone(env, name string) func(context.Context) error {
	return func(ctx context.Context) error { return r.client.WaitTrainingPipelineGone(ctx, env, name) }
}

// Read refreshes the spec so that out-of-band edits show as drift. Runs and
// the pipeline's run counters are runtime-owned and stay out of the state.
func (r *trainingPipelineResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state trainingPipelineModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	p, err := r.client.GetTrainingPipeline(ctx, env, name)
	if readFailed(ctx, resp, err, "training pipeline", trainingPipelineObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	if p.Metadata.DeletionRequestedAt != nil {
		// Deleted outside Terraform and still deleting its runs: it is
		// gone for good, so plan to create it again.
		tflog.Info(ctx, "training pipeline is being deleted, removing from state", map[string]any{"environment": env, "name": name})
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, trainingPipelineFromAPI(ctx, p, state, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, p.Metadata.ETag)...)
}

func (r *trainingPipelineResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan trainingPipelineModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, trainingPipelineDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	spec := trainingPipelineToAPI(ctx, plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	p, err := r.client.UpdateTrainingPipeline(ctx, env, name, spec, etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating training pipeline", trainingPipelineObject(env, name), err)
		return
	}
	// The new spec is stored whatever the wait brings; record it now.
	resp.Diagnostics.Append(resp.State.Set(ctx, trainingPipelineFromAPI(ctx, p, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, p.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settled, err := r.waitReady(ctx, env, name, p)
	if settled != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, trainingPipelineFromAPI(ctx, settled, plan, &resp.Diagnostics))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error updating training pipeline", err.Error())
	}
}

func (r *trainingPipelineResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state trainingPipelineModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, trainingPipelineDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := state.Environment.ValueString(), state.Name.ValueString()
	// A pipeline cancels its active runs and deletes all of its runs
	// before it disappears.
	deleteAndWaitGone(ctx, &resp.Diagnostics, "training pipeline", trainingPipelineObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) {
			return r.client.DeleteTrainingPipeline(ctx, env, name)
		},
		r.gone(env, name))
}

func (r *trainingPipelineResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	env, name := importEnvName(ctx, req, resp, "training pipeline", "terraform import mlops_training_pipeline.churn dev/churn-train")
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), env+"/"+name)...)
}

// ValidateConfig checks at plan time what the schema cannot express alone
// (pipeline_validation.go): the step DAG, parameter defaults and triggers.
// Unknown values are skipped; the server checks everything again at apply.
func (r *trainingPipelineResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg trainingPipelineModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var problems []pipelineProblem
	problems = append(problems, pipelineStepProblems(pipelineStepChecks(ctx, cfg.Steps))...)

	hasTriggers := false
	if !cfg.Triggers.IsNull() && !cfg.Triggers.IsUnknown() {
		var t pipelineTriggersModel
		resp.Diagnostics.Append(cfg.Triggers.As(ctx, &t, basetypes.ObjectAsOptions{})...)
		if resp.Diagnostics.HasError() {
			return
		}
		if !t.Schedule.IsNull() && !t.Schedule.IsUnknown() {
			if msg := scheduleProblem(t.Schedule.ValueString()); msg != "" {
				problems = append(problems, pipelineProblem{path.Root("triggers").AtName("schedule"), "Invalid schedule", msg})
			}
			hasTriggers = strings.TrimSpace(t.Schedule.ValueString()) != ""
		}
		if !t.OnNewData.IsNull() && !t.OnNewData.IsUnknown() {
			for i, el := range t.OnNewData.Elements() {
				s, ok := el.(types.String)
				if !ok || s.IsUnknown() || s.IsNull() {
					continue
				}
				if msg := fileURIProblem(s.ValueString()); msg != "" {
					problems = append(problems, pipelineProblem{path.Root("triggers").AtName("on_new_data").AtListIndex(i), "Invalid on_new_data URI", msg})
				}
			}
			hasTriggers = hasTriggers || len(t.OnNewData.Elements()) > 0
		}
		if !t.OnAlarm.IsNull() && !t.OnAlarm.IsUnknown() {
			hasTriggers = hasTriggers || len(t.OnAlarm.Elements()) > 0
		}
	}
	problems = append(problems, pipelineParameterProblems(pipelineParameterChecks(ctx, cfg.Parameters), hasTriggers)...)

	for _, p := range problems {
		resp.Diagnostics.AddAttributeError(p.Path, p.Summary, p.Detail)
	}
}

// pipelineStepChecks extracts what plan-time validation needs from the
// configured steps; parts not known yet are marked so.
func pipelineStepChecks(ctx context.Context, steps types.List) []pipelineStepCheck {
	if steps.IsNull() || steps.IsUnknown() {
		return nil
	}
	var out []pipelineStepCheck
	for _, el := range steps.Elements() {
		var c pipelineStepCheck
		obj, ok := el.(types.Object)
		var m pipelineStepModel
		if !ok || obj.IsNull() || obj.IsUnknown() || obj.As(ctx, &m, basetypes.ObjectAsOptions{}).HasError() {
			out = append(out, c)
			continue
		}
		c.Name, c.NameKnown = m.Name.ValueString(), !m.Name.IsUnknown() && !m.Name.IsNull()
		c.CommandKnown = !m.Command.IsUnknown()
		c.HasCommand = !m.Command.IsNull() && len(m.Command.Elements()) > 0
		c.ImageKnown = !m.Image.IsUnknown()
		c.HasImage = m.Image.ValueString() != ""
		if !m.DependsOn.IsNull() && !m.DependsOn.IsUnknown() {
			for _, d := range m.DependsOn.Elements() {
				s, ok := d.(types.String)
				known := ok && !s.IsUnknown() && !s.IsNull()
				c.DependsOn = append(c.DependsOn, s.ValueString())
				c.DependsOnKnown = append(c.DependsOnKnown, known)
			}
		}
		out = append(out, c)
	}
	return out
}

// pipelineParameterChecks extracts what plan-time validation needs from the
// configured parameters. A null default means the default "".
func pipelineParameterChecks(ctx context.Context, params types.List) []pipelineParameterCheck {
	if params.IsNull() || params.IsUnknown() {
		return nil
	}
	var out []pipelineParameterCheck
	for _, el := range params.Elements() {
		var c pipelineParameterCheck
		obj, ok := el.(types.Object)
		var m pipelineParameterModel
		if !ok || obj.IsNull() || obj.IsUnknown() || obj.As(ctx, &m, basetypes.ObjectAsOptions{}).HasError() {
			out = append(out, c)
			continue
		}
		c.Name, c.NameKnown = m.Name.ValueString(), !m.Name.IsUnknown() && !m.Name.IsNull()
		c.Type, c.TypeKnown = m.Type.ValueString(), !m.Type.IsUnknown() && !m.Type.IsNull()
		c.Default, c.DefaultKnown = m.Default.ValueString(), !m.Default.IsUnknown()
		out = append(out, c)
	}
	return out
}

// trainingPipelineObject names a training pipeline in diagnostics.
func trainingPipelineObject(env, name string) string {
	return envObject("training pipeline", env, name)
}

// trainingPipelineToAPI builds the spec from a plan.
func trainingPipelineToAPI(ctx context.Context, m trainingPipelineModel, diags *diag.Diagnostics) api.TrainingPipelineSpec {
	spec := api.TrainingPipelineSpec{
		Description: m.Description.ValueString(),
		Labels:      mapToAPI(ctx, m.Labels, diags),
		ComputePool: m.ComputePool.ValueString(),
		Model:       m.Model.ValueString(),
		Steps:       []api.PipelineStep{},
	}
	if !m.Parameters.IsNull() && !m.Parameters.IsUnknown() {
		var params []pipelineParameterModel
		diags.Append(m.Parameters.ElementsAs(ctx, &params, false)...)
		for _, p := range params {
			spec.Parameters = append(spec.Parameters, api.PipelineParameter{
				Name:    p.Name.ValueString(),
				Type:    p.Type.ValueString(),
				Default: p.Default.ValueString(),
			})
		}
	}
	var steps []pipelineStepModel
	diags.Append(m.Steps.ElementsAs(ctx, &steps, false)...)
	for _, s := range steps {
		spec.Steps = append(spec.Steps, api.PipelineStep{
			Name:           s.Name.ValueString(),
			Command:        pipelineListToAPI(ctx, s.Command, diags),
			Image:          s.Image.ValueString(),
			Env:            mapToAPI(ctx, s.Env, diags),
			Inputs:         pipelineListToAPI(ctx, s.Inputs, diags),
			Outputs:        pipelineListToAPI(ctx, s.Outputs, diags),
			DependsOn:      pipelineListToAPI(ctx, s.DependsOn, diags),
			Retries:        s.Retries.ValueInt64(),
			TimeoutSeconds: s.TimeoutSeconds.ValueInt64(),
		})
	}
	if !m.Triggers.IsNull() && !m.Triggers.IsUnknown() {
		var t pipelineTriggersModel
		diags.Append(m.Triggers.As(ctx, &t, objectAsOptions)...)
		spec.Triggers = api.PipelineTriggers{
			Schedule:  t.Schedule.ValueString(),
			OnNewData: pipelineListToAPI(ctx, t.OnNewData, diags),
			OnAlarm:   pipelineListToAPI(ctx, t.OnAlarm, diags),
		}
	}
	return spec
}

// trainingPipelineFromAPI builds the model from the server's object. prior
// supplies what the server does not know (timeouts).
func trainingPipelineFromAPI(ctx context.Context, p *api.TrainingPipeline, prior trainingPipelineModel, diags *diag.Diagnostics) trainingPipelineModel {
	return trainingPipelineModel{
		ID:          types.StringValue(p.Metadata.Environment + "/" + p.Metadata.Name),
		Environment: types.StringValue(p.Metadata.Environment),
		Name:        types.StringValue(p.Metadata.Name),
		Description: types.StringValue(p.Spec.Description),
		Labels:      mapFromAPI(ctx, p.Spec.Labels, diags),
		ComputePool: types.StringValue(p.Spec.ComputePool),
		Model:       types.StringValue(p.Spec.Model),
		Parameters:  pipelineParametersFromAPI(ctx, p.Spec.Parameters, diags),
		Steps:       pipelineStepsFromAPI(ctx, p.Spec.Steps, diags),
		Triggers:    pipelineTriggersFromAPI(ctx, p.Spec.Triggers, diags),
		UID:         types.StringValue(p.Metadata.UID),
		CreatedAt:   types.StringValue(p.Metadata.CreatedAt.Format(time.RFC3339)),
		Timeouts:    prior.Timeouts,
	}
}

// pipelineParametersFromAPI converts the server's parameters, keeping their
// order; none becomes null, which is how an omitted attribute reads.
func pipelineParametersFromAPI(ctx context.Context, params []api.PipelineParameter, diags *diag.Diagnostics) types.List {
	typ := types.ObjectType{AttrTypes: pipelineParameterAttrTypes}
	if len(params) == 0 {
		return types.ListNull(typ)
	}
	out := make([]pipelineParameterModel, 0, len(params))
	for _, p := range params {
		out = append(out, pipelineParameterModel{
			Name:    types.StringValue(p.Name),
			Type:    types.StringValue(p.Type),
			Default: types.StringValue(p.Default),
		})
	}
	v, d := types.ListValueFrom(ctx, typ, out)
	diags.Append(d...)
	return v
}

// pipelineStepsFromAPI converts the server's steps, keeping their order.
// Empty lists and maps become null, as the attributes read when omitted.
func pipelineStepsFromAPI(ctx context.Context, steps []api.PipelineStep, diags *diag.Diagnostics) types.List {
	out := make([]pipelineStepModel, 0, len(steps))
	for _, s := range steps {
		out = append(out, pipelineStepModel{
			Name:           types.StringValue(s.Name),
			Command:        pipelineListFromAPI(ctx, s.Command, diags),
			Image:          types.StringValue(s.Image),
			Env:            mapFromAPI(ctx, s.Env, diags),
			Inputs:         pipelineListFromAPI(ctx, s.Inputs, diags),
			Outputs:        pipelineListFromAPI(ctx, s.Outputs, diags),
			DependsOn:      pipelineListFromAPI(ctx, s.DependsOn, diags),
			Retries:        types.Int64Value(s.Retries),
			TimeoutSeconds: types.Int64Value(s.TimeoutSeconds),
		})
	}
	v, d := types.ListValueFrom(ctx, types.ObjectType{AttrTypes: pipelineStepAttrTypes}, out)
	diags.Append(d...)
	return v
}

// pipelineTriggersFromAPI converts the server's triggers; empty lists
// become null.
func pipelineTriggersFromAPI(ctx context.Context, t api.PipelineTriggers, diags *diag.Diagnostics) types.Object {
	v, d := types.ObjectValueFrom(ctx, pipelineTriggersAttrTypes, pipelineTriggersModel{
		Schedule:  types.StringValue(t.Schedule),
		OnNewData: pipelineListFromAPI(ctx, t.OnNewData, diags),
		OnAlarm:   pipelineListFromAPI(ctx, t.OnAlarm, diags),
	})
	diags.Append(d...)
	return v
}

// pipelineListToAPI converts a list of strings; null and unknown become nil.
func pipelineListToAPI(ctx context.Context, l types.List, diags *diag.Diagnostics) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	diags.Append(l.ElementsAs(ctx, &out, false)...)
	return out
}

// pipelineListFromAPI converts a server list, keeping its order; empty
// becomes null, which is how an omitted attribute reads.
func pipelineListFromAPI(ctx context.Context, list []string, diags *diag.Diagnostics) types.List {
	if len(list) == 0 {
		return types.ListNull(types.StringType)
	}
	v, d := types.ListValueFrom(ctx, types.StringType, list)
	diags.Append(d...)
	return v
}
