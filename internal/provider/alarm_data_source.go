package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ datasource.DataSource              = (*alarmDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*alarmDataSource)(nil)
)

// NewAlarmDataSource returns the mlops_alarm data source.
func NewAlarmDataSource() datasource.DataSource {
	return &alarmDataSource{}
}

type alarmDataSource struct {
	client *client.Client
}

type alarmDataSourceModel struct {
	ID                 types.String             `tfsdk:"id"`
	Environment        types.String             `tfsdk:"environment"`
	Name               types.String             `tfsdk:"name"`
	UID                types.String             `tfsdk:"uid"`
	CreatedAt          types.String             `tfsdk:"created_at"`
	Description        types.String             `tfsdk:"description"`
	Metric             types.String             `tfsdk:"metric"`
	Statistic          types.String             `tfsdk:"statistic"`
	Endpoint           types.String             `tfsdk:"endpoint"`
	Variant            types.String             `tfsdk:"variant"`
	Feature            types.String             `tfsdk:"feature"`
	MetricName         types.String             `tfsdk:"metric_name"`
	Comparison         types.String             `tfsdk:"comparison"`
	Threshold          types.Float64            `tfsdk:"threshold"`
	PeriodSeconds      types.Int64              `tfsdk:"period_seconds"`
	EvaluationPeriods  types.Int64              `tfsdk:"evaluation_periods"`
	DatapointsToAlarm  types.Int64              `tfsdk:"datapoints_to_alarm"`
	MissingData        types.String             `tfsdk:"missing_data"`
	MinSamples         types.Int64              `tfsdk:"min_samples"`
	Actions            types.Object             `tfsdk:"actions"`
	Phase              types.String             `tfsdk:"phase"`
	Reason             types.String             `tfsdk:"reason"`
	Message            types.String             `tfsdk:"message"`
	ObservedGeneration types.Int64              `tfsdk:"observed_generation"`
	State              types.String             `tfsdk:"state"`
	StateReason        types.String             `tfsdk:"state_reason"`
	StateChangedAt     types.String             `tfsdk:"state_changed_at"`
	LastEvaluatedAt    types.String             `tfsdk:"last_evaluated_at"`
	TransitionCount    types.Int64              `tfsdk:"transition_count"`
	Datapoints         []alarmDatapointModel    `tfsdk:"datapoints"`
	History            []alarmTransitionModel   `tfsdk:"history"`
	Notifications      []alarmNotificationModel `tfsdk:"notifications"`
}

type alarmDatapointModel struct {
	Start     types.String  `tfsdk:"start"`
	Value     types.Float64 `tfsdk:"value"`
	Samples   types.Int64   `tfsdk:"samples"`
	Breaching types.Bool    `tfsdk:"breaching"`
	Detail    types.String  `tfsdk:"detail"`
	// FeatureDrift maps feature names to numbers (types.Float64).
	FeatureDrift types.Map `tfsdk:"feature_drift"`
}

type alarmTransitionModel struct {
	Seq    types.Int64   `tfsdk:"seq"`
	From   types.String  `tfsdk:"from"`
	To     types.String  `tfsdk:"to"`
	At     types.String  `tfsdk:"at"`
	Reason types.String  `tfsdk:"reason"`
	Value  types.Float64 `tfsdk:"value"`
}

type alarmNotificationModel struct {
	ID            types.String `tfsdk:"id"`
	Channel       types.String `tfsdk:"channel"`
	TransitionSeq types.Int64  `tfsdk:"transition_seq"`
	State         types.String `tfsdk:"state"`
	Attempts      types.Int64  `tfsdk:"attempts"`
	LastError     types.String `tfsdk:"last_error"`
	NextAttemptAt types.String `tfsdk:"next_attempt_at"`
	DeliveredAt   types.String `tfsdk:"delivered_at"`
}

func (d *alarmDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_alarm"
}

func computedFloat64(description string) schema.Float64Attribute {
	return schema.Float64Attribute{MarkdownDescription: description, Computed: true}
}

func computedBool(description string) schema.BoolAttribute {
	return schema.BoolAttribute{MarkdownDescription: description, Computed: true}
}

func computedStringList(description string) schema.ListAttribute {
	return schema.ListAttribute{MarkdownDescription: description, ElementType: types.StringType, Computed: true}
}

