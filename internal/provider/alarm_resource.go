package provider

import (
	"context"
	"fmt"
	"strconv"
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
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                   = (*alarmResource)(nil)
	_ resource.ResourceWithConfigure      = (*alarmResource)(nil)
	_ resource.ResourceWithImportState    = (*alarmResource)(nil)
	_ resource.ResourceWithValidateConfig = (*alarmResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*alarmResource)(nil)
)

// NewAlarmResource returns the mlops_alarm resource.
func NewAlarmResource() resource.Resource {
	return &alarmResource{}
}

type alarmResource struct {
	client *client.Client
}

type alarmModel struct {
	ID                types.String   `tfsdk:"id"`
	Environment       types.String   `tfsdk:"environment"`
	Name              types.String   `tfsdk:"name"`
	Description       types.String   `tfsdk:"description"`
	Metric            types.String   `tfsdk:"metric"`
	Statistic         types.String   `tfsdk:"statistic"`
	Endpoint          types.String   `tfsdk:"endpoint"`
	Variant           types.String   `tfsdk:"variant"`
	Feature           types.String   `tfsdk:"feature"`
	MetricName        types.String   `tfsdk:"metric_name"`
	Comparison        types.String   `tfsdk:"comparison"`
	Threshold         types.Float64  `tfsdk:"threshold"`
	PeriodSeconds     types.Int64    `tfsdk:"period_seconds"`
	EvaluationPeriods types.Int64    `tfsdk:"evaluation_periods"`
	DatapointsToAlarm types.Int64    `tfsdk:"datapoints_to_alarm"`
	MissingData       types.String   `tfsdk:"missing_data"`
	MinSamples        types.Int64    `tfsdk:"min_samples"`
	Actions           types.Object   `tfsdk:"actions"`
	UID               types.String   `tfsdk:"uid"`
	CreatedAt         types.String   `tfsdk:"created_at"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
}

type alarmActionsModel struct {
	NotificationChannels types.List `tfsdk:"notification_channels"`
	NotifyOn             types.List `tfsdk:"notify_on"`
	RollbackEndpoint     types.Bool `tfsdk:"rollback_endpoint"`
	StartPipelines       types.List `tfsdk:"start_pipelines"`
}

// alarmDefaultTimeout bounds each alarm operation: the control plane
// evaluates a written alarm at once, so this is generous.
const alarmDefaultTimeout = 5 * time.Minute

var alarmActionsAttrTypes = map[string]attr.Type{
	"notification_channels": types.ListType{ElemType: types.StringType},
	"notify_on":             types.ListType{ElemType: types.StringType},
	"rollback_endpoint":     types.BoolType,
	"start_pipelines":       types.ListType{ElemType: types.StringType},
}

// alarmDefaultNotifyOn is the server's default of actions.notify_on.
func alarmDefaultNotifyOn() types.List {
	return types.ListValueMust(types.StringType, []attr.Value{types.StringValue(api.AlarmStateAlarm), types.StringValue(api.AlarmStateOK)})
}

// alarmActionsDefault is no actions, as the server reads them back.
func alarmActionsDefault() types.Object {
	return types.ObjectValueMust(alarmActionsAttrTypes, map[string]attr.Value{
		"notification_channels": types.ListNull(types.StringType),
		"notify_on":             alarmDefaultNotifyOn(),
		"rollback_endpoint":     types.BoolValue(false),
		"start_pipelines":       types.ListNull(types.StringType),
	})
}

func (r *alarmResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_alarm"
}

func (r *alarmResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	nameList := func(description string, limit int) schema.ListAttribute {
		return schema.ListAttribute{
			MarkdownDescription: description,
			ElementType:         types.StringType,
			Optional:            true,
			Validators: []validator.List{
				listvalidator.SizeBetween(1, limit), uniqueStringsValidator{}, listvalidator.ValueStringsAre(nameValidator()),
			},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An alarm watches one metric of an environment, as in CloudWatch: a `statistic` of the `metric` over periods of " +
			"`period_seconds`, compared with `threshold`. The alarm is in `ALARM` when the comparison holds in `datapoints_to_alarm` (M) of the " +
			"last `evaluation_periods` (N) periods, `OK` when it does not, and `INSUFFICIENT_DATA` when too few periods have data " +
			"(see `missing_data` and `min_samples`). On entering a state it notifies `actions.notification_channels`, can roll back a rollout " +
			"of its endpoint that is in progress, and can start training pipelines.\n\n" +
			"Every attribute but `environment` and `name` changes in place; apply waits until the control plane has evaluated the new " +
			"configuration. The alarm's state, its evaluated datapoints, its history and its notifications are owned by the control plane " +
			"and are not attributes of this resource, so they never show as a diff; read them with the `mlops_alarm` data source.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, Terraform's resource ID and the import ID. Set by the provider."),
			"environment": environmentAttribute("alarm"),
			"name":        nameAttribute("alarm"),
			"description": descriptionAttribute(),
			"metric": schema.StringAttribute{
				MarkdownDescription: "What the alarm watches: `latency` (the gateway's prediction latency of `endpoint`, in milliseconds), " +
					"`error_rate` (the percentage, 0-100, of its predictions that failed), `invocations` (predictions per period), " +
					"`feature_drift_psi` and `feature_drift_ks` (the population stability index, or the Kolmogorov–Smirnov statistic, of the " +
					"inputs the gateway sampled against the baseline of the model version that served them), `model_metric` (a metric " +
					"recorded with the serving model version, named by `metric_name`) or `custom` (datapoints pushed through " +
					"`POST .../metrics` under `metric_name`). Changes in place.",
				Required:   true,
				Validators: []validator.String{stringvalidator.OneOf(api.AlarmMetrics...)},
			},
			"statistic": schema.StringAttribute{
				MarkdownDescription: "What is computed over one period's observations. `latency` takes `p99` (the default), `p90`, `p50`, " +
					"`average` or `maximum`; `error_rate` and `model_metric` take `average`; `invocations` takes `sum`; the drift metrics take " +
					"`maximum`; `custom` takes `average` (the default), `sum`, `minimum`, `maximum`, `sample_count`, `p50`, `p90` or `p99`. " +
					"Defaults to the metric's first statistic, which the plan shows. Changes in place.",
				Optional: true,
				Computed: true,
			},
			"endpoint": schema.StringAttribute{
				MarkdownDescription: "Name of the model endpoint (`mlops_model_endpoint`) in the same environment whose metric is watched. " +
					"Required for every metric but `custom`, where it optionally selects the datapoints pushed for that endpoint. It must exist " +
					"when the alarm is written; deleting it later leaves the alarm reporting it as missing. Changes in place.",
				Optional:   true,
				Validators: []validator.String{nameValidator()},
			},
			"variant": schema.StringAttribute{
				MarkdownDescription: "Narrows the endpoint's metric to one of its variants (or its shadow variant). Needs `endpoint`. Changes in place.",
				Optional:            true,
				Validators:          []validator.String{nameValidator()},
			},
			"feature": schema.StringAttribute{
				MarkdownDescription: "For `feature_drift_psi` and `feature_drift_ks`: the input feature of the baseline to watch, as the model's " +
					"input is named. Unset watches the most drifted feature. Only for the drift metrics. Changes in place.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthBetween(1, alarmMaxFeatureLength)},
			},
			"metric_name": schema.StringAttribute{
				MarkdownDescription: "For `model_metric`, the serving model version's metric (a key of its `metrics`, e.g. `rmse`); for " +
					"`custom`, the name the datapoints are pushed with (1-63 lowercase letters, digits and `_`, starting with a letter). " +
					"Required for those two metrics and not allowed for the others. Changes in place.",
				Optional: true,
			},
			"comparison": schema.StringAttribute{
				MarkdownDescription: "How the statistic is compared with `threshold` to make a period breaching: `greater_than`, " +
					"`greater_than_or_equal_to`, `less_than` or `less_than_or_equal_to`. Changes in place.",
				Required:   true,
				Validators: []validator.String{stringvalidator.OneOf(api.AlarmComparisons...)},
			},
			"threshold": schema.Float64Attribute{
				MarkdownDescription: "The value the statistic is compared with, a finite number in the metric's unit (milliseconds for " +
					"`latency`, percent for `error_rate`). Changes in place.",
				Required:   true,
				Validators: []validator.Float64{finiteValidator{}},
			},
			"period_seconds": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Length of one period in seconds, 1-%d. Periods are aligned to multiples of it since the "+
					"Unix epoch. `period_seconds` × `evaluation_periods` may span at most %d hours, the metrics the control plane keeps. Changes in place.",
					api.MaxAlarmPeriodSeconds, int64(api.MaxAlarmWindow/time.Hour)),
				Required:   true,
				Validators: []validator.Int64{int64validator.Between(1, api.MaxAlarmPeriodSeconds)},
			},
			"evaluation_periods": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many of the latest periods are evaluated (N), 1-%d. Changes in place.", api.MaxEvaluationPeriods),
				Required:            true,
				Validators:          []validator.Int64{int64validator.Between(1, api.MaxEvaluationPeriods)},
			},
			"datapoints_to_alarm": schema.Int64Attribute{
				MarkdownDescription: "How many of the evaluated periods must breach for `ALARM` (M), 1 to `evaluation_periods`. " +
					"Defaults to `evaluation_periods`. Changes in place.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.Int64{int64validator.AtLeast(1)},
			},
			"missing_data": schema.StringAttribute{
				MarkdownDescription: "How a period with fewer than `min_samples` observations counts: `missing` (left out; with no period " +
					"left the alarm is `INSUFFICIENT_DATA`), `breaching`, `not_breaching`, or `ignore` (keep the current state when no period " +
					"has data). Defaults to `missing`. Changes in place.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(api.MissingDataMissing),
				Validators: []validator.String{stringvalidator.OneOf(api.MissingDataTreatments...)},
			},
			"min_samples": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Observations (predictions, sampled inputs or pushed datapoints) a period needs to count "+
					"as having data, 1-%d. Defaults to the control plane's default for the metric: %d for the drift metrics, and 1 otherwise. "+
					"Drift read from few inputs is mostly chance: inputs exactly like the training data give a PSI above 0.25 in two periods of three "+
					"at 30 inputs, so lower it only with a threshold to match. Changes in place.", alarmMaxMinSamples, api.DefaultDriftMinSamples),
				Optional:   true,
				Computed:   true,
				Validators: []validator.Int64{int64validator.Between(1, alarmMaxMinSamples)},
			},
			"actions": schema.SingleNestedAttribute{
				MarkdownDescription: "What the alarm does when its state changes. Defaults to no actions. Changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             objectdefault.StaticValue(alarmActionsDefault()),
				Attributes: map[string]schema.Attribute{
					"notification_channels": nameList(fmt.Sprintf("Names of notification channels (`mlops_notification_channel`) "+
						"in the same environment, 1-%d, each notified on every transition into a state of `notify_on`. They must exist when "+
						"the alarm is written.", alarmMaxChannels), alarmMaxChannels),
					"notify_on": schema.ListAttribute{
						MarkdownDescription: "States whose entry notifies the channels: `ALARM`, `OK` and `INSUFFICIENT_DATA`, each at most once. " +
							"Defaults to `[\"ALARM\", \"OK\"]`.",
						ElementType: types.StringType,
						Optional:    true,
						Computed:    true,
						Default:     listdefault.StaticValue(alarmDefaultNotifyOn()),
						Validators: []validator.List{
							listvalidator.SizeBetween(1, len(api.AlarmStates)), uniqueStringsValidator{},
							listvalidator.ValueStringsAre(stringvalidator.OneOf(api.AlarmStates...)),
						},
					},
					"rollback_endpoint": schema.BoolAttribute{
						MarkdownDescription: "When true, a rollout of `endpoint` that is in progress while the alarm is in `ALARM` is rolled " +
							"back (the same as naming the alarm in the endpoint's `rollout.rollback_alarms`). Needs `endpoint`. Defaults to `false`.",
						Optional: true,
						Computed: true,
						Default:  booldefault.StaticBool(false),
					},
					"start_pipelines": nameList(fmt.Sprintf("Names of training pipelines (`mlops_training_pipeline`) in the same "+
						"environment, 1-%d; each starts one run (trigger `alarm`) every time the alarm enters `ALARM`, the same as naming "+
						"the alarm in the pipeline's `triggers.on_alarm`. They must exist when the alarm is written.", alarmMaxPipelines), alarmMaxPipelines),
				},
			},
			"uid":        uidAttribute("alarm"),
			"created_at": createdAtAttribute("alarm"),
			"timeouts":   timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *alarmResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks at plan time the rules that span attributes
