package server

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
)

// batchInferenceHandlers are the handlers of the batch inference routes
// beyond the generic object routes, by operation ID.
func (s *Server) batchInferenceHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		api.OpIDStartBatchInferenceRun:  s.authed(s.requireRole(api.RoleInvoker, s.handleStartBatchInferenceRun)),
		api.OpIDCancelBatchInferenceRun: s.authed(s.requireRole(api.RoleInvoker, s.handleCancelBatchInferenceRun)),
	}
}

// registerBatchInferenceRunRefusals answers writes of batch inference runs
// through the generic routes, which do not exist for runs, with a pointer
// to the ones that do.
func (s *Server) registerBatchInferenceRunRefusals() {
	refuse := s.authed(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, api.NewError(api.EINVALID, "",
			"batch inference runs are started with POST /v1/environments/{env}/batch-inference-jobs/{name}/runs and stopped with POST /v1/environments/{env}/batch-inference-runs/{name}/cancel; a run's spec cannot be written directly"))
	})
	for _, pattern := range []string{
		"POST /v1/environments/{env}/" + api.KindBatchInferenceRun,
		"PUT /v1/environments/{env}/" + api.KindBatchInferenceRun + "/{name}",
	} {
		s.mux.Handle(pattern, s.instrument(pattern, refuse))
	}
}

// handleStartBatchInferenceRun starts a manual run of a job, with the
// model version its spec names (its alias resolved now). The run's name is
// chosen by the server; an Idempotency-Key makes a retry return the first
// run. The body is empty or {}.
func (s *Server) handleStartBatchInferenceRun(w http.ResponseWriter, r *http.Request) {
	ref, err := pathRef(r, api.KindBatchInferenceJob)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := readOptionalBody(r, &struct{}{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := s.writeOptions(r, []byte("{}"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.store.Get(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if obj.Meta.DeletionRequestedAt != nil {
		s.writeError(w, r, api.Errorf(api.ECONFLICT, "", "batch inference job %q in environment %q is being deleted; it starts no new runs", ref.Name, ref.Environment))
		return
	}
	res, err := batch.StartRun(r.Context(), s.store, obj, api.TriggerManual, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.notify(api.KindBatchInferenceRun)
	s.sendObject(w, r, s.kinds[api.KindBatchInferenceRun], res.Object, http.StatusCreated, res.Replayed)
}

// handleCancelBatchInferenceRun asks a run to stop by setting spec.cancel;
// the run reconciler kills its step. A finished run is returned unchanged.
func (s *Server) handleCancelBatchInferenceRun(w http.ResponseWriter, r *http.Request) {
	ref, err := pathRef(r, api.KindBatchInferenceRun)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := s.writeOptions(r, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	k := s.kinds[api.KindBatchInferenceRun]
	obj, err := s.store.Get(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var spec api.BatchInferenceRunSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		s.writeError(w, r, fmt.Errorf("decoding %s: %w", obj.Ref(), err))
		return
	}
	var status api.BatchInferenceRunStatus
	if err := json.Unmarshal(obj.Status, &status); err != nil {
		s.writeError(w, r, fmt.Errorf("decoding %s: %w", obj.Ref(), err))
		return
	}
	if spec.Cancel || api.RunFinished(status.Phase) || obj.Meta.DeletionRequestedAt != nil {
		s.sendObject(w, r, k, obj, http.StatusOK, false)
		return
	}
	spec.Cancel = true
	raw, err := json.Marshal(spec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.store.UpdateSpec(r.Context(), ref, raw, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.notify(api.KindBatchInferenceRun)
	s.sendObject(w, r, k, res.Object, http.StatusOK, res.Replayed)
}
