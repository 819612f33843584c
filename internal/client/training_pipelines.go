package client

import (
	"context"
	"net/http"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateTrainingPipeline creates a training pipeline name in environment env. Returns an
// error that IsAlreadyExists when the name is taken, and one that IsInvalid
// (with ErrorField) when mlopsd rejects the spec.
func (c *Client) CreateTrainingPipeline(ctx context.Context, env, name string, spec api.TrainingPipelineSpec) (*api.TrainingPipeline, error) {
	return createObject[api.TrainingPipeline](ctx, c, api.KindTrainingPipeline, env, api.CreateTrainingPipelineRequest{Name: name, Spec: spec})
}

// GetTrainingPipeline reads a training pipeline. Returns an error that IsNotFound when it
// does not exist.
func (c *Client) GetTrainingPipeline(ctx context.Context, env, name string) (*api.TrainingPipeline, error) {
	return getObject[api.TrainingPipeline](ctx, c, api.KindTrainingPipeline, env, name)
}

// UpdateTrainingPipeline replaces the spec of a training pipeline. A non-empty ifMatch
// (the etag last read) makes mlopsd refuse with an error that IsConflict
// when the object changed since. Runs under way keep the spec they started
// with.
func (c *Client) UpdateTrainingPipeline(ctx context.Context, env, name string, spec api.TrainingPipelineSpec, ifMatch string) (*api.TrainingPipeline, error) {
	return updateObject[api.TrainingPipeline](ctx, c, api.KindTrainingPipeline, env, name, api.UpdateTrainingPipelineRequest{Spec: spec}, ifMatch)
}

// DeleteTrainingPipeline deletes a training pipeline; a missing one counts as deleted.
// Pending in the result means the control plane is cancelling its active
// runs and deleting all of its runs (with their logs and outputs; registered
// model versions and their artifacts stay) before the pipeline goes.
func (c *Client) DeleteTrainingPipeline(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindTrainingPipeline, env, name)
}

// ListTrainingPipelines returns one page of the training pipelines in environment env.
func (c *Client) ListTrainingPipelines(ctx context.Context, env string, opts api.ListOptions) (*api.TrainingPipelineList, error) {
	return listObjects[api.TrainingPipelineList](ctx, c, api.KindTrainingPipeline, env, opts)
}

// StartPipelineRun starts a manual run of pipeline in environment env with
// the given parameters (the pipeline's defaults fill the rest) and returns
// the new run, whose name mlopsd chooses. A retry of the call returns the
// same run. Returns an error that IsInvalid (field parameters["name"]) for
// unknown, ill-typed or missing parameters, IsNotFound when the pipeline
// does not exist and IsConflict while it is being deleted.
func (c *Client) StartPipelineRun(ctx context.Context, env, pipeline string, params map[string]string) (*api.PipelineRun, error) {
	path, err := objectPath(api.KindTrainingPipeline, env, pipeline)
	if err != nil {
		return nil, err
	}
	return doJSON[api.PipelineRun](ctx, c, request{method: http.MethodPost, path: path + "/runs", body: api.StartRunRequest{Parameters: params}})
}