// (alarm_validation.go). Unknown values are skipped; the server checks
// everything again at apply.
func (r *alarmResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg alarmModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	check := alarmCheck{
		Metric: cfg.Metric, Statistic: cfg.Statistic, Endpoint: cfg.Endpoint, Variant: cfg.Variant, Feature: cfg.Feature,
		MetricName: cfg.MetricName, PeriodSeconds: cfg.PeriodSeconds, EvaluationPeriods: cfg.EvaluationPeriods,
		DatapointsToAlarm: cfg.DatapointsToAlarm, RollbackEndpoint: types.BoolNull(),
	}
	if !cfg.Actions.IsNull() && !cfg.Actions.IsUnknown() {
		if v, ok := cfg.Actions.Attributes()["rollback_endpoint"].(types.Bool); ok {
			check.RollbackEndpoint = v
		}
	}
	for _, p := range alarmProblems(check) {
		resp.Diagnostics.AddAttributeError(p.Path, p.Summary, p.Detail)
	}
}

// ModifyPlan shows the server's defaults that depend on other attributes
// in the plan, so the plan says what apply will store and an omitted
// attribute never shows a diff: the metric's default statistic,
// datapoints_to_alarm = evaluation_periods, and the metric's default
// min_samples.
func (r *alarmResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var cfg, plan alarmModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	metricKnown := !plan.Metric.IsUnknown() && !plan.Metric.IsNull()
	if cfg.Statistic.IsNull() && metricKnown {
		if stat, ok := alarmDefaultStatistic(plan.Metric.ValueString()); ok {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("statistic"), stat)...)
		}
	}
	if cfg.DatapointsToAlarm.IsNull() && !plan.EvaluationPeriods.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("datapoints_to_alarm"), plan.EvaluationPeriods)...)
	}
	if cfg.MinSamples.IsNull() && metricKnown {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("min_samples"), alarmDefaultMinSamples(plan.Metric.ValueString()))...)
	}
}

