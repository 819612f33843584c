package api

import "fmt"

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
