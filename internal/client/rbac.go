package client

import (
	"context"
	"net/http"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// CreateServiceAccount creates service account name (admin only with
// mlopsd -auth on). Returns an error that IsAlreadyExists when the name is
// taken.
func (c *Client) CreateServiceAccount(ctx context.Context, name string, spec api.ServiceAccountSpec) (*api.ServiceAccount, error) {
	return createObject[api.ServiceAccount](ctx, c, api.KindServiceAccount, "", api.CreateServiceAccountRequest{Name: name, Spec: spec})
}

// GetServiceAccount reads a service account. Returns an error that
// IsNotFound when it does not exist.
func (c *Client) GetServiceAccount(ctx context.Context, name string) (*api.ServiceAccount, error) {
	return getObject[api.ServiceAccount](ctx, c, api.KindServiceAccount, "", name)
}

// UpdateServiceAccount replaces the spec of a service account.
func (c *Client) UpdateServiceAccount(ctx context.Context, name string, spec api.ServiceAccountSpec, ifMatch string) (*api.ServiceAccount, error) {
	return updateObject[api.ServiceAccount](ctx, c, api.KindServiceAccount, "", name, api.UpdateServiceAccountRequest{Spec: spec}, ifMatch)
}

// DeleteServiceAccount deletes a service account; a missing one counts as
// deleted. Returns an error that IsConflict while role bindings name it.
func (c *Client) DeleteServiceAccount(ctx context.Context, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindServiceAccount, "", name)
}

// IssueServiceAccountToken issues a bearer token for a service account that
// works for ttlSeconds. The token is in the result only: mlopsd keeps its
// digest.
func (c *Client) IssueServiceAccountToken(ctx context.Context, name string, ttlSeconds int64) (*api.IssuedToken, error) {
	path, err := objectPath(api.KindServiceAccount, "", name)
	if err != nil {
		return nil, err
	}
	return doJSON[api.IssuedToken](ctx, c, request{method: http.MethodPost, path: path + "/tokens", body: api.IssueTokenRequest{TTLSeconds: ttlSeconds}})
}

// CreateRoleBinding creates a role binding in env (owner only with mlopsd
// -auth on).
func (c *Client) CreateRoleBinding(ctx context.Context, env, name string, spec api.RoleBindingSpec) (*api.RoleBinding, error) {
	return createObject[api.RoleBinding](ctx, c, api.KindRoleBinding, env, api.CreateRoleBindingRequest{Name: name, Spec: spec})
}

// GetRoleBinding reads a role binding. Returns an error that IsNotFound when
// it does not exist.
func (c *Client) GetRoleBinding(ctx context.Context, env, name string) (*api.RoleBinding, error) {
	return getObject[api.RoleBinding](ctx, c, api.KindRoleBinding, env, name)
}

// UpdateRoleBinding replaces the spec of a role binding; the subject cannot
// change.
func (c *Client) UpdateRoleBinding(ctx context.Context, env, name string, spec api.RoleBindingSpec, ifMatch string) (*api.RoleBinding, error) {
	return updateObject[api.RoleBinding](ctx, c, api.KindRoleBinding, env, name, api.UpdateRoleBindingRequest{Spec: spec}, ifMatch)
}

// DeleteRoleBinding deletes a role binding; a missing one counts as deleted.
func (c *Client) DeleteRoleBinding(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindRoleBinding, env, name)
}
