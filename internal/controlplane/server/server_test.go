package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// These tests speak plain HTTP (net/http, no internal/client) to a real
// control plane: startServer runs the real server, store and reconcilers,
// on SQLite and then again on PostgreSQL (see backends_test.go).

// apiClient sends requests to one test control plane.
type apiClient struct {
	tb    testing.TB
	base  string
	token string
	http  *http.Client
	// srv is the control plane, for tests that look at its store.
	srv *mlopsdtest.Server
}

// response is a fully read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// MustStart starts a control plane for the test and returns a client of it.
func MustStart(tb testing.TB, opts ...mlopsdtest.Option) *apiClient {
	tb.Helper()
	srv := startServer(tb, opts...)
	return &apiClient{tb: tb, base: srv.URL, http: &http.Client{Timeout: 30 * time.Second}, srv: srv}
}

// do sends one request. body is nil (no body), a string or []byte (sent as
// is) or any other value (sent as JSON). headers are name, value pairs.
func (c *apiClient) do(method, path string, body any, headers ...string) response {
	c.tb.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(b)
	case []byte:
		rdr = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.tb.Fatalf("encoding request body: %v", err)
		}
		rdr = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rdr)
	if err != nil {
		c.tb.Fatalf("building %s %s: %v", method, path, err)
	}
	if rdr != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if len(headers)%2 != 0 {
		c.tb.Fatalf("headers must be name, value pairs: %q", headers)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// must sends a request and fails the test unless the status is want.
func (c *apiClient) must(want int, method, path string, body any, headers ...string) response {
	c.tb.Helper()
	r := c.do(method, path, body, headers...)
	if r.Status != want {
		c.tb.Fatalf("%s %s = %s, want status %d", method, path, r, want)
	}
	return r
}

// waitFor polls GET path every few milliseconds until done accepts the
// response, and fails the test after timeout.
func (c *apiClient) waitFor(path string, timeout time.Duration, done func(response) bool) response {
	c.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := c.do(http.MethodGet, path, nil)
		if done(r) {
			return r
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("GET %s: condition not met after %v; last response %s", path, timeout, r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// decode decodes a JSON body into a T.
func decode[T any](tb testing.TB, r response) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		tb.Fatalf("decoding %T from %s: %v", v, r, err)
	}
	return v
}

// wantError checks that r is an API error with the given status, code and
// field, and returns it.
func wantError(tb testing.TB, r response, status int, code, field string) api.Error {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status = %s, want %d %s (field %q)", r, status, code, field)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type = %q, want application/json", ct)
	}
	e := decode[api.Error](tb, r)
	if e.Code != code || e.Field != field {
		tb.Fatalf("error = {code %q, field %q, message %q}, want code %q field %q", e.Code, e.Field, e.Message, code, field)
	}
	if e.Message == "" {
		tb.Errorf("error %q on %q has no message", e.Code, e.Field)
	}
	return e
}

func ptr[T any](v T) *T { return &v }

func envPath(name string) string { return "/v1/environments/" + name }

func objPath(env, kind, name string) string {
	p := "/v1/environments/" + env + "/" + kind
	if name != "" {
		p += "/" + name
	}
	return p
}

func createEnv(c *apiClient, name string, spec api.EnvironmentSpec) api.Environment {
	c.tb.Helper()
	r := c.must(http.StatusCreated, http.MethodPost, "/v1/environments", api.CreateEnvironmentRequest{Name: name, Spec: spec})
	return decode[api.Environment](c.tb, r)
}

func createPool(c *apiClient, env, name string, spec api.ComputePoolSpec) api.ComputePool {
	c.tb.Helper()
	r := c.must(http.StatusCreated, http.MethodPost, objPath(env, api.KindComputePool, ""), api.CreateComputePoolRequest{Name: name, Spec: spec})
	return decode[api.ComputePool](c.tb, r)
}

func gpuPool(accelerator string, count, minNodes, maxNodes int64) api.ComputePoolSpec {
	return api.ComputePoolSpec{AcceleratorType: accelerator, AcceleratorCount: count, MinNodes: minNodes, MaxNodes: maxNodes}
}

func featureGroupSpec(store string, features ...api.Feature) api.FeatureGroupSpec {
	return api.FeatureGroupSpec{
		FeatureStore: store,
		Entities:     []api.Entity{{Name: "customer_id", ValueType: api.ValueTypeString}},
		Features:     features,
		Online:       true,
	}
}

var hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestEnvironment_CRUD(t *testing.T) {
	t.Parallel()
	c := MustStart(t)

	var created api.Environment
	t.Run("Create", func(t *testing.T) {
		r := c.must(http.StatusCreated, http.MethodPost, "/v1/environments", api.CreateEnvironmentRequest{
			Name: "dev",
			Spec: api.EnvironmentSpec{Description: "development", Labels: map[string]string{"team": "ml"}},
		})
		created = decode[api.Environment](t, r)
		m := created.Metadata
		if m.Name != "dev" || m.UID == "" || m.Generation != 1 || m.ETag == "" || m.Environment != "" {
			t.Fatalf("metadata = %+v, want name dev, a uid, generation 1 and an etag", m)
		}
		if got, want := r.Header.Get(api.HeaderETag), `"`+m.ETag+`"`; got != want {
			t.Errorf("ETag header = %q, want %q", got, want)
		}
		if m.CreatedAt.IsZero() || m.UpdatedAt.IsZero() {
			t.Errorf("timestamps not set: %+v", m)
		}
		if created.Spec.Description != "development" || created.Spec.Labels["team"] != "ml" {
			t.Errorf("spec = %+v", created.Spec)
		}
		if !created.Status.Settled(1) {
			t.Errorf("a new environment's status = %+v, want settled at generation 1", created.Status)
		}
	})

	t.Run("Get", func(t *testing.T) {
		r := c.must(http.StatusOK, http.MethodGet, envPath("dev"), nil)
		got := decode[api.Environment](t, r)
		if got.Metadata.UID != created.Metadata.UID || got.Metadata.ETag != created.Metadata.ETag || got.Metadata.Generation != 1 {
			t.Errorf("GET metadata = %+v, want %+v", got.Metadata, created.Metadata)
		}
		if r.Header.Get(api.HeaderETag) != `"`+created.Metadata.ETag+`"` {
			t.Errorf("ETag header = %q", r.Header.Get(api.HeaderETag))
		}
	})

	var updated api.Environment
	t.Run("UpdateWithMatchingIfMatch", func(t *testing.T) {
		etag := c.do(http.MethodGet, envPath("dev"), nil).Header.Get(api.HeaderETag)
		r := c.must(http.StatusOK, http.MethodPut, envPath("dev"),
			api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Description: "dev v2"}}, api.HeaderIfMatch, etag)
		updated = decode[api.Environment](t, r)
		if updated.Metadata.Generation != 2 || updated.Metadata.UID != created.Metadata.UID {
			t.Errorf("after update metadata = %+v, want generation 2 and the same uid", updated.Metadata)
		}
		if updated.Metadata.ETag == created.Metadata.ETag {
			t.Errorf("etag did not change with the spec: %q", updated.Metadata.ETag)
		}
		if updated.Spec.Description != "dev v2" || updated.Spec.Labels != nil {
			t.Errorf("spec = %+v, want the new spec in full (PUT replaces)", updated.Spec)
		}
	})

	t.Run("UpdateWithStaleIfMatch", func(t *testing.T) {
		r := c.do(http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Description: "lost update"}},
			api.HeaderIfMatch, `"`+created.Metadata.ETag+`"`)
		wantError(t, r, http.StatusConflict, api.ECONFLICT, "")
		got := decode[api.Environment](t, c.must(http.StatusOK, http.MethodGet, envPath("dev"), nil))
		if got.Spec.Description != "dev v2" || got.Metadata.Generation != 2 {
			t.Errorf("a refused update changed the object: %+v", got)
		}
	})

	t.Run("UpdateWithSameSpecKeepsGeneration", func(t *testing.T) {
		r := c.must(http.StatusOK, http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Description: "dev v2"}})
		got := decode[api.Environment](t, r)
		if got.Metadata.Generation != 2 || got.Metadata.ETag != updated.Metadata.ETag {
			t.Errorf("same spec: metadata = %+v, want generation 2 and etag %q", got.Metadata, updated.Metadata.ETag)
		}
	})

	t.Run("IfMatchForms", func(t *testing.T) {
		etag := decode[api.Environment](t, c.do(http.MethodGet, envPath("dev"), nil)).Metadata.ETag
		// Weak and unquoted forms of the current etag, and "*", all match.
		for i, form := range []func(string) string{
			func(e string) string { return `W/"` + e + `"` },
			func(e string) string { return e },
			func(string) string { return "*" },
		} {
			ifMatch := form(etag)
			desc := fmt.Sprintf("v%d", 3+i)
			r := c.do(http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Description: desc}}, api.HeaderIfMatch, ifMatch)
			if r.Status != http.StatusOK {
				t.Fatalf("If-Match %q: %s", ifMatch, r)
			}
			etag = decode[api.Environment](t, r).Metadata.ETag
		}
	})

	t.Run("Delete", func(t *testing.T) {
		r := c.must(http.StatusNoContent, http.MethodDelete, envPath("dev"), nil)
		if len(r.Body) != 0 {
			t.Errorf("204 with a body: %q", r.Body)
		}
		wantError(t, c.do(http.MethodGet, envPath("dev"), nil), http.StatusNotFound, api.ENOTFOUND, "")
		// Deleting what is gone succeeds, so destroy is idempotent.
		c.must(http.StatusNoContent, http.MethodDelete, envPath("dev"), nil)
	})
}

