package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

// waitFixture is a server whose long polls never re-read on their own, so
// that only the announcement of a write can end them.
type waitFixture struct {
	t     *testing.T
	srv   *Server
	store *store.Watched
	url   string
}

func newWaitFixture(t *testing.T) *waitFixture {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "mlops.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := store.Watch(db)
	s := New(Config{Store: st})
	s.waitReread = time.Hour
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.EndWaits()
		ts.Close()
		_ = db.Close()
	})
	return &waitFixture{t: t, srv: s, store: st, url: ts.URL}
}

func (f *waitFixture) get(path string) (int, []byte) {
	f.t.Helper()
	resp, err := http.Get(f.url + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// unsettledAccount creates a service account whose status is pending.
func (f *waitFixture) unsettledAccount(name string) (api.Ref, string) {
	f.t.Helper()
	body, _ := json.Marshal(api.CreateServiceAccountRequest{Name: name})
	resp, err := http.Post(f.url+"/v1/"+api.KindServiceAccount, "application/json", bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sa api.ServiceAccount
	if err := json.NewDecoder(resp.Body).Decode(&sa); err != nil || resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("creating %s: %d %v", name, resp.StatusCode, err)
	}
	ref := api.Ref{Kind: api.KindServiceAccount, Name: name}
	if _, err := f.store.UpdateStatus(context.Background(), ref, sa.Metadata.UID, json.RawMessage(`{"phase":"pending"}`)); err != nil {
		f.t.Fatal(err)
	}
	return ref, sa.Metadata.UID
}

// waitForSubscribers waits until ref has n watchers.
func (f *waitFixture) waitForSubscribers(ref api.Ref, n int) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if f.srv.metricWaiting() == float64(n) {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: %v long polls waiting, want %d", ref, f.srv.metricWaiting(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) metricWaiting() float64 {
	families, err := s.reg.Gather()
	if err != nil {
		return -1
	}
	for _, fam := range families {
		if fam.GetName() == "mlopsd_long_polls_waiting" {
			return fam.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// TestLongPoll_WokenByWrite: with re-reads an hour apart, only the write's
// announcement through the watched store can end the wait before the test
// binary's timeout.
func TestLongPoll_WokenByWrite(t *testing.T) {
	f := newWaitFixture(t)
	ref, uid := f.unsettledAccount("ci")
	type answer struct {
		code int
		body []byte
	}
	done := make(chan answer, 1)
	go func() {
		code, body := f.get("/v1/" + api.KindServiceAccount + "/ci?wait_for_generation=1&timeout=60s")
		done <- answer{code, body}
	}()
	f.waitForSubscribers(ref, 1)
	// A write of another object does not end it.
	other, otherUID := f.unsettledAccount("other")
	if _, err := f.store.UpdateStatus(context.Background(), other, otherUID, json.RawMessage(`{"phase":"ready","observed_generation":1}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-done:
		t.Fatalf("the long poll ended on a write of another object: %d %s", a.code, a.body)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := f.store.UpdateStatus(context.Background(), ref, uid, json.RawMessage(`{"phase":"ready","observed_generation":1}`)); err != nil {
		t.Fatal(err)
	}
	a := <-done
	var sa api.ServiceAccount
	if err := json.Unmarshal(a.body, &sa); err != nil || a.code != http.StatusOK || sa.Status.Phase != api.PhaseReady {
		t.Fatalf("long poll = %d %s, want 200 with the ready status", a.code, a.body)
	}
}

// TestLongPoll_EndWaits: a shutdown answers waiting long polls at once with
// the object as it is, and later ones do not wait.
func TestLongPoll_EndWaits(t *testing.T) {
	f := newWaitFixture(t)
	ref, _ := f.unsettledAccount("ci")
	done := make(chan int, 1)
	go func() {
		code, _ := f.get("/v1/" + api.KindServiceAccount + "/ci?wait_for_generation=1&timeout=60s")
		done <- code
	}()
	f.waitForSubscribers(ref, 1)
	f.srv.EndWaits()
	if code := <-done; code != http.StatusOK {
		t.Fatalf("long poll ended by EndWaits = %d, want 200", code)
	}
	if code, body := f.get("/v1/" + api.KindServiceAccount + "/ci?wait_for_generation=1&timeout=60s"); code != http.StatusOK {
		t.Fatalf("long poll after EndWaits = %d %s, want 200 at once", code, body)
	}
}
