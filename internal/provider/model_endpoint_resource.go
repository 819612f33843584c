package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
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
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                   = (*modelEndpointResource)(nil)
	_ resource.ResourceWithConfigure      = (*modelEndpointResource)(nil)
	_ resource.ResourceWithImportState    = (*modelEndpointResource)(nil)
	_ resource.ResourceWithValidateConfig = (*modelEndpointResource)(nil)
)

// NewModelEndpointResource returns the mlops_model_endpoint resource.
func NewModelEndpointResource() resource.Resource {
	return &modelEndpointResource{}
}

type modelEndpointResource struct {
	client *client.Client
}

type modelEndpointModel struct {
	ID                          types.String            `tfsdk:"id"`
	Environment                 types.String            `tfsdk:"environment"`
	Name                        types.String            `tfsdk:"name"`
	Variants                    []endpointVariantModel  `tfsdk:"variants"`
	Shadow                      *endpointShadowModel    `tfsdk:"shadow"`
	RequestLogSampleRatePercent types.Int64             `tfsdk:"request_log_sample_rate_percent"`
	Rollout                     *endpointRolloutModel   `tfsdk:"rollout"`
	SmokeTest                   *endpointSmokeTestModel `tfsdk:"smoke_test"`
	UID                         types.String            `tfsdk:"uid"`
	CreatedAt                   types.String            `tfsdk:"created_at"`
	Timeouts                    timeouts.Value          `tfsdk:"timeouts"`
}

type endpointVariantModel struct {
	Name           types.String              `tfsdk:"name"`
	ModelVersion   types.String              `tfsdk:"model_version"`
	ComputePool    types.String              `tfsdk:"compute_pool"`
	Replicas       types.Int64               `tfsdk:"replicas"`
	Autoscaling    *endpointAutoscalingModel `tfsdk:"autoscaling"`
	TrafficPercent types.Int64               `tfsdk:"traffic_percent"`
	Command        []types.String            `tfsdk:"command"`
	CPUMillicores  types.Int64               `tfsdk:"cpu_millicores"`
	MemoryMiB      types.Int64               `tfsdk:"memory_mib"`
}

type endpointShadowModel struct {
	Name          types.String              `tfsdk:"name"`
	ModelVersion  types.String              `tfsdk:"model_version"`
	ComputePool   types.String              `tfsdk:"compute_pool"`
	Replicas      types.Int64               `tfsdk:"replicas"`
	Autoscaling   *endpointAutoscalingModel `tfsdk:"autoscaling"`
	Command       []types.String            `tfsdk:"command"`
	CPUMillicores types.Int64               `tfsdk:"cpu_millicores"`
	MemoryMiB     types.Int64               `tfsdk:"memory_mib"`
}

type endpointAutoscalingModel struct {
	MinReplicas            types.Int64 `tfsdk:"min_replicas"`
	MaxReplicas            types.Int64 `tfsdk:"max_replicas"`
	TargetRPS              types.Int64 `tfsdk:"target_rps"`
	ScaleInCooldownSeconds types.Int64 `tfsdk:"scale_in_cooldown_seconds"`
}

type endpointRolloutModel struct {
	Strategy        types.String   `tfsdk:"strategy"`
	StepPercent     types.Int64    `tfsdk:"step_percent"`
	BakeTimeSeconds types.Int64    `tfsdk:"bake_time_seconds"`
	RollbackAlarms  []types.String `tfsdk:"rollback_alarms"`
}

type endpointSmokeTestModel struct {
	RequestBody              types.String `tfsdk:"request_body"`
	ExpectedStatus           types.Int64  `tfsdk:"expected_status"`
	ExpectedResponseContains types.String `tfsdk:"expected_response_contains"`
	JSONPath                 types.String `tfsdk:"json_path"`
	ExpectedJSONValue        types.String `tfsdk:"expected_json_value"`
}

// Defaults of a model endpoint.
const (
	modelEndpointDefaultTimeout   = 20 * time.Minute
	defaultRolloutStepPercent     = 10
	defaultScaleInCooldownSeconds = 300
	defaultSmokeExpectedStatus    = 200
)

var endpointRolloutAttrTypes = map[string]attr.Type{
	"strategy":          types.StringType,
	"step_percent":      types.Int64Type,
	"bake_time_seconds": types.Int64Type,
	"rollback_alarms":   types.ListType{ElemType: types.StringType},
}

var smokeJSONPathRE = regexp.MustCompile(api.SmokeJSONPathPattern)

func (r *modelEndpointResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_model_endpoint"
}

