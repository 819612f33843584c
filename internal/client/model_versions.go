package client

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateModelVersion creates a model version name in environment env. Returns an error
// that IsAlreadyExists when the name is taken, and one that IsInvalid (with
// ErrorField) when mlopsd rejects the spec.
func (c *Client) CreateModelVersion(ctx context.Context, env, name string, spec api.ModelVersionSpec) (*api.ModelVersion, error) {
	return createObject[api.ModelVersion](ctx, c, api.KindModelVersion, env, api.CreateModelVersionRequest{Name: name, Spec: spec})
}

// GetModelVersion reads a model version. Returns an error that IsNotFound when it does not exist.
func (c *Client) GetModelVersion(ctx context.Context, env, name string) (*api.ModelVersion, error) {
	return getObject[api.ModelVersion](ctx, c, api.KindModelVersion, env, name)
}

// UpdateModelVersion replaces the spec of a model version. Only the
// description and the approval may change; mlopsd records approval decisions
// in the approval history under the caller's identity and ignores any
// history sent. A non-empty ifMatch (the etag last read) makes mlopsd refuse
// with an error that IsConflict when the object changed since.
func (c *Client) UpdateModelVersion(ctx context.Context, env, name string, spec api.ModelVersionSpec, ifMatch string) (*api.ModelVersion, error) {
	return updateObject[api.ModelVersion](ctx, c, api.KindModelVersion, env, name, api.UpdateModelVersionRequest{Spec: spec}, ifMatch)
}

// DeleteModelVersion deletes a model version; a missing one counts as
// deleted. Returns an error that IsConflict while a model alias points at
// it. Pending in the result means the teardown continues after the call
// returns.
func (c *Client) DeleteModelVersion(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindModelVersion, env, name)
}

// ListModelVersions returns one page of the model versions in environment env.
func (c *Client) ListModelVersions(ctx context.Context, env string, opts api.ListOptions) (*api.ModelVersionList, error) {
	return listObjects[api.ModelVersionList](ctx, c, api.KindModelVersion, env, opts)
}

// ListAllModelVersions returns every model version in environment env,
// reading page after page.
func (c *Client) ListAllModelVersions(ctx context.Context, env string) ([]api.ModelVersion, error) {
	var all []api.ModelVersion
	opts := api.ListOptions{Limit: api.MaxPageSize}
	for {
		page, err := c.ListModelVersions(ctx, env, opts)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextPageToken == "" {
			return all, nil
		}
		opts.PageToken = page.NextPageToken
	}
}
