package console

import (
	"encoding/json"
	"html/template"
	"slices"
	"strings"
	"time"
)

// funcs are the template functions. None of them returns template.HTML:
// everything a page shows is escaped by html/template.
var funcs = template.FuncMap{
	"when":   when,
	"whenp":  whenPtr,
	"dur":    duration,
	"cls":    phaseClass,
	"join":   strings.Join,
	"pretty": pretty,
	"num":    numPtr,
	"fnum":   formatValue,
	"add":    func(a, b int) int { return a + b },
	"has":    slices.Contains[[]string, string],
}

const timeLayout = "2006-01-02 15:04:05 UTC"

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeLayout)
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return when(*t)
}

// duration is how long from start to end; with end nil, until now.
func duration(start, end *time.Time) string {
	if start == nil {
		return "—"
	}
	e := time.Now()
	if end != nil {
		e = *end
	}
	d := e.Sub(*start)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Minute).String()
	}
}

func numPtr(v *float64) string {
	if v == nil {
		return "—"
	}
	return formatValue(*v)
}

// pretty is indented JSON of v, shown as text.
func pretty(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// phaseClass maps a phase, state or approval to a CSS class.
func phaseClass(s string) string {
	switch strings.ToLower(s) {
	case "ready", "succeeded", "ok", "approved", "true", "delivered":
		return "ok"
	case "failed", "alarm", "rejected", "rolled_back", "false":
		return "bad"
	case "running", "provisioning", "scaling", "rolling_out", "pending", "deleting":
		return "busy"
	default:
		return "muted"
	}
}

func sortStrings(s []string) { slices.Sort(s) }