// variantAttributes are the attributes a variant and the shadow share.
func variantAttributes(what string) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"name": schema.StringAttribute{
			MarkdownDescription: "Name of the " + what + ", unique in the endpoint; it labels the gateway's metrics and answers.",
			Required:            true,
			Validators:          []validator.String{nameValidator()},
		},
		"model_version": schema.StringAttribute{
			MarkdownDescription: "Name of the model version (`mlops_model_version`) in the same environment to serve; its framework must be `mlops-linear` " +
				"unless `command` is set, and it must be approved when the environment's `policy.require_approved_models` is true. " + rolloutNote,
			Required:   true,
			Validators: []validator.String{nameValidator()},
		},
		"command": schema.ListAttribute{
			MarkdownDescription: "A program that serves the model instead of the built-in runtime, as the program and its arguments (1-64, each at most 4096 bytes), " +
				"e.g. `[\"/opt/models/serve\", \"--workers\", \"2\"]`. mlopsd starts it once per replica, as a child process on its own machine, with " +
				"`MLOPS_MODEL_URI` (the version's `artifact_uri`), `MLOPS_ARTIFACT_PATH` (for `file://` artifacts) and `PORT` in its environment. It must " +
				"answer `GET /healthz` with 200 and `POST /predict` `{\"inputs\": [...]}` with `{\"prediction\": ...}` on `127.0.0.1:$PORT`, and should " +
				"finish its requests in flight on SIGTERM (SIGKILL follows after 30 seconds). The model version may then be of any framework. " +
				"When `/healthz` answers `{\"inputs\": n}`, every check also predicts from n zeros. " + rolloutNote,
			ElementType: types.StringType,
			Optional:    true,
			Validators: []validator.List{
				listvalidator.SizeBetween(1, api.MaxCommandArgs),
				listvalidator.ValueStringsAre(stringvalidator.LengthAtMost(api.MaxCommandArgBytes)),
			},
		},
		"compute_pool": schema.StringAttribute{
			MarkdownDescription: "Name of the compute pool (`mlops_compute_pool`) in the same environment the replicas run on.",
			Required:            true,
			Validators:          []validator.String{nameValidator()},
		},
		"cpu_millicores": schema.Int64Attribute{
			MarkdownDescription: fmt.Sprintf("CPU each replica asks for, in thousandths of a core (`500` is half a core), %d-%d. "+
				"One replica must fit on one node of `compute_pool`: at most its `cpu_per_node` × 1000 (the control plane refuses more; "+
				"the plan warns when it can read the pool). Replicas the built-in runtime runs as processes (mlopsd's default `-model-runtime process`) "+
				"get `GOMAXPROCS` = ceil(`cpu_millicores` / 1000); a `command` gets `MLOPS_CPU_MILLICORES` in its environment and is trusted to honour it. "+
				"Built-in replicas inside mlopsd's own process (`-model-runtime inprocess`) share its CPU: there it is recorded, not enforced. "+
				"Unset means no request. %s", api.MinCPUMillicores, api.MaxCPUMillicores, requestsRolloutNote(what)),
			Optional:   true,
			Validators: []validator.Int64{int64validator.Between(api.MinCPUMillicores, api.MaxCPUMillicores)},
		},
		"memory_mib": schema.Int64Attribute{
			MarkdownDescription: fmt.Sprintf("Memory each replica asks for, in MiB (`1024` is 1 GiB), %d-%d. "+
				"One replica must fit on one node of `compute_pool`: at most its `memory_gib_per_node` × 1024 (the control plane refuses more; "+
				"the plan warns when it can read the pool). Built-in replicas run as processes get `GOMEMLIMIT` = `memory_mib` MiB, the Go runtime's "+
				"soft limit (the garbage collector works harder near it; it is not a hard cap); a `command` gets `MLOPS_MEMORY_MIB` in its environment "+
				"and is trusted to honour it. Built-in replicas inside mlopsd's own process share its memory: there it is recorded, not enforced. "+
				"Unset means no request. %s", api.MinMemoryMiB, api.MaxMemoryMiB, requestsRolloutNote(what)),
			Optional:   true,
			Validators: []validator.Int64{int64validator.Between(api.MinMemoryMiB, api.MaxMemoryMiB)},
		},
		"replicas": schema.Int64Attribute{
			MarkdownDescription: "Fixed number of replicas, 1-100. Set this or `autoscaling`.",
			Optional:            true,
			Validators:          []validator.Int64{int64validator.Between(1, 100)},
		},
		"autoscaling": schema.SingleNestedAttribute{
			MarkdownDescription: "Let the runtime choose the replica count between the bounds; the current count is runtime-owned and never a diff " +
				"(read it from the `mlops_model_endpoint` data source). Set this or `replicas`.",
			Optional: true,
			Attributes: map[string]schema.Attribute{
				"min_replicas": schema.Int64Attribute{
					MarkdownDescription: "Fewest replicas, 1-100 and at most `max_replicas`.",
					Required:            true,
					Validators:          []validator.Int64{int64validator.Between(1, 100)},
				},
				"max_replicas": schema.Int64Attribute{
					MarkdownDescription: "Most replicas, 1-100.",
					Required:            true,
					Validators:          []validator.Int64{int64validator.Between(1, 100)},
				},
				"target_rps": schema.Int64Attribute{
					MarkdownDescription: "Predictions per second one replica should serve, 1-1000000. The runtime runs ceil(rps / target_rps) replicas " +
						"within the bounds, where rps is the variant's predictions per second over the last 30 seconds as the gateway recorded them. " +
						"Without it the count stays at `min_replicas`.",
					Optional:   true,
					Validators: []validator.Int64{int64validator.Between(1, 1000000)},
				},
				"scale_in_cooldown_seconds": schema.Int64Attribute{
					MarkdownDescription: "Seconds the load must have called for fewer replicas, without a break, before replicas are removed, 0-3600; " +
						"adding replicas is immediate. Defaults to `300`.",
					Optional:   true,
					Computed:   true,
					Default:    int64default.StaticInt64(defaultScaleInCooldownSeconds),
					Validators: []validator.Int64{int64validator.Between(0, 3600)},
				},
			},
		},
	}
}

