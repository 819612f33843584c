package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

func TestNew(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		c, err := New(Config{Endpoint: "http://127.0.0.1:8080/"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Endpoint() != "http://127.0.0.1:8080" {
			t.Errorf("Endpoint() = %q, want the trailing slash trimmed", c.Endpoint())
		}
		if c.requestTimeout != DefaultRequestTimeout || c.maxRetries != DefaultMaxRetries || c.userAgent != DefaultUserAgent {
			t.Errorf("defaults not applied: timeout %s, retries %d, user agent %q", c.requestTimeout, c.maxRetries, c.userAgent)
		}
	})
	t.Run("NegativeMaxRetriesDisablesRetries", func(t *testing.T) {
		c, err := New(Config{Endpoint: "http://127.0.0.1:8080", MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		if c.maxRetries != 0 {
			t.Errorf("maxRetries = %d, want 0", c.maxRetries)
		}
	})
	t.Run("PathPrefixKept", func(t *testing.T) {
		c, err := New(Config{Endpoint: "https://proxy.example/mlops/"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Endpoint() != "https://proxy.example/mlops" {
			t.Errorf("Endpoint() = %q", c.Endpoint())
		}
	})
}

func TestNew_ErrBadEndpoint(t *testing.T) {
	for _, tc := range []struct{ endpoint, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"127.0.0.1:8080", "did you mean http://127.0.0.1:8080?"},
		{"localhost:8080", "did you mean http://localhost:8080?"},
		{"ftp://example.com", "scheme \"ftp\" is not supported"},
		{"/v1/environments", "scheme is missing"},
		{"http://", "host is missing"},
		{"http://user:pw@example.com", "credentials"},
		{"http://example.com/?x=1", "query"},
		{"http://exa mple.com", "invalid character"},
		{"mlops://example.com", "scheme \"mlops\" is not supported"},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			_, err := New(Config{Endpoint: tc.endpoint})
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			msg := err.Error()
			for _, want := range []string{tc.want, "http://127.0.0.1:8080", "absolute http:// or https:// URL"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
		})
	}
}

func TestCreateEnvironment(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.URL.Path != "/v1/environments" {
				t.Errorf("got %s %s, want POST /v1/environments", r.Method, r.URL.Path)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var req api.CreateEnvironmentRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				t.Errorf("decoding body: %v", err)
			}
			if req.Name != "dev" || req.Spec.Description != "d" {
				t.Errorf("body = %+v", req)
			}
			writeJSON(t, w, http.StatusCreated, testEnvironment(req.Name))
		})
		env, err := c.CreateEnvironment(context.Background(), "dev", api.EnvironmentSpec{Description: "d"})
		if err != nil {
			t.Fatal(err)
		}
		if env.Metadata.Name != "dev" || env.Metadata.ETag != "e1" || env.Status.Phase != api.PhaseReady {
			t.Errorf("decoded %+v", env)
		}
	})

	t.Run("RetryAfter503ReusesIdempotencyKey", func(t *testing.T) {
		var mu sync.Mutex
		var keys []string
		_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			keys = append(keys, r.Header.Get(api.HeaderIdempotencyKey))
			n := len(keys)
			mu.Unlock()
			if n == 1 {
				writeError(t, w, http.StatusServiceUnavailable, api.EUNAVAILABLE, "", "database is busy")
				return
			}
			w.Header().Set(api.HeaderIdempotentReplay, "true")
			writeJSON(t, w, http.StatusCreated, testEnvironment("dev"))
		})
		if _, err := c.CreateEnvironment(context.Background(), "dev", api.EnvironmentSpec{}); err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 {
			t.Fatalf("server saw %d requests, want 2", len(keys))
		}
		if keys[0] == "" || keys[0] != keys[1] {
			t.Errorf("idempotency keys %q, want one non-empty key on both attempts", keys)
		}
	})

	t.Run("EachCallHasItsOwnKey", func(t *testing.T) {
		var mu sync.Mutex
		seen := map[string]bool{}
		_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.Header.Get(api.HeaderIdempotencyKey)] = true
			mu.Unlock()
			writeJSON(t, w, http.StatusCreated, testEnvironment("dev"))
		})
		for range 3 {
			if _, err := c.CreateEnvironment(context.Background(), "dev", api.EnvironmentSpec{}); err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != 3 {
			t.Errorf("3 calls used %d distinct keys, want 3", len(seen))
		}
	})
}