func TestList_Pagination(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	names := []string{"e1", "a1", "d1", "b1", "c1"}
	for _, n := range names {
		createEnv(c, n, api.EnvironmentSpec{})
	}

	t.Run("PagesInNameOrder", func(t *testing.T) {
		var got []string
		token := ""
		for page := 0; ; page++ {
			if page > len(names) {
				t.Fatalf("more pages than objects; tokens do not advance (got %q)", got)
			}
			path := "/v1/environments?limit=2"
			if token != "" {
				path += "&page_token=" + token
			}
			l := decode[api.EnvironmentList](t, c.must(http.StatusOK, http.MethodGet, path, nil))
			if len(l.Items) > 2 {
				t.Fatalf("page %d has %d items, limit was 2", page, len(l.Items))
			}
			if page < 2 && (len(l.Items) != 2 || l.NextPageToken == "") {
				t.Fatalf("page %d = %d items, token %q; want 2 items and a token", page, len(l.Items), l.NextPageToken)
			}
			for _, e := range l.Items {
				got = append(got, e.Metadata.Name)
				if e.Metadata.UID == "" || e.Metadata.Generation != 1 {
					t.Errorf("listed item metadata = %+v", e.Metadata)
				}
			}
			if l.NextPageToken == "" {
				break
			}
			token = l.NextPageToken
		}
		want := []string{"a1", "b1", "c1", "d1", "e1"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("listed %q, want %q", got, want)
		}
	})

	t.Run("DefaultLimit", func(t *testing.T) {
		l := decode[api.EnvironmentList](t, c.must(http.StatusOK, http.MethodGet, "/v1/environments", nil))
		if len(l.Items) != 5 || l.NextPageToken != "" {
			t.Errorf("list = %d items, token %q; want 5 and none", len(l.Items), l.NextPageToken)
		}
	})

	t.Run("EmptyListIsAnArray", func(t *testing.T) {
		r := c.must(http.StatusOK, http.MethodGet, objPath("a1", api.KindComputePool, ""), nil)
		if !bytes.Contains(r.Body, []byte(`"items":[]`)) {
			t.Errorf("empty list = %s, want items []", r.Body)
		}
	})

	for _, tc := range []struct{ name, query, field string }{
		{"BadPageToken", "page_token=not-a-token!", "page_token"},
		{"ForgedPageToken", "page_token=Zm9vYmFy====", "page_token"},
		{"ZeroLimit", "limit=0", "limit"},
		{"NegativeLimit", "limit=-1", "limit"},
		{"HugeLimit", "limit=1001", "limit"},
		{"NonNumericLimit", "limit=ten", "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, c.do(http.MethodGet, "/v1/environments?"+tc.query, nil), http.StatusBadRequest, api.EINVALID, tc.field)
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	body := api.CreateEnvironmentRequest{Name: "dev", Spec: api.EnvironmentSpec{Description: "once"}}

	first := c.must(http.StatusCreated, http.MethodPost, "/v1/environments", body, api.HeaderIdempotencyKey, "key-1")
	if first.Header.Get(api.HeaderIdempotentReplay) != "" {
		t.Errorf("first request marked as a replay")
	}
	second := c.must(http.StatusCreated, http.MethodPost, "/v1/environments", body, api.HeaderIdempotencyKey, "key-1")
	if got := second.Header.Get(api.HeaderIdempotentReplay); got != "true" {
		t.Errorf("retry: %s header = %q, want true", api.HeaderIdempotentReplay, got)
	}
	a, b := decode[api.Environment](t, first), decode[api.Environment](t, second)
	if a.Metadata.UID != b.Metadata.UID || a.Metadata.ETag != b.Metadata.ETag {
		t.Errorf("retry returned another object: %+v vs %+v", a.Metadata, b.Metadata)
	}
	if l := decode[api.EnvironmentList](t, c.must(http.StatusOK, http.MethodGet, "/v1/environments", nil)); len(l.Items) != 1 {
		t.Errorf("%d environments after a retried create, want 1", len(l.Items))
	}

	t.Run("SameKeyOtherBody", func(t *testing.T) {
		other := api.CreateEnvironmentRequest{Name: "dev", Spec: api.EnvironmentSpec{Description: "twice"}}
		wantError(t, c.do(http.MethodPost, "/v1/environments", other, api.HeaderIdempotencyKey, "key-1"), http.StatusConflict, api.ECONFLICT, "")
	})

	t.Run("SameKeyOtherPath", func(t *testing.T) {
		wantError(t, c.do(http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{}, api.HeaderIdempotencyKey, "key-1"), http.StatusConflict, api.ECONFLICT, "")
	})

	t.Run("FormattingDoesNotMatter", func(t *testing.T) {
		// The fingerprint is over the canonical body, so a retry that
		// serializes the same request differently is still a retry.
		raw := `{ "spec": {"description":"once"},  "name": "dev" }`
		r := c.must(http.StatusCreated, http.MethodPost, "/v1/environments", raw, api.HeaderIdempotencyKey, "key-1")
		if r.Header.Get(api.HeaderIdempotentReplay) != "true" {
			t.Errorf("reformatted retry not replayed")
		}
	})

	t.Run("RetriedUpdate", func(t *testing.T) {
		upd := api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Description: "v2"}}
		r1 := c.must(http.StatusOK, http.MethodPut, envPath("dev"), upd, api.HeaderIdempotencyKey, "key-2")
		// Someone else changes the object in between; the retry must not
		// apply the old request again on top of it.
		c.must(http.StatusOK, http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Description: "v3"}})
		r2 := c.must(http.StatusOK, http.MethodPut, envPath("dev"), upd, api.HeaderIdempotencyKey, "key-2")
		if r2.Header.Get(api.HeaderIdempotentReplay) != "true" {
			t.Errorf("retried update not replayed")
		}
		if g1, g2 := decode[api.Environment](t, r1).Metadata.Generation, decode[api.Environment](t, r2).Metadata.Generation; g1 != 2 || g2 != 2 {
			t.Errorf("generations %d and %d, want the first result (2) twice", g1, g2)
		}
		got := decode[api.Environment](t, c.must(http.StatusOK, http.MethodGet, envPath("dev"), nil))
		if got.Spec.Description != "v3" || got.Metadata.Generation != 3 {
			t.Errorf("after the replay the object is %+v, want v3 at generation 3", got)
		}
	})

	t.Run("RetriedDelete", func(t *testing.T) {
		createEnv(c, "tmp", api.EnvironmentSpec{})
		c.must(http.StatusNoContent, http.MethodDelete, envPath("tmp"), nil, api.HeaderIdempotencyKey, "key-3")
		r := c.must(http.StatusNoContent, http.MethodDelete, envPath("tmp"), nil, api.HeaderIdempotencyKey, "key-3")
		if r.Header.Get(api.HeaderIdempotentReplay) != "true" {
			t.Errorf("retried delete not replayed")
		}
	})

	t.Run("KeyTooLong", func(t *testing.T) {
		r := c.do(http.MethodPost, "/v1/environments", api.CreateEnvironmentRequest{Name: "x", Spec: api.EnvironmentSpec{}},
			api.HeaderIdempotencyKey, strings.Repeat("k", 201))
		wantError(t, r, http.StatusBadRequest, api.EINVALID, api.HeaderIdempotencyKey)
	})

	t.Run("ConcurrentRetriesCreateOnce", func(t *testing.T) {
		const n = 8
		var wg sync.WaitGroup
		uids := make([]string, n)
		for i := range n {
			wg.Go(func() {
				r := c.do(http.MethodPost, "/v1/environments", api.CreateEnvironmentRequest{Name: "burst", Spec: api.EnvironmentSpec{}},
					api.HeaderIdempotencyKey, "key-burst")
				if r.Status != http.StatusCreated {
					t.Errorf("request %d: %s", i, r)
					return
				}
				uids[i] = decode[api.Environment](t, r).Metadata.UID
			})
		}
		wg.Wait()
		for i := range uids {
			if uids[i] != uids[0] {
				t.Errorf("uids differ: %q", uids)
				break
			}
		}
	})
}