// requestsRolloutNote says how a change of cpu_millicores or memory_mib is
// carried out for what, a variant or the shadow variant.
func requestsRolloutNote(what string) string {
	if what == "shadow variant" {
		return "Changing it is an in-place update: the shadow's replicas are replaced at once, without a rollout."
	}
	return "Changing it is an in-place update carried out as a rollout of the same model version (see `rollout`): " +
		"replicas with the new requests start next to the old ones and take the traffic step by step; apply waits and fails if it rolls back."
}

// rolloutNote says how a change of model_version or command is carried out.
const rolloutNote = "Changing it is an in-place update carried out as a rollout (see `rollout`): apply waits until it finishes and fails if it rolls back."

func (r *modelEndpointResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	variant := variantAttributes("variant")
	variant["traffic_percent"] = schema.Int64Attribute{
		MarkdownDescription: "Share of the requests this variant serves, 0-100; the variants' shares must sum to 100 (checked at plan time).",
		Required:            true,
		Validators:          []validator.Int64{int64validator.Between(0, 100)},
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An online model endpoint: one or more variants, each serving a model version on a compute pool, with traffic split " +
			"between them by `traffic_percent`, an optional shadow variant that receives a copy of every request, and a rollout strategy " +
			"for model version changes. The control plane's gateway answers `POST /v1/environments/{env}/model-endpoints/{name}/predict` " +
			"(role `invoker`) with `{variant, model_version, prediction}`.\n\n" +
			"Changing a variant's `model_version` (or `command`, `cpu_millicores` or `memory_mib`) rolls the new version out (`all_at_once`, `canary`, `linear` or `blue_green`, baking " +
			"`bake_time_seconds` at each step). Apply waits for the rollout. If the new version's replicas fail to start, fail their health " +
			"or predict check or the `smoke_test`, or one of the rollout's `rollback_alarms` goes to `ALARM`, the control plane rolls back and the " +
			"apply **fails**, saying why; the previous version keeps serving, and the state records it, so the next plan proposes the change again, " +
			"and applying it retries the rollout (the provider bumps the spec's `rollout_attempt`, which is not an attribute).\n\n" +
			"Replica counts chosen by the runtime (autoscaling on `target_rps`) are not attributes of this resource and never show as a diff; the " +
			"`mlops_model_endpoint` data source reports them and the load they follow, with the phase and the rollout history.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, Terraform's resource ID and the import ID. Set by the provider."),
			"environment": environmentAttribute("endpoint"),
			"name":        nameAttribute("endpoint"),
			"variants": schema.ListNestedAttribute{
				MarkdownDescription: "The variants that serve traffic, 1-10, with unique names.",
				Required:            true,
				Validators:          []validator.List{listvalidator.SizeBetween(1, 10)},
				NestedObject:        schema.NestedAttributeObject{Attributes: variant},
			},
			"shadow": schema.SingleNestedAttribute{
				MarkdownDescription: "A variant that receives an asynchronous copy of every request; its answers are discarded, its metrics recorded. " +
					"A new `model_version` replaces it without a rollout.",
				Optional:   true,
				Attributes: variantAttributes("shadow variant"),
			},
			"request_log_sample_rate_percent": schema.Int64Attribute{
				MarkdownDescription: "Share of requests (with inputs and prediction) the gateway logs, 0-100. Defaults to `0`.",
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(0),
				Validators:          []validator.Int64{int64validator.Between(0, 100)},
			},
			"rollout": schema.SingleNestedAttribute{
				MarkdownDescription: "How a changed `model_version` replaces the serving one. Defaults to `all_at_once` with no bake time.",
				Optional:            true,
				Computed:            true,
				Default: objectdefault.StaticValue(types.ObjectValueMust(endpointRolloutAttrTypes, map[string]attr.Value{
					"strategy":          types.StringValue(api.RolloutAllAtOnce),
					"step_percent":      types.Int64Value(defaultRolloutStepPercent),
					"bake_time_seconds": types.Int64Value(0),
					"rollback_alarms":   types.ListNull(types.StringType),
				})),
				Attributes: map[string]schema.Attribute{
					"strategy": schema.StringAttribute{
						MarkdownDescription: "`all_at_once` (all traffic at once), `canary` (`step_percent`, then all), `linear` (`step_percent` more per step) " +
							"or `blue_green` (the new version is started and checked with no traffic, then takes all). Defaults to `all_at_once`.",
						Optional:   true,
						Computed:   true,
						Default:    stringdefault.StaticString(api.RolloutAllAtOnce),
						Validators: []validator.String{stringvalidator.OneOf(api.RolloutStrategies...)},
					},
					"step_percent": schema.Int64Attribute{
						MarkdownDescription: "Share of the variant's traffic the new version gains per step (canary: the first step), 1-100. Defaults to `10`.",
						Optional:            true,
						Computed:            true,
						Default:             int64default.StaticInt64(defaultRolloutStepPercent),
						Validators:          []validator.Int64{int64validator.Between(1, 100)},
					},
					"bake_time_seconds": schema.Int64Attribute{
						MarkdownDescription: "Seconds each step is watched (the new replicas checked on every reconcile pass) before the next, 0-86400. Defaults to `0`.",
						Optional:            true,
						Computed:            true,
						Default:             int64default.StaticInt64(0),
						Validators:          []validator.Int64{int64validator.Between(0, 86400)},
					},
					"rollback_alarms": schema.ListAttribute{
						MarkdownDescription: "Names of alarms (`mlops_alarm`) in the same environment, at most 10: when one of them goes to `ALARM` during a " +
							"rollout (in any step's bake, the last one included), the rollout rolls back and the apply fails naming the alarm. Alarms with " +
							"`actions.rollback_endpoint = true` on this endpoint count as well without being listed. An alarm that is already in `ALARM` " +
							"when the rollout starts does not roll it back at once (the new version may be the fix, and its bake shows it), but no step " +
							"ends while a watched alarm is in `ALARM`: if one still is when a step's bake ends, the rollout rolls back. Give the bake time " +
							"to cover the alarms' `period_seconds` × `evaluation_periods`. " +
							"The alarms need not exist when the endpoint is written (an alarm names its endpoint, so requiring them would be a cycle), " +
							"but a rollout that starts while one of them is missing rolls back at once: create the alarms first.",
						ElementType: types.StringType,
						Optional:    true,
						Validators: []validator.List{
							listvalidator.SizeAtMost(10),
							listvalidator.ValueStringsAre(nameValidator()),
						},
					},
				},
			},
			"smoke_test": schema.SingleNestedAttribute{
				MarkdownDescription: "A request the control plane sends to `POST /predict` of every new replica before it gets traffic: on create, " +
					"for a new variant, in every rollout before the first traffic step, and for replicas started later (autoscaling, restarts). " +
					"Each replica is tested once. On create " +
					"a failure fails the endpoint (reason `SmokeTestFailed`); in a rollout it rolls back, and the apply fails with the replica's status " +
					"and the start of its answer, e.g. `smoke test failed: expected status 200, got 500: {...}`, while the previous version keeps " +
					"serving. The shadow variant is not smoke-tested.",
				Optional: true,
				Attributes: map[string]schema.Attribute{
					"request_body": schema.StringAttribute{
						MarkdownDescription: "The JSON object sent, e.g. `jsonencode({ inputs = [1200] })`; at most 64 KiB.",
						Required:            true,
						Validators:          []validator.String{stringvalidator.LengthAtMost(api.MaxSmokeRequestBodyBytes)},
					},
					"expected_status": schema.Int64Attribute{
						MarkdownDescription: "The HTTP status the replica must answer, 100-599. Defaults to `200`.",
						Optional:            true,
						Computed:            true,
						Default:             int64default.StaticInt64(defaultSmokeExpectedStatus),
						Validators:          []validator.Int64{int64validator.Between(100, 599)},
					},
					"expected_response_contains": schema.StringAttribute{
						MarkdownDescription: "Text the answer's body must contain; at most 4096 bytes.",
						Optional:            true,
						Validators:          []validator.String{stringvalidator.LengthBetween(1, api.MaxSmokeExpectationBytes)},
					},
					"json_path": schema.StringAttribute{
						MarkdownDescription: "A dot-separated path that must exist in the JSON answer, with array indexes as numbers, e.g. `prediction` or `scores.0`.",
						Optional:            true,
						Validators:          []validator.String{stringvalidator.LengthBetween(1, api.MaxSmokeJSONPathBytes)},
					},
					"expected_json_value": schema.StringAttribute{
						MarkdownDescription: "The value expected at `json_path`, compared as JSON text: a string without its quotes (`cat`), a number " +
							"numerically (`21` matches `21.0`), anything else as JSON (`true`, `[1,2]`). Needs `json_path`; at most 4096 bytes.",
						Optional: true,
						Validators: []validator.String{
							stringvalidator.LengthBetween(1, api.MaxSmokeExpectationBytes),
							stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("json_path")),
						},
					},
				},
			},
			"uid":        uidAttribute("endpoint"),
			"created_at": createdAtAttribute("endpoint"),
			"timeouts":   timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *modelEndpointResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks what spans attributes at plan time: the traffic
