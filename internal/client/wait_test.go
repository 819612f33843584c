package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// featureGroupAt is a feature group at generation gen whose status
// observed observed in phase.
func featureGroupAt(gen, observed int64, phase string) api.FeatureGroup {
	return api.FeatureGroup{
		Metadata: api.Metadata{Name: "fg", Environment: "dev", UID: "u1", Generation: gen, ETag: "e"},
		Status:   api.Status{Phase: phase, ObservedGeneration: observed},
	}
}

// pollRecorder answers GETs of one feature group from a script of
// answers, the last one repeated, and records each request's query.
type pollRecorder struct {
	mu      sync.Mutex
	queries []url.Values
	answers []api.FeatureGroup
	// waited, when true, sets the header an mlopsd that long-polls sends.
	waited bool
}

func (p *pollRecorder) handler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.queries = append(p.queries, r.URL.Query())
		i := min(len(p.queries), len(p.answers)) - 1
		a := p.answers[i]
		p.mu.Unlock()
		if p.waited {
			w.Header().Set(api.HeaderWaited, "1ms")
		}
		writeJSON(t, w, http.StatusOK, a)
	}
}

func (p *pollRecorder) calls() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.queries...)
}

func TestWaitSettled_LongPoll(t *testing.T) {
	p := &pollRecorder{waited: true, answers: []api.FeatureGroup{
		featureGroupAt(2, 1, api.PhaseReady), // the server's timeout passed
		featureGroupAt(2, 2, api.PhaseReady),
	}}
	_, c := MustServe(t, p.handler(t))
	// With re-polls an hour apart, only asking again at once after a
	// long poll that waited finishes this test.
	c.pollBase, c.pollMax = time.Hour, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fg, err := c.WaitFeatureGroupSettled(ctx, "dev", "fg", 2)
	if err != nil || fg.Status.ObservedGeneration != 2 {
		t.Fatalf("WaitFeatureGroupSettled = %+v, %v; want the status of generation 2", fg, err)
	}
	calls := p.calls()
	if len(calls) != 2 {
		t.Fatalf("%d requests, want 2", len(calls))
	}
	for _, q := range calls {
		if q.Get(api.QueryWaitForGeneration) != "2" {
			t.Errorf("wait_for_generation = %q, want 2", q.Get(api.QueryWaitForGeneration))
		}
		d, err := time.ParseDuration(q.Get(api.QueryWaitTimeout))
		// Well inside both the ctx (10 s) and the request timeout (30 s).
		if err != nil || d <= 0 || d >= 10*time.Second {
			t.Errorf("timeout = %q, want a duration inside the caller's 10 s", q.Get(api.QueryWaitTimeout))
		}
	}
}

func TestWaitSettled_TimeoutLeavesRoomForTheAnswer(t *testing.T) {
	p := &pollRecorder{waited: true, answers: []api.FeatureGroup{featureGroupAt(1, 1, api.PhaseReady)}}
	_, c := MustServe(t, p.handler(t))
	c.requestTimeout = 4 * time.Second
	if _, err := c.WaitFeatureGroupSettled(context.Background(), "dev", "fg", 1); err != nil {
		t.Fatal(err)
	}
	d, err := time.ParseDuration(p.calls()[0].Get(api.QueryWaitTimeout))
	if err != nil || d <= 0 || d >= 4*time.Second {
		t.Fatalf("timeout = %q with a 4 s request timeout, want less than 4 s", p.calls()[0].Get(api.QueryWaitTimeout))
	}
}

func TestWaitSettled_FollowsANewerGeneration(t *testing.T) {
	p := &pollRecorder{waited: true, answers: []api.FeatureGroup{
		featureGroupAt(3, 2, api.PhaseReady), // 2 settled, but someone wrote 3
		featureGroupAt(3, 3, api.PhaseFailed),
	}}
	_, c := MustServe(t, p.handler(t))
	fg, err := c.WaitFeatureGroupSettled(context.Background(), "dev", "fg", 2)
	if err != nil || fg.Status.Phase != api.PhaseFailed {
		t.Fatalf("WaitFeatureGroupSettled = %+v, %v; want the failed status of generation 3", fg, err)
	}
	calls := p.calls()
	if got := calls[1].Get(api.QueryWaitForGeneration); got != "3" {
		t.Errorf("second long poll waits for generation %q, want 3", got)
	}
}

// TestWaitSettled_FallbackBacksOff: a server that does not long-poll
// answers at once and without the Mlops-Waited header; the client must
// then poll with a growing pause, not spin.
func TestWaitSettled_FallbackBacksOff(t *testing.T) {
	p := &pollRecorder{answers: []api.FeatureGroup{featureGroupAt(1, 0, api.PhaseProvisioning)}}
	_, c := MustServe(t, p.handler(t))
	c.pollBase, c.pollMax = 20*time.Millisecond, 80*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	fg, err := c.WaitFeatureGroupSettled(ctx, "dev", "fg", 1)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out waiting") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if fg == nil || fg.Status.Phase != api.PhaseProvisioning {
		t.Fatalf("last object = %+v, want the last one read", fg)
	}
	// Pauses of at least 10 ms (half of the first step) allow at most 50
	// polls in 500 ms; a client that spins makes thousands.
	if n := len(p.calls()); n < 2 || n > 50 {
		t.Fatalf("%d polls in 500 ms, want a handful", n)
	}
}

