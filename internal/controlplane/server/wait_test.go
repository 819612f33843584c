package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/pgtest"
)

// Long polls: GET .../{name}?wait_for_generation=N&timeout=D. The tests use
// service accounts, which no reconciler touches, so that only the test
// writes their status, through the daemon's store as a reconciler would.

func saPath(name string) string { return "/v1/" + api.KindServiceAccount + "/" + name }

func waitPath(path string, generation int64, timeout string) string {
	p := path + "?" + api.QueryWaitForGeneration + "=" + strconv.FormatInt(generation, 10)
	if timeout != "" {
		p += "&" + api.QueryWaitTimeout + "=" + timeout
	}
	return p
}

// startWaitFixture starts a control plane and returns a client of it.
func startWaitFixture(t *testing.T) (*apiClient, *mlopsdtest.Server) {
	t.Helper()
	srv := startServer(t)
	return &apiClient{tb: t, base: srv.URL, http: &http.Client{Timeout: 90 * time.Second}}, srv
}

// createUnsettledAccount creates a service account and sets its status to
// pending, as if a reconciler had yet to look at it.
func createUnsettledAccount(t *testing.T, c *apiClient, srv *mlopsdtest.Server, name string) api.ServiceAccount {
	t.Helper()
	r := c.must(http.StatusCreated, http.MethodPost, "/v1/"+api.KindServiceAccount, api.CreateServiceAccountRequest{Name: name})
	sa := decode[api.ServiceAccount](t, r)
	setStatus(t, srv, sa.Metadata.UID, name, api.Status{Phase: api.PhasePending})
	return sa
}

// setStatus writes the status of service account name through the store of
// srv's daemon.
func setStatus(t *testing.T, srv *mlopsdtest.Server, uid, name string, st api.Status) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	ref := api.Ref{Kind: api.KindServiceAccount, Name: name}
	if _, err := srv.Daemon.Store.UpdateStatus(context.Background(), ref, uid, b); err != nil {
		t.Fatalf("writing the status of %s: %v", ref, err)
	}
}

var waitingGauge = regexp.MustCompile(`(?m)^mlopsd_long_polls_waiting (\S+)$`)

// waitForWaiters polls /metrics until n long polls wait, so that a test
// writes only once its long poll has read the object, found it unsettled
// and is surely waiting.
func waitForWaiters(t *testing.T, c *apiClient, n int) {
	t.Helper()
	c.waitFor("/metrics", 30*time.Second, func(r response) bool {
		m := waitingGauge.FindSubmatch(r.Body)
		return m != nil && string(m[1]) == strconv.Itoa(n)
	})
}

// longPoll sends a long poll in the background; the response arrives on
// the channel.
func longPoll(c *apiClient, path string) <-chan response {
	out := make(chan response, 1)
	go func() { out <- c.do(http.MethodGet, path, nil) }()
	return out
}

func TestLongPoll_BadParameters(t *testing.T) {
	t.Parallel()
	c, _ := startWaitFixture(t)
	c.must(http.StatusCreated, http.MethodPost, "/v1/"+api.KindServiceAccount, api.CreateServiceAccountRequest{Name: "ci"})
	cases := []struct {
		query, field string
	}{
		{"wait_for_generation=abc", api.QueryWaitForGeneration},
		{"wait_for_generation=0", api.QueryWaitForGeneration},
		{"wait_for_generation=-3", api.QueryWaitForGeneration},
		{"wait_for_generation=1.5", api.QueryWaitForGeneration},
		{"wait_for_generation=1&timeout=soon", api.QueryWaitTimeout},
		{"wait_for_generation=1&timeout=30", api.QueryWaitTimeout},
		{"wait_for_generation=1&timeout=-1s", api.QueryWaitTimeout},
		{"wait_for_generation=1&timeout=61s", api.QueryWaitTimeout},
		{"timeout=5s", api.QueryWaitTimeout},
	}
	for _, tc := range cases {
		r := c.do(http.MethodGet, saPath("ci")+"?"+tc.query, nil)
		e := wantError(t, r, http.StatusBadRequest, api.EINVALID, tc.field)
		if !regexp.MustCompile(tc.field).MatchString(e.Message) {
			t.Errorf("%s: message %q does not name %s", tc.query, e.Message, tc.field)
		}
	}
	// The bounds themselves are fine.
	for _, q := range []string{"wait_for_generation=1&timeout=0s", "wait_for_generation=1&timeout=60s", "wait_for_generation=1"} {
		c.must(http.StatusOK, http.MethodGet, saPath("ci")+"?"+q, nil)
	}
}

