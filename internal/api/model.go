package api

import "time"

// Task types of a model.
const (
	TaskClassification = "classification"
	TaskRegression     = "regression"
	TaskRanking        = "ranking"
	TaskForecasting    = "forecasting"
	TaskGeneration     = "generation"
	TaskEmbedding      = "embedding"
	TaskOther          = "other"
)

// TaskTypes lists every task type.
var TaskTypes = []string{TaskClassification, TaskRegression, TaskRanking, TaskForecasting, TaskGeneration, TaskEmbedding, TaskOther}

// ModelSpec is what a user declares about a registered model: the named
// thing whose versions a registry tracks.
type ModelSpec struct {
	// Description is free text for people.
	Description string `json:"description,omitempty"`
	// TaskType is one of TaskTypes.
	TaskType string `json:"task_type"`
	// Labels are free key/value pairs.
	Labels map[string]string `json:"labels,omitempty"`
}

// Model is a registered model in one environment.
type Model struct {
	Metadata Metadata  `json:"metadata"`
	Spec     ModelSpec `json:"spec"`
	Status   Status    `json:"status"`
}

// ModelList is one page of models.
type ModelList struct {
	Items         []Model `json:"items"`
	NextPageToken string  `json:"next_page_token,omitempty"`
}

// CreateModelRequest is the body of POST .../models.
type CreateModelRequest struct {
	Name string    `json:"name"`
	Spec ModelSpec `json:"spec"`
}

// UpdateModelRequest is the body of PUT .../models/{name}.
type UpdateModelRequest struct {
	Spec ModelSpec `json:"spec"`
}

// Approval states of a model version.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalRejected = "rejected"
)

// ModelSignatureField is one named, typed input or output of a model.
type ModelSignatureField struct {
	Name      string `json:"name"`
	ValueType string `json:"value_type"`
}

// ModelLineage records where a model version came from.
type ModelLineage struct {
	// PipelineRun is the name of the pipeline run that produced the version.
	PipelineRun string `json:"pipeline_run,omitempty"`
	// DatasetURI is the training data's location.
	DatasetURI string `json:"dataset_uri,omitempty"`
	// DatasetSHA256 is the hex SHA-256 of the training data as used.
	DatasetSHA256 string `json:"dataset_sha256,omitempty"`
	// CodeRef names the code, e.g. a git commit or image digest.
	CodeRef string `json:"code_ref,omitempty"`
	// Parameters are the training parameters as used.
	Parameters map[string]string `json:"parameters,omitempty"`
}

// ApprovalDecision is one approval state change, as the server recorded it.
// Approver and DecidedAt are set by the server from the authenticated caller
// and its clock; a client cannot set them.
type ApprovalDecision struct {
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Approver  string    `json:"approver"`
	DecidedAt time.Time `json:"decided_at"`
}

// ModelVersionSpec is one immutable, registered artifact of a model. Only
// Description and Approval may change after registration.
type ModelVersionSpec struct {
	// Model is the name of the model in the same environment. Immutable.
	Model string `json:"model"`
	// Description is free text for people; may change.
	Description string `json:"description,omitempty"`
	// ArtifactURI is where the artifact lives, e.g. file:///models/churn/1/model.json. Immutable.
	ArtifactURI string `json:"artifact_uri"`
	// ArtifactSHA256 is the artifact's hex SHA-256; the control plane
	// verifies it when the artifact is a local file. Immutable.
	ArtifactSHA256 string `json:"artifact_sha256"`
	// Framework is e.g. sklearn, xgboost, pytorch, onnx, mlops-linear. Immutable.
	Framework string `json:"framework"`
	// Inputs and Outputs describe the model's signature. Immutable.
	Inputs  []ModelSignatureField `json:"inputs,omitempty"`
	Outputs []ModelSignatureField `json:"outputs,omitempty"`
	// Metrics are evaluation results, e.g. auc=0.91, as decimal strings so
	// the spec holds no floats. Immutable.
	Metrics map[string]string `json:"metrics,omitempty"`
	// Lineage says where the version came from. Immutable.
	Lineage ModelLineage `json:"lineage"`
	// BaselineURI is a file:// JSON file of the training data's feature
	// values (FeatureBaseline), against which drift alarms compare the
	// inputs the endpoint serves; empty for none. Immutable.
	BaselineURI string `json:"baseline_uri,omitempty"`
	// BaselineSHA256 is the baseline file's hex SHA-256, verified like the
	// artifact's; required with BaselineURI. Immutable.
	BaselineSHA256 string `json:"baseline_sha256,omitempty"`
	// Approval is the requested approval state (pending, approved,
	// rejected) and the reason; the server records who decided and when in
	// ApprovalHistory.
	Approval ApprovalRequest `json:"approval"`
	// ApprovalHistory is written by the server only: every decision, oldest
	// first. Values sent by clients are ignored.
	ApprovalHistory []ApprovalDecision `json:"approval_history,omitempty"`
}