// validationFixture is an environment "dev" with a GPU policy (16 GPUs,
// a100 or l4) holding pool "gpu" (a100 × 4, max 2 nodes: 8 GPUs), feature
// store "fs" and feature group "fg" (features age int64, score float64).
func validationFixture(t *testing.T) *apiClient {
	t.Helper()
	c := MustStart(t)
	createEnv(c, "dev", api.EnvironmentSpec{Policy: api.EnvironmentPolicy{
		MaxGPUs:                 ptr(int64(16)),
		AllowedAcceleratorTypes: []string{"nvidia-a100", "nvidia-l4"},
	}})
	createPool(c, "dev", "gpu", gpuPool("nvidia-a100", 4, 0, 2))
	c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindFeatureStore, ""), api.CreateFeatureStoreRequest{Name: "fs"})
	c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindFeatureGroup, ""), api.CreateFeatureGroupRequest{
		Name: "fg",
		Spec: featureGroupSpec("fs", api.Feature{Name: "age", ValueType: api.ValueTypeInt64}, api.Feature{Name: "score", ValueType: api.ValueTypeFloat64}),
	})
	return c
}

func TestValidation_RejectsWithField(t *testing.T) {
	t.Parallel()
	c := validationFixture(t)
	audit := func() int {
		return len(decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit?limit=1000", nil)).Items)
	}
	auditBefore := audit()

	pools := objPath("dev", api.KindComputePool, "")
	fgs := objPath("dev", api.KindFeatureGroup, "")
	fg := func(features ...api.Feature) api.UpdateFeatureGroupRequest {
		return api.UpdateFeatureGroupRequest{Spec: featureGroupSpec("fs", features...)}
	}
	age := api.Feature{Name: "age", ValueType: api.ValueTypeInt64}
	score := api.Feature{Name: "score", ValueType: api.ValueTypeFloat64}

	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		headers      []string
		status       int
		code, field  string
		// message, when set, must occur in the error message.
		message string
	}{
		{name: "BadJSON", method: "POST", path: "/v1/environments", body: `{"name":`, status: 400, code: api.EINVALID, field: ""},
		{name: "BodyNotAnObject", method: "POST", path: "/v1/environments", body: `[]`, status: 400, code: api.EINVALID, field: ""},
		{name: "NameOfWrongType", method: "POST", path: "/v1/environments", body: `{"name":5,"spec":{}}`, status: 400, code: api.EINVALID, field: "name"},
		{name: "MissingSpec", method: "POST", path: "/v1/environments", body: `{"name":"x"}`, status: 400, code: api.EINVALID, field: "spec"},
		{name: "SpecNotAnObject", method: "POST", path: "/v1/environments", body: `{"name":"x","spec":[1]}`, status: 400, code: api.EINVALID, field: "spec"},
		{name: "UnknownSpecField", method: "POST", path: "/v1/environments", body: `{"name":"x","spec":{"colour":"red"}}`, status: 400, code: api.EINVALID, field: "spec.colour", message: "unknown field"},
		{name: "UnknownNestedField", method: "POST", path: "/v1/environments", body: `{"name":"x","spec":{"policy":{"max_gpu":1}}}`, status: 400, code: api.EINVALID, field: "spec.policy.max_gpu"},
		{name: "NestedTypeError", method: "POST", path: "/v1/environments", body: `{"name":"x","spec":{"policy":{"max_gpus":"many"}}}`, status: 400, code: api.EINVALID, field: "spec.policy.max_gpus"},
		{name: "TypeErrorInList", method: "POST", path: fgs,
			body:   `{"name":"x","spec":{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":[{"name":"a","value_type":"bool"},{"name":"b","value_type":5}],"online":true}}`,
			status: 400, code: api.EINVALID, field: "spec.features[1].value_type"},
		{name: "FractionalInteger", method: "POST", path: pools, body: `{"name":"x","spec":{"max_nodes":1.5}}`, status: 400, code: api.EINVALID, field: "spec.max_nodes"},
		{name: "InvalidName", method: "POST", path: "/v1/environments", body: api.CreateEnvironmentRequest{Name: "Dev_1"}, status: 400, code: api.EINVALID, field: "name"},
		{name: "EmptyName", method: "POST", path: "/v1/environments", body: `{"spec":{}}`, status: 400, code: api.EINVALID, field: "name"},
		{name: "NameEndsWithDash", method: "POST", path: pools, body: api.CreateComputePoolRequest{Name: "gpu-", Spec: gpuPool("none", 0, 0, 1)}, status: 400, code: api.EINVALID, field: "name"},
		{name: "DuplicateName", method: "POST", path: "/v1/environments", body: api.CreateEnvironmentRequest{Name: "dev"}, status: 409, code: api.EALREADYEXISTS, field: "name"},
		{name: "InvalidEnvironmentInPath", method: "POST", path: objPath("Dev", api.KindComputePool, ""), body: api.CreateComputePoolRequest{Name: "p", Spec: gpuPool("none", 0, 0, 1)}, status: 400, code: api.EINVALID, field: "environment"},
		{name: "PoolInMissingEnvironment", method: "POST", path: objPath("nope", api.KindComputePool, ""), body: api.CreateComputePoolRequest{Name: "p", Spec: gpuPool("none", 0, 0, 1)}, status: 400, code: api.EINVALID, field: "environment", message: "create it first"},
		{name: "FeatureStoreInMissingEnvironment", method: "POST", path: objPath("nope", api.KindFeatureStore, ""), body: api.CreateFeatureStoreRequest{Name: "fs"}, status: 400, code: api.EINVALID, field: "environment"},
		{name: "MinAboveMax", method: "POST", path: pools, body: api.CreateComputePoolRequest{Name: "p", Spec: gpuPool("none", 0, 3, 2)}, status: 400, code: api.EINVALID, field: "spec.min_nodes"},
		{name: "MaxNodesZero", method: "POST", path: pools, body: api.CreateComputePoolRequest{Name: "p", Spec: gpuPool("none", 0, 0, 0)}, status: 400, code: api.EINVALID, field: "spec.max_nodes"},
		{name: "CountWithoutAccelerator", method: "POST", path: pools, body: api.CreateComputePoolRequest{Name: "p", Spec: gpuPool("none", 2, 0, 1)}, status: 400, code: api.EINVALID, field: "spec.accelerator_count"},
		{name: "UnknownDriver", method: "POST", path: pools, body: api.CreateComputePoolRequest{Name: "p", Spec: api.ComputePoolSpec{Driver: "k8s", MaxNodes: 1}}, status: 400, code: api.EINVALID, field: "spec.driver"},
		{name: "GPUQuotaExceeded", method: "POST", path: pools, body: api.CreateComputePoolRequest{Name: "big", Spec: gpuPool("nvidia-a100", 4, 0, 3)}, status: 400, code: api.EINVALID, field: "spec.max_nodes", message: "max_gpus"},
		{name: "GPUQuotaExceededOnUpdate", method: "PUT", path: objPath("dev", api.KindComputePool, "gpu"), body: api.UpdateComputePoolRequest{Spec: gpuPool("nvidia-a100", 4, 0, 5)}, status: 400, code: api.EINVALID, field: "spec.max_nodes"},
		{name: "AcceleratorNotAllowed", method: "POST", path: pools, body: api.CreateComputePoolRequest{Name: "h", Spec: gpuPool("nvidia-h100", 1, 0, 1)}, status: 400, code: api.EINVALID, field: "spec.accelerator_type", message: "not allowed"},
		{name: "ImmutableAcceleratorType", method: "PUT", path: objPath("dev", api.KindComputePool, "gpu"), body: api.UpdateComputePoolRequest{Spec: gpuPool("nvidia-l4", 4, 0, 2)}, status: 400, code: api.EINVALID, field: "spec.accelerator_type", message: "replace"},
		{name: "ImmutableAcceleratorCount", method: "PUT", path: objPath("dev", api.KindComputePool, "gpu"), body: api.UpdateComputePoolRequest{Spec: gpuPool("nvidia-a100", 2, 0, 2)}, status: 400, code: api.EINVALID, field: "spec.accelerator_count"},
		{name: "ImmutableSpot", method: "PUT", path: objPath("dev", api.KindComputePool, "gpu"), body: `{"spec":{"accelerator_type":"nvidia-a100","accelerator_count":4,"max_nodes":2,"spot":true}}`, status: 400, code: api.EINVALID, field: "spec.spot"},
		{name: "PolicyBelowUsage", method: "PUT", path: envPath("dev"), body: api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Policy: api.EnvironmentPolicy{MaxGPUs: ptr(int64(4))}}}, status: 400, code: api.EINVALID, field: "spec.policy.max_gpus", message: "already use 8"},
		{name: "PolicyDropsUsedAccelerator", method: "PUT", path: envPath("dev"), body: api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Policy: api.EnvironmentPolicy{AllowedAcceleratorTypes: []string{"nvidia-l4"}}}}, status: 400, code: api.EINVALID, field: "spec.policy.allowed_accelerator_types"},
		{name: "PolicyDuplicateAccelerator", method: "PUT", path: envPath("dev"), body: api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Policy: api.EnvironmentPolicy{AllowedAcceleratorTypes: []string{"nvidia-a100", "nvidia-a100"}}}}, status: 400, code: api.EINVALID, field: "spec.policy.allowed_accelerator_types[1]"},
		{name: "BadLabelKey", method: "PUT", path: envPath("dev"), body: api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Labels: map[string]string{"Team": "x"}}}, status: 400, code: api.EINVALID, field: `spec.labels["Team"]`},
		{name: "UnknownFeatureStore", method: "POST", path: fgs, body: api.CreateFeatureGroupRequest{Name: "g2", Spec: featureGroupSpec("nope", age)}, status: 400, code: api.EINVALID, field: "spec.feature_store", message: "does not exist"},
		{name: "FeatureRemoved", method: "PUT", path: objPath("dev", api.KindFeatureGroup, "fg"), body: fg(age), status: 400, code: api.EINVALID, field: "spec.features", message: `"score"`},
		{name: "FeatureRetyped", method: "PUT", path: objPath("dev", api.KindFeatureGroup, "fg"),
			body:   fg(age, api.Feature{Name: "clicks", ValueType: api.ValueTypeInt64}, api.Feature{Name: "score", ValueType: api.ValueTypeString}),
			status: 400, code: api.EINVALID, field: "spec.features[2].value_type"},
		{name: "EntityChanged", method: "PUT", path: objPath("dev", api.KindFeatureGroup, "fg"),
			body:   api.UpdateFeatureGroupRequest{Spec: api.FeatureGroupSpec{FeatureStore: "fs", Entities: []api.Entity{{Name: "user_id", ValueType: api.ValueTypeString}}, Features: []api.Feature{age, score}, Online: true}},
			status: 400, code: api.EINVALID, field: "spec.entities[0]"},
		{name: "FeatureStoreChanged", method: "PUT", path: objPath("dev", api.KindFeatureGroup, "fg"), body: api.UpdateFeatureGroupRequest{Spec: featureGroupSpec("other", age, score)}, status: 400, code: api.EINVALID, field: "spec.feature_store"},
		{name: "DuplicateFeature", method: "POST", path: fgs, body: api.CreateFeatureGroupRequest{Name: "g2", Spec: featureGroupSpec("fs", age, age)}, status: 400, code: api.EINVALID, field: "spec.features[1].name"},
		{name: "NeitherOnlineNorOffline", method: "POST", path: fgs, body: api.CreateFeatureGroupRequest{Name: "g2", Spec: api.FeatureGroupSpec{FeatureStore: "fs", Entities: []api.Entity{{Name: "id", ValueType: "string"}}, Features: []api.Feature{age}}}, status: 400, code: api.EINVALID, field: "spec.offline"},
		{name: "OfflineStoreURIImmutable", method: "PUT", path: objPath("dev", api.KindFeatureStore, "fs"), body: api.UpdateFeatureStoreRequest{Spec: api.FeatureStoreSpec{OfflineStoreURI: "file:///elsewhere"}}, status: 400, code: api.EINVALID, field: "spec.offline_store_uri"},
		{name: "UpdateMissing", method: "PUT", path: envPath("nope"), body: api.UpdateEnvironmentRequest{}, status: 404, code: api.ENOTFOUND, field: ""},
		{name: "GetMissing", method: "GET", path: objPath("dev", api.KindComputePool, "nope"), status: 404, code: api.ENOTFOUND, field: ""},
		{name: "StaleIfMatchOnDelete", method: "DELETE", path: objPath("dev", api.KindComputePool, "gpu"), headers: []string{api.HeaderIfMatch, `"0000"`}, status: 409, code: api.ECONFLICT, field: ""},
		{name: "DeleteEnvironmentWithChildren", method: "DELETE", path: envPath("dev"), status: 409, code: api.ECONFLICT, field: "", message: "compute-pools/gpu"},
		{name: "DeleteFeatureStoreWithGroups", method: "DELETE", path: objPath("dev", api.KindFeatureStore, "fs"), status: 409, code: api.ECONFLICT, field: "", message: "feature-groups/fg"},
		{name: "AuditBadAfterSeq", method: "GET", path: "/v1/audit?after_seq=-1", status: 400, code: api.EINVALID, field: "after_seq"},
		{name: "AuditBadLimit", method: "GET", path: "/v1/audit?limit=0", status: 400, code: api.EINVALID, field: "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(tc.method, tc.path, tc.body, tc.headers...)
			e := wantError(t, r, tc.status, tc.code, tc.field)
			if tc.message != "" && !strings.Contains(e.Message, tc.message) {
				t.Errorf("message %q does not mention %q", e.Message, tc.message)
			}
		})
	}

	// Refused writes leave no trace.
	if after := audit(); after != auditBefore {
		t.Errorf("audit records went from %d to %d over refused writes", auditBefore, after)
	}
	pool := decode[api.ComputePool](t, c.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindComputePool, "gpu"), nil))
	if pool.Metadata.Generation != 1 || pool.Metadata.DeletionRequestedAt != nil {
		t.Errorf("pool changed by refused writes: %+v", pool.Metadata)
	}
}