// split, replicas versus autoscaling, commands, and the smoke test's body
// and json_path.
func (r *modelEndpointResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	smokeTestProblems(ctx, req.Config, &resp.Diagnostics)
	rollbackAlarmsProblems(ctx, req.Config, &resp.Diagnostics)
	var variants types.List
	diags := req.Config.GetAttribute(ctx, path.Root("variants"), &variants)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() || variants.IsNull() || variants.IsUnknown() {
		return
	}
	var sum int64
	known := true
	names := map[string]int{}
	for i, el := range variants.Elements() {
		obj, ok := el.(basetypes.ObjectValue)
		if !ok || obj.IsNull() || obj.IsUnknown() {
			known = false
			continue
		}
		attrs := obj.Attributes()
		p := path.Root("variants").AtListIndex(i)
		if tp, ok := attrs["traffic_percent"].(basetypes.Int64Value); ok && !tp.IsUnknown() && !tp.IsNull() {
			sum += tp.ValueInt64()
		} else {
			known = false
		}
		if n, ok := attrs["name"].(basetypes.StringValue); ok && !n.IsUnknown() && !n.IsNull() {
			if j, dup := names[n.ValueString()]; dup {
				resp.Diagnostics.AddAttributeError(p.AtName("name"), "Duplicate variant name",
					fmt.Sprintf("variants[%d] and variants[%d] are both named %q; give each variant its own name", j, i, n.ValueString()))
			}
			names[n.ValueString()] = i
		}
		replicasProblem(&resp.Diagnostics, p, attrs["replicas"], attrs["autoscaling"])
		commandProblem(&resp.Diagnostics, p.AtName("command"), attrs["command"])
	}
	if known && sum != 100 {
		resp.Diagnostics.AddAttributeError(path.Root("variants"), "Invalid traffic split",
			fmt.Sprintf("the variants' traffic_percent sum to %d; they must sum to 100", sum))
	}
	var shadow types.Object
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("shadow"), &shadow)...)
	if !shadow.IsNull() && !shadow.IsUnknown() {
		attrs := shadow.Attributes()
		replicasProblem(&resp.Diagnostics, path.Root("shadow"), attrs["replicas"], attrs["autoscaling"])
		commandProblem(&resp.Diagnostics, path.Root("shadow").AtName("command"), attrs["command"])
		if n, ok := attrs["name"].(basetypes.StringValue); ok && !n.IsUnknown() && !n.IsNull() {
			if _, dup := names[n.ValueString()]; dup {
				resp.Diagnostics.AddAttributeError(path.Root("shadow").AtName("name"), "Duplicate variant name",
					fmt.Sprintf("the shadow variant is named %q like a variant; give it its own name", n.ValueString()))
			}
		}
	}
}

