package api

// Kind URL segments. Environment objects live at /v1/environments/{name};
// the others at /v1/environments/{env}/{kind}/{name}.
const (
	KindEnvironment      = "environments"
	KindComputePool      = "compute-pools"
	KindFeatureStore     = "feature-stores"
	KindFeatureGroup     = "feature-groups"
	KindModel            = "models"
	KindModelVersion     = "model-versions"
	KindModelAlias       = "model-aliases"
	KindTrainingPipeline = "training-pipelines"
	KindPipelineRun      = "pipeline-runs"
	KindServiceAccount   = "service-accounts"
	KindRoleBinding      = "role-bindings"
	KindModelEndpoint    = "model-endpoints"
	KindAlarm            = "alarms"
	// KindNotificationChannel is where alarms send their notifications.
	KindNotificationChannel = "notification-channels"
	KindBatchInferenceJob   = "batch-inference-jobs"
	KindBatchInferenceRun   = "batch-inference-runs"
)

// ClusterScoped reports whether objects of kind live in no environment and
// are addressed /v1/{kind}/{name}: environments and service accounts.
func ClusterScoped(kind string) bool {
	return kind == KindEnvironment || kind == KindServiceAccount
}

// Kinds lists every kind the API serves, environments first.
var Kinds = []string{KindEnvironment, KindComputePool, KindFeatureStore, KindFeatureGroup, KindModel, KindModelVersion, KindModelAlias, KindTrainingPipeline, KindPipelineRun, KindServiceAccount, KindRoleBinding, KindModelEndpoint,
	KindNotificationChannel, KindAlarm, KindBatchInferenceJob, KindBatchInferenceRun}

// Header names used by the API.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderIfMatch        = "If-Match"
	HeaderETag           = "ETag"
	// HeaderIdempotentReplay is set to "true" when a response is the stored
	// result of an earlier request with the same Idempotency-Key.
	HeaderIdempotentReplay = "Idempotent-Replay"
)

// Name rules shared by every kind: DNS-label-like, so names fit in URLs,
// Slurm partitions and process names alike.
const (
	NamePattern   = `^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`
	NameMaxLength = 63
	NameHint      = "use 1-63 lowercase letters, digits and '-', starting with a letter and not ending with '-'"
)

// ListOptions are the query parameters of every list call.
type ListOptions struct {
	// Limit is the page size, 1..MaxPageSize; 0 means DefaultPageSize.
	Limit int
	// PageToken is the NextPageToken of the previous page.
	PageToken string
}

// Page sizes of list calls.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)