func TestValidation_InPlaceChanges(t *testing.T) {
	t.Parallel()
	c := validationFixture(t)
	path := objPath("dev", api.KindFeatureGroup, "fg")
	before := decode[api.FeatureGroup](t, c.must(http.StatusOK, http.MethodGet, path, nil))

	t.Run("AddFeature", func(t *testing.T) {
		spec := featureGroupSpec("fs",
			api.Feature{Name: "score", ValueType: api.ValueTypeFloat64, Description: "reordered, described"},
			api.Feature{Name: "age", ValueType: api.ValueTypeInt64},
			api.Feature{Name: "clicks", ValueType: api.ValueTypeInt64})
		r := c.must(http.StatusOK, http.MethodPut, path, api.UpdateFeatureGroupRequest{Spec: spec}, api.HeaderIfMatch, before.Metadata.ETag)
		got := decode[api.FeatureGroup](t, r)
		if got.Metadata.UID != before.Metadata.UID || got.Metadata.Generation != 2 {
			t.Errorf("metadata = %+v, want the same uid at generation 2", got.Metadata)
		}
		if len(got.Spec.Features) != 3 || got.Spec.Features[2].Name != "clicks" {
			t.Errorf("features = %+v", got.Spec.Features)
		}
	})

	t.Run("RaiseGPUQuotaThenGrowPool", func(t *testing.T) {
		c.must(http.StatusOK, http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Policy: api.EnvironmentPolicy{
			MaxGPUs: ptr(int64(20)), AllowedAcceleratorTypes: []string{"nvidia-a100", "nvidia-l4"},
		}}})
		r := c.must(http.StatusOK, http.MethodPut, objPath("dev", api.KindComputePool, "gpu"), api.UpdateComputePoolRequest{Spec: gpuPool("nvidia-a100", 4, 0, 5)})
		if got := decode[api.ComputePool](t, r); got.Metadata.Generation != 2 || got.Spec.MaxNodes != 5 {
			t.Errorf("pool = %+v", got)
		}
		// Exactly at the cap is allowed; the pool itself is not counted twice.
		c.must(http.StatusOK, http.MethodPut, objPath("dev", api.KindComputePool, "gpu"), api.UpdateComputePoolRequest{Spec: gpuPool("nvidia-a100", 4, 1, 5)})
	})

	t.Run("DefaultsAreFilled", func(t *testing.T) {
		r := c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindComputePool, ""), `{"name":"cpu","spec":{"max_nodes":1}}`)
		got := decode[api.ComputePool](t, r)
		want := api.ComputePoolSpec{Driver: api.DriverLocal, AcceleratorType: "none", CPUPerNode: 4, MemoryGiBPerNode: 16, MaxNodes: 1}
		if got.Spec != want {
			t.Errorf("spec = %+v, want %+v", got.Spec, want)
		}
		// Sending the defaults explicitly is the same spec: no new generation.
		r = c.must(http.StatusOK, http.MethodPut, objPath("dev", api.KindComputePool, "cpu"), api.UpdateComputePoolRequest{Spec: want})
		if g := decode[api.ComputePool](t, r).Metadata.Generation; g != 1 {
			t.Errorf("generation = %d after sending the defaults, want 1", g)
		}
	})
}