func TestLongPoll_SettledAnswersAtOnce(t *testing.T) {
	t.Parallel()
	c, _ := startWaitFixture(t)
	// A new service account is ready at generation 1.
	c.must(http.StatusCreated, http.MethodPost, "/v1/"+api.KindServiceAccount, api.CreateServiceAccountRequest{Name: "ci"})
	r := c.must(http.StatusOK, http.MethodGet, waitPath(saPath("ci"), 1, "60s"), nil)
	if got := decode[api.ServiceAccount](t, r); !got.Status.Settled(1) {
		t.Fatalf("status = %+v, want settled at generation 1", got.Status)
	}
	if r.Header.Get(api.HeaderWaited) == "" {
		t.Errorf("a long poll's answer has no %s header", api.HeaderWaited)
	}
	if r.Header.Get(api.HeaderETag) == "" {
		t.Errorf("a long poll's answer has no ETag header")
	}
	if plain := c.must(http.StatusOK, http.MethodGet, saPath("ci"), nil); plain.Header.Get(api.HeaderWaited) != "" {
		t.Errorf("a plain GET has the %s header", api.HeaderWaited)
	}
}

func TestLongPoll_ReturnsOnStatusWrite(t *testing.T) {
	t.Parallel()
	c, srv := startWaitFixture(t)
	sa := createUnsettledAccount(t, c, srv, "ci")
	done := longPoll(c, waitPath(saPath("ci"), 1, "60s"))
	waitForWaiters(t, c, 1)
	select {
	case r := <-done:
		t.Fatalf("the long poll answered before the status settled: %s", r)
	default:
	}
	setStatus(t, srv, sa.Metadata.UID, "ci", api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	r := <-done
	if r.Status != http.StatusOK {
		t.Fatalf("long poll = %s, want 200", r)
	}
	if got := decode[api.ServiceAccount](t, r); got.Status.Phase != api.PhaseReady || got.Status.ObservedGeneration != 1 {
		t.Fatalf("status = %+v, want the ready status just written", got.Status)
	}
	waitForWaiters(t, c, 0)
}

func TestLongPoll_OlderGenerationDoesNotEndIt(t *testing.T) {
	t.Parallel()
	c, srv := startWaitFixture(t)
	sa := createUnsettledAccount(t, c, srv, "ci")
	r := c.must(http.StatusOK, http.MethodPut, saPath("ci"), api.UpdateServiceAccountRequest{Spec: api.ServiceAccountSpec{Description: "v2"}})
	if gen := decode[api.ServiceAccount](t, r).Metadata.Generation; gen != 2 {
		t.Fatalf("generation after the update = %d, want 2", gen)
	}
	// Settled, but on generation 1: the long poll for 2 reads it and
	// waits on (the gauge counts it once it found the object unsettled).
	setStatus(t, srv, sa.Metadata.UID, "ci", api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	done := longPoll(c, waitPath(saPath("ci"), 2, "60s"))
	waitForWaiters(t, c, 1)
	// Failed is terminal too: it ends the wait, as the provider needs to
	// report the failure.
	setStatus(t, srv, sa.Metadata.UID, "ci", api.Status{Phase: api.PhaseFailed, Reason: "Broken", ObservedGeneration: 2})
	got := decode[api.ServiceAccount](t, <-done)
	if got.Status.Phase != api.PhaseFailed || got.Status.ObservedGeneration != 2 {
		t.Fatalf("status = %+v, want the failed status of generation 2 (an older generation's ready must not end the wait)", got.Status)
	}
}

func TestLongPoll_TimesOutWithCurrentObject(t *testing.T) {
	t.Parallel()
	c, srv := startWaitFixture(t)
	createUnsettledAccount(t, c, srv, "slow")
	for _, timeout := range []string{"0s", "300ms"} {
		r := c.must(http.StatusOK, http.MethodGet, waitPath(saPath("slow"), 1, timeout), nil)
		got := decode[api.ServiceAccount](t, r)
		if got.Metadata.Name != "slow" || got.Status.Phase != api.PhasePending {
			t.Fatalf("timeout=%s: got %+v, want the object as it is (pending)", timeout, got)
		}
		waited, err := time.ParseDuration(r.Header.Get(api.HeaderWaited))
		if err != nil {
			t.Fatalf("timeout=%s: %s header %q is not a duration", timeout, api.HeaderWaited, r.Header.Get(api.HeaderWaited))
		}
		if want, _ := time.ParseDuration(timeout); waited < want {
			t.Errorf("timeout=%s: answered after %v, before the timeout passed", timeout, waited)
		}
	}
	// A generation the object never reached times out the same way.
	r := c.must(http.StatusOK, http.MethodGet, waitPath(saPath("slow"), 7, "100ms"), nil)
	if got := decode[api.ServiceAccount](t, r); got.Metadata.Generation != 1 {
		t.Fatalf("got %+v, want the object at generation 1", got.Metadata)
	}
}

func TestLongPoll_NotFoundWhenDeleted(t *testing.T) {
	t.Parallel()
	c, srv := startWaitFixture(t)
	createUnsettledAccount(t, c, srv, "gone")
	done := longPoll(c, waitPath(saPath("gone"), 1, "60s"))
	waitForWaiters(t, c, 1)
	c.must(http.StatusNoContent, http.MethodDelete, saPath("gone"), nil)
	wantError(t, <-done, http.StatusNotFound, api.ENOTFOUND, "")
	// A long poll on a missing object is a 404 at once.
	wantError(t, c.do(http.MethodGet, waitPath(saPath("gone"), 1, "60s"), nil), http.StatusNotFound, api.ENOTFOUND, "")
}

// TestLongPoll_Reconciled waits for what the real reconcilers do: the
// ready handler settles an updated feature group, and a compute pool being
// deleted is not settled until it is gone.
func TestLongPoll_Reconciled(t *testing.T) {
	t.Parallel()
	c, _ := startWaitFixture(t)
	createEnv(c, "dev", api.EnvironmentSpec{})
	c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindFeatureStore, ""),
		api.CreateFeatureStoreRequest{Name: "fs", Spec: api.FeatureStoreSpec{OfflineStoreURI: "file:///tmp/fs", OnlineStore: api.OnlineStoreNone}})
	fg := objPath("dev", api.KindFeatureGroup, "fg")
	c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindFeatureGroup, ""), api.CreateFeatureGroupRequest{
		Name: "fg", Spec: featureGroupSpec("fs", api.Feature{Name: "a", ValueType: api.ValueTypeInt64}),
	})
	r := c.must(http.StatusOK, http.MethodPut, fg, api.UpdateFeatureGroupRequest{
		Spec: featureGroupSpec("fs", api.Feature{Name: "a", ValueType: api.ValueTypeInt64}, api.Feature{Name: "b", ValueType: api.ValueTypeInt64}),
	})
	gen := decode[api.FeatureGroup](t, r).Metadata.Generation
	got := decode[api.FeatureGroup](t, c.must(http.StatusOK, http.MethodGet, waitPath(fg, gen, "60s"), nil))
	if !got.Status.Settled(gen) || got.Status.Phase != api.PhaseReady {
		t.Fatalf("status = %+v, want ready at generation %d", got.Status, gen)
	}

	pool := objPath("dev", api.KindComputePool, "cpu")
	created := createPool(c, "dev", "cpu", api.ComputePoolSpec{MinNodes: 1, MaxNodes: 1})
	settled := decode[api.ComputePool](t, c.must(http.StatusOK, http.MethodGet, waitPath(pool, created.Metadata.Generation, "60s"), nil))
	if settled.Status.Phase != api.PhaseReady {
		t.Fatalf("pool status = %+v, want ready", settled.Status)
	}
	c.must(http.StatusAccepted, http.MethodDelete, pool, nil)
	wantError(t, c.do(http.MethodGet, waitPath(pool, settled.Metadata.Generation, "60s"), nil), http.StatusNotFound, api.ENOTFOUND, "")
}