func TestWaitSettled_Errors(t *testing.T) {
	t.Run("NotFound", func(t *testing.T) {
		_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
			writeError(t, w, http.StatusNotFound, api.ENOTFOUND, "", "no such feature group")
		})
		if _, err := c.WaitFeatureGroupSettled(context.Background(), "dev", "fg", 1); !IsNotFound(err) {
			t.Fatalf("err = %v, want not found", err)
		}
	})
	t.Run("BadName", func(t *testing.T) {
		c := MustNewClient(t, Config{Endpoint: "http://127.0.0.1:1"})
		if _, err := c.WaitFeatureGroupSettled(context.Background(), "dev", "..", 1); ErrorField(err) != "name" {
			t.Fatalf("err = %v, want an invalid name", err)
		}
	})
}

func TestWaitGone(t *testing.T) {
	var calls atomic.Int64
	_, c := MustServe(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			now := time.Now()
			pool := api.ComputePool{Metadata: api.Metadata{Name: "p", Generation: 1, DeletionRequestedAt: &now}}
			pool.Status.Phase = api.PhaseDeleting
			w.Header().Set(api.HeaderWaited, "30s")
			writeJSON(t, w, http.StatusOK, pool)
			return
		}
		writeError(t, w, http.StatusNotFound, api.ENOTFOUND, "", "gone")
	})
	c.pollBase, c.pollMax = time.Hour, time.Hour
	if err := c.WaitComputePoolGone(context.Background(), "dev", "p"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d requests, want 3 (two long polls that timed out, then 404)", calls.Load())
	}
}

// oldMlopsd puts a proxy in front of a real mlopsd that drops the long-poll
// parameters and the Mlops-Waited header, as an mlopsd from before them
// (or a proxy that strips query strings) would behave.
func oldMlopsd(t *testing.T, target string) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var gets atomic.Int64
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		if pr.In.Method == http.MethodGet {
			gets.Add(1)
		}
		q := pr.Out.URL.Query()
		q.Del(api.QueryWaitForGeneration)
		q.Del(api.QueryWaitTimeout)
		pr.Out.URL.RawQuery = q.Encode()
	}}
	rp.ModifyResponse = func(resp *http.Response) error {
		resp.Header.Del(api.HeaderWaited)
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL, &gets
}

// TestWait_RealMlopsd waits for what a real control plane's reconcilers
// do, directly and through an mlopsd that does not long-poll.
func TestWait_RealMlopsd(t *testing.T) {
	srv := mlopsdtest.Start(t)
	old, gets := oldMlopsd(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setup := MustNewClient(t, Config{Endpoint: srv.URL})
	if _, err := setup.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	for i, endpoint := range []string{srv.URL, old} {
		c := MustNewClient(t, Config{Endpoint: endpoint})
		c.pollBase, c.pollMax = 10*time.Millisecond, 50*time.Millisecond
		name := "fs-" + strconv.Itoa(i)
		spec := api.FeatureStoreSpec{OfflineStoreURI: "file:///tmp/" + name, OnlineStore: api.OnlineStoreNone}
		if _, err := c.CreateFeatureStore(ctx, "dev", name, spec); err != nil {
			t.Fatal(err)
		}
		spec.Description = "v2"
		updated, err := c.UpdateFeatureStore(ctx, "dev", name, spec, "")
		if err != nil {
			t.Fatal(err)
		}
		fs, err := c.WaitFeatureStoreSettled(ctx, "dev", name, updated.Metadata.Generation)
		if err != nil || fs.Status.Phase != api.PhaseReady || fs.Status.ObservedGeneration != updated.Metadata.Generation {
			t.Fatalf("%s: WaitFeatureStoreSettled = %+v, %v; want ready at generation %d", endpoint, fs, err, updated.Metadata.Generation)
		}

		pool := "pool-" + strconv.Itoa(i)
		created, err := c.CreateComputePool(ctx, "dev", pool, api.ComputePoolSpec{MinNodes: 1, MaxNodes: 1})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := c.WaitComputePoolSettled(ctx, "dev", pool, created.Metadata.Generation); err != nil || p.Status.Phase != api.PhaseReady {
			t.Fatalf("%s: WaitComputePoolSettled = %+v, %v; want ready", endpoint, p, err)
		}
		res, err := c.DeleteComputePool(ctx, "dev", pool)
		if err != nil || !res.Pending {
			t.Fatalf("DeleteComputePool = %+v, %v; want a teardown in progress", res, err)
		}
		if err := c.WaitComputePoolGone(ctx, "dev", pool); err != nil {
			t.Fatalf("%s: WaitComputePoolGone: %v", endpoint, err)
		}
		if _, err := c.GetComputePool(ctx, "dev", pool); !IsNotFound(err) {
			t.Fatalf("%s: the pool still exists after WaitComputePoolGone: %v", endpoint, err)
		}
	}
	if gets.Load() == 0 {
		t.Fatal("nothing went through the old mlopsd")
	}
}
