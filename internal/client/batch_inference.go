package client

import (
	"context"
	"net/http"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateBatchInferenceJob creates a batch inference job name in environment
// env. Returns an error that IsAlreadyExists when the name is taken, and one
// that IsInvalid (with ErrorField) when mlopsd rejects the spec, e.g. a
// compute pool or model version that does not exist.
func (c *Client) CreateBatchInferenceJob(ctx context.Context, env, name string, spec api.BatchInferenceJobSpec) (*api.BatchInferenceJob, error) {
	return createObject[api.BatchInferenceJob](ctx, c, api.KindBatchInferenceJob, env, api.CreateBatchInferenceJobRequest{Name: name, Spec: spec})
}

// GetBatchInferenceJob reads a batch inference job. Returns an error that
// IsNotFound when it does not exist.
func (c *Client) GetBatchInferenceJob(ctx context.Context, env, name string) (*api.BatchInferenceJob, error) {
	return getObject[api.BatchInferenceJob](ctx, c, api.KindBatchInferenceJob, env, name)
}

// UpdateBatchInferenceJob replaces the spec of a batch inference job. A
// non-empty ifMatch (the etag last read) makes mlopsd refuse with an error
// that IsConflict when the object changed since. Runs under way keep the
// spec and model version they started with.
func (c *Client) UpdateBatchInferenceJob(ctx context.Context, env, name string, spec api.BatchInferenceJobSpec, ifMatch string) (*api.BatchInferenceJob, error) {
	return updateObject[api.BatchInferenceJob](ctx, c, api.KindBatchInferenceJob, env, name, api.UpdateBatchInferenceJobRequest{Spec: spec}, ifMatch)
}

// DeleteBatchInferenceJob deletes a batch inference job; a missing one
// counts as deleted. Pending in the result means the control plane is
// cancelling its active runs and deleting all of its runs (with their logs;
// their output folders stay) before the job goes.
func (c *Client) DeleteBatchInferenceJob(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindBatchInferenceJob, env, name)
}

// ListBatchInferenceJobs returns one page of the batch inference jobs in
// environment env.
func (c *Client) ListBatchInferenceJobs(ctx context.Context, env string, opts api.ListOptions) (*api.BatchInferenceJobList, error) {
	return listObjects[api.BatchInferenceJobList](ctx, c, api.KindBatchInferenceJob, env, opts)
}

// StartBatchInferenceRun starts a manual run of job in environment env and
// returns the new run, whose name mlopsd chooses; the job's alias, if it
// names one, is resolved now. A retry of the call returns the same run.
// Returns an error that IsNotFound when the job does not exist, IsConflict
// while it is being deleted, and IsInvalid when its model version cannot be
// resolved.
func (c *Client) StartBatchInferenceRun(ctx context.Context, env, job string) (*api.BatchInferenceRun, error) {
	path, err := objectPath(api.KindBatchInferenceJob, env, job)
	if err != nil {
		return nil, err
	}
	return doJSON[api.BatchInferenceRun](ctx, c, request{method: http.MethodPost, path: path + "/runs"})
}

// GetBatchInferenceRun reads a batch inference run. Returns an error that
// IsNotFound when it does not exist.
func (c *Client) GetBatchInferenceRun(ctx context.Context, env, name string) (*api.BatchInferenceRun, error) {
	return getObject[api.BatchInferenceRun](ctx, c, api.KindBatchInferenceRun, env, name)
}

// ListBatchInferenceRuns returns one page of the batch inference runs in
// environment env, of every job, ordered by name.
func (c *Client) ListBatchInferenceRuns(ctx context.Context, env string, opts api.ListOptions) (*api.BatchInferenceRunList, error) {
	return listObjects[api.BatchInferenceRunList](ctx, c, api.KindBatchInferenceRun, env, opts)
}

// DeleteBatchInferenceRun deletes a run and its logs (its output folder
// stays); a missing one counts as deleted. Pending in the result means its
// scoring step is being stopped first.
func (c *Client) DeleteBatchInferenceRun(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindBatchInferenceRun, env, name)
}

// CancelBatchInferenceRun asks a run to stop and returns it; the run ends
// cancelled once its scoring step is gone. Cancelling a finished run
// changes nothing.
func (c *Client) CancelBatchInferenceRun(ctx context.Context, env, name string) (*api.BatchInferenceRun, error) {
	path, err := objectPath(api.KindBatchInferenceRun, env, name)
	if err != nil {
		return nil, err
	}
	return doJSON[api.BatchInferenceRun](ctx, c, request{method: http.MethodPost, path: path + "/cancel"})
}
