package api

import "time"

// Rollout strategies of a model endpoint.
const (
	RolloutAllAtOnce = "all_at_once"
	RolloutCanary    = "canary"
	RolloutLinear    = "linear"
	RolloutBlueGreen = "blue_green"
)

// RolloutStrategies lists every rollout strategy.
var RolloutStrategies = []string{RolloutAllAtOnce, RolloutCanary, RolloutLinear, RolloutBlueGreen}

// Phases of a model endpoint beyond the shared ones. PhaseRolledBack is
// terminal for the generation it observed: the new version failed and the
// previous one still serves.
const (
	PhaseRollingOut = "rolling_out"
	PhaseRolledBack = "rolled_back"
)

// Results of a rollout, as recorded in the rollout history.
const (
	RolloutSucceeded  = "succeeded"
	RolloutRolledBack = "rolled_back"
	RolloutSuperseded = "superseded"
)

// FrameworkMLOpsLinear is the artifact format the built-in model runtime
// serves: a JSON object {"slope": a, "intercept": b} (one input) or
// {"weights": [w1, ...], "bias": b}; the prediction is bias + Σ wᵢ·xᵢ.
const FrameworkMLOpsLinear = "mlops-linear"

// ModelEndpointSpec is what a user declares about an online model endpoint.
type ModelEndpointSpec struct {
	// Variants serve the traffic; their traffic_percent sum to 100.
	Variants []EndpointVariant `json:"variants"`
	// Shadow, when set, receives a copy of every request; its responses
	// are discarded. Its TrafficPercent must be 0.
	Shadow *EndpointVariant `json:"shadow,omitempty"`
	// RequestLogSampleRatePercent is the share of requests logged, 0..100.
	RequestLogSampleRatePercent int64 `json:"request_log_sample_rate_percent"`
	// Rollout says how a changed model version replaces the serving one.
	Rollout EndpointRollout `json:"rollout"`
	// SmokeTest, when set, is sent to every new replica of a new model
	// version before it gets traffic (on create and in every rollout); a
	// failure stops the rollout and rolls back. The shadow variant is not
	// smoke-tested: its answers are discarded anyway.
	SmokeTest *EndpointSmokeTest `json:"smoke_test,omitempty"`
	// RolloutAttempt is bumped by a client to try again a rollout that was
	// rolled back, without any other change: a rolled-back rollout is not
	// retried for the generation it failed in, and an identical spec makes
	// no new generation. Clients send the value they read otherwise.
	RolloutAttempt int64 `json:"rollout_attempt,omitempty"`
}

// EndpointSmokeTest is a request the control plane sends to each new
// replica's POST /predict, and what it expects back.
type EndpointSmokeTest struct {
	// RequestBody is the JSON body, e.g. {"inputs": [1200]}.
	RequestBody string `json:"request_body"`
	// ExpectedStatus is the HTTP status expected; 0 means 200.
	ExpectedStatus int64 `json:"expected_status"`
	// ExpectedResponseContains, when set, must occur in the response body.
	ExpectedResponseContains string `json:"expected_response_contains,omitempty"`
	// JSONPath, when set, is a dot-separated path (e.g. prediction, or
	// scores.0) that must exist in the JSON response.
	JSONPath string `json:"json_path,omitempty"`
	// ExpectedJSONValue, when set with JSONPath, is the value expected
	// there, compared as JSON text (strings unquoted, numbers compared as
	// numbers).
	ExpectedJSONValue string `json:"expected_json_value,omitempty"`
}

// Bounds of a smoke test, shared by the control plane's validation and the
// provider's plan-time checks.
const (
	// MaxSmokeRequestBodyBytes bounds EndpointSmokeTest.RequestBody.
	MaxSmokeRequestBodyBytes = 64 << 10
	// MaxSmokeExpectationBytes bounds ExpectedResponseContains and
	// ExpectedJSONValue.
	MaxSmokeExpectationBytes = 4096
	// MaxSmokeJSONPathBytes bounds JSONPath.
	MaxSmokeJSONPathBytes = 256
)

