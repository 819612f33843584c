package client

import (
	"context"
	"net/url"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateModel creates a model name in environment env. Returns an error
// that IsAlreadyExists when the name is taken, and one that IsInvalid (with
// ErrorField) when mlopsd rejects the spec.
func (c *Client) CreateModel(ctx context.Context, env, name string, spec api.ModelSpec) (*api.Model, error) {
	return createObject[api.Model](ctx, c, api.KindModel, env, api.CreateModelRequest{Name: name, Spec: spec})
}

// GetModel reads a model. Returns an error that IsNotFound when it does not exist.
func (c *Client) GetModel(ctx context.Context, env, name string) (*api.Model, error) {
	return getObject[api.Model](ctx, c, api.KindModel, env, name)
}

// UpdateModel replaces the spec of a model. A non-empty ifMatch (the etag
// last read) makes mlopsd refuse with an error that IsConflict when the
// object changed since.
func (c *Client) UpdateModel(ctx context.Context, env, name string, spec api.ModelSpec, ifMatch string) (*api.Model, error) {
	return updateObject[api.Model](ctx, c, api.KindModel, env, name, api.UpdateModelRequest{Spec: spec}, ifMatch)
}

// DeleteModel deletes a model; a missing one counts as deleted. Returns an
// error that IsConflict while versions or aliases of the model exist, naming
// them. Pending in the result means the teardown continues after the call
// returns.
func (c *Client) DeleteModel(ctx context.Context, env, name string) (*DeleteResult, error) {
	return c.DeleteModelWithOptions(ctx, env, name, DeleteModelOptions{})
}

// DeleteModelForce deletes a model together with its aliases and versions,
// including versions that pipeline runs registered (registered artifact
// files stay). See DeleteModelOptions.Force.
func (c *Client) DeleteModelForce(ctx context.Context, env, name string) (*DeleteResult, error) {
	return c.DeleteModelWithOptions(ctx, env, name, DeleteModelOptions{Force: true})
}

// DeleteModelOptions select how DeleteModelWithOptions deletes.
type DeleteModelOptions struct {
	// Force deletes the model's aliases, then its versions, then the model
	// (DELETE ...?force=true), each an audited delete. If the call fails
	// part way (a version an alias created meanwhile points at, say),
	// repeating it continues.
	Force bool
}

// DeleteModelWithOptions deletes a model as opts say; a missing one counts
// as deleted. Without Force it returns an error that IsConflict while
// versions or aliases of the model exist.
func (c *Client) DeleteModelWithOptions(ctx context.Context, env, name string, opts DeleteModelOptions) (*DeleteResult, error) {
	var q url.Values
	if opts.Force {
		q = url.Values{api.QueryForce: {"true"}}
	}
	return deleteObjectQuery(ctx, c, api.KindModel, env, name, q)
}

// ListModels returns one page of the models in environment env.
func (c *Client) ListModels(ctx context.Context, env string, opts api.ListOptions) (*api.ModelList, error) {
	return listObjects[api.ModelList](ctx, c, api.KindModel, env, opts)
}
