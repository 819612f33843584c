// Package runtime holds the drivers that make compute pools real. A driver
// is asked to move a pool one step towards a node count; reconcilers call it
// repeatedly, so drivers stay simple and never block on a long operation.
// StepDriver runs the steps of pipeline runs on a pool the same way: submit,
// then ask for the status on later passes.
package runtime

import (
	"context"
	"fmt"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// PoolDriver provisions and releases the nodes of compute pools.
type PoolDriver interface {
	// Capacity is the largest node count one pool can reach with this driver.
	Capacity(spec api.ComputePoolSpec) int64
	// Step moves the pool from current towards target nodes and returns the
	// new count. It may move less than all the way; callers call it again.
	Step(ctx context.Context, ref api.Ref, spec api.ComputePoolSpec, current, target int64) (int64, error)
}

// Local is the embedded default driver: a node is a slot on the machine
// mlopsd runs on, and work runs as child processes. Accelerators are
// recorded, not probed, so a laptop can model a GPU environment.
type Local struct {
	// MaxNodesPerPool bounds each pool; beyond it pools fail with
	// InsufficientCapacity instead of pretending.
	MaxNodesPerPool int64
	// StepNodes is how many nodes one Step adds or removes (default 1), so
	// provisioning takes observable time as on a real cluster.
	StepNodes int64
}

var _ PoolDriver = (*Local)(nil)

// Capacity implements PoolDriver.
func (l *Local) Capacity(api.ComputePoolSpec) int64 { return l.MaxNodesPerPool }

// Step implements PoolDriver.
func (l *Local) Step(_ context.Context, ref api.Ref, _ api.ComputePoolSpec, current, target int64) (int64, error) {
	if target > l.MaxNodesPerPool {
		return current, fmt.Errorf("%s asks for %d nodes; the local driver has %d per pool", ref, target, l.MaxNodesPerPool)
	}
	step := l.StepNodes
	if step <= 0 {
		step = 1
	}
	switch {
	case current < target:
		return min(current+step, target), nil
	case current > target:
		return max(current-step, target), nil
	}
	return current, nil
}
