package api

// Compute pool drivers.
const (
	// DriverLocal runs work as child processes of mlopsd; a "node" is a slot
	// on this machine, so the pool size is bounded by mlopsd's --local-max-nodes.
	DriverLocal = "local"
	// DriverSlurm maps the pool onto a partition of an existing Slurm
	// cluster (mlopsd -slurm-conf); steps run as Slurm batch jobs.
	DriverSlurm = "slurm"
)

// ComputePoolSpec is what a user declares about a compute pool.
type ComputePoolSpec struct {
	// Driver is the runtime that makes the pool real. Immutable.
	Driver string `json:"driver"`
	// AcceleratorType is e.g. nvidia-a100, or "none" for CPU-only pools. Immutable.
	AcceleratorType string `json:"accelerator_type"`
	// AcceleratorCount is accelerators per node, 0..16. Immutable.
	AcceleratorCount int64 `json:"accelerator_count"`
	// CPUPerNode is vCPUs per node, 1..1024.
	CPUPerNode int64 `json:"cpu_per_node"`
	// MemoryGiBPerNode is memory per node in GiB, 1..16384.
	MemoryGiBPerNode int64 `json:"memory_gib_per_node"`
	// MinNodes is the floor the pool never scales below, 0..MaxNodes.
	MinNodes int64 `json:"min_nodes"`
	// MaxNodes is the ceiling, 1..1000.
	MaxNodes int64 `json:"max_nodes"`
	// Spot asks for preemptible capacity. Immutable.
	Spot bool `json:"spot"`
	// IdleScaleDownMinutes is how long a node above MinNodes may stay idle
	// before it is released, 0..10080. 0 releases idle nodes at once.
	IdleScaleDownMinutes int64 `json:"idle_scale_down_minutes"`
	// SlurmPartition is the Slurm partition of a slurm pool; empty means
	// the pool's name. Only for driver slurm. Immutable.
	SlurmPartition string `json:"slurm_partition,omitempty"`
}

// ComputePoolStatus is observed state of a compute pool. Its fields are owned
// by the runtime and change without any spec change.
type ComputePoolStatus struct {
	Status
	// CurrentNodes is how many nodes are provisioned now.
	CurrentNodes int64 `json:"current_nodes"`
	// DesiredNodes is what the reconciler is converging to.
	DesiredNodes int64 `json:"desired_nodes"`
	// GPUsTotal and GPUsFree count the GPUs of the nodes up, for drivers
	// that observe a cluster (slurm).
	GPUsTotal int64 `json:"gpus_total,omitempty"`
	GPUsFree  int64 `json:"gpus_free,omitempty"`
}

// ComputePool is a pool of CPU or GPU nodes in one environment.
type ComputePool struct {
	Metadata Metadata          `json:"metadata"`
	Spec     ComputePoolSpec   `json:"spec"`
	Status   ComputePoolStatus `json:"status"`
}

// ComputePoolList is one page of compute pools.
type ComputePoolList struct {
	Items         []ComputePool `json:"items"`
	NextPageToken string        `json:"next_page_token,omitempty"`
}

// CreateComputePoolRequest is the body of POST .../compute-pools.
type CreateComputePoolRequest struct {
	Name string          `json:"name"`
	Spec ComputePoolSpec `json:"spec"`
}

// UpdateComputePoolRequest is the body of PUT .../compute-pools/{name}.
type UpdateComputePoolRequest struct {
	Spec ComputePoolSpec `json:"spec"`
}
