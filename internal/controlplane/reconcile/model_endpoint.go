package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// maxRolloutHistory is how many finished rollouts an endpoint's status keeps.
const maxRolloutHistory = 20

// Reasons of a model endpoint's phase.
const (
	reasonBackendFailed   = "BackendFailed"
	reasonSmokeTestFailed = "SmokeTestFailed"
)

// EndpointHandler runs the model endpoint state machine:
//
//	provisioning ──(replicas up, smoke test passed)──▶ ready ──(model_version, command or cpu/memory requests changed)──▶ rolling_out
//	rolling_out ──(every step baked, new version healthy)──▶ ready
//	rolling_out ──(new version fails to start, its check or smoke test; a rollback alarm fires)──▶ rolled_back
//	any ──(a serving replica cannot start)──▶ failed (BackendFailed)
//	any ──(a new replica fails the smoke test)──▶ failed (SmokeTestFailed)
//	any ──(delete requested)──▶ replicas stopped ──▶ gone
//
// A rollout starts the new version's replicas next to the old ones and moves
// the variant's traffic to them step by step (all_at_once: 100%; canary:
// step_percent, then 100%; linear: step_percent more per step; blue_green:
// 0% while the new replicas are checked, then 100%), checking the new
// replicas on every pass and baking bake_time_seconds at each step. A failed
// check, a failed smoke test (sent to every new replica before it gets
// traffic) or a rollback alarm that goes to ALARM during the rollout rolls
// back: the new replicas stop and the old version, which never stopped
// serving, keeps all traffic. rolled_back is terminal for the generation:
// the same spec is not tried again until it changes.
//
// No replica gets traffic before it passed the endpoint's smoke test, if
// it has one; each replica is tested once (the handler remembers which
// passed), not on every pass. The shadow variant is not smoke-tested.
//
// Autoscaled variants with target_rps size themselves from the gateway's
// prediction counts in the metrics store (see scale).
//
// It sees every endpoint on every pass (WatchAll): replicas live in the
// process, so after a restart the handler starts them again.
type EndpointHandler struct {
	Store    store.Store
	Backends runtime.ModelBackends
	// Now is injectable for tests; nil means time.Now.
	Now func() time.Time
	// Client sends the smoke tests; nil means a client with a 10s timeout.
	Client *http.Client

	mu sync.Mutex
	// smoke remembers the smoke test outcome of each replica.
	smoke map[runtime.BackendKey]smokeMemo
}

var _ Watcher = (*EndpointHandler)(nil)

// WatchAll implements Watcher.
func (h *EndpointHandler) WatchAll() bool { return true }

// replicaRef is one running replica.
type replicaRef struct {
	key runtime.BackendKey
	url string
}

type endpointPass struct {
	h        *EndpointHandler
	obj      *store.Object
	spec     api.ModelEndpointSpec
	st       api.ModelEndpointStatus
	prior    map[string]api.EndpointVariantStatus
	now      time.Time
	wanted   map[runtime.BackendKey]bool
	problems []string
	// smokeFailed says a problem is a failed smoke test.
	smokeFailed bool
	// notes are said in the status message of a rollout in progress.
	notes []string
	// errs are internal errors (the store), returned after the status
	// is written so that the pass is logged as failed.
	errs []error
	// alarmsRequired says the environment's policy.required_alarms asks
	// for alarms; missingAlarms, when not empty, says which the endpoint
	// lacks.
	alarmsRequired bool
	missingAlarms  string
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
			h.stop(k)
		}
		return h.Store.Finalize(ctx, obj.Ref(), uid, "reconciler")
	}
	p := &endpointPass{h: h, obj: obj, now: now, wanted: map[runtime.BackendKey]bool{}, prior: map[string]api.EndpointVariantStatus{}}
	if err := json.Unmarshal(obj.Spec, &p.spec); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	if err := json.Unmarshal(obj.Status, &p.st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	for _, vs := range p.st.Variants {
		p.prior[vs.Name] = vs
	}
	p.variants(ctx)
	p.shadow(ctx)
	p.rollout(ctx)
	p.requiredAlarms(ctx)
	p.phase()
	b, err := json.Marshal(p.st)
	if err != nil {
		return err
	}
	if string(b) != string(obj.Status) {
		if _, err := h.Store.UpdateStatus(ctx, obj.Ref(), uid, b); err != nil {
			// The stored status may still route traffic to the replicas
			// this pass gave up: they stop once a status without them is
			// written.
			return err
		}
	}
	// Replicas nothing wants any more (removed variants, replaced
	// versions, scaled-in or rolled-back replicas) stop now that the
	// gateway no longer routes to them; they drain in the background.
	for _, k := range h.Backends.Keys(uid) {
		if !p.wanted[k] {
			h.stop(k)
		}
	}
	return errors.Join(p.errs...)
}