// TestLongPoll_OtherReplica runs two control planes on one PostgreSQL
// database: a status written through one replica's store ends a long poll
// on the other, which hears of it only by reading the database again.
func TestLongPoll_OtherReplica(t *testing.T) {
	if backend != backendPostgres {
		t.Skip("replicas share a database on PostgreSQL only")
	}
	t.Parallel()
	dsn := pgtest.Start(t)
	a := mlopsdtest.Start(t, mlopsdtest.WithDatabaseURL(dsn))
	b := mlopsdtest.Start(t, mlopsdtest.WithDatabaseURL(dsn))
	ca := &apiClient{tb: t, base: a.URL, http: &http.Client{Timeout: 90 * time.Second}}
	sa := createUnsettledAccount(t, ca, a, "shared")
	done := longPoll(ca, waitPath(saPath("shared"), 1, "60s"))
	waitForWaiters(t, ca, 1)
	setStatus(t, b, sa.Metadata.UID, "shared", api.Status{Phase: api.PhaseReady, ObservedGeneration: 1})
	r := <-done
	if got := decode[api.ServiceAccount](t, r); r.Status != http.StatusOK || got.Status.Phase != api.PhaseReady {
		t.Fatalf("long poll on replica a = %s, want the ready status written through replica b", r)
	}
}

func TestOpenAPI_LongPollParameters(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name, In    string
				Description string
				Schema      map[string]any
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(c.must(http.StatusOK, http.MethodGet, "/openapi.json", nil).Body, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rt := range api.Routes {
		if rt.Op != api.OpGet {
			continue
		}
		found := map[string]string{}
		for _, p := range doc.Paths[rt.Path]["get"].Parameters {
			if p.In == "query" && p.Description != "" {
				found[p.Name], _ = p.Schema["type"].(string)
			}
		}
		if found[api.QueryWaitForGeneration] != "integer" || found[api.QueryWaitTimeout] != "string" {
			t.Errorf("GET %s documents query parameters %v, want %s (integer) and %s (string)", rt.Path, found, api.QueryWaitForGeneration, api.QueryWaitTimeout)
		}
	}
}
