package provider

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Plan-time checks of a training pipeline that span attributes: the step
// DAG, parameter defaults and triggers. They are pure functions of what the
// configuration says, so they are unit-tested without Terraform; the control
// plane checks the same rules again (and more, such as the full cron parse)
// when the spec is written. Values Terraform does not know yet are left out,
// and every check that would need them is skipped.

// pipelineProblem is one mistake in a pipeline's configuration: the
// attribute at fault, a summary and a detail that says how to fix it.
type pipelineProblem struct {
	Path    path.Path
	Summary string
	Detail  string
}

// pipelineStepCheck is what the checks know about one step. Known fields
// are false when Terraform does not know the value yet.
type pipelineStepCheck struct {
	Name      string
	NameKnown bool
	// HasCommand and HasImage say whether command and image are set (a
	// non-empty list, a non-empty string).
	HasCommand, CommandKnown bool
	HasImage, ImageKnown     bool
	// DependsOn lists the depends_on entries; DependsOnKnown[j] is false for
	// an entry not known yet. A depends_on not known at all is empty.
	DependsOn      []string
	DependsOnKnown []bool
}

// pipelineParameterCheck is what the checks know about one parameter.
type pipelineParameterCheck struct {
	Name         string
	NameKnown    bool
	Type         string
	TypeKnown    bool
	Default      string
	DefaultKnown bool
}

// pipelineStepProblems checks the step list: unique names, exactly one of
// command and image, depends_on entries that name other existing steps once,
// and no dependency cycle.
func pipelineStepProblems(steps []pipelineStepCheck) []pipelineProblem {
	var problems []pipelineProblem
	at := func(i int) path.Path { return path.Root("steps").AtListIndex(i) }

	index := map[string]int{}
	allNamesKnown, duplicates := true, false
	for i, s := range steps {
		if !s.NameKnown {
			allNamesKnown = false
			continue
		}
		if j, dup := index[s.Name]; dup {
			duplicates = true
			problems = append(problems, pipelineProblem{at(i).AtName("name"), "Duplicate step name",
				fmt.Sprintf("steps[%d].name is %q, which steps[%d] already uses; step names must be unique in a pipeline. Rename one of them (and the depends_on entries that mean it).", i, s.Name, j)})
			continue
		}
		index[s.Name] = i
	}

	for i, s := range steps {
		switch {
		case !s.CommandKnown || !s.ImageKnown:
		case s.HasCommand && s.HasImage:
			problems = append(problems, pipelineProblem{at(i).AtName("image"), "Step sets both command and image",
				fmt.Sprintf("steps[%d] (%q) sets both command and image; a step runs either a command (a program and its arguments) or a container image. Remove one of them.", i, s.Name)})
		case !s.HasCommand && !s.HasImage:
			problems = append(problems, pipelineProblem{at(i).AtName("command"), "Step runs nothing",
				fmt.Sprintf("steps[%d] (%q) sets neither command nor image; set command to the program and its arguments, e.g. [\"python\", \"train.py\"], or image to a container image.", i, s.Name)})
		}
	}

	for i, s := range steps {
		seen := map[string]int{}
		for j, d := range s.DependsOn {
			if !s.DependsOnKnown[j] {
				continue
			}
			p := at(i).AtName("depends_on").AtListIndex(j)
			if s.NameKnown && d == s.Name {
				problems = append(problems, pipelineProblem{p, "Step depends on itself",
					fmt.Sprintf("steps[%d].depends_on[%d]: step %q cannot depend on itself; remove %q from its depends_on.", i, j, s.Name, d)})
				continue
			}
			if k, dup := seen[d]; dup {
				problems = append(problems, pipelineProblem{p, "Duplicate dependency",
					fmt.Sprintf("steps[%d].depends_on[%d]: %q is already listed at depends_on[%d]; list each step once.", i, j, d, k)})
				continue
			}
			seen[d] = j
			if _, ok := index[d]; !ok && allNamesKnown {
				problems = append(problems, pipelineProblem{p, "Unknown step in depends_on",
					fmt.Sprintf("steps[%d].depends_on[%d] is %q, but the pipeline has no step of that name; its steps are %s. Fix the name or remove the entry.", i, j, d, quotedStepNames(knownStepNames(steps)))})
			}
		}
	}

	// With duplicate names an edge's target is ambiguous; the duplicate is
	// reported above, and the cycle check waits until it is fixed.
	if !duplicates {
		if p, ok := pipelineStepCycle(steps, index); ok {
			problems = append(problems, p)
		}
	}
	return problems
}

