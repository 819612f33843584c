package console

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLineChart(t *testing.T) {
	from := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	to := from.Add(time.Minute)
	threshold := 5.0
	c := LineChart("x", from, to, []SeriesInput{{Name: "v", Points: []Point{
		{T: from, V: 10, Valid: true, Hot: true},
		{T: from.Add(30 * time.Second)}, // a gap
		{T: to, V: 0, Valid: true},
	}}}, &threshold, " ms")
	if c.Empty || len(c.Series) != 1 || len(c.Series[0].Dots) != 2 {
		t.Fatalf("chart = %+v", c)
	}
	// From the plot's left edge at 10 (near the top, with headroom) to its
	// right edge at 0 (the bottom).
	if got := c.Series[0].Points; !strings.HasPrefix(got, "84,") || !strings.HasSuffix(got, "600,190") {
		t.Errorf("points = %q", got)
	}
	if !c.Series[0].Dots[0].Hot || c.Series[0].Dots[0].Label != "03:00:00 10 ms" {
		t.Errorf("first dot = %+v", c.Series[0].Dots[0])
	}
	// The threshold lies between the two values.
	if th := c.Threshold; th == nil || th.Y <= c.Top || th.Y >= c.Bottom || th.Label != "threshold 5 ms" {
		t.Errorf("threshold = %+v", c.Threshold)
	}
	if len(c.XTicks) != 5 || c.XTicks[0].Label != "03:00:00" {
		t.Errorf("x ticks = %+v", c.XTicks)
	}
	t.Run("Empty", func(t *testing.T) {
		c := LineChart("x", from, to, []SeriesInput{{Name: "v", Points: []Point{{T: from}}}}, nil, "")
		if !c.Empty || c.Series[0].Points != "" || c.Threshold != nil {
			t.Errorf("empty chart = %+v", c)
		}
	})
}

func TestLayoutGraph(t *testing.T) {
	g := LayoutGraph([]GraphInput{
		{ID: "train", Deps: []string{"prep", "features"}},
		{ID: "prep"},
		{ID: "features", Deps: []string{"prep"}},
		{ID: "eval", Deps: []string{"train", "unknown"}},
		{ID: "loop", Deps: []string{"loop"}},
	})
	x := map[string]float64{}
	for _, n := range g.Nodes {
		x[n.ID] = n.X
	}
	if !(x["prep"] < x["features"] && x["features"] < x["train"] && x["train"] < x["eval"]) || x["loop"] != x["prep"] {
		t.Errorf("columns = %v", x)
	}
	if len(g.Edges) != 4 {
		t.Errorf("edges = %+v, want prep→train, features→train, prep→features, train→eval", g.Edges)
	}
	if g.Width <= x["eval"] || g.Height <= 0 {
		t.Errorf("size %gx%g", g.Width, g.Height)
	}
}

func TestSessionCookie(t *testing.T) {
	s := newSessions(time.Hour)
	for _, tc := range []struct {
		name   string
		tls    bool
		secure bool
	}{{"HTTP", false, false}, {"TLS", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/ui/", nil)
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			sess := s.start(w, r, "tok")
			cookies := w.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("cookies = %v", cookies)
			}
			c := cookies[0]
			if c.Value != sess.id || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tc.secure || c.Path != Prefix {
				t.Errorf("cookie = %+v", c)
			}
			r2 := httptest.NewRequest(http.MethodGet, "/ui/", nil)
			r2.AddCookie(c)
			if got := s.get(r2); got != sess || !validCSRF(got, sess.csrf) || validCSRF(got, "x") || validCSRF(nil, sess.csrf) {
				t.Errorf("session round trip failed")
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/ui/env/dev":          "/ui/env/dev",
		"/ui/audit?kind=x":     "/ui/audit?kind=x",
		"":                     Prefix,
		"https://evil.example": Prefix,
		"//evil.example/ui/":   Prefix,
		"/ui/\\evil":           Prefix,
		"/v1/environments":     Prefix,
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSessions_EvictTokenlessFirst(t *testing.T) {
	s := newSessions(time.Hour)
	r := httptest.NewRequest(http.MethodGet, "/ui/", nil)
	signedIn := s.start(httptest.NewRecorder(), r, "tok")
	for range maxSessions + 10 {
		s.start(httptest.NewRecorder(), r, "")
	}
	if len(s.m) > maxSessions || s.m[signedIn.id] == nil {
		t.Fatalf("%d sessions; signed-in session kept: %v", len(s.m), s.m[signedIn.id] != nil)
	}
}