// smokeTestProblems reports a smoke test whose request_body is not a JSON
// object or whose json_path is not a path, as the control plane would.
func smokeTestProblems(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics) {
	var body, jsonPath types.String
	diags.Append(cfg.GetAttribute(ctx, path.Root("smoke_test").AtName("request_body"), &body)...)
	diags.Append(cfg.GetAttribute(ctx, path.Root("smoke_test").AtName("json_path"), &jsonPath)...)
	if diags.HasError() {
		return
	}
	if !body.IsNull() && !body.IsUnknown() {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body.ValueString()), &obj); err != nil || obj == nil {
			diags.AddAttributeError(path.Root("smoke_test").AtName("request_body"), "Invalid smoke test request body",
				`request_body must be a JSON object, the body of POST /predict, e.g. jsonencode({ inputs = [1200] }) for {"inputs": [1200]}`)
		}
	}
	if !jsonPath.IsNull() && !jsonPath.IsUnknown() && !smokeJSONPathRE.MatchString(jsonPath.ValueString()) {
		diags.AddAttributeError(path.Root("smoke_test").AtName("json_path"), "Invalid json_path",
			fmt.Sprintf("%q is not a path: %s", jsonPath.ValueString(), api.SmokeJSONPathHint))
	}
}

// rollbackAlarmsProblems reports an alarm named twice in
// rollout.rollback_alarms.
func rollbackAlarmsProblems(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics) {
	var alarms types.List
	p := path.Root("rollout").AtName("rollback_alarms")
	diags.Append(cfg.GetAttribute(ctx, p, &alarms)...)
	if diags.HasError() || alarms.IsNull() || alarms.IsUnknown() {
		return
	}
	seen := map[string]bool{}
	for i, el := range alarms.Elements() {
		n, ok := el.(basetypes.StringValue)
		if !ok || n.IsNull() || n.IsUnknown() {
			continue
		}
		if seen[n.ValueString()] {
			diags.AddAttributeError(p.AtListIndex(i), "Duplicate rollback alarm",
				fmt.Sprintf("rollout.rollback_alarms names alarm %q twice; name each alarm once", n.ValueString()))
		}
		seen[n.ValueString()] = true
	}
}

// commandProblem reports a command whose program is empty.
func commandProblem(diags *diag.Diagnostics, p path.Path, command attr.Value) {
	list, ok := command.(basetypes.ListValue)
	if !ok || list.IsNull() || list.IsUnknown() || len(list.Elements()) == 0 {
		return
	}
	if first, ok := list.Elements()[0].(basetypes.StringValue); ok && !first.IsUnknown() && !first.IsNull() && strings.TrimSpace(first.ValueString()) == "" {
		diags.AddAttributeError(p.AtListIndex(0), "Invalid command", "the first element must name the program that serves the model, e.g. /opt/models/serve")
	}
}