// SmokeJSONPathPattern is the syntax of EndpointSmokeTest.JSONPath:
// dot-separated segments of letters, digits, '_' and '-'; a segment of
// digits indexes an array.
const SmokeJSONPathPattern = `^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`

// SmokeJSONPathHint says how to write a json_path.
const SmokeJSONPathHint = "use dot-separated keys of letters, digits, '_' and '-', with array indexes as numbers, e.g. prediction or scores.0"

// EndpointVariant is one named deployment of a model version.
type EndpointVariant struct {
	Name string `json:"name"`
	// ModelVersion is the name of a model version in the same environment.
	ModelVersion string `json:"model_version"`
	// ComputePool is the name of a compute pool in the same environment.
	ComputePool string `json:"compute_pool"`
	// Replicas is a fixed replica count, 1..100; 0 when Autoscaling is set.
	Replicas int64 `json:"replicas,omitempty"`
	// Autoscaling lets the runtime choose the count between its bounds.
	Autoscaling *EndpointAutoscaling `json:"autoscaling,omitempty"`
	// TrafficPercent is the variant's share of requests, 0..100.
	TrafficPercent int64 `json:"traffic_percent"`
	// Command, when set, is a user program that serves the model instead
	// of the built-in runtime: it is started once per replica with
	// MLOPS_MODEL_URI, MLOPS_ARTIFACT_PATH (file:// artifacts) and PORT in
	// its environment, must answer GET /healthz with 200 and
	// POST /predict {"inputs": [...]} with {"prediction": ...} on
	// 127.0.0.1:$PORT. The model version may then be of any framework.
	// A change of Command is rolled out like a change of ModelVersion.
	Command []string `json:"command,omitempty"`
	// ReplicaResources are the CPU and memory each replica asks for
	// (cpu_millicores, memory_mib); a change is rolled out like a change
	// of ModelVersion (the shadow variant's replicas are replaced at once).
	ReplicaResources
}

// Bounds of EndpointVariant.Command.
const (
	MaxCommandArgs     = 64
	MaxCommandArgBytes = 4096
)

// EndpointAutoscaling bounds a runtime-owned replica count.
type EndpointAutoscaling struct {
	MinReplicas int64 `json:"min_replicas"`
	MaxReplicas int64 `json:"max_replicas"`
	// TargetRPS is the requests per second one replica should serve; 0
	// means unset (the count stays at MinReplicas).
	TargetRPS int64 `json:"target_rps,omitempty"`
	// ScaleInCooldownSeconds is how long the load must have called for
	// fewer replicas before replicas are removed, 0..3600; scaling out is
	// immediate.
	ScaleInCooldownSeconds int64 `json:"scale_in_cooldown_seconds"`
}

// AutoscaleWindowSeconds is the window over which the gateway's request
// rate is averaged to size an autoscaled variant.
const AutoscaleWindowSeconds = 30

// EndpointRollout is how a model version change is rolled out.
type EndpointRollout struct {
	// Strategy is one of RolloutStrategies.
	Strategy string `json:"strategy"`
	// StepPercent is the share of the variant's traffic the new version
	// gains per step (canary: first step; linear: every step), 1..100.
	StepPercent int64 `json:"step_percent"`
	// BakeTimeSeconds is how long each step is watched before the next.
	BakeTimeSeconds int64 `json:"bake_time_seconds"`
	// RollbackAlarms name alarms in the same environment: when one of them
	// goes to ALARM during the rollout (its last bake included), or is in
	// ALARM when a step's bake ends (also one that was firing before the
	// rollout began), the rollout is rolled back. Alarms with
	// actions.rollback_endpoint on this endpoint count too.
	RollbackAlarms []string `json:"rollback_alarms,omitempty"`
}

