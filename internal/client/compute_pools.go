package client

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateComputePool creates a compute pool name in environment env. Returns an error
// that IsAlreadyExists when the name is taken, and one that IsInvalid (with
// ErrorField) when mlopsd rejects the spec.
func (c *Client) CreateComputePool(ctx context.Context, env, name string, spec api.ComputePoolSpec) (*api.ComputePool, error) {
	return createObject[api.ComputePool](ctx, c, api.KindComputePool, env, api.CreateComputePoolRequest{Name: name, Spec: spec})
}

// GetComputePool reads a compute pool. Returns an error that IsNotFound when it does not exist.
func (c *Client) GetComputePool(ctx context.Context, env, name string) (*api.ComputePool, error) {
	return getObject[api.ComputePool](ctx, c, api.KindComputePool, env, name)
}

// UpdateComputePool replaces the spec of a compute pool. A non-empty ifMatch (the etag
// last read) makes mlopsd refuse with an error that IsConflict when the
// object changed since.
func (c *Client) UpdateComputePool(ctx context.Context, env, name string, spec api.ComputePoolSpec, ifMatch string) (*api.ComputePool, error) {
	return updateObject[api.ComputePool](ctx, c, api.KindComputePool, env, name, api.UpdateComputePoolRequest{Spec: spec}, ifMatch)
}

// DeleteComputePool deletes a compute pool; a missing one counts as deleted. Pending in the
// result means the teardown continues after the call returns.
func (c *Client) DeleteComputePool(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindComputePool, env, name)
}

// ListComputePools returns one page of the compute pools in environment env.
func (c *Client) ListComputePools(ctx context.Context, env string, opts api.ListOptions) (*api.ComputePoolList, error) {
	return listObjects[api.ComputePoolList](ctx, c, api.KindComputePool, env, opts)
}
