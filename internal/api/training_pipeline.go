package api

import (
	"net/http"
	"time"
)

// Parameter types of a training pipeline.
const (
	ParamString = "string"
	ParamInt    = "int"
	ParamFloat  = "float"
	ParamBool   = "bool"
)

// ParamTypes lists every parameter type.
var ParamTypes = []string{ParamString, ParamInt, ParamFloat, ParamBool}

// PipelineParameter is a named, typed input of a pipeline. Values travel as
// strings (the spec holds no floats) and are checked against Type.
type PipelineParameter struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Default is used when a run does not set the parameter; empty means
	// the parameter is required.
	Default string `json:"default,omitempty"`
}

// PipelineStep is one node of a pipeline's DAG.
type PipelineStep struct {
	// Name is unique within the pipeline.
	Name string `json:"name"`
	// Command is the program and its arguments, run in the step's working
	// directory. Exactly one of Command and Image is set.
	Command []string `json:"command,omitempty"`
	// Image is a container image reference, for drivers that run containers.
	Image string `json:"image,omitempty"`
	// Env is extra environment for the step.
	Env map[string]string `json:"env,omitempty"`
	// Inputs are URIs the step reads; file:// inputs are hashed into lineage.
	Inputs []string `json:"inputs,omitempty"`
	// Outputs are paths, relative to the run's output directory, the step writes.
	Outputs []string `json:"outputs,omitempty"`
	// DependsOn names steps that must succeed first.
	DependsOn []string `json:"depends_on,omitempty"`
	// Retries is how many times a failed attempt is retried, 0..10.
	Retries int64 `json:"retries"`
	// TimeoutSeconds bounds one attempt, 1..604800; 0 means 3600.
	TimeoutSeconds int64 `json:"timeout_seconds"`
}

// PipelineTriggers say when a pipeline runs besides manual runs.
type PipelineTriggers struct {
	// Schedule is a standard 5-field cron expression (UTC), empty for none.
	Schedule string `json:"schedule,omitempty"`
	// OnNewData lists URIs (file:// paths) whose content hash is watched; a
	// change starts a run.
	OnNewData []string `json:"on_new_data,omitempty"`
	// OnAlarm names alarms in the same environment whose every transition
	// into ALARM starts one run with trigger alarm (continuous training),
	// as does naming the pipeline in an alarm's actions.start_pipelines.
	// The alarms need not exist yet.
	OnAlarm []string `json:"on_alarm,omitempty"`
}

// TrainingPipelineSpec is what a user declares about a training pipeline.
type TrainingPipelineSpec struct {
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// ComputePool is the pool in the same environment whose capacity the
	// steps use.
	ComputePool string `json:"compute_pool"`
	// Model is the registered model that successful runs add versions to.
	Model      string              `json:"model"`
	Parameters []PipelineParameter `json:"parameters,omitempty"`
	Steps      []PipelineStep      `json:"steps"`
	Triggers   PipelineTriggers    `json:"triggers"`
}

// TrainingPipelineStatus is observed state of a pipeline.
type TrainingPipelineStatus struct {
	Status
	// LastRun is the name of the newest run.
	LastRun string `json:"last_run,omitempty"`
	// RunCount is how many runs were started.
	RunCount int64 `json:"run_count"`
	// NextScheduledAt is when Schedule fires next.
	NextScheduledAt *time.Time `json:"next_scheduled_at,omitempty"`
	// DataHashes are the last seen content hashes of OnNewData URIs.
	DataHashes map[string]string `json:"data_hashes,omitempty"`
	// AlarmTransitions are, per uid of a watched alarm (on_alarm, or one
	// whose actions.start_pipelines names the pipeline), the alarm's
	// transition count when the pipeline last looked: transitions into
	// ALARM beyond it start runs. An alarm seen for the first time is
	// recorded without starting one.
	AlarmTransitions map[string]int64 `json:"alarm_transitions,omitempty"`
}

// TrainingPipeline is a DAG of training steps with triggers.
type TrainingPipeline struct {
	Metadata Metadata               `json:"metadata"`
	Spec     TrainingPipelineSpec   `json:"spec"`
	Status   TrainingPipelineStatus `json:"status"`
}

// TrainingPipelineList is one page of pipelines.
type TrainingPipelineList struct {
	Items         []TrainingPipeline `json:"items"`
	NextPageToken string             `json:"next_page_token,omitempty"`
}

// CreateTrainingPipelineRequest is the body of POST .../training-pipelines.
type CreateTrainingPipelineRequest struct {
	Name string               `json:"name"`
	Spec TrainingPipelineSpec `json:"spec"`
}

// UpdateTrainingPipelineRequest is the body of PUT .../training-pipelines/{name}.
type UpdateTrainingPipelineRequest struct {
	Spec TrainingPipelineSpec `json:"spec"`
}

// Run triggers.
const (
	TriggerManual   = "manual"
	TriggerSchedule = "schedule"
	TriggerNewData  = "new_data"
	TriggerAlarm    = "alarm"
)

// ConditionSucceeded is the summary condition of a finished run: True when
// it succeeded, False when it failed or was cancelled.
const ConditionSucceeded = "Succeeded"

