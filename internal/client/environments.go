package client

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateEnvironment creates environment name. Returns an error that
// IsAlreadyExists when the name is taken, and one that IsInvalid (with
// ErrorField) when mlopsd rejects the spec.
func (c *Client) CreateEnvironment(ctx context.Context, name string, spec api.EnvironmentSpec) (*api.Environment, error) {
	return createObject[api.Environment](ctx, c, api.KindEnvironment, "", api.CreateEnvironmentRequest{Name: name, Spec: spec})
}

// GetEnvironment reads an environment. Returns an error that IsNotFound when
// it does not exist.
func (c *Client) GetEnvironment(ctx context.Context, name string) (*api.Environment, error) {
	return getObject[api.Environment](ctx, c, api.KindEnvironment, "", name)
}

// UpdateEnvironment replaces the spec of an environment. A non-empty ifMatch
// (the etag last read) makes mlopsd refuse with an error that IsConflict when
// the environment changed since.
func (c *Client) UpdateEnvironment(ctx context.Context, name string, spec api.EnvironmentSpec, ifMatch string) (*api.Environment, error) {
	return updateObject[api.Environment](ctx, c, api.KindEnvironment, "", name, api.UpdateEnvironmentRequest{Spec: spec}, ifMatch)
}

// DeleteEnvironment deletes an environment; a missing one counts as deleted.
// Pending in the result means the teardown continues after the call returns.
func (c *Client) DeleteEnvironment(ctx context.Context, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindEnvironment, "", name)
}

// ListEnvironments returns one page of environments.
func (c *Client) ListEnvironments(ctx context.Context, opts api.ListOptions) (*api.EnvironmentList, error) {
	return listObjects[api.EnvironmentList](ctx, c, api.KindEnvironment, "", opts)
}
