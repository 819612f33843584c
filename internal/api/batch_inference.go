package api

import (
	"net/http"
	"time"
)

// Input formats of a batch inference job.
const (
	// BatchFormatAuto picks the format by file extension: .csv, or
	// .jsonl/.ndjson.
	BatchFormatAuto = "auto"
	// BatchFormatCSV is comma-separated values with a header row.
	BatchFormatCSV = "csv"
	// BatchFormatJSONL is one JSON object per line.
	BatchFormatJSONL = "jsonl"
)

// BatchFormats lists every input format.
var BatchFormats = []string{BatchFormatAuto, BatchFormatCSV, BatchFormatJSONL}

// BatchInferenceJobSpec is what a user declares about a batch inference
// job: score a dataset with a model version on a schedule or when new data
// arrives, writing predictions and a summary per run.
type BatchInferenceJobSpec struct {
	// Description is free text for people.
	Description string `json:"description,omitempty"`
	// ModelVersion names the model version to score with. Exactly one of
	// ModelVersion and (Model, Alias) is set.
	ModelVersion string `json:"model_version,omitempty"`
	// Model and Alias name a model alias (e.g. champion) that is resolved
	// when each run starts; the run records the version it used.
	Model string `json:"model,omitempty"`
	Alias string `json:"alias,omitempty"`
	// ComputePool is the pool in the same environment the scoring step
	// runs on (local processes or Slurm jobs).
	ComputePool string `json:"compute_pool"`
	// InputURI is a file:// file, or a folder whose .csv/.jsonl files are
	// scored in name order.
	InputURI string `json:"input_uri"`
	// InputFormat is one of BatchFormats; empty means auto.
	InputFormat string `json:"input_format"`
	// FeatureColumns are the CSV columns or JSON fields that are the
	// model's inputs, in its input order. Empty means every column of a
	// CSV file in file order, or the "inputs" array of each JSON line.
	FeatureColumns []string `json:"feature_columns,omitempty"`
	// OutputURI is a file:// folder; run R writes <folder>/R/ with one
	// predictions file per input file and summary.json.
	OutputURI string `json:"output_uri"`
	// MaxFailedRowsPercent is the share of rows, 0..100, that may fail to
	// score (unparsable, wrong number of inputs) before the run fails.
	MaxFailedRowsPercent int64 `json:"max_failed_rows_percent"`
	// TimeoutSeconds bounds one scoring attempt, 1..604800; 0 means 3600.
	TimeoutSeconds int64 `json:"timeout_seconds"`
	// Triggers say when runs start besides manual runs.
	Triggers BatchTriggers `json:"triggers"`
}

// BatchTriggers say when a batch inference job runs.
type BatchTriggers struct {
	// Schedule is a standard 5-field cron expression (UTC), empty for none.
	Schedule string `json:"schedule,omitempty"`
	// OnNewData, when true, starts a run whenever the content of InputURI
	// (the file, or the folder's scored files) changes; the first content
	// seen is the baseline.
	OnNewData bool `json:"on_new_data,omitempty"`
}

// BatchInferenceJobStatus is observed state of a batch inference job.
type BatchInferenceJobStatus struct {
	Status
	// LastRun is the name of the newest run.
	LastRun string `json:"last_run,omitempty"`
	// RunCount is how many runs were started.
	RunCount int64 `json:"run_count"`
	// NextScheduledAt is when Schedule fires next.
	NextScheduledAt *time.Time `json:"next_scheduled_at,omitempty"`
	// InputSHA256 is the last seen content hash of the input (with
	// on_new_data), as batch runs report it: the file's SHA-256, or the
	// folder's digest (BatchRunSummary.InputSHA256).
	InputSHA256 string `json:"input_sha256,omitempty"`
	// InputURI is the input InputSHA256 belongs to: when spec.input_uri
	// changes, the new input's first digest is its baseline, not a change.
	InputURI string `json:"input_uri,omitempty"`
}

// BatchInferenceJob scores datasets with a model version.
type BatchInferenceJob struct {
	Metadata Metadata                `json:"metadata"`
	Spec     BatchInferenceJobSpec   `json:"spec"`
	Status   BatchInferenceJobStatus `json:"status"`
}

// BatchInferenceJobList is one page of batch inference jobs.
type BatchInferenceJobList struct {
	Items         []BatchInferenceJob `json:"items"`
	NextPageToken string              `json:"next_page_token,omitempty"`
}

// CreateBatchInferenceJobRequest is the body of POST .../batch-inference-jobs.
type CreateBatchInferenceJobRequest struct {
	Name string                `json:"name"`
	Spec BatchInferenceJobSpec `json:"spec"`
}

// UpdateBatchInferenceJobRequest is the body of PUT .../batch-inference-jobs/{name}.
type UpdateBatchInferenceJobRequest struct {
	Spec BatchInferenceJobSpec `json:"spec"`
}

