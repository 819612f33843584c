package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// maxRolloutHistory is how many finished rollouts an endpoint's status keeps.
const maxRolloutHistory = 20

// EndpointHandler runs the model endpoint state machine:
//
//	provisioning ──(replicas up)──▶ ready ──(model_version changed)──▶ rolling_out
//	rolling_out ──(every step baked, new version healthy)──▶ ready
//	rolling_out ──(new version fails to start or its health/predict check)──▶ rolled_back
//	any ──(a serving replica cannot start)──▶ failed
//	any ──(delete requested)──▶ replicas stopped ──▶ gone
//
// A rollout starts the new version's replicas next to the old ones and moves
// the variant's traffic to them step by step (all_at_once: 100%; canary:
// step_percent, then 100%; linear: step_percent more per step; blue_green:
// 0% while the new replicas are checked, then 100%), checking the new
// replicas on every pass and baking bake_time_seconds at each step. A failed
// check rolls back: the new replicas stop and the old version, which never
// stopped serving, keeps all traffic. rolled_back is terminal for the
// generation: the same spec is not tried again until it changes.
//
// It sees every endpoint on every pass (WatchAll): replicas live in the
// process, so after a restart the handler starts them again.
type EndpointHandler struct {
	Store    store.Store
	Backends runtime.ModelBackends
	// Now is injectable for tests; nil means time.Now.
	Now func() time.Time
}

var _ Watcher = (*EndpointHandler)(nil)

// WatchAll implements Watcher.
func (h *EndpointHandler) WatchAll() bool { return true }

type endpointPass struct {
	h        *EndpointHandler
	obj      *store.Object
	spec     api.ModelEndpointSpec
	st       api.ModelEndpointStatus
	now      time.Time
	wanted   map[runtime.BackendKey]bool
	problems []string
}

