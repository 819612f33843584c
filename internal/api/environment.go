package api

// EnvironmentSpec is what a user declares about an environment.
type EnvironmentSpec struct {
	// Description is free text for people.
	Description string `json:"description,omitempty"`
	// Labels are free key/value pairs.
	Labels map[string]string `json:"labels,omitempty"`
	// Policy holds the rules every object in the environment must follow.
	Policy EnvironmentPolicy `json:"policy"`
}

// EnvironmentPolicy are the guardrails of an environment.
type EnvironmentPolicy struct {
	// MaxGPUs caps the sum over compute pools of max_nodes × accelerator_count.
	// Zero means no GPUs may be used; nil means no cap.
	MaxGPUs *int64 `json:"max_gpus,omitempty"`
	// AllowedAcceleratorTypes, when not empty, lists the only accelerator
	// types compute pools may use.
	AllowedAcceleratorTypes []string `json:"allowed_accelerator_types,omitempty"`
	// RequireApprovedModels, when true, lets model endpoints serve only
	// model versions whose approval status is approved.
	RequireApprovedModels bool `json:"require_approved_models,omitempty"`
	// DeletionProtection, when true, makes the control plane refuse to
	// delete the environment; set it to false first.
	DeletionProtection bool `json:"deletion_protection,omitempty"`
	// RequiredAlarms lists alarm metrics (AlarmMetrics) every model
	// endpoint of the environment must be watched by: a change of what an
	// endpoint serves (a variant's model version or command, a new
	// variant) is refused until an alarm with each metric names the
	// endpoint. Creating an endpoint is not, since its alarms name it and
	// come after it; its status reports the alarms it still lacks.
	RequiredAlarms []string `json:"required_alarms,omitempty"`
}

// Environment is a namespace such as dev, staging or prod.
type Environment struct {
	Metadata Metadata          `json:"metadata"`
	Spec     EnvironmentSpec   `json:"spec"`
	Status   EnvironmentStatus `json:"status"`
}

// EnvironmentStatus is observed state of an environment.
type EnvironmentStatus struct {
	Status
	// GPUsAllocated is the sum over compute pools of max_nodes × accelerator_count,
	// the figure MaxGPUs is checked against.
	GPUsAllocated int64 `json:"gpus_allocated"`
}

// EnvironmentList is one page of environments.
type EnvironmentList struct {
	Items         []Environment `json:"items"`
	NextPageToken string        `json:"next_page_token,omitempty"`
}

// CreateEnvironmentRequest is the body of POST /v1/environments.
type CreateEnvironmentRequest struct {
	Name string          `json:"name"`
	Spec EnvironmentSpec `json:"spec"`
}

// UpdateEnvironmentRequest is the body of PUT /v1/environments/{name}.
type UpdateEnvironmentRequest struct {
	Spec EnvironmentSpec `json:"spec"`
}
