package client

import (
	"context"
	"net/http"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateModelEndpoint creates a model endpoint name in environment env. Returns an error
// that IsAlreadyExists when the name is taken, and one that IsInvalid (with
// ErrorField) when mlopsd rejects the spec.
func (c *Client) CreateModelEndpoint(ctx context.Context, env, name string, spec api.ModelEndpointSpec) (*api.ModelEndpoint, error) {
	return createObject[api.ModelEndpoint](ctx, c, api.KindModelEndpoint, env, api.CreateModelEndpointRequest{Name: name, Spec: spec})
}

// GetModelEndpoint reads a model endpoint. Returns an error that IsNotFound when it does not exist.
func (c *Client) GetModelEndpoint(ctx context.Context, env, name string) (*api.ModelEndpoint, error) {
	return getObject[api.ModelEndpoint](ctx, c, api.KindModelEndpoint, env, name)
}

// UpdateModelEndpoint replaces the spec of a model endpoint; a changed
// model version of a variant is rolled out by mlopsd in the background. A
// non-empty ifMatch (the etag last read) makes mlopsd refuse with an error
// that IsConflict when the object changed since.
func (c *Client) UpdateModelEndpoint(ctx context.Context, env, name string, spec api.ModelEndpointSpec, ifMatch string) (*api.ModelEndpoint, error) {
	return updateObject[api.ModelEndpoint](ctx, c, api.KindModelEndpoint, env, name, api.UpdateModelEndpointRequest{Spec: spec}, ifMatch)
}

// DeleteModelEndpoint deletes a model endpoint; a missing one counts as
// deleted. Pending in the result means its replicas are still stopping.
func (c *Client) DeleteModelEndpoint(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindModelEndpoint, env, name)
}

// ListModelEndpoints returns one page of the model endpoints in environment env.
func (c *Client) ListModelEndpoints(ctx context.Context, env string, opts api.ListOptions) (*api.ModelEndpointList, error) {
	return listObjects[api.ModelEndpointList](ctx, c, api.KindModelEndpoint, env, opts)
}

// Predict sends one prediction through the endpoint's gateway
// (POST .../model-endpoints/{name}/predict); it needs role invoker. The
// response names the variant and model version that answered. A prediction
// is a pure function of the inputs, so a retried one is harmless.
func (c *Client) Predict(ctx context.Context, env, name string, inputs []float64) (*api.PredictResponse, error) {
	path, err := objectPath(api.KindModelEndpoint, env, name)
	if err != nil {
		return nil, err
	}
	return doJSON[api.PredictResponse](ctx, c, request{method: http.MethodPost, path: path + "/predict", body: api.PredictRequest{Inputs: inputs}})
}

// PredictAction is Predict through the action-style path
// POST .../model-endpoints/{name}:predict.
func (c *Client) PredictAction(ctx context.Context, env, name string, inputs []float64) (*api.PredictResponse, error) {
	path, err := objectPath(api.KindModelEndpoint, env, name)
	if err != nil {
		return nil, err
	}
	return doJSON[api.PredictResponse](ctx, c, request{method: http.MethodPost, path: path + ":predict", body: api.PredictRequest{Inputs: inputs}})
}