func (d *alarmDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads an alarm: its configuration, as the `mlops_alarm` resource has it (with the control plane's defaults " +
			"filled in), and what the control plane's evaluator observed, which the resource does not record: the state (`OK`, `ALARM` or " +
			"`INSUFFICIENT_DATA`) and why, the periods of the last evaluation, the latest transitions and the deliveries to notification channels.",
		Attributes: map[string]schema.Attribute{
			"id":                  computedString("`<environment>/<name>`."),
			"environment":         dataSourceEnvironmentAttribute("alarm"),
			"name":                dataSourceNameAttribute("alarm"),
			"uid":                 dataSourceUIDAttribute(),
			"created_at":          dataSourceCreatedAtAttribute("alarm"),
			"description":         dataSourceDescriptionAttribute(),
			"metric":              computedString("The metric watched, e.g. `error_rate` or `feature_drift_psi`."),
			"statistic":           computedString("The statistic computed over each period, e.g. `p99` or `average`."),
			"endpoint":            computedString("The model endpoint whose metric is watched; null when none (`custom` metrics)."),
			"variant":             computedString("The endpoint's variant the metric is narrowed to; null for all of them."),
			"feature":             computedString("For the drift metrics, the feature watched; null for the most drifted one."),
			"metric_name":         computedString("For `model_metric` and `custom`, the metric's name; null otherwise."),
			"comparison":          computedString("`greater_than`, `greater_than_or_equal_to`, `less_than` or `less_than_or_equal_to`."),
			"threshold":           computedFloat64("The value the statistic is compared with."),
			"period_seconds":      computedInt64("Length of one period in seconds."),
			"evaluation_periods":  computedInt64("How many of the latest periods are evaluated (N)."),
			"datapoints_to_alarm": computedInt64("How many of them must breach for `ALARM` (M)."),
			"missing_data":        computedString("How a period without enough observations counts: `missing`, `breaching`, `not_breaching` or `ignore`."),
			"min_samples":         computedInt64("Observations a period needs to count as having data (the metric's default when not configured)."),
			"actions": schema.SingleNestedAttribute{
				MarkdownDescription: "What the alarm does when its state changes.",
				Computed:            true,
				Attributes: map[string]schema.Attribute{
					"notification_channels": computedStringList("Notification channels notified on every transition into a state of `notify_on`; null for none."),
					"notify_on":             computedStringList("States whose entry notifies the channels."),
					"rollback_endpoint":     computedBool("Whether a rollout of the endpoint in progress is rolled back while the alarm is in `ALARM`."),
					"start_pipelines":       computedStringList("Training pipelines started every time the alarm enters `ALARM`; null for none."),
				},
			},
			"phase":               computedString("`pending` until the control plane evaluated the alarm, then `ready`; `failed` when it cannot be evaluated."),
			"reason":              computedString("Why the alarm is in its phase, one CamelCase word; empty when ready."),
			"message":             computedString("The phase explained for people."),
			"observed_generation": computedInt64("Spec generation the status describes."),
			"state":               computedString("`OK`, `ALARM` or `INSUFFICIENT_DATA` (before the first evaluation, and while too few periods have data)."),
			"state_reason":        computedString("Why the alarm is in its state, with the numbers."),
			"state_changed_at":    computedString("When the state last changed (RFC 3339); null if it never did."),
			"last_evaluated_at":   computedString("End of the newest period evaluated (RFC 3339); null before the first evaluation."),
			"transition_count":    computedInt64("State changes since the alarm was created; the newest entry of `history` has this `seq`."),
			"datapoints": schema.ListNestedAttribute{
				MarkdownDescription: "The periods of the last evaluation, oldest first; empty before the first.",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"start":     computedString("Start of the period (RFC 3339); it ends `period_seconds` later."),
					"value":     computedFloat64("The statistic over the period; null when the period had missing data."),
					"samples":   computedInt64("Observations in the period."),
					"breaching": computedBool("Whether the period counted as breaching, after the treatment of missing data."),
					"detail":    computedString("What the value is of, e.g. the feature that drifted most; empty when there is nothing to add."),
					"feature_drift": schema.MapAttribute{
						MarkdownDescription: "For the drift metrics (`feature_drift_psi`, `feature_drift_ks`): each feature's statistic in the period, " +
							"keyed by feature name, the largest over the model versions serving with at least `min_samples` inputs; `value` is the largest of them. " +
							"Only the alarm's `feature` when it names one; at most the 50 features that drifted most. Null when the period had no value and for the other metrics.",
						ElementType: types.Float64Type,
						Computed:    true,
					},
				}},
			},
			"history": schema.ListNestedAttribute{
				MarkdownDescription: "The latest state transitions, oldest first (at most 50).",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"seq":    computedInt64("Number of the transition, from 1."),
					"from":   computedString("State before."),
					"to":     computedString("State after."),
					"at":     computedString("When the transition happened (RFC 3339)."),
					"reason": computedString("The `state_reason` the transition set."),
					"value":  computedFloat64("The newest period's statistic at the transition; null when it had none."),
				}},
			},
			"notifications": schema.ListNestedAttribute{
				MarkdownDescription: "The latest deliveries to notification channels, oldest first (at most 50). Pending ones are retried until " +
					"delivered or out of attempts.",
				Computed: true,
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":              computedString("Unique per delivery, sent as the `X-Mlops-Delivery` header so a receiver can drop a retry it already processed."),
					"channel":         computedString("The notification channel."),
					"transition_seq":  computedInt64("The `seq` of the transition in `history` notified."),
					"state":           computedString("`pending`, `delivered` or `failed`."),
					"attempts":        computedInt64("Attempts made so far."),
					"last_error":      computedString("Why the last attempt failed; empty when none did."),
					"next_attempt_at": computedString("When a pending delivery is tried next (RFC 3339); null otherwise."),
					"delivered_at":    computedString("When the delivery succeeded (RFC 3339); null until it did."),
				}},
			},
		},
	}
}

