package console

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The charts and graphs are computed here as coordinates and rendered by
// the templates (partials.html) as inline SVG, so html/template escapes
// every label like any other text on the page.

// Chart is a line chart over time, ready to render.
type Chart struct {
	Title         string
	Width, Height float64
	// Plot area.
	Left, Top, Right, Bottom float64
	Series                   []ChartSeries
	Threshold                *ChartLine
	XTicks, YTicks           []ChartTick
	Empty                    bool
}

// ChartSeries is one line of a chart; Points is the polyline's points
// attribute, Dots its markers.
type ChartSeries struct {
	Name   string
	Class  string
	Points string
	Dots   []ChartDot
}

// ChartDot is one marker.
type ChartDot struct {
	X, Y  float64
	Label string
	Hot   bool
}

// ChartLine is a horizontal line, such as an alarm's threshold.
type ChartLine struct {
	Y     float64
	Label string
}

// ChartTick is one axis label.
type ChartTick struct {
	X, Y  float64
	Label string
}

// Point is one value of a series at a time; Valid false is a gap.
type Point struct {
	T     time.Time
	V     float64
	Valid bool
	// Hot marks a point that deserves attention, e.g. a breaching period.
	Hot bool
}

// SeriesInput is one series to chart.
type SeriesInput struct {
	Name   string
	Class  string
	Points []Point
}

// LineChart lays out series over [from, to], with an optional threshold.
func LineChart(title string, from, to time.Time, series []SeriesInput, threshold *float64, unit string) Chart {
	c := Chart{Title: title, Width: 640, Height: 220, Left: 84, Top: 16, Right: 600, Bottom: 190}
	lo, hi := math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range series {
		for _, p := range s.Points {
			if p.Valid {
				lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
				n++
			}
		}
	}
	if threshold != nil {
		lo, hi = math.Min(lo, *threshold), math.Max(hi, *threshold)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if lo > 0 {
		lo = 0
	}
	if hi <= lo {
		hi = lo + 1
	}
	hi += (hi - lo) * 0.1
	c.Empty = n == 0
	span := to.Sub(from).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 { return c.Left + (c.Right-c.Left)*t.Sub(from).Seconds()/span }
	y := func(v float64) float64 { return c.Bottom - (c.Bottom-c.Top)*(v-lo)/(hi-lo) }
	for _, s := range series {
		out := ChartSeries{Name: s.Name, Class: s.Class}
		var pts []string
		for _, p := range s.Points {
			if !p.Valid {
				continue
			}
			px, py := round1(x(p.T)), round1(y(p.V))
			pts = append(pts, fmtF(px)+","+fmtF(py))
			out.Dots = append(out.Dots, ChartDot{X: px, Y: py, Label: p.T.UTC().Format("15:04:05") + " " + formatValue(p.V) + unit, Hot: p.Hot})
		}
		out.Points = strings.Join(pts, " ")
		c.Series = append(c.Series, out)
	}
	if threshold != nil {
		c.Threshold = &ChartLine{Y: round1(y(*threshold)), Label: "threshold " + formatValue(*threshold) + unit}
	}
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		c.YTicks = append(c.YTicks, ChartTick{X: c.Left - 6, Y: round1(y(v)), Label: formatValue(v) + unit})
	}
	layout := "15:04"
	if to.Sub(from) < 10*time.Minute {
		layout = "15:04:05"
	}
	if to.Sub(from) > 36*time.Hour {
		layout = "Jan 2 15:04"
	}
	for i := 0; i <= 4; i++ {
		t := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / 4))
		c.XTicks = append(c.XTicks, ChartTick{X: round1(x(t)), Y: c.Bottom + 16, Label: t.UTC().Format(layout)})
	}
	return c
}

// StepChart is a small chart of a percentage that holds between changes,
// such as the share of traffic on a rollout's new version.
type StepChart struct {
	Title                    string
	Width, Height            float64
	Left, Top, Right, Bottom float64
	// Points is the step line's points attribute; Dots mark the changes.
	Points string
	Dots   []ChartDot
	// Class colours the line, e.g. by the rollout's result.
	Class string
}