// replicasProblem reports a variant that sets neither or both of replicas
// and autoscaling, and autoscaling bounds the wrong way round.
func replicasProblem(diags *diag.Diagnostics, p path.Path, replicas, autoscaling attr.Value) {
	if replicas == nil || autoscaling == nil || replicas.IsUnknown() || autoscaling.IsUnknown() {
		return
	}
	switch {
	case replicas.IsNull() && autoscaling.IsNull():
		diags.AddAttributeError(p.AtName("replicas"), "Missing replicas", "set replicas (1-100) or autoscaling = { min_replicas, max_replicas }")
	case !replicas.IsNull() && !autoscaling.IsNull():
		diags.AddAttributeError(p.AtName("replicas"), "Conflicting replicas", "set replicas or autoscaling, not both: with autoscaling the runtime owns the replica count")
	case !autoscaling.IsNull():
		obj, ok := autoscaling.(basetypes.ObjectValue)
		if !ok {
			return
		}
		lo, ok1 := obj.Attributes()["min_replicas"].(basetypes.Int64Value)
		hi, ok2 := obj.Attributes()["max_replicas"].(basetypes.Int64Value)
		if ok1 && ok2 && !lo.IsUnknown() && !hi.IsUnknown() && !lo.IsNull() && !hi.IsNull() && lo.ValueInt64() > hi.ValueInt64() {
			diags.AddAttributeError(p.AtName("autoscaling").AtName("min_replicas"), "Invalid min_replicas",
				fmt.Sprintf("min_replicas (%d) is more than max_replicas (%d); lower min_replicas or raise max_replicas", lo.ValueInt64(), hi.ValueInt64()))
		}
	}
}

func (r *modelEndpointResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan modelEndpointModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, modelEndpointDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	what := modelEndpointObject(env, name)
	ep, err := r.client.CreateModelEndpoint(ctx, env, name, modelEndpointToAPI(plan))
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating model endpoint", what, err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, modelEndpointFromAPI(ep, plan))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, ep.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settled, err := r.waitSettled(ctx, ep)
	if settled != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, modelEndpointFromAPI(settled, plan))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error creating model endpoint", err.Error())
		return
	}
	tflog.Info(ctx, "created model endpoint", map[string]any{"environment": env, "name": name, "uid": settled.Metadata.UID})
}

// waitSettled waits, by mlopsd's long poll, until the endpoint settled on
// the generation written wrote (or a later one): ready, failed or rolled
// back. Failed and rolled back are errors that say why; a rolled-back one
// also says which version still serves. It returns the last object read,
// also with an error, so that state records what serves.
func (r *modelEndpointResource) waitSettled(ctx context.Context, written *api.ModelEndpoint) (*api.ModelEndpoint, error) {
	env, name := written.Metadata.Environment, written.Metadata.Name
	what := modelEndpointObject(env, name)
	last := written
	if !written.Status.Settled(written.Metadata.Generation) {
		ep, err := r.client.WaitModelEndpointSettled(ctx, env, name, written.Metadata.Generation)
		if ep != nil {
			last = ep
		}
		if err != nil {
			if ctx.Err() != nil {
				return last, fmt.Errorf("%s did not settle in time (last phase %q: %s); raise the timeouts block or check mlopsd's logs: %w",
					what, last.Status.Phase, last.Status.Message, err)
			}
			return last, err
		}
	}
	switch last.Status.Phase {
	case api.PhaseFailed:
		return last, fmt.Errorf("%s failed: %s: %s", what, last.Status.Reason, last.Status.Message)
	case api.PhaseRolledBack:
		return last, fmt.Errorf("%s: the rollout was rolled back, so the change is not live: %s. "+
			"Fix the cause or pick another version; applying the same change again retries the rollout", what, last.Status.Message)
	}
	return last, nil
}

// Read refreshes the spec so that out-of-band edits show as drift. After a
// rollback a variant's model_version is the version that actually serves,
// so the plan proposes the rolled-back change again instead of hiding it.
func (r *modelEndpointResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state modelEndpointModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	ep, err := r.client.GetModelEndpoint(ctx, env, name)
	if readFailed(ctx, resp, err, "model endpoint", modelEndpointObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	if ep.Metadata.DeletionRequestedAt != nil {
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, modelEndpointFromAPI(ep, state))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, ep.Metadata.ETag)...)
}

func (r *modelEndpointResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan modelEndpointModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, modelEndpointDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	ep, err := r.updateOrRetry(ctx, env, name, modelEndpointToAPI(plan), etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating model endpoint", modelEndpointObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, modelEndpointFromAPI(ep, plan))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, ep.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settled, err := r.waitSettled(ctx, ep)
	if settled != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, modelEndpointFromAPI(settled, plan))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error updating model endpoint", err.Error())
	}
}