// BatchInferenceRunSpec is one run of a batch inference job, fixed when it
// starts: the job's spec and the model version resolved then.
type BatchInferenceRunSpec struct {
	Job string `json:"job"`
	// JobUID is the uid of the job that started the run.
	JobUID  string `json:"job_uid"`
	Trigger string `json:"trigger"`
	// JobGeneration is the job spec generation the run executes.
	JobGeneration int64                 `json:"job_generation"`
	JobSpec       BatchInferenceJobSpec `json:"job_spec"`
	// ModelVersion is the version the run scores with (the alias
	// resolved), with its artifact as registered.
	ModelVersion   string `json:"model_version"`
	ArtifactURI    string `json:"artifact_uri"`
	ArtifactSHA256 string `json:"artifact_sha256"`
	// Cancel asks the run to stop.
	Cancel bool `json:"cancel,omitempty"`
}

// BatchInferenceRunStatus is observed state of a batch inference run.
type BatchInferenceRunStatus struct {
	Status
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Step is the scoring step as the runtime driver runs it.
	Step *StepStatus `json:"step,omitempty"`
	// InputSHA256 is the hash of the input as the run read it (lineage).
	InputSHA256 string `json:"input_sha256,omitempty"`
	// OutputURI is the run's output folder.
	OutputURI string `json:"output_uri,omitempty"`
	// Summary is what the scoring step reported.
	Summary *BatchRunSummary `json:"summary,omitempty"`
}

// BatchRunSummary is summary.json of a batch inference run. The scoring
// step writes it last, also when the run fails, so its presence means the
// step finished; the predictions files are in place only when Message is
// empty.
type BatchRunSummary struct {
	ModelVersion string `json:"model_version"`
	// InputSHA256 is the digest of the input as scored: the file's
	// SHA-256, or for a folder the SHA-256 of the lines "<sha256>  <name>"
	// of its scored files in name order (what sha256sum prints).
	InputSHA256 string `json:"input_sha256,omitempty"`
	RowsTotal   int64  `json:"rows_total"`
	RowsScored  int64  `json:"rows_scored"`
	RowsFailed  int64  `json:"rows_failed"`
	// Message says why the step failed (too many failed rows, an input
	// that cannot be read, an artifact that changed); empty on success.
	Message string `json:"message,omitempty"`
	// Errors are the first failed rows, at most MaxBatchRowErrors.
	Errors []BatchRowError `json:"errors,omitempty"`
	// Files are the input files scored and the prediction files written.
	Files []BatchFileSummary `json:"files"`
}

// MaxBatchRowErrors bounds BatchRunSummary.Errors.
const MaxBatchRowErrors = 20

// BatchRowError is one row that failed to score.
type BatchRowError struct {
	File string `json:"file"`
	// Row counts data rows from 1 (a CSV header is not a row).
	Row     int64  `json:"row"`
	Message string `json:"message"`
}

// BatchFileSummary is one scored input file.
type BatchFileSummary struct {
	Input       string `json:"input"`
	InputSHA256 string `json:"input_sha256"`
	Output      string `json:"output"`
	Rows        int64  `json:"rows"`
	Failed      int64  `json:"failed"`
}

// BatchInferenceRun is one execution of a batch inference job.
type BatchInferenceRun struct {
	Metadata Metadata                `json:"metadata"`
	Spec     BatchInferenceRunSpec   `json:"spec"`
	Status   BatchInferenceRunStatus `json:"status"`
}

// BatchInferenceRunList is one page of batch inference runs.
type BatchInferenceRunList struct {
	Items         []BatchInferenceRun `json:"items"`
	NextPageToken string              `json:"next_page_token,omitempty"`
}

// Operation IDs of the batch inference routes beyond the generic ones.
const (
	OpIDStartBatchInferenceRun  = "startBatchInferenceRun"
	OpIDCancelBatchInferenceRun = "cancelBatchInferenceRun"
)

// batchInferenceRoutes start and cancel batch inference runs.
var batchInferenceRoutes = []Route{
	{Method: http.MethodPost, Path: "/v1/environments/{env}/" + KindBatchInferenceJob + "/{name}/runs", OperationID: OpIDStartBatchInferenceRun,
		Summary:  "Start a manual run of the job (role invoker); send Idempotency-Key so a retry never starts two.",
		Response: BatchInferenceRun{}, Status: http.StatusCreated},
	{Method: http.MethodPost, Path: "/v1/environments/{env}/" + KindBatchInferenceRun + "/{name}/cancel", OperationID: OpIDCancelBatchInferenceRun,
		Summary:  "Ask a run to stop: its scoring step is killed and it ends cancelled. A finished run is left as it is.",
		Response: BatchInferenceRun{}, Status: http.StatusOK},
}
