package api

import "time"

// Metadata is the part of every object that the server owns, apart from the
// name and environment that the client chooses.
type Metadata struct {
	// Name is chosen by the client and is unique per kind within an environment.
	Name string `json:"name"`
	// Environment is the environment the object lives in; empty for environments.
	Environment string `json:"environment,omitempty"`
	// UID is assigned by the server on create and never changes.
	UID string `json:"uid"`
	// Generation is bumped by every change of the spec.
	Generation int64 `json:"generation"`
	// ETag is opaque; send it back in If-Match to update without losing a
	// concurrent change. It changes with the spec, not with the status.
	ETag string `json:"etag"`
	// CreatedAt is when the object was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when the spec or status last changed.
	UpdatedAt time.Time `json:"updated_at"`
	// DeletionRequestedAt is set once a delete was accepted for an object whose
	// teardown takes time; the object disappears when the teardown finishes.
	DeletionRequestedAt *time.Time `json:"deletion_requested_at,omitempty"`
}

// Condition is one observation about an object, keyed by Type.
type Condition struct {
	// Type is the condition's name, e.g. Ready.
	Type string `json:"type"`
	// Status is True, False or Unknown.
	Status string `json:"status"`
	// Reason is a CamelCase word a program can switch on.
	Reason string `json:"reason,omitempty"`
	// Message is for people.
	Message string `json:"message,omitempty"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime time.Time `json:"last_transition_time"`
}

// Condition status values.
const (
	ConditionTrue    = "True"
	ConditionFalse   = "False"
	ConditionUnknown = "Unknown"
)

// ConditionReady is the summary condition of every kind.
const ConditionReady = "Ready"

// Phase values shared by all kinds. A kind uses the subset its state machine
// needs; PhaseReady and PhaseFailed are the only terminal phases.
const (
	PhasePending      = "pending"
	PhaseProvisioning = "provisioning"
	PhaseReady        = "ready"
	PhaseScaling      = "scaling"
	PhaseDeleting     = "deleting"
	PhaseFailed       = "failed"
)

// Status is what the system observed about an object. Only reconcilers write it.
type Status struct {
	// Phase is the summary state of the object's state machine.
	Phase string `json:"phase"`
	// Reason is a CamelCase word explaining the phase, set when it is not ready.
	Reason string `json:"reason,omitempty"`
	// Message explains the phase to people.
	Message string `json:"message,omitempty"`
	// ObservedGeneration is the spec generation the phase refers to. A phase
	// of an older generation says nothing about the current spec.
	ObservedGeneration int64 `json:"observed_generation"`
	// Conditions hold the detail behind the phase.
	Conditions []Condition `json:"conditions,omitempty"`
}

// Settled reports whether the status describes the given generation and is in
// a terminal phase, so a client waiting for the object may stop waiting.
func (s Status) Settled(generation int64) bool {
	return s.ObservedGeneration >= generation && (s.Phase == PhaseReady || s.Phase == PhaseFailed)
}

// Ref names one object.
type Ref struct {
	// Kind is the URL segment of the kind, e.g. compute-pools.
	Kind string `json:"kind"`
	// Environment is empty for environments.
	Environment string `json:"environment,omitempty"`
	// Name is the object's name.
	Name string `json:"name"`
}

// String renders the ref as a path below /v1, which people also recognise.
func (r Ref) String() string {
	if r.Kind == KindEnvironment {
		return "environments/" + r.Name
	}
	return "environments/" + r.Environment + "/" + r.Kind + "/" + r.Name
}