// Reconcile implements Handler.
func (h *EndpointHandler) Reconcile(ctx context.Context, obj *store.Object) error {
	now := time.Now().UTC()
	if h.Now != nil {
		now = h.Now().UTC()
	}
	uid := obj.Meta.UID
	if obj.Meta.DeletionRequestedAt != nil {
		for _, k := range h.Backends.Keys(uid) {
			h.Backends.Stop(k)
		}
		return h.Store.Finalize(ctx, obj.Ref(), uid, "reconciler")
	}
	p := &endpointPass{h: h, obj: obj, now: now, wanted: map[runtime.BackendKey]bool{}}
	if err := json.Unmarshal(obj.Spec, &p.spec); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	if err := json.Unmarshal(obj.Status, &p.st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	p.variants(ctx)
	p.shadow(ctx)
	p.rollout(ctx)
	// Replicas nothing wants any more (removed variants, replaced
	// versions, scaled-down or rolled-back replicas) stop.
	for _, k := range h.Backends.Keys(uid) {
		if !p.wanted[k] {
			h.Backends.Stop(k)
		}
	}
	p.phase()
	b, err := json.Marshal(p.st)
	if err != nil {
		return err
	}
	if string(b) == string(obj.Status) {
		return nil
	}
	_, err = h.Store.UpdateStatus(ctx, obj.Ref(), uid, b)
	return err
}

// desiredReplicas is a variant's replica count: fixed, or with autoscaling
// the runtime's current count kept within the bounds (min at first).
func desiredReplicas(v api.EndpointVariant, current int64) int64 {
	if v.Autoscaling == nil {
		return v.Replicas
	}
	return min(max(current, v.Autoscaling.MinReplicas), v.Autoscaling.MaxReplicas)
}

// ensure runs replicas 0..n-1 of version for variant and returns their URLs.
func (p *endpointPass) ensure(ctx context.Context, variant, version string, n int64) ([]string, error) {
	key := runtime.BackendKey{EndpointUID: p.obj.Meta.UID, Variant: variant, Version: version}
	var uri string
	var urls []string
	for i := 0; i < int(n); i++ {
		key.Replica = i
		if u := p.h.Backends.Running(key); u != "" {
			p.wanted[key] = true
			urls = append(urls, u)
			continue
		}
		if uri == "" {
			mv, err := p.h.Store.Get(ctx, api.Ref{Kind: api.KindModelVersion, Environment: p.obj.Meta.Environment, Name: version})
			if err != nil {
				return urls, fmt.Errorf("reading model version %q: %w", version, err)
			}
			var spec api.ModelVersionSpec
			if err := json.Unmarshal(mv.Spec, &spec); err != nil {
				return urls, fmt.Errorf("decoding model version %q: %w", version, err)
			}
			uri = spec.ArtifactURI
		}
		u, err := p.h.Backends.Ensure(ctx, key, uri)
		if err != nil {
			return urls, fmt.Errorf("replica %d of model version %q did not start: %w", i, version, err)
		}
		p.wanted[key] = true
		urls = append(urls, u)
	}
	return urls, nil
}

func (p *endpointPass) variants(ctx context.Context) {
	old := map[string]api.EndpointVariantStatus{}
	for _, v := range p.st.Variants {
		old[v.Name] = v
	}
	out := make([]api.EndpointVariantStatus, 0, len(p.spec.Variants))
	for _, v := range p.spec.Variants {
		vs, ok := old[v.Name]
		if !ok || vs.ModelVersion == "" {
			// A new variant has nothing to roll from: it starts serving its
			// version at once.
			vs = api.EndpointVariantStatus{Name: v.Name, ModelVersion: v.ModelVersion}
		}
		n := desiredReplicas(v, vs.Replicas)
		urls, err := p.ensure(ctx, v.Name, vs.ModelVersion, n)
		if err != nil {
			p.problems = append(p.problems, fmt.Sprintf("variant %q: %v", v.Name, err))
		}
		vs.Backends, vs.Replicas = urls, int64(len(urls))
		out = append(out, vs)
	}
	p.st.Variants = out
}

func (p *endpointPass) shadow(ctx context.Context) {
	if p.spec.Shadow == nil {
		p.st.Shadow = nil
		return
	}
	v := *p.spec.Shadow
	current := int64(0)
	if p.st.Shadow != nil && p.st.Shadow.Name == v.Name {
		current = p.st.Shadow.Replicas
	}
	// A shadow's answers are discarded, so a new version replaces the old
	// one at once.
	vs := api.EndpointVariantStatus{Name: v.Name, ModelVersion: v.ModelVersion}
	urls, err := p.ensure(ctx, v.Name, v.ModelVersion, desiredReplicas(v, current))
	if err != nil {
		p.problems = append(p.problems, fmt.Sprintf("shadow variant %q: %v", v.Name, err))
	}
	vs.Backends, vs.Replicas = urls, int64(len(urls))
	p.st.Shadow = &vs
}

func (p *endpointPass) variantStatus(name string) *api.EndpointVariantStatus {
	for i := range p.st.Variants {
		if p.st.Variants[i].Name == name {
			return &p.st.Variants[i]
		}
	}
	return nil
}

func (p *endpointPass) specVariant(name string) *api.EndpointVariant {
	for i := range p.spec.Variants {
		if p.spec.Variants[i].Name == name {
			return &p.spec.Variants[i]
		}
	}
	return nil
}

// rolledBack returns the record of a rollout to version of variant that was
// rolled back in this generation, nil when there is none.
func (p *endpointPass) rolledBack(variant, version string) *api.EndpointRolloutRecord {
	for i := len(p.st.RolloutHistory) - 1; i >= 0; i-- {
		r := &p.st.RolloutHistory[i]
		if r.Variant == variant && r.ToVersion == version && r.Generation == p.obj.Meta.Generation && r.Result == api.RolloutRolledBack {
			return r
		}
	}
	return nil
}

func (p *endpointPass) finish(ro *api.EndpointRolloutState, result, msg string) {
	p.st.RolloutHistory = append(p.st.RolloutHistory, api.EndpointRolloutRecord{
		Variant: ro.Variant, FromVersion: ro.FromVersion, ToVersion: ro.ToVersion, Strategy: ro.Strategy,
		Generation: ro.Generation, Result: result, Message: msg, Steps: ro.Steps, StartedAt: ro.StartedAt, FinishedAt: p.now,
	})
	if n := len(p.st.RolloutHistory); n > maxRolloutHistory {
		p.st.RolloutHistory = p.st.RolloutHistory[n-maxRolloutHistory:]
	}
	p.st.Rollout = nil
	if vs := p.variantStatus(ro.Variant); vs != nil {
		vs.CanaryVersion, vs.CanaryPercent, vs.CanaryBackends = "", 0, nil
	}
}

// firstPercent and nextPercent are the traffic steps of each strategy.
func firstPercent(r api.EndpointRollout) int64 {
	switch r.Strategy {
	case api.RolloutCanary, api.RolloutLinear:
		return min(r.StepPercent, 100)
	case api.RolloutBlueGreen:
		return 0
	}
	return 100
}

func nextPercent(r api.EndpointRollout, cur int64) int64 {
	if r.Strategy == api.RolloutLinear {
		return min(cur+r.StepPercent, 100)
	}
	return 100
}

func (p *endpointPass) rollout(ctx context.Context) {
	ro := p.st.Rollout
	if ro != nil {
		if v := p.specVariant(ro.Variant); v == nil || v.ModelVersion != ro.ToVersion {
			p.finish(ro, api.RolloutSuperseded, "the spec changed during the rollout")
			ro = nil
		}
	}
	if ro == nil {
		for _, v := range p.spec.Variants {
			vs := p.variantStatus(v.Name)
			if vs == nil || vs.ModelVersion == v.ModelVersion || p.rolledBack(v.Name, v.ModelVersion) != nil {
				continue
			}
			ro = &api.EndpointRolloutState{
				Variant: v.Name, FromVersion: vs.ModelVersion, ToVersion: v.ModelVersion, Strategy: p.spec.Rollout.Strategy,
				Generation: p.obj.Meta.Generation, StartedAt: p.now,
				Steps: []api.EndpointRolloutStep{{Percent: firstPercent(p.spec.Rollout), StartedAt: p.now}},
			}
			break
		}
	}
	p.st.Rollout = ro
	if ro == nil {
		return
	}
	v, vs := p.specVariant(ro.Variant), p.variantStatus(ro.Variant)
	urls, err := p.ensure(ctx, ro.Variant, ro.ToVersion, desiredReplicas(*v, vs.Replicas))
	for _, u := range urls {
		if err != nil {
			break
		}
		if cerr := p.h.Backends.Check(ctx, u); cerr != nil {
			err = fmt.Errorf("a replica of model version %q failed its check: %w", ro.ToVersion, cerr)
		}
	}
	if err != nil {
		// The new replicas are not wanted: the cleanup stops them.
		p.unwant(ro.Variant, ro.ToVersion)
		p.finish(ro, api.RolloutRolledBack, fmt.Sprintf("%v; rolled back: model version %q is still serving variant %q", err, ro.FromVersion, ro.Variant))
		return
	}
	cur := &ro.Steps[len(ro.Steps)-1]
	vs.CanaryVersion, vs.CanaryBackends, vs.CanaryPercent = ro.ToVersion, urls, cur.Percent
	if p.now.Sub(cur.StartedAt) < time.Duration(p.spec.Rollout.BakeTimeSeconds)*time.Second {
		return
	}
	if cur.Percent >= 100 {
		from := ro.FromVersion
		p.finish(ro, api.RolloutSucceeded, fmt.Sprintf("model version %q replaced %q", ro.ToVersion, from))
		vs.ModelVersion, vs.Backends, vs.Replicas = ro.ToVersion, urls, int64(len(urls))
		// The old version's replicas stop now, in this pass.
		p.unwant(ro.Variant, from)
		return
	}
	next := nextPercent(p.spec.Rollout, cur.Percent)
	ro.Steps = append(ro.Steps, api.EndpointRolloutStep{Percent: next, StartedAt: p.now})
	vs.CanaryPercent = next
}

// unwant marks the replicas of version of variant for stopping.
func (p *endpointPass) unwant(variant, version string) {
	for k := range p.wanted {
		if k.Variant == variant && k.Version == version {
			delete(p.wanted, k)
		}
	}
}

func (p *endpointPass) phase() {
	st := &p.st
	st.ObservedGeneration = p.obj.Meta.Generation
	var rolledBack []string
	for _, v := range p.spec.Variants {
		vs := p.variantStatus(v.Name)
		if vs != nil && vs.ModelVersion != v.ModelVersion && (st.Rollout == nil || st.Rollout.Variant != v.Name) {
			if r := p.rolledBack(v.Name, v.ModelVersion); r != nil {
				rolledBack = append(rolledBack, fmt.Sprintf("rollout of variant %q from %q to %q: %s", r.Variant, r.FromVersion, r.ToVersion, r.Message))
			}
		}
	}
	cond := api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse}
	switch {
	case len(p.problems) > 0:
		st.Phase, st.Reason, st.Message = api.PhaseFailed, "BackendFailed", strings.Join(p.problems, "; ")
	case st.Rollout != nil:
		ro := st.Rollout
		st.Phase, st.Reason = api.PhaseRollingOut, "RollingOut"
		st.Message = fmt.Sprintf("rolling out variant %q from %q to %q (%s): %d%% of its traffic on the new version",
			ro.Variant, ro.FromVersion, ro.ToVersion, ro.Strategy, ro.Steps[len(ro.Steps)-1].Percent)
	case len(rolledBack) > 0:
		st.Phase, st.Reason, st.Message = api.PhaseRolledBack, "RolledBack", strings.Join(rolledBack, "; ")
	default:
		st.Phase, st.Reason = api.PhaseReady, ""
		var parts []string
		for _, vs := range st.Variants {
			parts = append(parts, fmt.Sprintf("%s: %s × %d", vs.Name, vs.ModelVersion, vs.Replicas))
		}
		st.Message = "serving " + strings.Join(parts, ", ")
		cond.Status, cond.Reason = api.ConditionTrue, "Serving"
	}
	if cond.Reason == "" {
		cond.Reason = st.Reason
	}
	cond.Message = st.Message
	st.Conditions = setCondition(st.Conditions, cond, p.now)
}