func TestRetry_ConnectionClosed(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			var calls atomic.Int32
			var mu sync.Mutex
			var keys []string
			_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				keys = append(keys, r.Header.Get(api.HeaderIdempotencyKey))
				mu.Unlock()
				if calls.Add(1) == 1 {
					hangUp(t, w)
					return
				}
				writeJSON(t, w, http.StatusOK, testEnvironment("dev"))
			})
			var err error
			if method == http.MethodGet {
				_, err = c.GetEnvironment(context.Background(), "dev")
			} else {
				_, err = c.CreateEnvironment(context.Background(), "dev", api.EnvironmentSpec{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := calls.Load(); n != 2 {
				t.Errorf("server saw %d requests, want 2", n)
			}
			if method == http.MethodPost && (keys[0] == "" || keys[0] != keys[1]) {
				t.Errorf("idempotency keys %q, want the same key on the retry", keys)
			}
		})
	}
}

// roundTripHook runs after each round trip, so a test can act exactly when
// the client has seen a failure instead of guessing with sleeps.
type roundTripHook struct {
	next  http.RoundTripper
	after func(err error)
}

func (h roundTripHook) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(r)
	h.after(err)
	return resp, err
}

func TestRetry_ConnectionRefusedThenServing(t *testing.T) {
	// Reserve a port, then free it so the first attempt is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(t, w, http.StatusOK, testEnvironment("dev"))
	}))
	t.Cleanup(srv.Close)

	c := MustNewClient(t, Config{Endpoint: "http://" + addr})
	var once sync.Once
	var refused error
	c.httpClient.Transport = roundTripHook{next: c.httpClient.Transport, after: func(err error) {
		once.Do(func() {
			refused = err
			// mlopsd comes up after the first refusal.
			l, lerr := net.Listen("tcp", addr)
			if lerr != nil {
				t.Errorf("listen again on %s: %v", addr, lerr)
				return
			}
			srv.Listener = l
			srv.Start()
		})
	}}

	env, err := c.GetEnvironment(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if refused == nil {
		t.Error("the first attempt succeeded; the test did not exercise a refused connection")
	}
	if env.Metadata.Name != "dev" {
		t.Errorf("decoded %+v", env)
	}
}

func TestRetry_ErrUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close()

	c := MustNewClient(t, Config{Endpoint: endpoint, MaxRetries: 2})
	_, err = c.CreateComputePool(context.Background(), "dev", "gpu", api.ComputePoolSpec{})
	if !IsUnreachable(err) {
		t.Fatalf("err = %v, want IsUnreachable", err)
	}
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Attempts != 3 {
		t.Errorf("err = %#v, want 3 attempts (1 + MaxRetries)", err)
	}
	msg := err.Error()
	for _, want := range []string{"cannot reach mlopsd at " + endpoint, "connection refused", "make mlopsd", "MLOPS_ENDPOINT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if IsNotFound(err) || ErrorField(err) != "" {
		t.Errorf("an unreachable error must not look like an API answer: %v", err)
	}
}

func TestRetry_PerAttemptTimeout(t *testing.T) {
	var calls atomic.Int32
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done() // hang until the client gives up on this attempt
			return
		}
		writeJSON(t, w, http.StatusOK, testEnvironment("dev"))
	})
	c.requestTimeout = 100 * time.Millisecond
	if _, err := c.GetEnvironment(context.Background(), "dev"); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

func TestRetry_Statuses(t *testing.T) {
	for _, tc := range []struct {
		status    int
		code      string
		wantCalls int32
	}{
		{http.StatusBadRequest, api.EINVALID, 1},
		{http.StatusConflict, api.ECONFLICT, 1},
		{http.StatusInternalServerError, api.EINTERNAL, 1},
		{http.StatusTooManyRequests, api.ETOOMANYREQUEST, 3},
		{http.StatusBadGateway, api.EUNAVAILABLE, 3},
		{http.StatusServiceUnavailable, api.EUNAVAILABLE, 3},
		{http.StatusGatewayTimeout, api.EUNAVAILABLE, 3},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				writeError(t, w, tc.status, tc.code, "", "nope")
			}))
			t.Cleanup(srv.Close)
			c := MustNewClient(t, Config{Endpoint: srv.URL, MaxRetries: 2})
			_, err := c.UpdateEnvironment(context.Background(), "dev", api.EnvironmentSpec{}, "")
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != tc.status || e.Code != tc.code {
				t.Fatalf("err = %#v, want *Error with status %d code %s", err, tc.status, tc.code)
			}
			if n := calls.Load(); n != tc.wantCalls {
				t.Errorf("server saw %d requests, want %d", n, tc.wantCalls)
			}
		})
	}
}