func (r *alarmResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan alarmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, alarmDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	spec := alarmToAPI(ctx, plan, configuredMinSamples(ctx, req.Config.GetAttribute, &resp.Diagnostics), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	a, err := r.client.CreateAlarm(ctx, env, name, spec)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating alarm", alarmObject(env, name), err)
		return
	}
	// Save what exists before waiting, so a timeout leaves a tracked object
	// rather than an orphan that the next apply would collide with.
	resp.Diagnostics.Append(resp.State.Set(ctx, alarmFromAPI(ctx, a, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, a.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	a, err = r.waitReady(ctx, env, name, a)
	if a != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, alarmFromAPI(ctx, a, plan, &resp.Diagnostics))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for alarm", err.Error())
		return
	}
	tflog.Info(ctx, "created alarm", map[string]any{"environment": env, "name": name, "uid": a.Metadata.UID})
}

// waitReady waits until the control plane evaluated the alarm's current
// generation; a failed phase is an error that says why.
func (r *alarmResource) waitReady(ctx context.Context, env, name string, written *api.Alarm) (*api.Alarm, error) {
	return waitReady(ctx, alarmObject(env, name), written,
		func(ctx context.Context, gen int64) (*api.Alarm, error) {
			return r.client.WaitAlarmSettled(ctx, env, name, gen)
		},
		func(a *api.Alarm) (api.Metadata, api.Status) { return a.Metadata, a.Status.Status })
}

// Read refreshes the spec so that out-of-band edits show as drift. The
// alarm's state is runtime-owned and left to the data source.
func (r *alarmResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state alarmModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	a, err := r.client.GetAlarm(ctx, env, name)
	if readFailed(ctx, resp, err, "alarm", alarmObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, alarmFromAPI(ctx, a, state, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, a.Metadata.ETag)...)
}

func (r *alarmResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan alarmModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, alarmDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	spec := alarmToAPI(ctx, plan, configuredMinSamples(ctx, req.Config.GetAttribute, &resp.Diagnostics), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	a, err := r.client.UpdateAlarm(ctx, env, name, spec, etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating alarm", alarmObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, alarmFromAPI(ctx, a, plan, &resp.Diagnostics))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, a.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	a, err = r.waitReady(ctx, env, name, a)
	if a != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, alarmFromAPI(ctx, a, plan, &resp.Diagnostics))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error waiting for alarm", err.Error())
	}
}

func (r *alarmResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state alarmModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, alarmDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := state.Environment.ValueString(), state.Name.ValueString()
	deleteAndWait(ctx, &resp.Diagnostics, "alarm", alarmObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) { return r.client.DeleteAlarm(ctx, env, name) },
		func(ctx context.Context) error {
			_, err := r.client.GetAlarm(ctx, env, name)
			return err
		})
}

