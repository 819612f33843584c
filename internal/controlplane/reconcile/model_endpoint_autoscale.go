package reconcile

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// scale sets vs.DesiredReplicas for variant v and returns it. A fixed
// variant has its replicas. An autoscaled one without target_rps stays at
// min_replicas. With target_rps it asks for ceil(rps / target_rps) within
// [min_replicas, max_replicas], where rps is the variant's predictions per
// second (all its versions) over the last api.AutoscaleWindowSeconds: more
// replicas at once, fewer only once the load has called for fewer without
// a break for scale_in_cooldown_seconds (vs.ScaleInSince tracks since
// when).
func (p *endpointPass) scale(ctx context.Context, v api.EndpointVariant, vs *api.EndpointVariantStatus) int64 {
	a := v.Autoscaling
	if a == nil {
		vs.DesiredReplicas, vs.ObservedRPS, vs.LastScaleTime, vs.ScaleInSince = v.Replicas, 0, nil, nil
		return v.Replicas
	}
	cur := vs.DesiredReplicas
	if cur == 0 {
		// A status written before desired_replicas existed.
		cur = vs.Replicas
	}
	bounded := min(max(cur, a.MinReplicas), a.MaxReplicas)
	set := func(n int64) int64 {
		if n != cur {
			t := p.now
			vs.LastScaleTime = &t
		}
		vs.DesiredReplicas = n
		return n
	}
	if a.TargetRPS <= 0 {
		vs.ObservedRPS, vs.ScaleInSince = 0, nil
		return set(a.MinReplicas)
	}
	rps, err := p.rps(ctx, v.Name)
	if err != nil {
		// Without the load, the count stays; the pass is logged as failed.
		p.errs = append(p.errs, err)
		return set(bounded)
	}
	vs.ObservedRPS = rps
	want := min(max(int64(math.Ceil(rps/float64(a.TargetRPS))), a.MinReplicas), a.MaxReplicas)
	switch {
	case want > bounded:
		vs.ScaleInSince = nil
		return set(want)
	case want < bounded:
		if vs.ScaleInSince == nil {
			t := p.now
			vs.ScaleInSince = &t
		}
		if p.now.Sub(*vs.ScaleInSince) >= time.Duration(a.ScaleInCooldownSeconds)*time.Second {
			vs.ScaleInSince = nil
			return set(want)
		}
		return set(bounded)
	}
	vs.ScaleInSince = nil
	return set(bounded)
}

// rps is variant's predictions per second over the autoscaling window
// that ends now, summed over its versions and the mlopsd replicas that
// recorded them.
func (p *endpointPass) rps(ctx context.Context, variant string) (float64, error) {
	window := time.Duration(api.AutoscaleWindowSeconds) * time.Second
	points, err := p.h.Store.QueryMetrics(ctx, store.MetricQuery{
		Environment: p.obj.Meta.Environment, Series: api.SeriesPredictions,
		Endpoint: p.obj.Meta.Name, Variant: variant,
		From: p.now.Add(-window), To: p.now,
	})
	if err != nil {
		return 0, fmt.Errorf("reading the load of variant %q of %s: %w", variant, p.obj.Ref(), err)
	}
	var n int64
	for _, pt := range points {
		n += pt.Count
	}
	return float64(n) / window.Seconds(), nil
}