// PercentSteps lays out steps, 0..100 %, each holding from its time until
// the next one's, and the last until end. final, when set, is the value
// from end on (a rolled-back rollout drops to 0), marked hot when lower
// than the last step.
func PercentSteps(title string, steps []Point, end time.Time, final *float64, width, height float64, class string) StepChart {
	c := StepChart{Title: title, Width: width, Height: height, Left: 4, Top: 4, Right: width - 4, Bottom: height - 4, Class: class}
	if len(steps) == 0 {
		return c
	}
	from := steps[0].T
	span := end.Sub(from).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 {
		return round1(c.Left + (c.Right-c.Left)*math.Min(math.Max(t.Sub(from).Seconds()/span, 0), 1))
	}
	y := func(v float64) float64 { return round1(c.Bottom - (c.Bottom-c.Top)*math.Min(math.Max(v, 0), 100)/100) }
	var pts []string
	add := func(px, py float64) { pts = append(pts, fmtF(px)+","+fmtF(py)) }
	for i, st := range steps {
		px, py := x(st.T), y(st.V)
		if i > 0 {
			add(px, y(steps[i-1].V))
		}
		add(px, py)
		c.Dots = append(c.Dots, ChartDot{X: px, Y: py, Label: st.T.UTC().Format("15:04:05") + " " + formatValue(st.V) + "%"})
	}
	last := steps[len(steps)-1].V
	add(x(end), y(last))
	if final != nil {
		add(x(end), y(*final))
		c.Dots = append(c.Dots, ChartDot{X: x(end), Y: y(*final), Label: end.UTC().Format("15:04:05") + " " + formatValue(*final) + "%", Hot: *final < last})
	}
	c.Points = strings.Join(pts, " ")
	return c
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func fmtF(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// formatValue prints a number briefly: 3 significant digits.
func formatValue(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// Graph is a left-to-right DAG, ready to render.
type Graph struct {
	Width, Height float64
	Nodes         []GraphNode
	Edges         []GraphEdge
}

// GraphNode is one box of a graph.
type GraphNode struct {
	ID         string
	X, Y, W, H float64
	Label, Sub string
	// Class colours the node, e.g. by phase.
	Class string
	Href  string
}

// GraphEdge is one arrow, from the right of one node to the left of another.
type GraphEdge struct {
	X1, Y1, X2, Y2 float64
}

// GraphInput is one node to lay out; Deps name the nodes it comes after.
type GraphInput struct {
	ID, Label, Sub, Class, Href string
	Deps                        []string
}

// LayoutGraph places each node in the column of its longest path from a
// root, in input order within the column. Unknown deps are ignored; a
// cycle (which the API refuses) would be cut where it closes.
func LayoutGraph(nodes []GraphInput) Graph {
	const w, h, gapX, gapY, pad = 150.0, 44.0, 50.0, 16.0, 10.0
	index := map[string]int{}
	for i, n := range nodes {
		index[n.ID] = i
	}
	level := make([]int, len(nodes))
	state := make([]int, len(nodes)) // 0 new, 1 visiting, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		if state[i] == 2 || state[i] == 1 {
			return level[i]
		}
		state[i] = 1
		l := 0
		for _, d := range nodes[i].Deps {
			if j, ok := index[d]; ok && state[j] != 1 {
				l = max(l, visit(j)+1)
			}
		}
		level[i], state[i] = l, 2
		return l
	}
	rows := map[int]int{}
	g := Graph{}
	pos := make([]GraphNode, len(nodes))
	for i := range nodes {
		visit(i)
	}
	maxRows := 0
	for i, n := range nodes {
		l := level[i]
		row := rows[l]
		rows[l]++
		maxRows = max(maxRows, rows[l])
		pos[i] = GraphNode{ID: n.ID, X: pad + float64(l)*(w+gapX), Y: pad + float64(row)*(h+gapY), W: w, H: h,
			Label: n.Label, Sub: n.Sub, Class: n.Class, Href: n.Href}
		g.Width = max(g.Width, pos[i].X+w+pad)
	}
	g.Height = pad*2 + float64(maxRows)*(h+gapY) - gapY
	for i, n := range nodes {
		for _, d := range n.Deps {
			if j, ok := index[d]; ok && level[j] < level[i] {
				a, b := pos[j], pos[i]
				g.Edges = append(g.Edges, GraphEdge{X1: a.X + a.W, Y1: a.Y + a.H/2, X2: b.X - 4, Y2: b.Y + b.H/2})
			}
		}
	}
	g.Nodes = pos
	return g
}