// Run and step phases, besides PhasePending and PhaseFailed.
const (
	PhaseRunning   = "running"
	PhaseSucceeded = "succeeded"
	PhaseCancelled = "cancelled"
)

// PipelineRunSpec is one run of a pipeline. Runs are created by triggers or
// by POST .../training-pipelines/{name}/runs; their spec never changes
// except Cancel.
type PipelineRunSpec struct {
	Pipeline string `json:"pipeline"`
	// PipelineUID is the uid of the pipeline that started the run, so a run
	// of a deleted pipeline is never taken for one of a new pipeline that
	// reuses the name.
	PipelineUID string `json:"pipeline_uid"`
	Trigger     string `json:"trigger"`
	// Parameters are the resolved values, defaults filled in.
	Parameters map[string]string `json:"parameters,omitempty"`
	// PipelineGeneration is the pipeline spec generation the run executes.
	PipelineGeneration int64 `json:"pipeline_generation"`
	// PipelineSpec is the pipeline's spec at that generation, copied when
	// the run starts: editing the pipeline never changes a run under way,
	// and the run reads the same whatever becomes of the pipeline later.
	PipelineSpec TrainingPipelineSpec `json:"pipeline_spec"`
	// Cancel asks the run to stop.
	Cancel bool `json:"cancel,omitempty"`
}

// StepStatus is observed state of one step of a run.
type StepStatus struct {
	Name       string     `json:"name"`
	Phase      string     `json:"phase"`
	Attempts   int64      `json:"attempts"`
	ExitCode   *int64     `json:"exit_code,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Message    string     `json:"message,omitempty"`
}

// PipelineRunStatus is observed state of a run.
type PipelineRunStatus struct {
	Status
	Steps      []StepStatus `json:"steps,omitempty"`
	StartedAt  *time.Time   `json:"started_at,omitempty"`
	FinishedAt *time.Time   `json:"finished_at,omitempty"`
	// ModelVersion is the version a successful run registered.
	ModelVersion string `json:"model_version,omitempty"`
	// DatasetURI and DatasetSHA256 name the training data as the run found
	// it when it started: the first file:// step input, else the first
	// on_new_data URI. They become the model version's lineage.
	DatasetURI    string `json:"dataset_uri,omitempty"`
	DatasetSHA256 string `json:"dataset_sha256,omitempty"`
}

// RunFinished reports whether a run or step phase is terminal.
func RunFinished(phase string) bool {
	return phase == PhaseSucceeded || phase == PhaseFailed || phase == PhaseCancelled
}

// PipelineRun is one execution of a pipeline.
type PipelineRun struct {
	Metadata Metadata          `json:"metadata"`
	Spec     PipelineRunSpec   `json:"spec"`
	Status   PipelineRunStatus `json:"status"`
}

// PipelineRunList is one page of runs.
type PipelineRunList struct {
	Items         []PipelineRun `json:"items"`
	NextPageToken string        `json:"next_page_token,omitempty"`
}

// StartRunRequest is the body of POST .../training-pipelines/{name}/runs.
type StartRunRequest struct {
	Parameters map[string]string `json:"parameters,omitempty"`
}

// Operation IDs of the pipeline routes beyond the generic object routes.
const (
	OpIDStartPipelineRun   = "startPipelineRun"
	OpIDCancelPipelineRun  = "cancelPipelineRun"
	OpIDGetPipelineRunLogs = "getPipelineRunLogs"
)

// HeaderLogSize is set on the answer to a logs request for one step: the
// byte offset in that step attempt's log where the text returned ends (the
// log's size when it was read, unless an offset read was cut at 8 MiB). A
// follower asks again with offset set to it and receives only what came
// after.
const HeaderLogSize = "Mlops-Log-Size"

// pipelineRunRoutes start, cancel and read the logs of pipeline runs.
var pipelineRunRoutes = []Route{
	{Method: http.MethodPost, Path: "/v1/environments/{env}/" + KindTrainingPipeline + "/{name}/runs", OperationID: OpIDStartPipelineRun,
		Summary: "Start a manual run with the given parameters (defaults fill the rest); send Idempotency-Key so a retry never starts two.",
		Request: StartRunRequest{}, Response: PipelineRun{}, Status: http.StatusCreated},
	{Method: http.MethodPost, Path: "/v1/environments/{env}/" + KindPipelineRun + "/{name}/cancel", OperationID: OpIDCancelPipelineRun,
		Summary:  "Ask a run to stop: its steps are killed and it ends cancelled. A finished run is left as it is.",
		Response: PipelineRun{}, Status: http.StatusOK},
	{Method: http.MethodGet, Path: "/v1/environments/{env}/" + KindPipelineRun + "/{name}/logs", OperationID: OpIDGetPipelineRunLogs,
		Summary: "A run's step logs as text/plain (query step, attempt, tail); without step, every step's latest attempt.",
		Status:  http.StatusOK},
}

// Settled reports whether the run finished (succeeded, failed or was
// cancelled) as seen by a status of the given generation or later.
func (s PipelineRunStatus) Settled(generation int64) bool {
	return s.ObservedGeneration >= generation && RunFinished(s.Phase)
}
