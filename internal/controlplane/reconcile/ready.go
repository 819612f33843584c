package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// storedKinds are the kinds whose spec is fully realised by storing it:
// environments, feature stores, feature groups, the model registry
// (models, versions, aliases) and notification channels. readyHandler
// reconciles them.
var storedKinds = []string{
	api.KindEnvironment, api.KindFeatureStore, api.KindFeatureGroup,
	api.KindModel, api.KindModelVersion, api.KindModelAlias,
	api.KindNotificationChannel,
}

// RealisedByStoring reports whether kind is one of those whose spec is in
// effect once stored, so that a write may settle the object's status in
// its own transaction (store.WriteOptions.Settle with StoredStatus).
func RealisedByStoring(kind string) bool {
	return slices.Contains(storedKinds, kind)
}

// readyHandler reconciles the storedKinds. It records that the current
// generation was observed and is ready.
//
// Which writes it sees, and why. Nothing is left to realise once such a
// spec is stored, so the API settles the status in the write's own
// transaction: a new object is created ready at generation 1 by its kind's
// initialStatus (server readyStatus), and an update through the API gets
// StoredStatus as store.WriteOptions.Settle. Writes are then never pending
// and clients need no wait; this handler would only write the same status
// a pass later, in a second durable write per object (a third of mlopsd's
// CPU in a burst of creates, and about half of it in a burst of updates,
// with every client waiting for it). The shortcut stays honest because the
// status is a pure function of the spec that was just validated and
// stored, and of the status before it. This handler still settles what
// other writers leave pending (store.UpdateSpec without Settle, such as
// writes of the control plane itself). Should one of these kinds ever need
// real work (say, creating an online store's tables), it must leave
// storedKinds, its initialStatus must go back to a pending phase, and the
// work belongs in a handler of its own.
type readyHandler struct {
	store store.Store
}

// Reconcile implements Handler.
func (h *readyHandler) Reconcile(ctx context.Context, obj *store.Object) error {
	out, err := StoredStatus(obj, time.Now().UTC())
	if err != nil {
		return err
	}
	_, err = h.store.UpdateStatus(ctx, obj.Ref(), obj.Meta.UID, out)
	return err
}

// StoredStatus is the status of obj, of one of the storedKinds, once its
// current generation is stored: ready, with that generation observed and
// a Ready condition (its transition time now if it was not ready before).
// Fields beyond api.Status (such as an environment's derived counts) are
// kept as they are.
func StoredStatus(obj *store.Object, now time.Time) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(obj.Status, &fields); err != nil || fields == nil {
		fields = map[string]json.RawMessage{}
	}
	var st api.Status
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		return nil, fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	st.Phase = api.PhaseReady
	st.Reason = ""
	st.Message = ""
	st.ObservedGeneration = obj.Meta.Generation
	st.Conditions = setCondition(st.Conditions, api.Condition{
		Type: api.ConditionReady, Status: api.ConditionTrue, Reason: "Stored", Message: "spec stored and in effect",
	}, now)
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	var base map[string]json.RawMessage
	if err := json.Unmarshal(b, &base); err != nil {
		return nil, err
	}
	for k, v := range base {
		fields[k] = v
	}
	for _, k := range []string{"reason", "message"} {
		if _, ok := base[k]; !ok {
			delete(fields, k)
		}
	}
	return json.Marshal(fields)
}