// stop stops a replica and forgets its smoke test.
func (h *EndpointHandler) stop(k runtime.BackendKey) {
	h.Backends.Stop(k)
	h.mu.Lock()
	delete(h.smoke, k)
	h.mu.Unlock()
}

// ensure runs replicas 0..n-1 of version for variant (served by command,
// when set, with the requests res) and returns them; on an error, the ones
// that run.
func (p *endpointPass) ensure(ctx context.Context, variant, version string, command []string, res api.ReplicaResources, n int64) ([]replicaRef, error) {
	key := runtime.BackendKey{EndpointUID: p.obj.Meta.UID, Variant: variant, Version: version, CommandDigest: runtime.CommandDigest(command), Resources: res}
	var uri string
	var refs []replicaRef
	for i := 0; i < int(n); i++ {
		key.Replica = i
		if u := p.h.Backends.Running(key); u != "" {
			p.wanted[key] = true
			refs = append(refs, replicaRef{key, u})
			continue
		}
		if uri == "" {
			mv, err := p.h.Store.Get(ctx, api.Ref{Kind: api.KindModelVersion, Environment: p.obj.Meta.Environment, Name: version})
			if err != nil {
				return refs, fmt.Errorf("reading model version %q: %w", version, err)
			}
			var spec api.ModelVersionSpec
			if err := json.Unmarshal(mv.Spec, &spec); err != nil {
				return refs, fmt.Errorf("decoding model version %q: %w", version, err)
			}
			uri = spec.ArtifactURI
		}
		u, err := p.h.Backends.Ensure(ctx, key, runtime.BackendSpec{ArtifactURI: uri, Command: command, Resources: res})
		if err != nil {
			return refs, fmt.Errorf("replica %d of model version %q did not start: %w", i, version, err)
		}
		p.wanted[key] = true
		refs = append(refs, replicaRef{key, u})
	}
	return refs, nil
}

func urlsOf(refs []replicaRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.url)
	}
	return out
}

// published returns the URLs the prior status routed traffic to for
// variant: those replicas are serving already and are not tested again.
func (p *endpointPass) published(variant string) map[string]bool {
	out := map[string]bool{}
	vs := p.prior[variant]
	for _, u := range vs.Backends {
		out[u] = true
	}
	for _, u := range vs.CanaryBackends {
		out[u] = true
	}
	return out
}

