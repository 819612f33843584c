package client

import (
	"context"
	"net/http"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateAlarm creates an alarm name in environment env. Returns an error
// that IsAlreadyExists when the name is taken, and one that IsInvalid (with
// ErrorField) when mlopsd rejects the spec, e.g. a statistic the metric
// does not take or an endpoint, channel or pipeline that does not exist.
func (c *Client) CreateAlarm(ctx context.Context, env, name string, spec api.AlarmSpec) (*api.Alarm, error) {
	return createObject[api.Alarm](ctx, c, api.KindAlarm, env, api.CreateAlarmRequest{Name: name, Spec: spec})
}

// GetAlarm reads an alarm, with its state as the evaluator last saw it.
// Returns an error that IsNotFound when it does not exist.
func (c *Client) GetAlarm(ctx context.Context, env, name string) (*api.Alarm, error) {
	return getObject[api.Alarm](ctx, c, api.KindAlarm, env, name)
}

// UpdateAlarm replaces the spec of an alarm; mlopsd evaluates it again at
// once and keeps its state until then. A non-empty ifMatch (the etag last
// read) makes mlopsd refuse with an error that IsConflict when the object
// changed since.
func (c *Client) UpdateAlarm(ctx context.Context, env, name string, spec api.AlarmSpec, ifMatch string) (*api.Alarm, error) {
	return updateObject[api.Alarm](ctx, c, api.KindAlarm, env, name, api.UpdateAlarmRequest{Spec: spec}, ifMatch)
}

// DeleteAlarm deletes an alarm; a missing one counts as deleted.
func (c *Client) DeleteAlarm(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindAlarm, env, name)
}

// ListAlarms returns one page of the alarms in environment env.
func (c *Client) ListAlarms(ctx context.Context, env string, opts api.ListOptions) (*api.AlarmList, error) {
	return listObjects[api.AlarmList](ctx, c, api.KindAlarm, env, opts)
}

// AcknowledgeAlarm records that the caller acknowledged the alarm's current
// transition into ALARM, with an optional reason, and returns the alarm; it
// needs role invoker. Returns an error that IsConflict when the alarm is
// not in ALARM. Acknowledging the same transition again changes nothing.
func (c *Client) AcknowledgeAlarm(ctx context.Context, env, name, reason string) (*api.Alarm, error) {
	path, err := objectPath(api.KindAlarm, env, name)
	if err != nil {
		return nil, err
	}
	return doJSON[api.Alarm](ctx, c, request{method: http.MethodPost, path: path + "/acknowledge", body: api.AcknowledgeAlarmRequest{Reason: reason}})
}
