package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// kindInfo is how mlopsctl names and tabulates one API kind.
type kindInfo struct {
	// kind is the API's URL segment, e.g. model-versions.
	kind string
	// aliases are other names the user may type.
	aliases []string
	// columns are shown between NAME and PHASE.
	columns []column
}

// column is one table column: a header and the cell of an object.
type column struct {
	header string
	cell   func(obj map[string]any) string
}

// field is a column showing the value at a dot-separated JSON path.
func field(header, path string) column {
	return column{header: header, cell: func(obj map[string]any) string { return format(lookup(obj, path)) }}
}

// count is a column showing the length of the list at path.
func count(header, path string) column {
	return column{header: header, cell: func(obj map[string]any) string {
		l, _ := lookup(obj, path).([]any)
		return fmt.Sprint(len(l))
	}}
}

// kindTable covers every kind of api.Kinds (TestKindsCoverAPI checks).
var kindTable = []kindInfo{
	{kind: api.KindEnvironment, aliases: []string{"environment", "env", "envs"}, columns: []column{
		field("REQUIRE_APPROVED", "spec.policy.require_approved_models"), field("MAX_GPUS", "spec.policy.max_gpus"), field("GPUS", "status.gpus_allocated")}},
	{kind: api.KindComputePool, aliases: []string{"compute-pool", "pool", "pools"}, columns: []column{
		field("DRIVER", "spec.driver"), field("ACCELERATOR", "spec.accelerator_type"), field("MIN", "spec.min_nodes"), field("MAX", "spec.max_nodes"), field("CURRENT", "status.current_nodes")}},
	{kind: api.KindFeatureStore, aliases: []string{"feature-store", "fs"}, columns: []column{
		field("ONLINE", "spec.online_store"), field("OFFLINE", "spec.offline_store_uri")}},
	{kind: api.KindFeatureGroup, aliases: []string{"feature-group", "fg"}, columns: []column{
		field("STORE", "spec.feature_store"), count("FEATURES", "spec.features"), field("ONLINE", "spec.online")}},
	{kind: api.KindModel, aliases: []string{"model"}, columns: []column{field("TASK", "spec.task_type")}},
	{kind: api.KindModelVersion, aliases: []string{"model-version", "versions", "version", "mv"}, columns: []column{
		field("MODEL", "spec.model"), field("FRAMEWORK", "spec.framework"), field("APPROVAL", "spec.approval.status")}},
	{kind: api.KindModelAlias, aliases: []string{"model-alias", "aliases", "alias"}, columns: []column{
		field("MODEL", "spec.model"), field("VERSION", "spec.version")}},
	{kind: api.KindTrainingPipeline, aliases: []string{"training-pipeline", "pipelines", "pipeline"}, columns: []column{
		field("MODEL", "spec.model"), field("POOL", "spec.compute_pool"), field("LAST_RUN", "status.last_run")}},
	{kind: api.KindPipelineRun, aliases: []string{"pipeline-run", "runs", "run"}, columns: []column{
		field("PIPELINE", "spec.pipeline"), field("TRIGGER", "spec.trigger"), field("MODEL_VERSION", "status.model_version")}},
	{kind: api.KindServiceAccount, aliases: []string{"service-account", "sa"}, columns: []column{field("DESCRIPTION", "spec.description")}},
	{kind: api.KindRoleBinding, aliases: []string{"role-binding", "rb"}, columns: []column{field("SUBJECT", "spec.subject"), field("ROLE", "spec.role")}},
	{kind: api.KindModelEndpoint, aliases: []string{"model-endpoint", "endpoints", "endpoint", "ep"}, columns: []column{
		{header: "VARIANTS", cell: variantsCell}, field("ROLLOUT", "spec.rollout.strategy")}},
	{kind: api.KindNotificationChannel, aliases: []string{"notification-channel", "channels", "channel"}, columns: []column{field("TYPE", "spec.type")}},
	{kind: api.KindAlarm, aliases: []string{"alarm"}, columns: []column{
		field("METRIC", "spec.metric"), field("ENDPOINT", "spec.endpoint"), field("STATE", "status.state")}},
	{kind: api.KindBatchInferenceJob, aliases: []string{"batch-inference-job", "batch-jobs", "batch-job"}, columns: []column{
		field("MODEL_VERSION", "spec.model_version"), field("POOL", "spec.compute_pool"), field("LAST_RUN", "status.last_run")}},
	{kind: api.KindBatchInferenceRun, aliases: []string{"batch-inference-run", "batch-runs", "batch-run"}, columns: []column{
		field("JOB", "spec.job"), field("MODEL_VERSION", "spec.model_version")}},
}

// findKind resolves what the user typed to a kind.
func findKind(name string) (kindInfo, error) {
	n := strings.ToLower(name)
	for _, k := range kindTable {
		if k.kind == n {
			return k, nil
		}
		for _, a := range k.aliases {
			if a == n {
				return k, nil
			}
		}
	}
	return kindInfo{}, usageErrorf("unknown kind %q; use one of: %s", name, strings.Join(api.Kinds, ", "))
}

// kindNames lists the kinds for completion.
func kindNames() []string {
	return append([]string(nil), api.Kinds...)
}

// variantsCell shows an endpoint's variants as name=version:traffic%.
func variantsCell(obj map[string]any) string {
	vs, _ := lookup(obj, "spec.variants").([]any)
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		m, _ := v.(map[string]any)
		parts = append(parts, fmt.Sprintf("%s=%s:%s%%", format(m["name"]), format(m["model_version"]), format(m["traffic_percent"])))
	}
	return strings.Join(parts, ",")
}

// lookup follows a dot-separated path through decoded JSON; nil when a
// step is missing.
func lookup(v any, path string) any {
	for _, step := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[step]
	}
	return v
}

// format renders a decoded JSON value for a table cell: "-" for missing.
func format(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		return x
	case json.Number:
		return x.String()
	case bool:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = format(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + format(x[k])
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}