func TestWritesIgnoreStatusAndMetadata(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	createEnv(c, "dev", api.EnvironmentSpec{})
	r := c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindComputePool, ""),
		`{"name":"p","metadata":{"uid":"mine","generation":7},"spec":{"max_nodes":1},"status":{"phase":"ready","current_nodes":99}}`)
	got := decode[api.ComputePool](t, r)
	if got.Metadata.UID == "mine" || got.Metadata.Generation != 1 {
		t.Errorf("metadata = %+v; the server owns uid and generation", got.Metadata)
	}
	if got.Status.Phase == api.PhaseReady || got.Status.CurrentNodes == 99 {
		t.Errorf("status = %+v; writes must not set status", got.Status)
	}
}

func TestComputePool_Lifecycle(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	createEnv(c, "dev", api.EnvironmentSpec{})
	path := objPath("dev", api.KindComputePool, "p")

	created := createPool(c, "dev", "p", gpuPool("nvidia-a100", 1, 2, 4))
	if created.Status.Phase != api.PhaseProvisioning || created.Status.DesiredNodes != 2 || created.Status.Settled(1) {
		t.Errorf("new pool status = %+v, want provisioning towards 2 nodes", created.Status)
	}

	settled := func(gen int64) func(response) bool {
		return func(r response) bool {
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s = %s", path, r)
			}
			p := decode[api.ComputePool](t, r)
			return p.Metadata.Generation == gen && p.Status.Settled(gen)
		}
	}
	ready := decode[api.ComputePool](t, c.waitFor(path, 5*time.Second, settled(1)))
	if ready.Status.Phase != api.PhaseReady || ready.Status.CurrentNodes != 2 || ready.Status.ObservedGeneration != 1 {
		t.Fatalf("settled status = %+v, want ready with 2 nodes", ready.Status)
	}
	if len(ready.Status.Conditions) != 1 || ready.Status.Conditions[0].Type != api.ConditionReady || ready.Status.Conditions[0].Status != api.ConditionTrue {
		t.Errorf("conditions = %+v, want Ready True", ready.Status.Conditions)
	}
	if ready.Metadata.ETag != created.Metadata.ETag {
		t.Errorf("etag changed with the status: %q -> %q", created.Metadata.ETag, ready.Metadata.ETag)
	}

	t.Run("ScaleUp", func(t *testing.T) {
		r := c.must(http.StatusOK, http.MethodPut, path, api.UpdateComputePoolRequest{Spec: gpuPool("nvidia-a100", 1, 3, 4)}, api.HeaderIfMatch, ready.Metadata.ETag)
		if p := decode[api.ComputePool](t, r); p.Status.Settled(2) {
			t.Errorf("status claims generation 2 settled before the reconciler saw it: %+v", p.Status)
		}
		p := decode[api.ComputePool](t, c.waitFor(path, 5*time.Second, settled(2)))
		if p.Status.Phase != api.PhaseReady || p.Status.CurrentNodes != 3 {
			t.Errorf("status = %+v, want ready with 3 nodes", p.Status)
		}
	})

	t.Run("DeleteIsAsynchronous", func(t *testing.T) {
		r := c.must(http.StatusAccepted, http.MethodDelete, path, nil)
		p := decode[api.ComputePool](t, r)
		if p.Metadata.DeletionRequestedAt == nil {
			t.Errorf("202 body has no deletion_requested_at: %+v", p.Metadata)
		}
		// Changing a pool that is being torn down is refused (unless the
		// teardown already finished, which a busy machine may manage).
		if r := c.do(http.MethodPut, path, api.UpdateComputePoolRequest{Spec: gpuPool("nvidia-a100", 1, 0, 4)}); r.Status != http.StatusNotFound {
			wantError(t, r, http.StatusConflict, api.ECONFLICT, "")
		}
		c.waitFor(path, 5*time.Second, func(r response) bool { return r.Status == http.StatusNotFound })
		c.must(http.StatusNoContent, http.MethodDelete, path, nil)

		recs := decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit", nil)).Items
		var actions []string
		for _, rec := range recs {
			if rec.Kind == api.KindComputePool && rec.Name == "p" {
				actions = append(actions, rec.Action+"/"+rec.Actor)
			}
		}
		want := "create/anonymous,update/anonymous,delete_requested/anonymous,delete/reconciler"
		if strings.Join(actions, ",") != want {
			t.Errorf("pool audit = %q, want %q", actions, want)
		}
	})

	t.Run("EnvironmentDeletableOnceEmpty", func(t *testing.T) {
		c.must(http.StatusNoContent, http.MethodDelete, envPath("dev"), nil)
	})
}