// ApprovalRequest is the part of an approval a client sets.
type ApprovalRequest struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// ModelVersion is one registered version of a model.
type ModelVersion struct {
	Metadata Metadata         `json:"metadata"`
	Spec     ModelVersionSpec `json:"spec"`
	Status   Status           `json:"status"`
}

// ModelVersionList is one page of model versions.
type ModelVersionList struct {
	Items         []ModelVersion `json:"items"`
	NextPageToken string         `json:"next_page_token,omitempty"`
}

// CreateModelVersionRequest is the body of POST .../model-versions.
type CreateModelVersionRequest struct {
	Name string           `json:"name"`
	Spec ModelVersionSpec `json:"spec"`
}

// UpdateModelVersionRequest is the body of PUT .../model-versions/{name}.
type UpdateModelVersionRequest struct {
	Spec ModelVersionSpec `json:"spec"`
}

// ModelAliasSpec is a named pointer such as champion or challenger to one
// version of a model. Moving it is an in-place change; the server keeps the
// history of where it pointed.
type ModelAliasSpec struct {
	// Model is the name of the model. Immutable.
	Model string `json:"model"`
	// Version is the name of a model version of that model.
	Version string `json:"version"`
	// History is written by the server only: every version the alias
	// pointed to, oldest first, with who moved it and when.
	History []AliasMove `json:"history,omitempty"`
}

// AliasMove is one move of an alias, recorded by the server.
type AliasMove struct {
	Version string    `json:"version"`
	MovedBy string    `json:"moved_by"`
	MovedAt time.Time `json:"moved_at"`
}

// ModelAlias is a named pointer to a model version.
type ModelAlias struct {
	Metadata Metadata       `json:"metadata"`
	Spec     ModelAliasSpec `json:"spec"`
	Status   Status         `json:"status"`
}

// ModelAliasList is one page of model aliases.
type ModelAliasList struct {
	Items         []ModelAlias `json:"items"`
	NextPageToken string       `json:"next_page_token,omitempty"`
}

// CreateModelAliasRequest is the body of POST .../model-aliases.
type CreateModelAliasRequest struct {
	Name string         `json:"name"`
	Spec ModelAliasSpec `json:"spec"`
}

// UpdateModelAliasRequest is the body of PUT .../model-aliases/{name}.
type UpdateModelAliasRequest struct {
	Spec ModelAliasSpec `json:"spec"`
}

// FeatureBaseline is the format of a model version's baseline file
// (baseline.json next to model.json in a pipeline run's output): for each
// model input, in input order, a sample of its values in the training data.
// Drift statistics compare the inputs an endpoint serves with it: PSI over
// ten bins at the baseline's deciles, and the two-sample Kolmogorov–Smirnov
// statistic.
type FeatureBaseline struct {
	Features []BaselineFeature `json:"features"`
}

// BaselineFeature is one input's training values.
type BaselineFeature struct {
	// Name names the input, e.g. sqft; alarms select features by it.
	Name string `json:"name"`
	// Values are the training values (at most MaxBaselineValues), finite.
	Values []float64 `json:"values"`
}

// Bounds of a baseline file.
const (
	MaxBaselineFeatures = 1000
	MaxBaselineValues   = 100000
	// MinBaselineValues is the fewest values a feature needs for its
	// deciles to mean anything.
	MinBaselineValues = 10
)
