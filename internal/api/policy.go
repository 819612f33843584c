package api

import (
	"fmt"
	"strings"
)

// The messages of environment policy violations by a compute pool. The
// control plane refuses the write with them, and the provider checks the
// same rule at plan time, so both say the same thing.

// AcceleratorNotAllowedMessage says that a compute pool's accelerator type
// is not in its environment's policy.allowed_accelerator_types, and how to
// fix it.
func AcceleratorNotAllowedMessage(env, acceleratorType string, allowed []string) string {
	return fmt.Sprintf("%q is not allowed in environment %q (policy.allowed_accelerator_types = %q); pick one of those or change the environment's policy",
		acceleratorType, env, allowed)
}

// GPUQuotaMessage says that a compute pool asking for maxNodes ×
// acceleratorCount GPUs, with others already used by the other pools,
// exceeds its environment's policy.max_gpus, and how to fix it.
func GPUQuotaMessage(env string, maxGPUs, others, maxNodes, acceleratorCount int64) string {
	return fmt.Sprintf("environment %q allows at most %d GPUs (policy.max_gpus); other pools use %d and this pool asks for %d (max_nodes %d × accelerator_count %d); lower max_nodes or raise the environment's max_gpus",
		env, maxGPUs, others, maxNodes*acceleratorCount, maxNodes, acceleratorCount)
}

// MissingRequiredAlarms returns the metrics of required that no alarm of
// alarms watches on endpoint, in the order required lists them.
func MissingRequiredAlarms(required []string, endpoint string, alarms []AlarmSpec) []string {
	var missing []string
	for _, m := range required {
		found := false
		for _, a := range alarms {
			found = found || (a.Metric == m && a.Endpoint == endpoint)
		}
		if !found {
			missing = append(missing, m)
		}
	}
	return missing
}

// RequiredAlarmsMessage says that an endpoint lacks alarms its environment's
// policy.required_alarms asks for, and how to fix it. The control plane
// refuses the change with it, and the provider says the same at plan time.
func RequiredAlarmsMessage(env, endpoint string, required, missing []string) string {
	return fmt.Sprintf("environment %q requires every model endpoint to be watched by alarms on %s (policy.required_alarms), and endpoint %q has none on %s; "+
		"create an mlops_alarm with metric %q and endpoint %q (one per missing metric) before changing what the endpoint serves",
		env, strings.Join(required, ", "), endpoint, strings.Join(missing, ", "), missing[0], endpoint)
}

// UnapprovedVersionMessage says that a model endpoint may not serve a model
// version that is not approved in an environment with
// policy.require_approved_models, and how to fix it.
func UnapprovedVersionMessage(env, version, approval string) string {
	return fmt.Sprintf("model version %q is %s, and environment %q serves only approved versions (policy.require_approved_models); approve the version first or pick an approved one",
		version, approval, env)
}
