package client

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateFeatureStore creates a feature store name in environment env. Returns an error
// that IsAlreadyExists when the name is taken, and one that IsInvalid (with
// ErrorField) when mlopsd rejects the spec.
func (c *Client) CreateFeatureStore(ctx context.Context, env, name string, spec api.FeatureStoreSpec) (*api.FeatureStore, error) {
	return createObject[api.FeatureStore](ctx, c, api.KindFeatureStore, env, api.CreateFeatureStoreRequest{Name: name, Spec: spec})
}

// GetFeatureStore reads a feature store. Returns an error that IsNotFound when it does not exist.
func (c *Client) GetFeatureStore(ctx context.Context, env, name string) (*api.FeatureStore, error) {
	return getObject[api.FeatureStore](ctx, c, api.KindFeatureStore, env, name)
}

// UpdateFeatureStore replaces the spec of a feature store. A non-empty ifMatch (the etag
// last read) makes mlopsd refuse with an error that IsConflict when the
// object changed since.
func (c *Client) UpdateFeatureStore(ctx context.Context, env, name string, spec api.FeatureStoreSpec, ifMatch string) (*api.FeatureStore, error) {
	return updateObject[api.FeatureStore](ctx, c, api.KindFeatureStore, env, name, api.UpdateFeatureStoreRequest{Spec: spec}, ifMatch)
}

// DeleteFeatureStore deletes a feature store; a missing one counts as deleted. Pending in the
// result means the teardown continues after the call returns.
func (c *Client) DeleteFeatureStore(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindFeatureStore, env, name)
}

// ListFeatureStores returns one page of the feature stores in environment env.
func (c *Client) ListFeatureStores(ctx context.Context, env string, opts api.ListOptions) (*api.FeatureStoreList, error) {
	return listObjects[api.FeatureStoreList](ctx, c, api.KindFeatureStore, env, opts)
}
