package client

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// TestMethods_Registry checks the model registry's typed methods the way
// TestMethods checks the others: method, path and idempotency key.
func TestMethods_Registry(t *testing.T) {
	type seen struct{ method, path, idemKey string }
	var mu sync.Mutex
	var last seen
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = seen{r.Method, r.URL.EscapedPath(), r.Header.Get(api.HeaderIdempotencyKey)}
		mu.Unlock()
		switch r.Method {
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"metadata":{"name":"x"}}`))
		default:
			_, _ = w.Write([]byte(`{"metadata":{"name":"x"},"items":[]}`))
		}
	})
	ctx := context.Background()
	opts := api.ListOptions{}
	for _, tc := range []struct {
		name   string
		call   func() error
		method string
		path   string
	}{
		{"CreateModel", func() error { _, err := c.CreateModel(ctx, "dev", "churn", api.ModelSpec{}); return err }, "POST", "/v1/environments/dev/models"},
		{"GetModel", func() error { _, err := c.GetModel(ctx, "dev", "churn"); return err }, "GET", "/v1/environments/dev/models/churn"},
		{"UpdateModel", func() error { _, err := c.UpdateModel(ctx, "dev", "churn", api.ModelSpec{}, ""); return err }, "PUT", "/v1/environments/dev/models/churn"},
		{"DeleteModel", func() error { _, err := c.DeleteModel(ctx, "dev", "churn"); return err }, "DELETE", "/v1/environments/dev/models/churn"},
		{"ListModels", func() error { _, err := c.ListModels(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/models"},

		{"CreateModelVersion", func() error {
			_, err := c.CreateModelVersion(ctx, "dev", "churn-1", api.ModelVersionSpec{})
			return err
		}, "POST", "/v1/environments/dev/model-versions"},
		{"GetModelVersion", func() error { _, err := c.GetModelVersion(ctx, "dev", "churn-1"); return err }, "GET", "/v1/environments/dev/model-versions/churn-1"},
		{"UpdateModelVersion", func() error {
			_, err := c.UpdateModelVersion(ctx, "dev", "churn-1", api.ModelVersionSpec{}, "")
			return err
		}, "PUT", "/v1/environments/dev/model-versions/churn-1"},
		{"DeleteModelVersion", func() error { _, err := c.DeleteModelVersion(ctx, "dev", "churn-1"); return err }, "DELETE", "/v1/environments/dev/model-versions/churn-1"},
		{"ListModelVersions", func() error { _, err := c.ListModelVersions(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/model-versions"},
		{"ListAllModelVersions", func() error { _, err := c.ListAllModelVersions(ctx, "dev"); return err }, "GET", "/v1/environments/dev/model-versions"},

		{"CreateModelAlias", func() error {
			_, err := c.CreateModelAlias(ctx, "dev", "champion", api.ModelAliasSpec{})
			return err
		}, "POST", "/v1/environments/dev/model-aliases"},
		{"GetModelAlias", func() error { _, err := c.GetModelAlias(ctx, "dev", "champion"); return err }, "GET", "/v1/environments/dev/model-aliases/champion"},
		{"UpdateModelAlias", func() error {
			_, err := c.UpdateModelAlias(ctx, "dev", "champion", api.ModelAliasSpec{}, "")
			return err
		}, "PUT", "/v1/environments/dev/model-aliases/champion"},
		{"DeleteModelAlias", func() error { _, err := c.DeleteModelAlias(ctx, "dev", "champion"); return err }, "DELETE", "/v1/environments/dev/model-aliases/champion"},
		{"ListModelAliases", func() error { _, err := c.ListModelAliases(ctx, "dev", opts); return err }, "GET", "/v1/environments/dev/model-aliases"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			got := last
			mu.Unlock()
			if got.method != tc.method || got.path != tc.path {
				t.Errorf("sent %s %s, want %s %s", got.method, got.path, tc.method, tc.path)
			}
			if isWrite := tc.method != http.MethodGet; isWrite != (got.idemKey != "") {
				t.Errorf("Idempotency-Key = %q on %s", got.idemKey, got.method)
			}
		})
	}
}

// TestListAllModelVersions checks that every page is read, in order.
func TestListAllModelVersions(t *testing.T) {
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Get("limit"); got != strconv.Itoa(api.MaxPageSize) {
			t.Errorf("limit = %q, want the largest page", got)
		}
		switch r.URL.Query().Get("page_token") {
		case "":
			writeJSON(t, w, http.StatusOK, api.ModelVersionList{
				Items:         []api.ModelVersion{{Metadata: api.Metadata{Name: "a"}}, {Metadata: api.Metadata{Name: "b"}}},
				NextPageToken: "p2",
			})
		case "p2":
			writeJSON(t, w, http.StatusOK, api.ModelVersionList{Items: []api.ModelVersion{{Metadata: api.Metadata{Name: "c"}}}})
		default:
			t.Errorf("unexpected page token %q", r.URL.Query().Get("page_token"))
		}
	})
	all, err := c.ListAllModelVersions(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range all {
		names = append(names, v.Metadata.Name)
	}
	if len(names) != 3 || names[0] != "a" || names[2] != "c" {
		t.Errorf("names = %q, want a b c", names)
	}
}

// TestDeleteModelForce checks that force is sent as the force query
// parameter, and only when asked for.
func TestDeleteModelForce(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	ctx := context.Background()
	if _, err := c.DeleteModel(ctx, "dev", "churn"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteModelForce(ctx, "dev", "churn"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteModelWithOptions(ctx, "dev", "churn", DeleteModelOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"DELETE /v1/environments/dev/models/churn?",
		"DELETE /v1/environments/dev/models/churn?force=true",
		"DELETE /v1/environments/dev/models/churn?force=true",
	}
	if strings.Join(queries, "\n") != strings.Join(want, "\n") {
		t.Errorf("sent\n%s\nwant\n%s", strings.Join(queries, "\n"), strings.Join(want, "\n"))
	}
}