// updateOrRetry writes spec. After a rollback, state holds the version
// that still serves, so the plan proposes the rolled-back version again;
// applying it means "try again". The stored spec already names that
// version, though, so the write changes nothing and the control plane would
// not retry a rollout it rolled back in this generation: then the write is
// repeated with rollout_attempt one higher, which starts a new generation
// and so a new rollout. Any other change starts one by itself.
func (r *modelEndpointResource) updateOrRetry(ctx context.Context, env, name string, spec api.ModelEndpointSpec, etag string) (*api.ModelEndpoint, error) {
	cur, err := r.client.GetModelEndpoint(ctx, env, name)
	if err != nil {
		return nil, err
	}
	// rollout_attempt is no attribute: keep the server's count.
	spec.RolloutAttempt = cur.Spec.RolloutAttempt
	ep, err := r.client.UpdateModelEndpoint(ctx, env, name, spec, etag)
	if err != nil || ep.Metadata.Generation != cur.Metadata.Generation || ep.Status.Phase != api.PhaseRolledBack {
		return ep, err
	}
	spec.RolloutAttempt++
	tflog.Info(ctx, "retrying a rolled-back rollout", map[string]any{"environment": env, "name": name, "rollout_attempt": spec.RolloutAttempt})
	return r.client.UpdateModelEndpoint(ctx, env, name, spec, ep.Metadata.ETag)
}

func (r *modelEndpointResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state modelEndpointModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, modelEndpointDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	// Replicas stop before the endpoint disappears.
	deleteAndWaitGone(ctx, &resp.Diagnostics, "model endpoint", modelEndpointObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) {
			return r.client.DeleteModelEndpoint(ctx, env, name)
		},
		func(ctx context.Context) error {
			return r.client.WaitModelEndpointGone(ctx, env, name)
		})
}

func (r *modelEndpointResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	env, name := importEnvName(ctx, req, resp, "model endpoint", "terraform import mlops_model_endpoint.churn dev/churn")
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), env+"/"+name)...)
}

func modelEndpointObject(env, name string) string {
	return envObject("model endpoint", env, name)
}

func autoscalingToAPI(m *endpointAutoscalingModel) *api.EndpointAutoscaling {
	if m == nil {
		return nil
	}
	return &api.EndpointAutoscaling{
		MinReplicas: m.MinReplicas.ValueInt64(), MaxReplicas: m.MaxReplicas.ValueInt64(), TargetRPS: m.TargetRPS.ValueInt64(),
		ScaleInCooldownSeconds: m.ScaleInCooldownSeconds.ValueInt64(),
	}
}

func autoscalingFromAPI(a *api.EndpointAutoscaling) *endpointAutoscalingModel {
	if a == nil {
		return nil
	}
	m := &endpointAutoscalingModel{
		MinReplicas: types.Int64Value(a.MinReplicas), MaxReplicas: types.Int64Value(a.MaxReplicas), TargetRPS: types.Int64Null(),
		ScaleInCooldownSeconds: types.Int64Value(a.ScaleInCooldownSeconds),
	}
	if a.TargetRPS != 0 {
		m.TargetRPS = types.Int64Value(a.TargetRPS)
	}
	return m
}

func stringsToAPI(l []types.String) []string {
	if len(l) == 0 {
		return nil
	}
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = v.ValueString()
	}
	return out
}

// stringsFromAPI is a list attribute from the server; none reads as null,
// or as an empty list where the prior value was one, so that an empty
// list in the configuration is no diff.
func stringsFromAPI(l []string, prior []types.String) []types.String {
	if len(l) == 0 {
		if prior != nil && len(prior) == 0 {
			return []types.String{}
		}
		return nil
	}
	out := make([]types.String, len(l))
	for i, v := range l {
		out[i] = types.StringValue(v)
	}
	return out
}

// resourcesToAPI builds a variant's requests; null is no request (0).
func resourcesToAPI(cpu, mem types.Int64) api.ReplicaResources {
	return api.ReplicaResources{CPUMillicores: cpu.ValueInt64(), MemoryMiB: mem.ValueInt64()}
}