func TestRetry_RetryAfterHonoured(t *testing.T) {
	var calls atomic.Int32
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			writeError(t, w, http.StatusTooManyRequests, api.ETOOMANYREQUEST, "", "slow down")
			return
		}
		writeJSON(t, w, http.StatusOK, testEnvironment("dev"))
	})
	if _, err := c.GetEnvironment(context.Background(), "dev"); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

func TestRetry_StopsBeforeWaitingPastDeadline(t *testing.T) {
	var calls atomic.Int32
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "30")
		writeError(t, w, http.StatusServiceUnavailable, api.EUNAVAILABLE, "", "database is down")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.GetEnvironment(ctx, "dev")
	var e *Error
	if !errors.As(err, &e) || e.Code != api.EUNAVAILABLE || !strings.Contains(err.Error(), "database is down") {
		t.Fatalf("err = %v, want mlopsd's 503 rather than a bare deadline", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

// cancelOnWrite cancels a context when a log line containing match is
// written, so a test can act at an exact point of the client's retry loop.
type cancelOnWrite struct {
	match  string
	cancel context.CancelFunc
}

func (w cancelOnWrite) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.match)) {
		w.cancel()
	}
	return len(p), nil
}

func TestRetry_CanceledWhileWaiting(t *testing.T) {
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		writeError(t, w, http.StatusServiceUnavailable, api.EUNAVAILABLE, "", "database is down")
	})
	c.backoffBase, c.backoffMax = time.Hour, time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The user presses Ctrl-C while the client waits to retry.
	ctx = tflogtest.RootLogger(ctx, cancelOnWrite{match: "retrying mlopsd request", cancel: cancel})

	_, err := c.GetEnvironment(ctx, "dev")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want it to wrap context.Canceled", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != api.EUNAVAILABLE {
		t.Errorf("err = %v, want it to keep the last answer", err)
	}
}

func TestErrorDecoding(t *testing.T) {
	t.Run("InvalidWithField", func(t *testing.T) {
		_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
			writeError(t, w, http.StatusBadRequest, api.EINVALID, "spec.max_nodes", "max_nodes must be between 1 and 1000")
		})
		_, err := c.CreateComputePool(context.Background(), "dev", "gpu", api.ComputePoolSpec{})
		if !IsInvalid(err) || IsNotFound(err) || IsConflict(err) {
			t.Fatalf("err = %v, want only IsInvalid", err)
		}
		if f := ErrorField(err); f != "spec.max_nodes" {
			t.Errorf("ErrorField = %q", f)
		}
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != 400 || e.Method != http.MethodPost || e.Path != "/v1/environments/dev/compute-pools" {
			t.Errorf("err = %#v", err)
		}
		msg := err.Error()
		for _, want := range []string{"spec.max_nodes", "max_nodes must be between 1 and 1000", "400", "POST /v1/environments/dev/compute-pools"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}
		if e.APIError().Field != "spec.max_nodes" {
			t.Errorf("APIError() = %+v", e.APIError())
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
			writeError(t, w, http.StatusNotFound, api.ENOTFOUND, "", `compute pool "gpu" does not exist`)
		})
		_, err := c.GetComputePool(context.Background(), "dev", "gpu")
		if !IsNotFound(err) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want IsNotFound", err)
		}
	})

	t.Run("NotJSONUsesStatus", func(t *testing.T) {
		_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html><body>\n  no such page  \n</body></html>", http.StatusNotFound)
		})
		_, err := c.GetEnvironment(context.Background(), "dev")
		if !IsNotFound(err) {
			t.Fatalf("err = %v, want IsNotFound from the status alone", err)
		}
		if !strings.Contains(err.Error(), "no such page") {
			t.Errorf("error %q does not quote the body", err)
		}
	})

	t.Run("ConflictAndAlreadyExists", func(t *testing.T) {
		_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				writeError(t, w, http.StatusConflict, api.EALREADYEXISTS, "name", "taken")
				return
			}
			writeError(t, w, http.StatusConflict, api.ECONFLICT, "", "etag is stale")
		})
		_, err := c.CreateFeatureStore(context.Background(), "dev", "fs", api.FeatureStoreSpec{})
		if !IsAlreadyExists(err) || IsConflict(err) {
			t.Errorf("create: err = %v, want IsAlreadyExists only", err)
		}
		_, err = c.UpdateFeatureStore(context.Background(), "dev", "fs", api.FeatureStoreSpec{}, "old")
		if !IsConflict(err) || IsAlreadyExists(err) {
			t.Errorf("update: err = %v, want IsConflict only", err)
		}
	})

	t.Run("RedirectNotFollowed", func(t *testing.T) {
		_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/v1/environments/dev", http.StatusMovedPermanently)
		})
		_, err := c.DeleteEnvironment(context.Background(), "dev")
		if err == nil || !strings.Contains(err.Error(), "redirect to https://elsewhere.example") {
			t.Errorf("err = %v, want the redirect reported", err)
		}
	})

	t.Run("BodyNotJSON", func(t *testing.T) {
		_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("ok"))
		})
		_, err := c.GetEnvironment(context.Background(), "dev")
		if err == nil || !strings.Contains(err.Error(), "not the expected JSON") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestDelete(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		wantPending bool
		wantErr     func(error) bool
	}{
		{"Removed", http.StatusNoContent, false, nil},
		{"AlreadyGone", http.StatusNotFound, false, nil},
		{"TeardownInProgress", http.StatusAccepted, true, nil},
		{"Conflict", http.StatusConflict, false, IsConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodDelete || r.URL.Path != "/v1/environments/dev/feature-groups/fg" {
					t.Errorf("got %s %s", r.Method, r.URL.Path)
				}
				if r.Header.Get(api.HeaderIdempotencyKey) == "" {
					t.Error("DELETE without an Idempotency-Key")
				}
				switch tc.status {
				case http.StatusNoContent:
					w.WriteHeader(tc.status)
				case http.StatusAccepted:
					writeJSON(t, w, tc.status, api.FeatureGroup{Metadata: api.Metadata{Name: "fg"}})
				default:
					writeError(t, w, tc.status, api.CodeForStatus(tc.status), "", "x")
				}
			})
			res, err := c.DeleteFeatureGroup(context.Background(), "dev", "fg")
			if tc.wantErr != nil {
				if !tc.wantErr(err) {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Pending != tc.wantPending {
				t.Errorf("Pending = %v, want %v", res.Pending, tc.wantPending)
			}
		})
	}
}

