package reconcile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
)

// observedDriver stands in for a cluster whose nodes exist outside mlopsd,
// as the Slurm driver's partitions do.
type observedDriver struct {
	obs *runtime.PoolObservation
	err error
}

func (d *observedDriver) Capacity(api.ComputePoolSpec) int64 { return 1000 }
func (d *observedDriver) Step(_ context.Context, _ api.Ref, _ api.ComputePoolSpec, _, target int64) (int64, error) {
	return target, nil
}
func (d *observedDriver) Observe(context.Context, api.Ref, api.ComputePoolSpec) (*runtime.PoolObservation, error) {
	return d.obs, d.err
}

func TestPoolHandler_ObservedDriver(t *testing.T) {
	d := &observedDriver{obs: &runtime.PoolObservation{NodesUp: 0, NodesTotal: 2, Detail: "partition p: 0 of 2 nodes up"}}
	f := newFixture(t, runtime.PoolDrivers{"observed": d})
	ref := f.createPool("p", api.ComputePoolSpec{Driver: "observed", AcceleratorType: "nvidia-a100", AcceleratorCount: 1, MinNodes: 1, MaxNodes: 2})
	f.pass()
	if p := f.pool(ref); p.Status.Phase != api.PhaseProvisioning || p.Status.Reason != "WaitingForNodes" {
		t.Fatalf("status = %s, want provisioning while no node is up", p)
	}

	d.obs = &runtime.PoolObservation{NodesUp: 2, NodesTotal: 2, GPUsTotal: 4, GPUsFree: 3, Detail: "partition p: 2 of 2 nodes up, 3 of 4 GPUs free"}
	f.pass()
	p := f.pool(ref)
	if p.Status.Phase != api.PhaseReady || p.Status.CurrentNodes != 2 || p.Status.GPUsTotal != 4 || p.Status.GPUsFree != 3 || p.Status.Message != d.obs.Detail {
		t.Fatalf("status = %s (%+v), want ready with the observation", p, p.Status)
	}

	d.obs, d.err = nil, &runtime.PoolError{Reason: "InsufficientAccelerators", Message: "no node can serve 1 × nvidia-a100"}
	f.pass()
	p = f.pool(ref)
	if p.Status.Phase != api.PhaseFailed || p.Status.Reason != "InsufficientAccelerators" || !strings.Contains(p.Status.Message, "nvidia-a100") || p.Status.CurrentNodes != 0 {
		t.Fatalf("status = %s, want failed with the driver's reason", p)
	}
}