func (r *alarmResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	env, name := importEnvName(ctx, req, resp, "alarm", "terraform import mlops_alarm.errors dev/errors")
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), env+"/"+name)...)
}

// alarmObject names an alarm in diagnostics.
func alarmObject(env, name string) string {
	return envObject("alarm", env, name)
}

// configuredMinSamples returns min_samples as configured: null means the
// server's default, which the spec sends as 0 so that it follows the
// metric if that changes outside Terraform.
func configuredMinSamples(ctx context.Context, get func(context.Context, path.Path, any) diag.Diagnostics, diags *diag.Diagnostics) types.Int64 {
	var v types.Int64
	diags.Append(get(ctx, path.Root("min_samples"), &v)...)
	return v
}

// alarmToAPI builds the spec from a plan. minSamples is the configured
// value (null for the server's default).
func alarmToAPI(ctx context.Context, m alarmModel, minSamples types.Int64, diags *diag.Diagnostics) api.AlarmSpec {
	var actions alarmActionsModel
	if !m.Actions.IsNull() && !m.Actions.IsUnknown() {
		diags.Append(m.Actions.As(ctx, &actions, objectAsOptions)...)
	}
	return api.AlarmSpec{
		Description:       m.Description.ValueString(),
		Metric:            m.Metric.ValueString(),
		Statistic:         m.Statistic.ValueString(),
		Endpoint:          m.Endpoint.ValueString(),
		Variant:           m.Variant.ValueString(),
		Feature:           m.Feature.ValueString(),
		MetricName:        m.MetricName.ValueString(),
		Comparison:        m.Comparison.ValueString(),
		Threshold:         thresholdToAPI(m.Threshold.ValueFloat64()),
		PeriodSeconds:     m.PeriodSeconds.ValueInt64(),
		EvaluationPeriods: m.EvaluationPeriods.ValueInt64(),
		DatapointsToAlarm: m.DatapointsToAlarm.ValueInt64(),
		MissingData:       m.MissingData.ValueString(),
		MinSamples:        minSamples.ValueInt64(),
		Actions: api.AlarmActions{
			NotificationChannels: pipelineListToAPI(ctx, actions.NotificationChannels, diags),
			NotifyOn:             pipelineListToAPI(ctx, actions.NotifyOn, diags),
			RollbackEndpoint:     actions.RollbackEndpoint.ValueBool(),
			StartPipelines:       pipelineListToAPI(ctx, actions.StartPipelines, diags),
		},
	}
}

