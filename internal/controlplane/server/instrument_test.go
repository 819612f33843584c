package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

// requestCount returns mlopsd_http_requests_total for route and code.
func requestCount(t *testing.T, s *Server, route, code string) float64 {
	t.Helper()
	families, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "mlopsd_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if label(m, "route") == route && label(m, "code") == code {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestInstrument_Panics(t *testing.T) {
	s := New(Config{})

	t.Run("BeforeResponse", func(t *testing.T) {
		h := s.instrument("GET /boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("status = %d, want 500", rec.Code)
		}
		var e api.Error
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != api.EINTERNAL || e.Message != "Internal error." {
			t.Fatalf("body = %s, want the internal error and no detail", rec.Body)
		}
		if n := requestCount(t, s, "GET /boom", "500"); n != 1 {
			t.Errorf("requests{code=500} = %v, want 1", n)
		}
	})

	t.Run("AfterResponseBegan", func(t *testing.T) {
		h := s.instrument("GET /half", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"items":[`))
			panic("boom")
		}))
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				// net/http cuts the connection on ErrAbortHandler, so the
				// client sees a broken response, not a corrupted one.
				if p := recover(); p != http.ErrAbortHandler {
					t.Errorf("panic value = %v, want http.ErrAbortHandler", p)
				}
			}()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/half", nil))
		}()
		if got := rec.Body.String(); got != `{"items":[` {
			t.Errorf("body = %q; an error body was appended to a begun response", got)
		}
		if n := requestCount(t, s, "GET /half", "500"); n != 1 {
			t.Errorf("requests{code=500} = %v, want 1", n)
		}
	})

	t.Run("AbortHandlerPassesThrough", func(t *testing.T) {
		h := s.instrument("GET /abort", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("panic value = %v, want http.ErrAbortHandler", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/abort", nil))
	})
}

// TestInstrument_InFlight checks that mlopsd_http_requests_in_flight counts
// a request while its handler runs, and stops counting it however the
// handler ends, a panic included.
func TestInstrument_InFlight(t *testing.T) {
	s := New(Config{})
	inFlight := func() float64 {
		t.Helper()
		families, err := s.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "mlopsd_http_requests_in_flight" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no mlopsd_http_requests_in_flight")
		return 0
	}
	var during float64
	h := s.instrument("GET /slow", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { during = inFlight() }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
	if during != 1 {
		t.Errorf("in flight while the handler runs = %v, want 1", during)
	}
	boom := s.instrument("GET /boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	boom.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/boom", nil))
	if n := inFlight(); n != 0 {
		t.Errorf("in flight after both requests ended = %v, want 0", n)
	}
}

func TestReadyz_DatabaseGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlops.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: st})
	if err := st.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with a closed database = %d %s, want 503", rec.Code, rec.Body)
	}
	var e api.Error
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != api.EUNAVAILABLE {
		t.Fatalf("body = %s, want code unavailable", rec.Body)
	}
	if strings.Contains(e.Message, "sql") || strings.Contains(e.Message, path) {
		t.Errorf("message %q leaks database detail", e.Message)
	}
}