// pipelineStepCycle finds the first dependency cycle, in step order, among
// the known names and edges. It names the depends_on entry that closes the
// cycle and the whole cycle, e.g. "a -> b -> a", where each step depends on
// the next.
func pipelineStepCycle(steps []pipelineStepCheck, index map[string]int) (pipelineProblem, bool) {
	const (
		unvisited = iota
		onPath
		finished
	)
	state := make([]int, len(steps))
	var stack []int
	var found *pipelineProblem
	var visit func(i int) bool
	visit = func(i int) bool {
		state[i] = onPath
		stack = append(stack, i)
		for j, d := range steps[i].DependsOn {
			k, ok := index[d]
			if !steps[i].DependsOnKnown[j] || !ok || k == i {
				// Unknown, dangling and self edges are reported elsewhere.
				continue
			}
			switch state[k] {
			case onPath:
				var cycle []string
				for p := len(stack) - 1; p >= 0; p-- {
					cycle = append([]string{steps[stack[p]].Name}, cycle...)
					if stack[p] == k {
						break
					}
				}
				cycle = append(cycle, steps[k].Name)
				found = &pipelineProblem{
					Path:    path.Root("steps").AtListIndex(i).AtName("depends_on").AtListIndex(j),
					Summary: "Dependency cycle in steps",
					Detail: fmt.Sprintf("The steps depend on each other in a cycle: %s (each step depends on the next), so none of them could ever start. "+
						"Remove one of these dependencies, e.g. %q from steps[%d].depends_on.", strings.Join(cycle, " -> "), d, i),
				}
				return true
			case unvisited:
				if visit(k) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = finished
		return false
	}
	for i := range steps {
		if state[i] == unvisited && steps[i].NameKnown && visit(i) {
			return *found, true
		}
	}
	return pipelineProblem{}, false
}

// pipelineParameterProblems checks parameter names are unique and defaults
// are values of their parameter's type. When the pipeline has triggers,
// every parameter needs a default, because triggered runs use the defaults.
func pipelineParameterProblems(params []pipelineParameterCheck, hasTriggers bool) []pipelineProblem {
	var problems []pipelineProblem
	seen := map[string]int{}
	for i, p := range params {
		at := path.Root("parameters").AtListIndex(i)
		if p.NameKnown {
			if j, dup := seen[p.Name]; dup {
				problems = append(problems, pipelineProblem{at.AtName("name"), "Duplicate parameter name",
					fmt.Sprintf("parameters[%d].name is %q, which parameters[%d] already uses; parameter names must be unique. Rename one of them.", i, p.Name, j)})
			} else {
				seen[p.Name] = i
			}
		}
		if !p.DefaultKnown || !p.TypeKnown {
			continue
		}
		if p.Default == "" {
			if hasTriggers {
				problems = append(problems, pipelineProblem{at.AtName("default"), "Parameter without default in a triggered pipeline",
					fmt.Sprintf("parameter %q has no default, but runs started by triggers (schedule, on_new_data, on_alarm) use the defaults. Give it a default of type %s, or remove the triggers.", p.Name, p.Type)})
			}
			continue
		}
		if err := checkParameterValue(p.Type, p.Default); err != nil {
			problems = append(problems, pipelineProblem{at.AtName("default"), "Invalid parameter default",
				fmt.Sprintf("parameters[%d].default: %v, but parameter %q is of type %s. Use a value of that type (%s), or change the type.", i, err, p.Name, p.Type, parameterTypeExample(p.Type))})
		}
	}
	return problems
}

// checkParameterValue reports whether v is a value of parameter type typ,
// with the server's rule. An unknown type is left to the type's validator.
func checkParameterValue(typ, v string) error {
	switch typ {
	case api.ParamInt:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
	case api.ParamFloat:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%q is not a finite decimal number", v)
		}
	case api.ParamBool:
		if v != "true" && v != "false" {
			return fmt.Errorf("%q is not true or false", v)
		}
	}
	return nil
}

func parameterTypeExample(typ string) string {
	switch typ {
	case api.ParamInt:
		return `e.g. "42"`
	case api.ParamFloat:
		return `e.g. "0.01"`
	case api.ParamBool:
		return `"true" or "false"`
	}
	return "any text"
}

// cronDescriptors are the named schedules the control plane accepts besides
// five-field expressions.
var cronDescriptors = map[string]bool{
	"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true,
}

// scheduleProblem returns why a schedule is not a cron schedule, with the
// fix, or "" when it looks like one. Only the shape is checked here (five
// fields or a descriptor); the control plane parses the fields.
func scheduleProblem(s string) string {
	e := strings.TrimSpace(s)
	hint := `use 5 fields in UTC: minute hour day-of-month month day-of-week, e.g. "0 3 * * *" for 03:00 daily, or a descriptor such as @hourly or @daily; an empty string means no schedule`
	switch {
	case e == "":
		if s != "" {
			return fmt.Sprintf("%q is blank; %s", s, hint)
		}
		return ""
	case strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ="):
		return fmt.Sprintf("%q has a time zone prefix, but schedules are in UTC; drop the prefix and write the time in UTC", s)
	case strings.HasPrefix(e, "@every"):
		return fmt.Sprintf("%q is not a cron schedule; use 5 fields, e.g. \"*/15 * * * *\" for every 15 minutes", s)
	case strings.HasPrefix(e, "@"):
		if !cronDescriptors[e] {
			return fmt.Sprintf("%q is not a known descriptor; %s", s, hint)
		}
		return ""
	}
	if n := len(strings.Fields(e)); n != 5 {
		return fmt.Sprintf("%q has %d fields; %s", s, n, hint)
	}
	return ""
}

// fileURIProblem returns why uri is not a local absolute file:// URI, with
// the fix, or "" when it is one.
func fileURIProblem(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return fmt.Sprintf("%q is not a file:// URI; on_new_data watches local files, so use file:///absolute/path, e.g. file:///data/train.csv", uri)
	}
	if (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("%q is not a local absolute file URI; use file:///absolute/path (three slashes, no host, query or fragment)", uri)
	}
	return ""
}

// knownStepNames lists the names of the steps, in order.
func knownStepNames(steps []pipelineStepCheck) []string {
	var names []string
	for _, s := range steps {
		if s.NameKnown {
			names = append(names, s.Name)
		}
	}
	return names
}

// quotedStepNames renders names as "a", "b" and "c".
func quotedStepNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	switch len(q) {
	case 0:
		return "none"
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