func TestUpdate_IfMatch(t *testing.T) {
	for _, ifMatch := range []string{"etag-7", ""} {
		t.Run("IfMatch="+ifMatch, func(t *testing.T) {
			_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
				got, present := r.Header.Get(api.HeaderIfMatch), len(r.Header.Values(api.HeaderIfMatch)) > 0
				if got != ifMatch || present != (ifMatch != "") {
					t.Errorf("If-Match = %q (present %v), want %q", got, present, ifMatch)
				}
				var req api.UpdateComputePoolRequest
				if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Spec.MaxNodes != 4 {
					t.Errorf("body %+v, err %v", req, err)
				}
				writeJSON(t, w, http.StatusOK, api.ComputePool{Metadata: api.Metadata{Name: "gpu", ETag: "etag-8"}})
			})
			pool, err := c.UpdateComputePool(context.Background(), "dev", "gpu", api.ComputePoolSpec{MaxNodes: 4}, ifMatch)
			if err != nil {
				t.Fatal(err)
			}
			if pool.Metadata.ETag != "etag-8" {
				t.Errorf("etag = %q", pool.Metadata.ETag)
			}
		})
	}
}

func TestAuthorization(t *testing.T) {
	for _, token := range []string{"t0ken", ""} {
		t.Run("Token="+token, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				want := ""
				if token != "" {
					want = "Bearer " + token
				}
				if got := r.Header.Get("Authorization"); got != want {
					t.Errorf("Authorization = %q, want %q", got, want)
				}
				if ua := r.Header.Get("User-Agent"); ua != "tf/1.0" {
					t.Errorf("User-Agent = %q", ua)
				}
				_, _ = w.Write([]byte("ok"))
			}))
			t.Cleanup(srv.Close)
			c := MustNewClient(t, Config{Endpoint: srv.URL, Token: token, UserAgent: "tf/1.0"})
			if err := c.Health(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLogging_NeverLogsToken(t *testing.T) {
	const token = "tok-SECRET-3f9a"
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			writeError(t, w, http.StatusServiceUnavailable, api.EUNAVAILABLE, "", "busy")
		case 2:
			writeJSON(t, w, http.StatusCreated, testEnvironment("dev"))
		default:
			// A server that echoes the header it got must not leak it either.
			writeError(t, w, http.StatusBadRequest, api.EINVALID, "", "bad header "+r.Header.Get("Authorization"))
		}
	}))
	t.Cleanup(srv.Close)
	c := MustNewClient(t, Config{Endpoint: srv.URL, Token: token})

	var buf bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &buf)
	if _, err := c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetEnvironment(ctx, "dev"); !IsInvalid(err) {
		t.Fatalf("err = %v", err)
	}

	if strings.Contains(buf.String(), token) {
		t.Errorf("the token appears in the log:\n%s", buf.String())
	}
	entries, err := tflogtest.MultilineJSONDecode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var requests, retries int
	for _, e := range entries {
		switch e["@message"] {
		case "mlopsd request":
			requests++
			for _, k := range []string{"method", "path", "status", "attempt", "duration_ms"} {
				if _, ok := e[k]; !ok {
					t.Errorf("log entry %v has no %q", e, k)
				}
			}
		case "retrying mlopsd request":
			retries++
			if e["@level"] != "warn" {
				t.Errorf("retry logged at %v, want warn", e["@level"])
			}
		}
	}
	if requests != 3 || retries != 1 {
		t.Errorf("logged %d requests and %d retries, want 3 and 1:\n%v", requests, retries, entries)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case makes the server log a handshake error
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("CACertFile", func(t *testing.T) {
		c := MustNewClient(t, Config{Endpoint: srv.URL, CACertFile: caFile})
		if err := c.Health(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Insecure", func(t *testing.T) {
		c := MustNewClient(t, Config{Endpoint: srv.URL, Insecure: true})
		if err := c.Health(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrUntrustedNotRetried", func(t *testing.T) {
		c := MustNewClient(t, Config{Endpoint: srv.URL})
		err := c.Health(context.Background())
		var ue *UnreachableError
		if !errors.As(err, &ue) || ue.Attempts != 1 {
			t.Fatalf("err = %v, want an unreachable error after 1 attempt", err)
		}
		if !strings.Contains(err.Error(), "CA certificate file") {
			t.Errorf("error %q does not point at the CA certificate setting", err)
		}
	})
	t.Run("ErrPlainHTTPServer", func(t *testing.T) {
		plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		t.Cleanup(plain.Close)
		c := MustNewClient(t, Config{Endpoint: strings.Replace(plain.URL, "http://", "https://", 1)})
		err := c.Health(context.Background())
		if !IsUnreachable(err) || !strings.Contains(err.Error(), "use an http:// endpoint") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrCACertFileMissing", func(t *testing.T) {
		_, err := New(Config{Endpoint: srv.URL, CACertFile: filepath.Join(dir, "missing.pem")})
		if err == nil || !strings.Contains(err.Error(), "missing.pem") || !strings.Contains(err.Error(), "cannot read") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrCACertFileNoPEM", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.pem")
		if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(Config{Endpoint: srv.URL, CACertFile: bad})
		if err == nil || !strings.Contains(err.Error(), "no PEM certificates") || !strings.Contains(err.Error(), "bad.pem") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("MinVersion", func(t *testing.T) {
		c := MustNewClient(t, Config{Endpoint: srv.URL})
		tr, ok := c.httpClient.Transport.(*http.Transport)
		if !ok {
			t.Fatalf("transport is %T, want *http.Transport", c.httpClient.Transport)
		}
		if v := tr.TLSClientConfig.MinVersion; v != tls.VersionTLS12 {
			t.Errorf("MinVersion = %x", v)
		}
	})
}

// TestConnections_ReusedAcrossBursts checks that the client keeps enough
// idle connections for Terraform's default parallelism: a second burst of
// ten concurrent requests opens no new connection.
func TestConnections_ReusedAcrossBursts(t *testing.T) {
	const parallel = 10
	var opened atomic.Int32
	// Every request of a burst waits until all of them arrived, so the
	// burst holds parallel connections at once.
	var arrived sync.WaitGroup
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		arrived.Wait()
		writeJSON(t, w, http.StatusOK, testEnvironment("dev"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c := MustNewClient(t, Config{Endpoint: srv.URL})

	burst := func() {
		t.Helper()
		arrived.Add(parallel)
		var done sync.WaitGroup
		for range parallel {
			done.Add(1)
			go func() {
				defer done.Done()
				if _, err := c.GetEnvironment(t.Context(), "dev"); err != nil {
					t.Error(err)
				}
			}()
		}
		done.Wait()
	}
	burst()
	if n := opened.Load(); n != parallel {
		t.Fatalf("the first burst opened %d connections, want %d", n, parallel)
	}
	burst()
	if n := opened.Load(); n != parallel {
		t.Errorf("%d connections opened in all after a second burst of %d requests, want %d: idle connections were closed instead of reused", n, parallel, parallel)
	}
}