func TestComputePool_InsufficientCapacity(t *testing.T) {
	t.Parallel()
	c := MustStart(t, mlopsdtest.WithLocalMaxNodes(2))
	createEnv(c, "dev", api.EnvironmentSpec{})
	path := objPath("dev", api.KindComputePool, "p")
	createPool(c, "dev", "p", gpuPool("none", 0, 3, 4))

	r := c.waitFor(path, 5*time.Second, func(r response) bool { return decode[api.ComputePool](t, r).Status.Settled(1) })
	p := decode[api.ComputePool](t, r)
	if p.Status.Phase != api.PhaseFailed || p.Status.Reason != "InsufficientCapacity" || !strings.Contains(p.Status.Message, "lower min_nodes") {
		t.Fatalf("status = %+v, want failed with InsufficientCapacity and the fix", p.Status)
	}

	c.must(http.StatusOK, http.MethodPut, path, api.UpdateComputePoolRequest{Spec: gpuPool("none", 0, 2, 4)})
	r = c.waitFor(path, 5*time.Second, func(r response) bool { return decode[api.ComputePool](t, r).Status.Settled(2) })
	p = decode[api.ComputePool](t, r)
	if p.Status.Phase != api.PhaseReady || p.Status.CurrentNodes != 2 || p.Status.Reason != "" {
		t.Errorf("after lowering min_nodes status = %+v, want ready with 2 nodes", p.Status)
	}
}

func TestFeatureGroup_BecomesReady(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	createEnv(c, "dev", api.EnvironmentSpec{})
	c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindFeatureStore, ""), api.CreateFeatureStoreRequest{Name: "fs", Spec: api.FeatureStoreSpec{OfflineStoreURI: "file:///data"}})
	r := c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindFeatureGroup, ""), api.CreateFeatureGroupRequest{
		Name: "fg", Spec: featureGroupSpec("fs", api.Feature{Name: "age", ValueType: api.ValueTypeInt64}),
	})
	// A new feature store or group has nothing to wait for: it is ready at
	// generation 1 in the create's own answer (see reconcile/ready.go).
	if fg := decode[api.FeatureGroup](t, r); !fg.Status.Settled(1) || fg.Status.Phase != api.PhaseReady {
		t.Errorf("new feature group status = %+v, want ready at generation 1", fg.Status)
	}
	fs := decode[api.FeatureStore](t, c.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindFeatureStore, "fs"), nil))
	if !fs.Status.Settled(1) || fs.Status.Phase != api.PhaseReady {
		t.Errorf("new feature store status = %+v, want ready at generation 1", fs.Status)
	}
	// So has an update: the status is settled in the update's own
	// transaction, and reads agree with the answer.
	path := objPath("dev", api.KindFeatureGroup, "fg")
	r = c.must(http.StatusOK, http.MethodPut, path, api.UpdateFeatureGroupRequest{
		Spec: featureGroupSpec("fs", api.Feature{Name: "age", ValueType: api.ValueTypeInt64}, api.Feature{Name: "tenure", ValueType: api.ValueTypeInt64}),
	})
	fg := decode[api.FeatureGroup](t, r)
	if fg.Metadata.Generation != 2 || !fg.Status.Settled(2) || fg.Status.Phase != api.PhaseReady || fg.Status.Reason != "" {
		t.Errorf("updated feature group = %+v, %+v; want ready at generation 2 in the update's answer", fg.Metadata, fg.Status)
	}
	if len(fg.Status.Conditions) != 1 || fg.Status.Conditions[0].Type != api.ConditionReady || fg.Status.Conditions[0].Reason != "Stored" {
		t.Errorf("conditions %+v, want Ready (Stored)", fg.Status.Conditions)
	}
	if got := decode[api.FeatureGroup](t, c.must(http.StatusOK, http.MethodGet, path, nil)); !reflect.DeepEqual(got.Status, fg.Status) {
		t.Errorf("GET status %+v, want the update's %+v", got.Status, fg.Status)
	}
	// An environment's update too, with its derived figures still read.
	createPool(c, "dev", "l4", gpuPool("nvidia-l4", 1, 0, 3))
	maxGPUs := int64(8)
	env := decode[api.Environment](t, c.must(http.StatusOK, http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{
		Spec: api.EnvironmentSpec{Policy: api.EnvironmentPolicy{MaxGPUs: &maxGPUs}},
	}))
	if env.Metadata.Generation != 2 || !env.Status.Settled(2) || env.Status.Phase != api.PhaseReady || env.Status.GPUsAllocated != 3 {
		t.Errorf("updated environment = %+v, %+v; want ready at generation 2 with 3 GPUs allocated", env.Metadata, env.Status)
	}
}

