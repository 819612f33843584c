package console

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
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

func TestPercentSteps(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	steps := []Point{{T: t0, V: 10, Valid: true}, {T: t0.Add(10 * time.Second), V: 100, Valid: true}}
	final := 0.0
	// 100 wide, 4 padding: x 4..96 over 20s, y 96 (0%)..4 (100%).
	c := PercentSteps("x", steps, t0.Add(20*time.Second), &final, 100, 100, "bad")
	if want := "4,86.8 50,86.8 50,4 96,4 96,96"; c.Points != want {
		t.Errorf("points = %q, want %q", c.Points, want)
	}
	if len(c.Dots) != 3 || !c.Dots[2].Hot || c.Dots[1].Hot || c.Dots[2].Label != "03:00:20 0%" {
		t.Errorf("dots = %+v, want the drop to 0 marked", c.Dots)
	}
}

func TestProgressOf(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	ro := &api.EndpointRolloutState{Variant: "primary", ToVersion: "v2", Strategy: api.RolloutLinear,
		Steps: []api.EndpointRolloutStep{{Percent: 25, StartedAt: t0}, {Percent: 50, StartedAt: t0.Add(time.Minute)}}}
	p := progressOf(ro, api.EndpointRollout{Strategy: api.RolloutLinear, StepPercent: 25, BakeTimeSeconds: 60}, t0.Add(90*time.Second))
	var marks []string
	for _, m := range p.Markers {
		marks = append(marks, fmt.Sprintf("%d%s%s", m.Percent, map[bool]string{true: "+"}[m.Reached], map[bool]string{true: "*"}[m.Current]))
	}
	if got := strings.Join(marks, " "); got != "25+ 50+* 75 100" {
		t.Errorf("markers = %s, want 25 and 50 taken (50 current), 75 and 100 to come", got)
	}
	if p.Step != 2 || p.Steps != 4 || p.Fill != 300 || p.Baked != 30*time.Second || p.Left != 30*time.Second || p.BakeFill != 300 {
		t.Errorf("progress = %+v", p)
	}
	if p := progressOf(ro, api.EndpointRollout{Strategy: api.RolloutLinear, StepPercent: 25, BakeTimeSeconds: 10}, t0.Add(90*time.Second)); p.Left != 0 || p.BakeFill != progressWidth {
		t.Errorf("progress after the bake = %+v", p)
	}
}

func TestDriftChart(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	v := 0.5
	a := api.Alarm{Spec: api.AlarmSpec{Metric: api.AlarmMetricFeatureDriftPSI, Comparison: api.ComparisonGreaterThan}}
	a.Status.Datapoints = []api.AlarmDatapoint{
		{Start: t0, Value: &v, FeatureDrift: map[string]float64{"a": 0.5, "b": 0.1}},
		{Start: t0.Add(time.Minute), Value: &v, FeatureDrift: map[string]float64{"a": 0.05, "b": 0.3, "c": 0.3}},
		{Start: t0.Add(2 * time.Minute)}, // no data
	}
	threshold := 0.2
	d := driftChart(a, t0, t0.Add(3*time.Minute), &threshold)
	if d == nil || d.Stat != "PSI" || !d.At.Equal(t0.Add(time.Minute)) {
		t.Fatalf("drift = %+v", d)
	}
	var newest []string
	for _, f := range d.Newest {
		newest = append(newest, fmt.Sprintf("%s=%v%s", f.Feature, f.Value, map[bool]string{true: "!"}[f.Breaching]))
	}
	if got := strings.Join(newest, " "); got != "b=0.3! c=0.3! a=0.05" {
		t.Errorf("newest = %s, want the most drifted first, breaches marked", got)
	}
	if len(d.Chart.Series) != 3 || d.Chart.Series[0].Name != "a" || len(d.Chart.Series[0].Dots) != 2 || !d.Chart.Series[0].Dots[0].Hot || d.Chart.Series[0].Dots[1].Hot {
		t.Errorf("series = %+v", d.Chart.Series)
	}
	if len(d.Chart.Series[2].Dots) != 1 || d.Chart.Threshold == nil {
		t.Errorf("feature c, only in the second period: %+v; threshold %+v", d.Chart.Series[2], d.Chart.Threshold)
	}
	a.Spec.Metric = api.AlarmMetricLatency
	if driftChart(a, t0, t0, &threshold) != nil {
		t.Error("a latency alarm has a drift chart")
	}
}