func (d *alarmDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *alarmDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg alarmDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := cfg.Environment.ValueString(), cfg.Name.ValueString()
	a, err := d.client.GetAlarm(ctx, env, name)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading alarm", alarmObject(env, name), err)
		return
	}
	m := alarmDataSourceFromAPI(ctx, a, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// optionalTime renders a time the API may omit; nil is null.
func optionalTime(t *time.Time) types.String {
	if t == nil {
		return types.StringNull()
	}
	return types.StringValue(t.UTC().Format(time.RFC3339))
}

// optionalFloat64 renders a number the API may omit; nil is null.
func optionalFloat64(f *float64) types.Float64 {
	if f == nil {
		return types.Float64Null()
	}
	return types.Float64Value(*f)
}

func alarmDataSourceFromAPI(ctx context.Context, a *api.Alarm, diags *diag.Diagnostics) alarmDataSourceModel {
	s := alarmSpecFromAPI(ctx, a.Spec, alarmObject(a.Metadata.Environment, a.Metadata.Name), diags)
	st := a.Status
	m := alarmDataSourceModel{
		ID:                 types.StringValue(a.Metadata.Environment + "/" + a.Metadata.Name),
		Environment:        types.StringValue(a.Metadata.Environment),
		Name:               types.StringValue(a.Metadata.Name),
		UID:                types.StringValue(a.Metadata.UID),
		CreatedAt:          types.StringValue(a.Metadata.CreatedAt.Format(time.RFC3339)),
		Description:        s.Description,
		Metric:             s.Metric,
		Statistic:          s.Statistic,
		Endpoint:           s.Endpoint,
		Variant:            s.Variant,
		Feature:            s.Feature,
		MetricName:         s.MetricName,
		Comparison:         s.Comparison,
		Threshold:          s.Threshold,
		PeriodSeconds:      s.PeriodSeconds,
		EvaluationPeriods:  s.EvaluationPeriods,
		DatapointsToAlarm:  s.DatapointsToAlarm,
		MissingData:        s.MissingData,
		MinSamples:         s.MinSamples,
		Actions:            s.Actions,
		Phase:              types.StringValue(st.Phase),
		Reason:             types.StringValue(st.Reason),
		Message:            types.StringValue(st.Message),
		ObservedGeneration: types.Int64Value(st.ObservedGeneration),
		State:              types.StringValue(st.State),
		StateReason:        types.StringValue(st.StateReason),
		StateChangedAt:     optionalTime(st.StateChangedAt),
		LastEvaluatedAt:    optionalTime(st.LastEvaluatedAt),
		TransitionCount:    types.Int64Value(st.TransitionCount),
		Datapoints:         []alarmDatapointModel{},
		History:            []alarmTransitionModel{},
		Notifications:      []alarmNotificationModel{},
	}
	for _, p := range st.Datapoints {
		m.Datapoints = append(m.Datapoints, alarmDatapointModel{
			Start: types.StringValue(p.Start.UTC().Format(time.RFC3339)), Value: optionalFloat64(p.Value),
			Samples: types.Int64Value(p.Samples), Breaching: types.BoolValue(p.Breaching), Detail: types.StringValue(p.Detail),
			FeatureDrift: float64MapFromAPI(ctx, p.FeatureDrift, diags),
		})
	}
	for _, t := range st.History {
		m.History = append(m.History, alarmTransitionModel{
			Seq: types.Int64Value(t.Seq), From: types.StringValue(t.From), To: types.StringValue(t.To),
			At: types.StringValue(t.At.UTC().Format(time.RFC3339)), Reason: types.StringValue(t.Reason), Value: optionalFloat64(t.Value),
		})
	}
	for _, n := range st.Notifications {
		m.Notifications = append(m.Notifications, alarmNotificationModel{
			ID: types.StringValue(n.ID), Channel: types.StringValue(n.Channel), TransitionSeq: types.Int64Value(n.TransitionSeq),
			State: types.StringValue(n.State), Attempts: types.Int64Value(n.Attempts), LastError: types.StringValue(n.LastError),
			NextAttemptAt: optionalTime(n.NextAttemptAt), DeliveredAt: optionalTime(n.DeliveredAt),
		})
	}
	return m
}