func TestEnvironment_GPUsAllocated(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	createEnv(c, "dev", api.EnvironmentSpec{})
	createEnv(c, "prod", api.EnvironmentSpec{})
	createPool(c, "dev", "a100", gpuPool("nvidia-a100", 2, 0, 3)) // 6
	createPool(c, "dev", "cpu", gpuPool("none", 0, 0, 10))        // 0
	createPool(c, "dev", "l4", gpuPool("nvidia-l4", 1, 0, 5))     // 5
	createPool(c, "prod", "l4", gpuPool("nvidia-l4", 1, 0, 7))    // another environment

	env := decode[api.Environment](t, c.must(http.StatusOK, http.MethodGet, envPath("dev"), nil))
	if env.Status.GPUsAllocated != 11 {
		t.Errorf("dev gpus_allocated = %d, want 11", env.Status.GPUsAllocated)
	}
	list := decode[api.EnvironmentList](t, c.must(http.StatusOK, http.MethodGet, "/v1/environments", nil))
	got := map[string]int64{}
	for _, e := range list.Items {
		got[e.Metadata.Name] = e.Status.GPUsAllocated
	}
	if got["dev"] != 11 || got["prod"] != 7 {
		t.Errorf("listed gpus_allocated = %v, want dev 11, prod 7", got)
	}
	// The derived figure does not freeze the status fields the reconciler owns.
	if !env.Status.Settled(env.Metadata.Generation) {
		t.Errorf("environment status = %+v", env.Status)
	}
}

func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	createEnv(c, "dev", api.EnvironmentSpec{Policy: api.EnvironmentPolicy{MaxGPUs: ptr(int64(10))}})

	t.Run("QuotaHoldsUnderConcurrentCreates", func(t *testing.T) {
		const n = 6 // each asks for 4 GPUs; only 2 fit under 10
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := c.do(http.MethodPost, objPath("dev", api.KindComputePool, ""),
					api.CreateComputePoolRequest{Name: fmt.Sprintf("p%d", i), Spec: gpuPool("nvidia-a100", 4, 0, 1)})
				statuses[i] = r.Status
			})
		}
		wg.Wait()
		created := 0
		for _, s := range statuses {
			switch s {
			case http.StatusCreated:
				created++
			case http.StatusBadRequest:
			default:
				t.Errorf("unexpected status %d", s)
			}
		}
		if created != 2 {
			t.Errorf("%d pools created (statuses %v), want exactly 2", created, statuses)
		}
		env := decode[api.Environment](t, c.must(http.StatusOK, http.MethodGet, envPath("dev"), nil))
		if env.Status.GPUsAllocated != 8 {
			t.Errorf("gpus_allocated = %d, want 8", env.Status.GPUsAllocated)
		}
	})

	t.Run("OneWinnerPerETag", func(t *testing.T) {
		etag := c.must(http.StatusOK, http.MethodGet, envPath("dev"), nil).Header.Get(api.HeaderETag)
		const n = 5
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := c.do(http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{
					Description: fmt.Sprintf("writer %d", i), Policy: api.EnvironmentPolicy{MaxGPUs: ptr(int64(10))},
				}}, api.HeaderIfMatch, etag)
				statuses[i] = r.Status
			})
		}
		wg.Wait()
		won := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				won++
			case http.StatusConflict:
			default:
				t.Errorf("unexpected status %d", s)
			}
		}
		if won != 1 {
			t.Errorf("%d writers won with the same If-Match (statuses %v), want 1", won, statuses)
		}
	})
}

func TestProbesAndMetrics(t *testing.T) {
	t.Parallel()
	c := MustStart(t)

	h := decode[map[string]string](t, c.must(http.StatusOK, http.MethodGet, "/healthz", nil))
	if h["status"] != "ok" || h["version"] != "test" {
		t.Errorf("/healthz = %v", h)
	}
	if r := decode[map[string]string](t, c.must(http.StatusOK, http.MethodGet, "/readyz", nil)); r["status"] != "ready" {
		t.Errorf("/readyz = %v", r)
	}

	createEnv(c, "dev", api.EnvironmentSpec{})
	c.do(http.MethodGet, envPath("nope"), nil)
	m := string(c.must(http.StatusOK, http.MethodGet, "/metrics", nil).Body)
	for _, want := range []string{
		`mlopsd_http_requests_total{code="201",method="POST",route="POST /v1/environments"} 1`,
		`mlopsd_http_requests_total{code="404",method="GET",route="GET /v1/environments/{name}"} 1`,
		`mlopsd_api_errors_total{code="not_found"} 1`,
		`mlopsd_http_request_duration_seconds_bucket`,
		"go_goroutines",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	r := c.must(http.StatusOK, http.MethodGet, "/openapi.json", nil)
	if !json.Valid(r.Body) {
		t.Fatalf("/openapi.json is not valid JSON")
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Info       map[string]any                       `json:"info"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Type       string         `json:"type"`
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("decoding /openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Info["version"] != "test" {
		t.Errorf("openapi %q, info %v", doc.OpenAPI, doc.Info)
	}
	for _, rt := range api.Routes {
		op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("paths lack %s %s", rt.Method, rt.Path)
			continue
		}
		if op["operationId"] != rt.OperationID {
			t.Errorf("%s %s operationId = %v, want %s", rt.Method, rt.Path, op["operationId"], rt.OperationID)
		}
	}
	if _, ok := doc.Components.Schemas["ComputePoolSpec"].Properties["max_nodes"]; !ok {
		t.Errorf("components.schemas.ComputePoolSpec lacks property max_nodes: %+v", doc.Components.Schemas["ComputePoolSpec"])
	}
	// ComputePoolStatus embeds Status; its fields must be flattened as in JSON.
	for _, p := range []string{"phase", "observed_generation", "current_nodes"} {
		if _, ok := doc.Components.Schemas["ComputePoolStatus"].Properties[p]; !ok {
			t.Errorf("ComputePoolStatus lacks property %s", p)
		}
	}
	// Every $ref resolves.
	for _, ref := range regexp.MustCompile(`"\$ref":"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(r.Body), -1) {
		if _, ok := doc.Components.Schemas[ref[1]]; !ok {
			t.Errorf("dangling $ref to %s", ref[1])
		}
	}
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/v1/nope"},
		{http.MethodGet, "/v1/environments/dev/no-such-kind"},
		{http.MethodPatch, "/v1/environments/dev"},
		{http.MethodPost, "/v1/environments/dev"},
	} {
		e := wantError(t, c.do(tc.method, tc.path, nil), http.StatusNotFound, api.ENOTFOUND, "")
		if !strings.Contains(e.Message, "/openapi.json") {
			t.Errorf("%s %s: message %q does not point at /openapi.json", tc.method, tc.path, e.Message)
		}
	}
}

