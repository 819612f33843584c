package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// The console's actions. Each is one API call as the signed-in caller, so
// the API's authorization decides and its audit log records the actor.

func (c *Console) handleStartRun(q *request) (string, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	params := map[string]string{}
	for k, vs := range q.r.PostForm {
		if p, ok := strings.CutPrefix(k, "param."); ok && len(vs) > 0 && vs[0] != "" {
			params[p] = vs[0]
		}
	}
	var run api.PipelineRun
	if err := q.api.write(q.ctx(), "POST", objPath(env, api.KindTrainingPipeline, name)+"/runs", api.StartRunRequest{Parameters: params}, "", &run); err != nil {
		return "", err
	}
	return uiPath(env, api.KindPipelineRun, run.Metadata.Name) + "?done=started", nil
}

func (c *Console) handleCancelRun(q *request) (string, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	if err := q.api.write(q.ctx(), "POST", objPath(env, api.KindPipelineRun, name)+"/cancel", nil, "", nil); err != nil {
		return "", err
	}
	return uiPath(env, api.KindPipelineRun, name) + "?done=cancelled", nil
}

// handleApproval records an approval decision: the version's spec with
// approval set, written with If-Match so that a decision is never made on
// a version that changed meanwhile.
func (c *Console) handleApproval(q *request) (string, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	decision := q.r.PostForm.Get("decision")
	switch decision {
	case api.ApprovalApproved, api.ApprovalRejected, api.ApprovalPending:
	default:
		return "", &apiError{Status: http.StatusBadRequest, Body: api.Error{Code: api.EINVALID, Field: "decision", Message: "decision must be approved, rejected or pending"}}
	}
	path := objPath(env, api.KindModelVersion, name)
	var v api.ModelVersion
	if err := q.api.getJSON(q.ctx(), path, nil, &v); err != nil {
		return "", err
	}
	spec := v.Spec
	spec.Approval = api.ApprovalRequest{Status: decision, Reason: strings.TrimSpace(q.r.PostForm.Get("reason"))}
	if err := q.api.write(q.ctx(), "PUT", path, api.UpdateModelVersionRequest{Spec: spec}, v.Metadata.ETag, nil); err != nil {
		return "", err
	}
	return uiPath(env, api.KindModelVersion, name) + "?done=" + url.QueryEscape(decision), nil
}

func (c *Console) handleAcknowledge(q *request) (string, error) {
	env, name := q.r.PathValue("env"), q.r.PathValue("name")
	body := api.AcknowledgeAlarmRequest{Reason: strings.TrimSpace(q.r.PostForm.Get("reason"))}
	if err := q.api.write(q.ctx(), "POST", objPath(env, api.KindAlarm, name)+"/acknowledge", body, "", nil); err != nil {
		return "", err
	}
	return uiPath(env, api.KindAlarm, name) + "?done=acknowledged", nil
}
