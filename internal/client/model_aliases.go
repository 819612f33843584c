package client

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateModelAlias creates a model alias name in environment env. Returns an error
// that IsAlreadyExists when the name is taken, and one that IsInvalid (with
// ErrorField) when mlopsd rejects the spec.
func (c *Client) CreateModelAlias(ctx context.Context, env, name string, spec api.ModelAliasSpec) (*api.ModelAlias, error) {
	return createObject[api.ModelAlias](ctx, c, api.KindModelAlias, env, api.CreateModelAliasRequest{Name: name, Spec: spec})
}

// GetModelAlias reads a model alias. Returns an error that IsNotFound when it does not exist.
func (c *Client) GetModelAlias(ctx context.Context, env, name string) (*api.ModelAlias, error) {
	return getObject[api.ModelAlias](ctx, c, api.KindModelAlias, env, name)
}

// UpdateModelAlias replaces the spec of a model alias. A non-empty ifMatch (the etag
// last read) makes mlopsd refuse with an error that IsConflict when the
// object changed since.
func (c *Client) UpdateModelAlias(ctx context.Context, env, name string, spec api.ModelAliasSpec, ifMatch string) (*api.ModelAlias, error) {
	return updateObject[api.ModelAlias](ctx, c, api.KindModelAlias, env, name, api.UpdateModelAliasRequest{Spec: spec}, ifMatch)
}

// DeleteModelAlias deletes a model alias; a missing one counts as deleted. Pending in the
// result means the teardown continues after the call returns.
func (c *Client) DeleteModelAlias(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindModelAlias, env, name)
}

// ListModelAliases returns one page of the model aliases in environment env.
func (c *Client) ListModelAliases(ctx context.Context, env string, opts api.ListOptions) (*api.ModelAliasList, error) {
	return listObjects[api.ModelAliasList](ctx, c, api.KindModelAlias, env, opts)
}
