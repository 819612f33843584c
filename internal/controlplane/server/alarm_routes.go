package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// mergeAcknowledgements keeps the stored acknowledgements of an alarm: only
// the acknowledge route writes them, so whatever a client sends is dropped.
func mergeAcknowledgements(before, after *api.AlarmSpec, _ string, _ time.Time) error {
	after.Acknowledgements = nil
	if before != nil {
		after.Acknowledgements = before.Acknowledgements
	}
	return nil
}

// handleAcknowledgeAlarm records that the caller acknowledged the alarm's
// current transition into ALARM, as an audited spec write (like a run's
// cancel). The evaluator ignores acknowledgements; they are for people.
func (s *Server) handleAcknowledgeAlarm(w http.ResponseWriter, r *http.Request) {
	ref, err := pathRef(r, api.KindAlarm)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body api.AcknowledgeAlarmRequest
	if err := readBody(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(body.Reason) > api.MaxAcknowledgeReasonBytes {
		s.writeError(w, r, api.Errorf(api.EINVALID, "reason", "reason must be at most %d bytes", api.MaxAcknowledgeReasonBytes))
		return
	}
	canonical, err := json.Marshal(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := s.writeOptions(r, canonical)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	k := s.kinds[api.KindAlarm]
	obj, err := s.store.Get(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var spec api.AlarmSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		s.writeError(w, r, fmt.Errorf("decoding %s: %w", obj.Ref(), err))
		return
	}
	var status api.AlarmStatus
	if err := json.Unmarshal(obj.Status, &status); err != nil {
		s.writeError(w, r, fmt.Errorf("decoding %s: %w", obj.Ref(), err))
		return
	}
	if obj.Meta.DeletionRequestedAt != nil {
		s.writeError(w, r, api.Errorf(api.ECONFLICT, "", "alarm %q is being deleted", ref.Name))
		return
	}
	if status.State != api.AlarmStateAlarm {
		s.writeError(w, r, api.Errorf(api.ECONFLICT, "",
			"alarm %q is in state %s; only an alarm in ALARM can be acknowledged", ref.Name, status.State))
		return
	}
	seq := status.TransitionCount
	for _, a := range spec.Acknowledgements {
		if a.Transition == seq {
			s.sendObject(w, r, k, obj, http.StatusOK, false)
			return
		}
	}
	spec.Acknowledgements = append(spec.Acknowledgements, api.AlarmAcknowledgement{
		Transition: seq, By: opts.Actor, At: time.Now().UTC().Truncate(time.Microsecond), Reason: body.Reason,
	})
	if n := len(spec.Acknowledgements); n > api.MaxAlarmAcknowledgements {
		spec.Acknowledgements = spec.Acknowledgements[n-api.MaxAlarmAcknowledgements:]
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if opts.IfMatch == "" {
		// A Terraform update between the read and this write would
		// otherwise lose its change: the write is of the whole spec.
		opts.IfMatch = obj.Meta.ETag
	}
	res, err := s.store.UpdateSpec(r.Context(), ref, raw, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.notify(api.KindAlarm)
	s.sendObject(w, r, k, res.Object, http.StatusOK, res.Replayed)
}