func (p *endpointPass) variants(ctx context.Context) {
	out := make([]api.EndpointVariantStatus, 0, len(p.spec.Variants))
	for _, v := range p.spec.Variants {
		vs, ok := p.prior[v.Name]
		switch {
		case !ok || vs.ModelVersion == "":
			// A new variant has nothing to roll from: it starts serving its
			// version at once, once its replicas passed the smoke test.
			vs = api.EndpointVariantStatus{Name: v.Name, ModelVersion: v.ModelVersion, Command: v.Command, ReplicaResources: v.ReplicaResources}
		case len(vs.Backends) == 0 && differs(v, &vs) && (p.st.Rollout == nil || p.st.Rollout.Variant != v.Name):
			// Nothing serves the variant (its version never started or
			// never passed the smoke test): there is nothing to roll from
			// either, and nothing to keep serving.
			vs.ModelVersion, vs.Command, vs.ReplicaResources = v.ModelVersion, v.Command, v.ReplicaResources
		}
		n := p.scale(ctx, v, &vs)
		refs, err := p.ensure(ctx, v.Name, vs.ModelVersion, vs.Command, vs.ReplicaResources, n)
		if err != nil {
			p.problems = append(p.problems, fmt.Sprintf("variant %q: %v", v.Name, err))
		}
		serving, err := p.admit(ctx, refs, p.published(v.Name))
		if err != nil {
			p.smokeFailed = true
			p.problems = append(p.problems, fmt.Sprintf("variant %q: %v", v.Name, err))
		}
		vs.Backends, vs.Replicas = urlsOf(serving), int64(len(serving))
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
	// A shadow's answers are discarded, so a new version (or command, or
	// requests) replaces the old one at once, without a rollout or a smoke
	// test.
	vs := api.EndpointVariantStatus{Name: v.Name, ModelVersion: v.ModelVersion, Command: v.Command, ReplicaResources: v.ReplicaResources}
	if p.st.Shadow != nil && p.st.Shadow.Name == v.Name {
		prior := p.st.Shadow
		vs.DesiredReplicas, vs.Replicas, vs.ObservedRPS, vs.LastScaleTime, vs.ScaleInSince =
			prior.DesiredReplicas, prior.Replicas, prior.ObservedRPS, prior.LastScaleTime, prior.ScaleInSince
	}
	n := p.scale(ctx, v, &vs)
	refs, err := p.ensure(ctx, v.Name, v.ModelVersion, v.Command, v.ReplicaResources, n)
	if err != nil {
		p.problems = append(p.problems, fmt.Sprintf("shadow variant %q: %v", v.Name, err))
	}
	vs.Backends, vs.Replicas = urlsOf(refs), int64(len(refs))
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

// differs reports whether a variant's spec asks for another version,
// command or replica requests than the ones serving it.
func differs(v api.EndpointVariant, vs *api.EndpointVariantStatus) bool {
	return vs.ModelVersion != v.ModelVersion || !slices.Equal(vs.Command, v.Command) || vs.ReplicaResources != v.ReplicaResources
}

func (p *endpointPass) finish(ro *api.EndpointRolloutState, result, alarm, msg string) {
	p.st.RolloutHistory = append(p.st.RolloutHistory, api.EndpointRolloutRecord{
		Variant: ro.Variant, FromVersion: ro.FromVersion, ToVersion: ro.ToVersion, Strategy: ro.Strategy,
		Generation: ro.Generation, Result: result, Message: msg, Alarm: alarm, Steps: ro.Steps, StartedAt: ro.StartedAt, FinishedAt: p.now,
	})
	if n := len(p.st.RolloutHistory); n > maxRolloutHistory {
		p.st.RolloutHistory = p.st.RolloutHistory[n-maxRolloutHistory:]
	}
	p.st.Rollout = nil
	if vs := p.variantStatus(ro.Variant); vs != nil {
		vs.CanaryVersion, vs.CanaryPercent, vs.CanaryBackends = "", 0, nil
	}
}

// rollBack ends ro as rolled back because of cause: the new replicas are
// not wanted any more, so they stop after this pass.
func (p *endpointPass) rollBack(ro *api.EndpointRolloutState, alarm, cause string) {
	p.unwant(ro.Variant, ro.ToVersion, ro.Command, ro.ReplicaResources)
	p.finish(ro, api.RolloutRolledBack, alarm, fmt.Sprintf("%s; rolled back: model version %q is still serving variant %q", cause, ro.FromVersion, ro.Variant))
}

func (p *endpointPass) rollout(ctx context.Context) {
	ro := p.st.Rollout
	if ro != nil {
		if v := p.specVariant(ro.Variant); v == nil || v.ModelVersion != ro.ToVersion || !slices.Equal(v.Command, ro.Command) || v.ReplicaResources != ro.ReplicaResources {
			p.finish(ro, api.RolloutSuperseded, "", "the spec changed during the rollout")
			ro = nil
		}
	}
	starting := false
	if ro == nil {
		for _, v := range p.spec.Variants {
			vs := p.variantStatus(v.Name)
			if vs == nil || !differs(v, vs) || p.rolledBack(v.Name, v.ModelVersion) != nil {
				continue
			}
			ro = &api.EndpointRolloutState{
				Variant: v.Name, FromVersion: vs.ModelVersion, ToVersion: v.ModelVersion, Strategy: p.spec.Rollout.Strategy,
				Generation: p.obj.Meta.Generation, StartedAt: p.now, Command: v.Command, ReplicaResources: v.ReplicaResources,
				Steps: []api.EndpointRolloutStep{{Percent: p.spec.Rollout.FirstPercent(), StartedAt: p.now}},
			}
			starting = true
			break
		}
	}
	p.st.Rollout = ro
	if ro == nil {
		return
	}
	vs := p.variantStatus(ro.Variant)
	alarms, err := p.rollbackAlarms(ctx)
	if err != nil {
		// The alarms cannot be read: keep the rollout where it is (no new
		// step, the new replicas running) and try again on the next pass.
		p.errs = append(p.errs, err)
		digest := runtime.CommandDigest(ro.Command)
		for _, k := range p.h.Backends.Keys(p.obj.Meta.UID) {
			if k.Variant == ro.Variant && k.Version == ro.ToVersion && k.CommandDigest == digest && k.Resources == ro.ReplicaResources {
				p.wanted[k] = true
			}
		}
		return
	}
	if starting {
		if len(alarms.missing) > 0 {
			p.rollBack(ro, "", missingAlarmsMessage(alarms.missing, p.obj.Meta.Environment))
			return
		}
	}
	if fired := alarms.firedSince(ro.StartedAt); fired != nil {
		cause := fmt.Sprintf("alarm %q went to ALARM", fired.name)
		if fired.status.StateReason != "" {
			cause += " (" + fired.status.StateReason + ")"
		}
		p.rollBack(ro, fired.name, cause)
		return
	}
	p.notes = append(p.notes, alarms.alreadyInAlarm(ro.StartedAt)...)
	// The new version gets as many replicas as the variant.
	refs, err := p.ensure(ctx, ro.Variant, ro.ToVersion, ro.Command, ro.ReplicaResources, max(vs.DesiredReplicas, 1))
	for _, r := range refs {
		if err != nil {
			break
		}
		if cerr := p.h.Backends.Check(ctx, r.url); cerr != nil {
			err = fmt.Errorf("a replica of model version %q failed its check: %w", ro.ToVersion, cerr)
		}
	}
	if err == nil {
		_, err = p.admit(ctx, refs, p.published(ro.Variant))
	}
	if err != nil {
		p.rollBack(ro, "", err.Error())
		return
	}
	urls := urlsOf(refs)
	cur := &ro.Steps[len(ro.Steps)-1]
	vs.CanaryVersion, vs.CanaryBackends, vs.CanaryPercent = ro.ToVersion, urls, cur.Percent
	if p.now.Sub(cur.StartedAt) < time.Duration(p.spec.Rollout.BakeTimeSeconds)*time.Second {
		return
	}
	// A step ends only with every watched alarm out of ALARM, also one
	// that was firing before the rollout began: a version that does not
	// bring it back to OK within the bake does not take more traffic.
	if firing := alarms.inAlarm(); firing != nil {
		cause := fmt.Sprintf("alarm %q is still in ALARM at the end of the %d%% step's bake", firing.name, cur.Percent)
		if firing.status.StateReason != "" {
			cause += " (" + firing.status.StateReason + ")"
		}
		p.rollBack(ro, firing.name, cause)
		return
	}
	if cur.Percent >= 100 {
		from, fromCommand, fromResources := ro.FromVersion, vs.Command, vs.ReplicaResources
		msg := fmt.Sprintf("model version %q replaced %q", ro.ToVersion, from)
		if ro.ReplicaResources != fromResources {
			msg += fmt.Sprintf(" (replicas with %s, before %s)", ro.ReplicaResources, fromResources)
		}
		p.finish(ro, api.RolloutSucceeded, "", msg)
		vs.ModelVersion, vs.Command, vs.ReplicaResources, vs.Backends, vs.Replicas = ro.ToVersion, ro.Command, ro.ReplicaResources, urls, int64(len(urls))
		// The old version's replicas stop after this pass.
		p.unwant(ro.Variant, from, fromCommand, fromResources)
		return
	}
	next := p.spec.Rollout.NextPercent(cur.Percent)
	ro.Steps = append(ro.Steps, api.EndpointRolloutStep{Percent: next, StartedAt: p.now})
	vs.CanaryPercent = next
}

// unwant marks the replicas of version of variant served by command with
// the requests res for stopping.
func (p *endpointPass) unwant(variant, version string, command []string, res api.ReplicaResources) {
	digest := runtime.CommandDigest(command)
	for k := range p.wanted {
		if k.Variant == variant && k.Version == version && k.CommandDigest == digest && k.Resources == res {
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
		if vs != nil && differs(v, vs) && (st.Rollout == nil || st.Rollout.Variant != v.Name) {
			if r := p.rolledBack(v.Name, v.ModelVersion); r != nil {
				rolledBack = append(rolledBack, fmt.Sprintf("rollout of variant %q from %q to %q: %s", r.Variant, r.FromVersion, r.ToVersion, r.Message))
			}
		}
	}
	cond := api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse}
	switch {
	case len(p.problems) > 0:
		st.Phase, st.Reason, st.Message = api.PhaseFailed, reasonBackendFailed, strings.Join(p.problems, "; ")
		if p.smokeFailed {
			st.Reason = reasonSmokeTestFailed
		}
	case st.Rollout != nil:
		ro := st.Rollout
		st.Phase, st.Reason = api.PhaseRollingOut, "RollingOut"
		st.Message = fmt.Sprintf("rolling out variant %q from %q to %q (%s): %d%% of its traffic on the new version",
			ro.Variant, ro.FromVersion, ro.ToVersion, ro.Strategy, ro.Steps[len(ro.Steps)-1].Percent)
		if vs := p.variantStatus(ro.Variant); vs != nil && vs.ReplicaResources != ro.ReplicaResources {
			st.Message += fmt.Sprintf("; its replicas ask for %s (before: %s)", ro.ReplicaResources, vs.ReplicaResources)
		}
		if len(p.notes) > 0 {
			st.Message += "; " + strings.Join(p.notes, "; ")
		}
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
	if !p.alarmsRequired {
		st.Conditions = removeCondition(st.Conditions, conditionRequiredAlarms)
		return
	}
	alarms := api.Condition{Type: conditionRequiredAlarms, Status: api.ConditionTrue, Reason: "Watched",
		Message: "the endpoint has every alarm its environment's policy.required_alarms asks for"}
	if p.missingAlarms != "" {
		alarms.Status, alarms.Reason, alarms.Message = api.ConditionFalse, "MissingRequiredAlarms", p.missingAlarms
		if st.Phase == api.PhaseReady {
			st.Message += "; " + p.missingAlarms
		}
	}
	st.Conditions = setCondition(st.Conditions, alarms, p.now)
}

// conditionRequiredAlarms says whether the endpoint has the alarms its
// environment's policy requires; the API refuses to change what it serves
// while it does not.
const conditionRequiredAlarms = "RequiredAlarms"

// requiredAlarms records which alarms the environment's
// policy.required_alarms asks for and the endpoint lacks.
func (p *endpointPass) requiredAlarms(ctx context.Context) {
	envObj, err := p.h.Store.Get(ctx, api.Ref{Kind: api.KindEnvironment, Name: p.obj.Meta.Environment})
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("reading the environment of %s: %w", p.obj.Ref(), err))
		return
	}
	var env api.EnvironmentSpec
	if err := json.Unmarshal(envObj.Spec, &env); err != nil {
		p.errs = append(p.errs, fmt.Errorf("decoding %s: %w", envObj.Ref(), err))
		return
	}
	if len(env.Policy.RequiredAlarms) == 0 {
		return
	}
	p.alarmsRequired = true
	objs, err := listEnv(ctx, p.h.Store, api.KindAlarm, p.obj.Meta.Environment)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("reading the alarms of %s: %w", p.obj.Ref(), err))
		return
	}
	var specs []api.AlarmSpec
	for _, o := range objs {
		var spec api.AlarmSpec
		if o.Meta.DeletionRequestedAt == nil && json.Unmarshal(o.Spec, &spec) == nil {
			specs = append(specs, spec)
		}
	}
	if missing := api.MissingRequiredAlarms(env.Policy.RequiredAlarms, p.obj.Meta.Name, specs); len(missing) > 0 {
		p.missingAlarms = api.RequiredAlarmsMessage(p.obj.Meta.Environment, p.obj.Meta.Name, env.Policy.RequiredAlarms, missing)
	}
}