// optionalInt64 is an optional number from the server, where 0 means unset.
func optionalInt64(n int64) types.Int64 {
	if n == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(n)
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func smokeTestToAPI(m *endpointSmokeTestModel) *api.EndpointSmokeTest {
	if m == nil {
		return nil
	}
	return &api.EndpointSmokeTest{
		RequestBody: m.RequestBody.ValueString(), ExpectedStatus: m.ExpectedStatus.ValueInt64(),
		ExpectedResponseContains: m.ExpectedResponseContains.ValueString(), JSONPath: m.JSONPath.ValueString(),
		ExpectedJSONValue: m.ExpectedJSONValue.ValueString(),
	}
}

func smokeTestFromAPI(t *api.EndpointSmokeTest) *endpointSmokeTestModel {
	if t == nil {
		return nil
	}
	status := t.ExpectedStatus
	if status == 0 {
		status = defaultSmokeExpectedStatus // what 0 means to the server
	}
	return &endpointSmokeTestModel{
		RequestBody: types.StringValue(t.RequestBody), ExpectedStatus: types.Int64Value(status),
		ExpectedResponseContains: optionalString(t.ExpectedResponseContains), JSONPath: optionalString(t.JSONPath),
		ExpectedJSONValue: optionalString(t.ExpectedJSONValue),
	}
}

// modelEndpointToAPI builds the spec from a plan.
func modelEndpointToAPI(m modelEndpointModel) api.ModelEndpointSpec {
	spec := api.ModelEndpointSpec{RequestLogSampleRatePercent: m.RequestLogSampleRatePercent.ValueInt64(), SmokeTest: smokeTestToAPI(m.SmokeTest)}
	for _, v := range m.Variants {
		spec.Variants = append(spec.Variants, api.EndpointVariant{
			Name: v.Name.ValueString(), ModelVersion: v.ModelVersion.ValueString(), ComputePool: v.ComputePool.ValueString(),
			Replicas: v.Replicas.ValueInt64(), Autoscaling: autoscalingToAPI(v.Autoscaling), TrafficPercent: v.TrafficPercent.ValueInt64(),
			Command: stringsToAPI(v.Command), ReplicaResources: resourcesToAPI(v.CPUMillicores, v.MemoryMiB),
		})
	}
	if s := m.Shadow; s != nil {
		spec.Shadow = &api.EndpointVariant{
			Name: s.Name.ValueString(), ModelVersion: s.ModelVersion.ValueString(), ComputePool: s.ComputePool.ValueString(),
			Replicas: s.Replicas.ValueInt64(), Autoscaling: autoscalingToAPI(s.Autoscaling), Command: stringsToAPI(s.Command),
			ReplicaResources: resourcesToAPI(s.CPUMillicores, s.MemoryMiB),
		}
	}
	if ro := m.Rollout; ro != nil {
		spec.Rollout = api.EndpointRollout{Strategy: ro.Strategy.ValueString(), StepPercent: ro.StepPercent.ValueInt64(),
			BakeTimeSeconds: ro.BakeTimeSeconds.ValueInt64(), RollbackAlarms: stringsToAPI(ro.RollbackAlarms)}
	}
	return spec
}

// modelEndpointFromAPI builds the model from the server's object. A variant
// whose rollout was rolled back reads as the version (and command and
// replica requests) that serves. prior supplies what the server does not know (timeouts) and
// whether empty lists were written as such.
func modelEndpointFromAPI(ep *api.ModelEndpoint, prior modelEndpointModel) modelEndpointModel {
	serving := map[string]api.EndpointVariantStatus{}
	if ep.Status.Phase == api.PhaseRolledBack {
		for _, vs := range ep.Status.Variants {
			serving[vs.Name] = vs
		}
	}
	var priorAlarms []types.String
	if prior.Rollout != nil {
		priorAlarms = prior.Rollout.RollbackAlarms
	}
	m := modelEndpointModel{
		ID:                          types.StringValue(ep.Metadata.Environment + "/" + ep.Metadata.Name),
		Environment:                 types.StringValue(ep.Metadata.Environment),
		Name:                        types.StringValue(ep.Metadata.Name),
		RequestLogSampleRatePercent: types.Int64Value(ep.Spec.RequestLogSampleRatePercent),
		Rollout: &endpointRolloutModel{
			Strategy:        types.StringValue(ep.Spec.Rollout.Strategy),
			StepPercent:     types.Int64Value(ep.Spec.Rollout.StepPercent),
			BakeTimeSeconds: types.Int64Value(ep.Spec.Rollout.BakeTimeSeconds),
			RollbackAlarms:  stringsFromAPI(ep.Spec.Rollout.RollbackAlarms, priorAlarms),
		},
		SmokeTest: smokeTestFromAPI(ep.Spec.SmokeTest),
		UID:       types.StringValue(ep.Metadata.UID),
		CreatedAt: types.StringValue(ep.Metadata.CreatedAt.Format(time.RFC3339)),
		Timeouts:  prior.Timeouts,
	}
	priorVariants := map[string]endpointVariantModel{}
	for _, v := range prior.Variants {
		priorVariants[v.Name.ValueString()] = v
	}
	for _, v := range ep.Spec.Variants {
		version, command, res := v.ModelVersion, v.Command, v.ReplicaResources
		if s, ok := serving[v.Name]; ok && s.ModelVersion != "" {
			version, command, res = s.ModelVersion, s.Command, s.ReplicaResources
		}
		m.Variants = append(m.Variants, endpointVariantModel{
			Name: types.StringValue(v.Name), ModelVersion: types.StringValue(version), ComputePool: types.StringValue(v.ComputePool),
			Replicas: optionalInt64(v.Replicas), Autoscaling: autoscalingFromAPI(v.Autoscaling), TrafficPercent: types.Int64Value(v.TrafficPercent),
			Command:       stringsFromAPI(command, priorVariants[v.Name].Command),
			CPUMillicores: optionalInt64(res.CPUMillicores), MemoryMiB: optionalInt64(res.MemoryMiB),
		})
	}
	if s := ep.Spec.Shadow; s != nil {
		var priorCommand []types.String
		if prior.Shadow != nil {
			priorCommand = prior.Shadow.Command
		}
		m.Shadow = &endpointShadowModel{
			Name: types.StringValue(s.Name), ModelVersion: types.StringValue(s.ModelVersion), ComputePool: types.StringValue(s.ComputePool),
			Replicas: optionalInt64(s.Replicas), Autoscaling: autoscalingFromAPI(s.Autoscaling), Command: stringsFromAPI(s.Command, priorCommand),
			CPUMillicores: optionalInt64(s.CPUMillicores), MemoryMiB: optionalInt64(s.MemoryMiB),
		}
	}
	return m
}