// FirstPercent is the share of the variant's traffic the new version takes
// in a rollout's first step: canary and linear step_percent, blue/green 0
// (the new version runs beside the old one), all at once 100.
func (r EndpointRollout) FirstPercent() int64 {
	switch r.Strategy {
	case RolloutCanary, RolloutLinear:
		return min(r.StepPercent, 100)
	case RolloutBlueGreen:
		return 0
	}
	return 100
}

// NextPercent is the share of the step after one at cur: linear adds
// step_percent, the others go to 100.
func (r EndpointRollout) NextPercent(cur int64) int64 {
	if r.Strategy == RolloutLinear {
		return min(cur+r.StepPercent, 100)
	}
	return 100
}

// Steps are the shares of every step of a rollout, the first to 100.
func (r EndpointRollout) Steps() []int64 {
	steps := []int64{r.FirstPercent()}
	for cur := steps[0]; cur < 100; {
		next := r.NextPercent(cur)
		if next <= cur {
			// A step_percent below 1 (which mlopsd refuses) must not
			// loop: the step after is the last.
			next = 100
		}
		steps = append(steps, next)
		cur = next
	}
	return steps
}

// ModelEndpoint is an online serving endpoint in one environment.
type ModelEndpoint struct {
	Metadata Metadata            `json:"metadata"`
	Spec     ModelEndpointSpec   `json:"spec"`
	Status   ModelEndpointStatus `json:"status"`
}

// ModelEndpointStatus is what the runtime observed about an endpoint.
type ModelEndpointStatus struct {
	Status
	// Variants are the variants as they serve, in spec order.
	Variants []EndpointVariantStatus `json:"variants,omitempty"`
	// Shadow is the shadow variant as it serves.
	Shadow *EndpointVariantStatus `json:"shadow,omitempty"`
	// Rollout is the rollout in progress, if any.
	Rollout *EndpointRolloutState `json:"rollout,omitempty"`
	// RolloutHistory lists finished rollouts, oldest first (the last 20).
	RolloutHistory []EndpointRolloutRecord `json:"rollout_history,omitempty"`
}

// EndpointVariantStatus is one variant as it serves.
type EndpointVariantStatus struct {
	Name string `json:"name"`
	// ModelVersion is the version that serves the variant's stable traffic.
	ModelVersion string `json:"model_version"`
	// Replicas is the current replica count of ModelVersion; runtime-owned.
	Replicas int64 `json:"replicas"`
	// Backends are the base URLs of the replicas of ModelVersion.
	Backends []string `json:"backends,omitempty"`
	// CanaryVersion, during a rollout, is the new version; CanaryPercent
	// of the variant's traffic goes to CanaryBackends.
	CanaryVersion  string   `json:"canary_version,omitempty"`
	CanaryPercent  int64    `json:"canary_percent,omitempty"`
	CanaryBackends []string `json:"canary_backends,omitempty"`
	// Command is the user command that serves ModelVersion (empty: the
	// built-in runtime); after a rollback it is the previous one.
	Command []string `json:"command,omitempty"`
	// ReplicaResources are the requests of the replicas of ModelVersion;
	// after a rollback they are the previous ones.
	ReplicaResources
	// DesiredReplicas is the replica count the runtime aims for: the fixed
	// count, or with autoscaling the count the load calls for.
	DesiredReplicas int64 `json:"desired_replicas,omitempty"`
	// ObservedRPS is the variant's predictions per second over the last
	// AutoscaleWindowSeconds, as autoscaling on target_rps saw them.
	ObservedRPS float64 `json:"observed_rps,omitempty"`
	// LastScaleTime is when autoscaling last changed DesiredReplicas.
	LastScaleTime *time.Time `json:"last_scale_time,omitempty"`
	// ScaleInSince is when the load started calling for fewer replicas
	// than DesiredReplicas without a break; replicas are removed once
	// scale_in_cooldown_seconds have passed since.
	ScaleInSince *time.Time `json:"scale_in_since,omitempty"`
}

