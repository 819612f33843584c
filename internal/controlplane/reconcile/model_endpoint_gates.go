package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
)

// The gates a new replica or a rollout passes: the endpoint's smoke test,
// and the alarms that roll a rollout back.

// smokeMemo is the smoke test outcome of one replica, by its URL: a pass
// holds for the replica's life, a failure for the generation it was seen in.
type smokeMemo struct {
	url        string
	generation int64
	err        error
}

// smokeTimeout bounds one smoke test request.
const smokeTimeout = 10 * time.Second

var defaultSmokeClient = &http.Client{Timeout: smokeTimeout}

// admit returns the replicas that may get traffic: all of them without a
// smoke test; with one, those already published (serving before this
// pass) and those that passed it. The error is the first failure.
func (p *endpointPass) admit(ctx context.Context, refs []replicaRef, published map[string]bool) ([]replicaRef, error) {
	t := p.spec.SmokeTest
	if t == nil {
		return refs, nil
	}
	var ok []replicaRef
	var first error
	for _, r := range refs {
		if published[r.url] {
			ok = append(ok, r)
			continue
		}
		err := p.h.smokeTest(ctx, r, *t, p.obj.Meta.Generation)
		if err == nil {
			ok = append(ok, r)
			continue
		}
		if first == nil {
			first = fmt.Errorf("replica %d of model version %q: %w", r.key.Replica, r.key.Version, err)
		}
	}
	return ok, first
}

// smokeTest tests a replica once: a replica that passed is not tested
// again, and one that failed not again in the same generation.
func (h *EndpointHandler) smokeTest(ctx context.Context, r replicaRef, t api.EndpointSmokeTest, generation int64) error {
	h.mu.Lock()
	m, seen := h.smoke[r.key]
	h.mu.Unlock()
	if seen && m.url == r.url && (m.err == nil || m.generation == generation) {
		return m.err
	}
	client := h.Client
	if client == nil {
		client = defaultSmokeClient
	}
	tctx, cancel := context.WithTimeout(ctx, smokeTimeout)
	err := runtime.SmokeTest(tctx, client, r.url, t)
	cancel()
	if err != nil && ctx.Err() != nil {
		// mlopsd is shutting down: that says nothing about the replica.
		return err
	}
	h.mu.Lock()
	if h.smoke == nil {
		h.smoke = map[runtime.BackendKey]smokeMemo{}
	}
	h.smoke[r.key] = smokeMemo{url: r.url, generation: generation, err: err}
	h.mu.Unlock()
	return err
}

// rollbackAlarm is one alarm that watches a rollout.
type rollbackAlarm struct {
	name   string
	status api.AlarmStatus
}

// rolloutAlarms are the alarms that watch a rollout: those named in
// rollout.rollback_alarms and those with actions.rollback_endpoint on the
// endpoint.
type rolloutAlarms struct {
	found   []rollbackAlarm
	missing []string
}

// rollbackAlarms reads the alarms that watch the endpoint's rollouts.
func (p *endpointPass) rollbackAlarms(ctx context.Context) (*rolloutAlarms, error) {
	named := map[string]bool{}
	for _, n := range p.spec.Rollout.RollbackAlarms {
		named[n] = true
	}
	objs, err := listEnv(ctx, p.h.Store, api.KindAlarm, p.obj.Meta.Environment)
	if err != nil {
		return nil, fmt.Errorf("reading the alarms of %s: %w", p.obj.Ref(), err)
	}
	out := &rolloutAlarms{}
	seen := map[string]bool{}
	for _, o := range objs {
		if o.Meta.DeletionRequestedAt != nil {
			continue
		}
		var spec api.AlarmSpec
		if err := json.Unmarshal(o.Spec, &spec); err != nil {
			return nil, fmt.Errorf("decoding spec of %s: %w", o.Ref(), err)
		}
		watches := named[o.Meta.Name] || (spec.Actions.RollbackEndpoint && spec.Endpoint == p.obj.Meta.Name)
		if !watches {
			continue
		}
		var st api.AlarmStatus
		if err := json.Unmarshal(o.Status, &st); err != nil {
			return nil, fmt.Errorf("decoding status of %s: %w", o.Ref(), err)
		}
		seen[o.Meta.Name] = true
		out.found = append(out.found, rollbackAlarm{name: o.Meta.Name, status: st})
	}
	for _, n := range p.spec.Rollout.RollbackAlarms {
		if !seen[n] {
			out.missing = append(out.missing, n)
		}
	}
	return out, nil
}

// firedSince returns an alarm that went to ALARM after start, nil when none
// did.
func (a *rolloutAlarms) firedSince(start time.Time) *rollbackAlarm {
	for i := range a.found {
		st := a.found[i].status
		if st.State == api.AlarmStateAlarm && st.StateChangedAt != nil && st.StateChangedAt.After(start) {
			return &a.found[i]
		}
	}
	return nil
}

// inAlarm returns an alarm that is in ALARM, however long it has been,
// nil when none is.
func (a *rolloutAlarms) inAlarm() *rollbackAlarm {
	for i := range a.found {
		if a.found[i].status.State == api.AlarmStateAlarm {
			return &a.found[i]
		}
	}
	return nil
}

// alreadyInAlarm says which alarms were in ALARM before the rollout started
// and are still. They do not roll it back at once, because the new version
// may be the fix for what set them off and needs its bake to show it; but
// no step ends while one of them is in ALARM (see rollout), so a new
// version that keeps the alarm firing never takes over.
func (a *rolloutAlarms) alreadyInAlarm(start time.Time) []string {
	var notes []string
	for _, al := range a.found {
		st := al.status
		if st.State == api.AlarmStateAlarm && (st.StateChangedAt == nil || !st.StateChangedAt.After(start)) {
			notes = append(notes, fmt.Sprintf("alarm %q was already in ALARM when the rollout started: the rollout rolls back if it is still in ALARM when this step's bake ends", al.name))
		}
	}
	sort.Strings(notes)
	return notes
}

// missingAlarmsMessage says that rollout.rollback_alarms names alarms that
// do not exist, and how to fix it.
func missingAlarmsMessage(names []string, env string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return fmt.Sprintf("rollout.rollback_alarms names alarm %s, which does not exist in environment %q; "+
			"create the alarm first or remove it from rollout.rollback_alarms", q[0], env)
	}
	return fmt.Sprintf("rollout.rollback_alarms names alarms %s, which do not exist in environment %q; "+
		"create them first or remove them from rollout.rollback_alarms", strings.Join(q, ", "), env)
}