// thresholdToAPI writes a threshold as the shortest decimal that reads
// back as the same float64, so a refresh never shows a diff.
func thresholdToAPI(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// thresholdFromAPI reads the API's decimal threshold.
func thresholdFromAPI(s string, what string, diags *diag.Diagnostics) types.Float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		diags.AddError("Invalid threshold from mlopsd", fmt.Sprintf("%s has threshold %q, which is not a number: %v", what, s, err))
		return types.Float64Null()
	}
	return types.Float64Value(f)
}

// emptyAsNull reads an omitempty API string: empty is null, which is
// how an omitted attribute reads.
func emptyAsNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// alarmSpecValues are the spec's attributes as both the resource and the
// data source show them, with the server's defaults made explicit.
type alarmSpecValues struct {
	Description, Metric, Statistic, Endpoint, Variant, Feature, MetricName, Comparison, MissingData types.String
	Threshold                                                                                       types.Float64
	PeriodSeconds, EvaluationPeriods, DatapointsToAlarm, MinSamples                                 types.Int64
	Actions                                                                                         types.Object
}

// alarmSpecFromAPI converts the server's spec. An empty statistic, missing
// data or notify_on and a zero datapoints_to_alarm or min_samples read as
// what the server means by them.
func alarmSpecFromAPI(ctx context.Context, s api.AlarmSpec, what string, diags *diag.Diagnostics) alarmSpecValues {
	statistic := s.Statistic
	if statistic == "" {
		statistic, _ = alarmDefaultStatistic(s.Metric)
	}
	dta := s.DatapointsToAlarm
	if dta == 0 {
		dta = s.EvaluationPeriods
	}
	missing := s.MissingData
	if missing == "" {
		missing = api.MissingDataMissing
	}
	minSamples := s.MinSamples
	if minSamples == 0 {
		minSamples = alarmDefaultMinSamples(s.Metric)
	}
	notifyOn := alarmDefaultNotifyOn()
	if len(s.Actions.NotifyOn) > 0 {
		notifyOn = pipelineListFromAPI(ctx, s.Actions.NotifyOn, diags)
	}
	actions, d := types.ObjectValue(alarmActionsAttrTypes, map[string]attr.Value{
		"notification_channels": pipelineListFromAPI(ctx, s.Actions.NotificationChannels, diags),
		"notify_on":             notifyOn,
		"rollback_endpoint":     types.BoolValue(s.Actions.RollbackEndpoint),
		"start_pipelines":       pipelineListFromAPI(ctx, s.Actions.StartPipelines, diags),
	})
	diags.Append(d...)
	return alarmSpecValues{
		Description:       types.StringValue(s.Description),
		Metric:            types.StringValue(s.Metric),
		Statistic:         types.StringValue(statistic),
		Endpoint:          emptyAsNull(s.Endpoint),
		Variant:           emptyAsNull(s.Variant),
		Feature:           emptyAsNull(s.Feature),
		MetricName:        emptyAsNull(s.MetricName),
		Comparison:        types.StringValue(s.Comparison),
		MissingData:       types.StringValue(missing),
		Threshold:         thresholdFromAPI(s.Threshold, what, diags),
		PeriodSeconds:     types.Int64Value(s.PeriodSeconds),
		EvaluationPeriods: types.Int64Value(s.EvaluationPeriods),
		DatapointsToAlarm: types.Int64Value(dta),
		MinSamples:        types.Int64Value(minSamples),
		Actions:           actions,
	}
}

