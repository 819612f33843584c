package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// PoolHandler runs the compute pool state machine:
//
//	provisioning ──(min_nodes up)──▶ ready ◀──▶ scaling
//	      │                            │
//	      └──────(over capacity)──▶ failed ◀──┘
//	any ──(delete requested)──▶ deleting ──(0 nodes)──▶ gone
//
// "ready" means min_nodes are up for the current generation. Nothing
// schedules work onto pools yet, so nodes above min_nodes are idle and are
// released at once; idle_scale_down_minutes takes effect when workloads run.
type PoolHandler struct {
	Store  store.Store
	Driver runtime.PoolDriver
	// Now is injectable for tests; nil means time.Now.
	Now func() time.Time
}

var _ Handler = (*PoolHandler)(nil)

// WatchAll implements Watcher: pools whose driver observes a cluster
// (slurm) change at rest, as its nodes come and go, so every pool is looked
// at on every pass when such a driver is configured.
func (h *PoolHandler) WatchAll() bool { return runtime.Observes(h.Driver) }

// Reconcile implements Handler.
func (h *PoolHandler) Reconcile(ctx context.Context, obj *store.Object) error {
	now := time.Now().UTC()
	if h.Now != nil {
		now = h.Now().UTC()
	}
	var st api.ComputePoolStatus
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	ref := obj.Ref()
	// With no node up a teardown has nothing to release, so neither a broken
	// driver nor an undecodable spec can keep a deleted pool forever.
	if obj.Meta.DeletionRequestedAt != nil && st.CurrentNodes == 0 {
		return h.Store.Finalize(ctx, ref, obj.Meta.UID, "reconciler")
	}
	var spec api.ComputePoolSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}

	if obj.Meta.DeletionRequestedAt != nil {
		st.Phase, st.Reason, st.DesiredNodes = api.PhaseDeleting, "DeletionRequested", 0
		next, err := h.Driver.Step(ctx, ref, spec, st.CurrentNodes, 0)
		if err != nil {
			st.Message = "releasing nodes: " + err.Error()
		} else {
			st.CurrentNodes = next
			if next == 0 {
				return h.Store.Finalize(ctx, ref, obj.Meta.UID, "reconciler")
			}
			st.Message = fmt.Sprintf("releasing nodes: %d left", next)
		}
		// Ready is False from the first deleting step on, also when the
		// driver failed to release anything yet.
		st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: "Deleting", Message: st.Message}, now)
		return h.write(ctx, obj, st)
	}

	firstTime := st.ObservedGeneration == 0
	st.ObservedGeneration = obj.Meta.Generation
	st.DesiredNodes = spec.MinNodes
	if capacity := h.Driver.Capacity(spec); spec.MinNodes > capacity {
		st.Phase, st.Reason = api.PhaseFailed, "InsufficientCapacity"
		st.Message = fmt.Sprintf("min_nodes %d is more than the %d nodes this pool's driver can provide; lower min_nodes", spec.MinNodes, capacity)
		st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: st.Reason, Message: st.Message}, now)
		return h.write(ctx, obj, st)
	}

	// Drivers whose nodes exist outside mlopsd (a Slurm partition) are
	// observed, not stepped.
	if o, ok := h.Driver.(runtime.PoolObserver); ok {
		obs, err := o.Observe(ctx, ref, spec)
		if err != nil || obs != nil {
			return h.observed(ctx, obj, st, spec, obs, err, now)
		}
	}

	target := spec.MinNodes
	if target != st.CurrentNodes {
		next, err := h.Driver.Step(ctx, ref, spec, st.CurrentNodes, target)
		if err != nil {
			st.Phase, st.Reason, st.Message = api.PhaseFailed, "DriverError", err.Error()
			st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: st.Reason, Message: st.Message}, now)
			return h.write(ctx, obj, st)
		}
		st.CurrentNodes = next
	}
	switch {
	case st.CurrentNodes < spec.MinNodes && firstTime, st.CurrentNodes < spec.MinNodes && st.Phase == api.PhaseProvisioning:
		st.Phase, st.Reason = api.PhaseProvisioning, "Provisioning"
		st.Message = fmt.Sprintf("%d of %d nodes up", st.CurrentNodes, spec.MinNodes)
		st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: st.Reason, Message: st.Message}, now)
	case st.CurrentNodes != spec.MinNodes:
		st.Phase, st.Reason = api.PhaseScaling, "Scaling"
		st.Message = fmt.Sprintf("%d nodes up, converging to %d..%d", st.CurrentNodes, spec.MinNodes, spec.MaxNodes)
		st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: st.Reason, Message: st.Message}, now)
	default:
		st.Phase, st.Reason = api.PhaseReady, ""
		st.Message = fmt.Sprintf("%d nodes up (min %d, max %d)", st.CurrentNodes, spec.MinNodes, spec.MaxNodes)
		st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionTrue, Reason: "NodesUp", Message: st.Message}, now)
	}
	return h.write(ctx, obj, st)
}

// observed writes the status of a pool whose driver observes its nodes:
// failed with the driver's reason when the driver cannot serve the pool,
// ready once min_nodes nodes are up, provisioning until then.
func (h *PoolHandler) observed(ctx context.Context, obj *store.Object, st api.ComputePoolStatus, spec api.ComputePoolSpec, obs *runtime.PoolObservation, err error, now time.Time) error {
	if err != nil {
		st.Phase, st.Reason, st.Message = api.PhaseFailed, "DriverError", err.Error()
		var pe *runtime.PoolError
		if errors.As(err, &pe) {
			st.Reason = pe.Reason
		}
		st.CurrentNodes, st.GPUsTotal, st.GPUsFree = 0, 0, 0
		st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: st.Reason, Message: st.Message}, now)
		return h.write(ctx, obj, st)
	}
	st.CurrentNodes, st.GPUsTotal, st.GPUsFree = obs.NodesUp, obs.GPUsTotal, obs.GPUsFree
	if obs.NodesUp < spec.MinNodes || obs.NodesUp == 0 {
		st.Phase, st.Reason = api.PhaseProvisioning, "WaitingForNodes"
		st.Message = fmt.Sprintf("%s; waiting for %d node(s) up", obs.Detail, max(spec.MinNodes, 1))
		st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: st.Reason, Message: st.Message}, now)
		return h.write(ctx, obj, st)
	}
	st.Phase, st.Reason, st.Message = api.PhaseReady, "", obs.Detail
	st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionTrue, Reason: "NodesUp", Message: st.Message}, now)
	return h.write(ctx, obj, st)
}

func (h *PoolHandler) write(ctx context.Context, obj *store.Object, st api.ComputePoolStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if string(b) == string(obj.Status) {
		return nil
	}
	_, err = h.Store.UpdateStatus(ctx, obj.Ref(), obj.Meta.UID, b)
	return err
}