// TestRoutesMatchOpenAPI checks that the server registers every route the
// OpenAPI document (api.Routes) promises: none may fall through to the
// catch-all "no route" answer.
func TestRoutesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	createEnv(c, "dev", api.EnvironmentSpec{})
	seen := map[string]bool{}
	for _, rt := range api.Routes {
		key := rt.Method + " " + rt.Path
		if seen[key] {
			t.Errorf("route %s listed twice", key)
		}
		seen[key] = true
		path := strings.NewReplacer("{env}", "dev", "{name}", "x").Replace(rt.Path)
		var body any
		if rt.Method == http.MethodPost || rt.Method == http.MethodPut {
			body = "{}"
		}
		r := c.do(rt.Method, path, body)
		if r.Status == http.StatusMethodNotAllowed || r.Status == http.StatusNotFound && bytes.Contains(r.Body, []byte("no route for")) {
			t.Errorf("%s (%s %s) is not registered: %s", rt.OperationID, rt.Method, path, r)
		}
		if r.Status >= 500 {
			t.Errorf("%s: %s", rt.OperationID, r)
		}
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	c := MustStart(t, mlopsdtest.WithTokens("s3cret"))
	create := api.CreateEnvironmentRequest{Name: "dev", Spec: api.EnvironmentSpec{}}

	for _, tc := range []struct{ name, authorization string }{
		{"NoToken", ""},
		{"WrongToken", "Bearer wrong"},
		{"EmptyBearer", "Bearer "},
		{"OtherScheme", "Basic czNjcmV0"},
		{"TokenWithoutScheme", "s3cret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.authorization != "" {
				hdr = []string{"Authorization", tc.authorization}
			}
			r := c.do(http.MethodPost, "/v1/environments", create, hdr...)
			wantError(t, r, http.StatusUnauthorized, api.EUNAUTHORIZED, "")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
			wantError(t, c.do(http.MethodGet, "/v1/audit", nil, hdr...), http.StatusUnauthorized, api.EUNAUTHORIZED, "")
		})
	}

	t.Run("ProbesNeedNoToken", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/openapi.json", "/metrics"} {
			c.must(http.StatusOK, http.MethodGet, p, nil)
		}
	})

	t.Run("RightToken", func(t *testing.T) {
		c.must(http.StatusCreated, http.MethodPost, "/v1/environments", create, "Authorization", "Bearer s3cret")
		// The scheme is case-insensitive.
		c.must(http.StatusOK, http.MethodGet, envPath("dev"), nil, "Authorization", "bearer s3cret")
		recs := decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit", nil, "Authorization", "Bearer s3cret")).Items
		if len(recs) != 1 {
			t.Fatalf("audit = %+v, want one record", recs)
		}
		if recs[0].Actor == "" || recs[0].Actor == "anonymous" || strings.Contains(recs[0].Actor, "s3cret") {
			t.Errorf("audit actor = %q, want a named token that does not reveal it", recs[0].Actor)
		}
	})
}

func TestAudit(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	env := createEnv(c, "dev", api.EnvironmentSpec{Description: "v1"})
	c.must(http.StatusOK, http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Description: "v2"}})
	c.must(http.StatusOK, http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Description: "v2"}}) // no change, no record
	c.must(http.StatusNoContent, http.MethodDelete, envPath("dev"), nil)

	recs := decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit", nil)).Items
	if len(recs) != 3 {
		t.Fatalf("audit = %+v, want 3 records", recs)
	}
	for i, want := range []struct {
		action     string
		generation int64
		before     bool
		after      bool
	}{
		{api.AuditCreate, 1, false, true},
		{api.AuditUpdate, 2, true, true},
		{api.AuditDelete, 2, true, false},
	} {
		rec := recs[i]
		if rec.Seq != int64(i+1) || rec.Action != want.action || rec.Generation != want.generation ||
			rec.Kind != api.KindEnvironment || rec.Name != "dev" || rec.UID != env.Metadata.UID || rec.Actor != "anonymous" || rec.Time.IsZero() {
			t.Errorf("record %d = %+v, want seq %d %s at generation %d", i, rec, i+1, want.action, want.generation)
		}
		if got := rec.BeforeDigest != ""; got != want.before || (got && !hexDigest.MatchString(rec.BeforeDigest)) {
			t.Errorf("record %d before_digest = %q", i, rec.BeforeDigest)
		}
		if got := rec.AfterDigest != ""; got != want.after || (got && !hexDigest.MatchString(rec.AfterDigest)) {
			t.Errorf("record %d after_digest = %q", i, rec.AfterDigest)
		}
	}
	if recs[1].BeforeDigest != recs[0].AfterDigest || recs[2].BeforeDigest != recs[1].AfterDigest || recs[0].AfterDigest == recs[1].AfterDigest {
		t.Errorf("digests do not chain the spec versions: %+v", recs)
	}

	t.Run("Paging", func(t *testing.T) {
		page := decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit?limit=2", nil))
		if len(page.Items) != 2 || page.NextPageToken != "2" {
			t.Fatalf("first page = %+v, want 2 records and token 2", page)
		}
		page = decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit?limit=2&after_seq="+page.NextPageToken, nil))
		if len(page.Items) != 1 || page.Items[0].Seq != 3 {
			t.Errorf("second page = %+v, want record 3", page)
		}
		page = decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit?after_seq=3", nil))
		if len(page.Items) != 0 || page.NextPageToken != "" {
			t.Errorf("past the end = %+v, want empty", page)
		}
		// The largest documented page size is accepted.
		c.must(http.StatusOK, http.MethodGet, fmt.Sprintf("/v1/audit?limit=%d", api.MaxPageSize), nil)
	})
}

// TestIdempotencyKey_ScopedToCaller proves that a key chosen by one caller
// neither replays nor blocks another caller's request.
func TestIdempotencyKey_ScopedToCaller(t *testing.T) {
	t.Parallel()
	c := MustStart(t, mlopsdtest.WithTokens("alice-token", "bob-token"))
	create := api.CreateEnvironmentRequest{Name: "dev", Spec: api.EnvironmentSpec{}}
	first := c.must(http.StatusCreated, http.MethodPost, "/v1/environments", create,
		"Authorization", "Bearer alice-token", api.HeaderIdempotencyKey, "same-key")
	// Bob's identical request with the same key is a new request: the name
	// is taken, so it fails instead of replaying Alice's result.
	r := c.do(http.MethodPost, "/v1/environments", create,
		"Authorization", "Bearer bob-token", api.HeaderIdempotencyKey, "same-key")
	wantError(t, r, http.StatusConflict, api.EALREADYEXISTS, "name")
	// Alice's retry still replays.
	again := c.must(http.StatusCreated, http.MethodPost, "/v1/environments", create,
		"Authorization", "Bearer alice-token", api.HeaderIdempotencyKey, "same-key")
	if again.Header.Get(api.HeaderIdempotentReplay) != "true" {
		t.Errorf("retry by the same caller was not a replay: %s", again)
	}
	if decode[api.Environment](t, first).Metadata.UID != decode[api.Environment](t, again).Metadata.UID {
		t.Error("replay returned another object")
	}
}