// alarmFromAPI builds the model from the server's object. prior supplies
// what the server does not know (timeouts).
func alarmFromAPI(ctx context.Context, a *api.Alarm, prior alarmModel, diags *diag.Diagnostics) alarmModel {
	s := alarmSpecFromAPI(ctx, a.Spec, alarmObject(a.Metadata.Environment, a.Metadata.Name), diags)
	return alarmModel{
		ID:                types.StringValue(a.Metadata.Environment + "/" + a.Metadata.Name),
		Environment:       types.StringValue(a.Metadata.Environment),
		Name:              types.StringValue(a.Metadata.Name),
		Description:       s.Description,
		Metric:            s.Metric,
		Statistic:         s.Statistic,
		Endpoint:          s.Endpoint,
		Variant:           s.Variant,
		Feature:           s.Feature,
		MetricName:        s.MetricName,
		Comparison:        s.Comparison,
		Threshold:         s.Threshold,
		PeriodSeconds:     s.PeriodSeconds,
		EvaluationPeriods: s.EvaluationPeriods,
		DatapointsToAlarm: s.DatapointsToAlarm,
		MissingData:       s.MissingData,
		MinSamples:        s.MinSamples,
		Actions:           s.Actions,
		UID:               types.StringValue(a.Metadata.UID),
		CreatedAt:         types.StringValue(a.Metadata.CreatedAt.Format(time.RFC3339)),
		Timeouts:          prior.Timeouts,
	}
}
