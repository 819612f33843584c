package client

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateFeatureGroup creates a feature group name in environment env. Returns an error
// that IsAlreadyExists when the name is taken, and one that IsInvalid (with
// ErrorField) when mlopsd rejects the spec.
func (c *Client) CreateFeatureGroup(ctx context.Context, env, name string, spec api.FeatureGroupSpec) (*api.FeatureGroup, error) {
	return createObject[api.FeatureGroup](ctx, c, api.KindFeatureGroup, env, api.CreateFeatureGroupRequest{Name: name, Spec: spec})
}

// GetFeatureGroup reads a feature group. Returns an error that IsNotFound when it does not exist.
func (c *Client) GetFeatureGroup(ctx context.Context, env, name string) (*api.FeatureGroup, error) {
	return getObject[api.FeatureGroup](ctx, c, api.KindFeatureGroup, env, name)
}

// UpdateFeatureGroup replaces the spec of a feature group. A non-empty ifMatch (the etag
// last read) makes mlopsd refuse with an error that IsConflict when the
// object changed since.
func (c *Client) UpdateFeatureGroup(ctx context.Context, env, name string, spec api.FeatureGroupSpec, ifMatch string) (*api.FeatureGroup, error) {
	return updateObject[api.FeatureGroup](ctx, c, api.KindFeatureGroup, env, name, api.UpdateFeatureGroupRequest{Spec: spec}, ifMatch)
}

// DeleteFeatureGroup deletes a feature group; a missing one counts as deleted. Pending in the
// result means the teardown continues after the call returns.
func (c *Client) DeleteFeatureGroup(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindFeatureGroup, env, name)
}

// ListFeatureGroups returns one page of the feature groups in environment env.
func (c *Client) ListFeatureGroups(ctx context.Context, env string, opts api.ListOptions) (*api.FeatureGroupList, error) {
	return listObjects[api.FeatureGroupList](ctx, c, api.KindFeatureGroup, env, opts)
}
