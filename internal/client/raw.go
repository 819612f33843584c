package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// GetJSON reads one object of any kind (an api.Kinds URL segment) and
// returns its JSON exactly as mlopsd sent it, for tools that print objects
// rather than use their fields. env is ignored for cluster-scoped kinds.
// Returns an error that IsNotFound when the object does not exist.
func (c *Client) GetJSON(ctx context.Context, kind, env, name string) (json.RawMessage, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	path, err := objectPath(kind, env, name)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path})
	if err != nil {
		return nil, err
	}
	if !json.Valid(resp.body) {
		return nil, fmt.Errorf("GET %s: mlopsd answered %d with a body that is not JSON; check that the endpoint points at mlopsd", path, resp.status)
	}
	return resp.body, nil
}

// ListAllJSON reads every page of the objects of kind in env (ignored for
// cluster-scoped kinds) and returns the items exactly as mlopsd sent them,
// ordered by name.
func (c *Client) ListAllJSON(ctx context.Context, kind, env string) ([]json.RawMessage, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	var all []json.RawMessage
	opts := api.ListOptions{Limit: api.MaxPageSize}
	for {
		// Every kind's list has this shape: items and next_page_token.
		page, err := listObjects[struct {
			Items         []json.RawMessage `json:"items"`
			NextPageToken string            `json:"next_page_token"`
		}](ctx, c, kind, env, opts)
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

// checkKind refuses a kind mlopsd does not serve before anything is sent,
// so a typo is not reported as a missing object.
func checkKind(kind string) error {
	if slices.Contains(api.Kinds, kind) {
		return nil
	}
	return &Error{Code: api.EINVALID, Field: "kind", Message: fmt.Sprintf("%q is not a kind mlopsd serves; use one of %q", kind, api.Kinds)}
}
