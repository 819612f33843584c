package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// readyHandler reconciles kinds whose spec is fully realised by storing it:
// environments, feature stores, feature groups and the model registry
// (models, versions, aliases). It records that the current generation was
// observed and is ready.
//
// Which writes it sees, and why. A new object of these kinds is created
// ready at generation 1 by its kind's initialStatus (server readyStatus), in
// the create's own transaction, so creates are never pending and need no
// wait: there is nothing to realise, and this handler would only write the
// same status a pass later, in a second durable write per object (which was
// a third of mlopsd's CPU time in a burst of creates, and every client
// waited for it). That is the one shortcut, and it stays honest because it
// is a pure function of the spec that was just validated and stored.
// Later generations are left to this handler: store.UpdateSpec leaves the
// status to reconcilers, so an update is pending until a pass here has
// looked at the new generation, and observed_generation keeps meaning that
// the control plane saw that generation. Clients wait for it with the
// API's long poll (GET ...?wait_for_generation=N), which the status write
// below ends at once. Should one of these kinds ever need real work (say,
// creating an online store's tables), its initialStatus must go back to a
// pending phase and the work belongs here.
type readyHandler struct {
	store store.Store
}

// Reconcile implements Handler. Fields beyond api.Status (such as an
// environment's derived counts) are kept as they are.
func (h *readyHandler) Reconcile(ctx context.Context, obj *store.Object) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(obj.Status, &fields); err != nil || fields == nil {
		fields = map[string]json.RawMessage{}
	}
	var st api.Status
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	st.Phase = api.PhaseReady
	st.Reason = ""
	st.Message = ""
	st.ObservedGeneration = obj.Meta.Generation
	st.Conditions = setCondition(st.Conditions, api.Condition{
		Type: api.ConditionReady, Status: api.ConditionTrue, Reason: "Stored", Message: "spec stored and in effect",
	}, time.Now().UTC())
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var base map[string]json.RawMessage
	if err := json.Unmarshal(b, &base); err != nil {
		return err
	}
	for k, v := range base {
		fields[k] = v
	}
	for _, k := range []string{"reason", "message"} {
		if _, ok := base[k]; !ok {
			delete(fields, k)
		}
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	_, err = h.store.UpdateStatus(ctx, obj.Ref(), obj.Meta.UID, out)
	return err
}