// EndpointRolloutState is a rollout in progress.
type EndpointRolloutState struct {
	Variant     string    `json:"variant"`
	FromVersion string    `json:"from_version"`
	ToVersion   string    `json:"to_version"`
	Strategy    string    `json:"strategy"`
	Generation  int64     `json:"generation"`
	StartedAt   time.Time `json:"started_at"`
	// Steps are the traffic steps taken so far, the current one last.
	Steps []EndpointRolloutStep `json:"steps"`
	// Command is the user command of the new version (empty: the
	// built-in runtime).
	Command []string `json:"command,omitempty"`
	// ReplicaResources are the requests of the new version's replicas.
	ReplicaResources
}

// EndpointRolloutStep is one traffic step of a rollout.
type EndpointRolloutStep struct {
	// Percent is the share of the variant's traffic on the new version.
	Percent   int64     `json:"percent"`
	StartedAt time.Time `json:"started_at"`
}

// EndpointRolloutRecord is a finished rollout.
type EndpointRolloutRecord struct {
	Variant     string `json:"variant"`
	FromVersion string `json:"from_version"`
	ToVersion   string `json:"to_version"`
	Strategy    string `json:"strategy"`
	Generation  int64  `json:"generation"`
	Result      string `json:"result"`
	Message     string `json:"message,omitempty"`
	// Alarm names the alarm whose ALARM state rolled the rollout back;
	// empty when something else did.
	Alarm      string                `json:"alarm,omitempty"`
	Steps      []EndpointRolloutStep `json:"steps,omitempty"`
	StartedAt  time.Time             `json:"started_at"`
	FinishedAt time.Time             `json:"finished_at"`
}

// Settled reports whether the endpoint reached a terminal phase for the
// given generation: ready, failed, or rolled back.
func (s ModelEndpointStatus) Settled(generation int64) bool {
	return s.ObservedGeneration >= generation &&
		(s.Phase == PhaseReady || s.Phase == PhaseFailed || s.Phase == PhaseRolledBack)
}

// ModelEndpointList is one page of model endpoints.
type ModelEndpointList struct {
	Items         []ModelEndpoint `json:"items"`
	NextPageToken string          `json:"next_page_token,omitempty"`
}

// CreateModelEndpointRequest is the body of POST .../model-endpoints.
type CreateModelEndpointRequest struct {
	Name string            `json:"name"`
	Spec ModelEndpointSpec `json:"spec"`
}

// UpdateModelEndpointRequest is the body of PUT .../model-endpoints/{name}.
type UpdateModelEndpointRequest struct {
	Spec ModelEndpointSpec `json:"spec"`
}

// OpIDPredict is the operation ID of the prediction gateway.
const OpIDPredict = "predictModelEndpoint"

// PredictRequest is the body of POST .../model-endpoints/{name}:predict
// and of its sub-path twin POST .../model-endpoints/{name}/predict.
type PredictRequest struct {
	// Inputs are the model's numeric inputs, in signature order.
	Inputs []float64 `json:"inputs"`
}

// PredictResponse is the answer of the gateway.
type PredictResponse struct {
	Variant      string  `json:"variant"`
	ModelVersion string  `json:"model_version"`
	Prediction   float64 `json:"prediction"`
}

// OpIDPredictAction is the operation ID of POST
// .../model-endpoints/{name}:predict, the same gateway under the
// action-style path. Go's ServeMux cannot match "{name}:predict" (a
// wildcard is a whole segment), so the server routes the whole last
// segment (Route.MuxPattern) and splits the ":predict" off itself.
const OpIDPredictAction = "predictModelEndpointAction"

// Headers of every answer of the gateway that reached a variant, success
// or error, so that a client can attribute it: the variant and the model
// version that served (or failed) the prediction.
const (
	HeaderVariant      = "X-Mlops-Variant"
	HeaderModelVersion = "X-Mlops-Model-Version"
)
