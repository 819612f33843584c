package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Limits of training pipeline specs.
const (
	maxPipelineSteps      = 100
	maxPipelineParameters = 100
	maxStepArgs           = 1000
	maxStepArgLength      = 4096
	maxStepEnv            = 100
	maxStepURIs           = 100
	maxWatchedURIs        = 32
	maxTriggerAlarms      = 32
	maxImageLength        = 512
)

var (
	// stepNameRE keeps step names safe in file names (their logs) and in
	// messages; '_' is allowed because scripts like it.
	stepNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	envVarRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

func trainingPipelineKind() *kind[api.TrainingPipelineSpec] {
	return &kind[api.TrainingPipelineSpec]{
		name: api.KindTrainingPipeline,
		// Deleting a pipeline cancels its active runs, then deletes all
		// of its runs before it goes (reconcile.PipelineHandler).
		teardown:   true,
		validate:   validateTrainingPipeline,
		crossCheck: trainingPipelineRefsCheck,
		initialStatus: func(*api.TrainingPipelineSpec) any {
			return api.TrainingPipelineStatus{Status: api.Status{Phase: api.PhasePending, Reason: "Created", Message: "waiting for the reconciler"}}
		},
	}
}

// pipelineRunKind has no create or update route (api.Routes): runs are
// started through startPipelineRun and stopped through cancelPipelineRun.
// A delete is a teardown: the reconciler kills the run's steps and removes
// its directory first.
func pipelineRunKind() *kind[api.PipelineRunSpec] {
	return &kind[api.PipelineRunSpec]{name: api.KindPipelineRun, teardown: true, settled: settledAs[api.PipelineRunStatus]}
}

// validateTrainingPipeline checks a pipeline's spec on its own and fills
// the default step timeout.
func validateTrainingPipeline(s *api.TrainingPipelineSpec) error {
	if err := validateDescription("spec.description", s.Description); err != nil {
		return err
	}
	if err := validateLabels(s.Labels); err != nil {
		return err
	}
	if err := validateName("spec.compute_pool", s.ComputePool); err != nil {
		return err
	}
	if err := validateName("spec.model", s.Model); err != nil {
		return err
	}
	if err := validatePipelineParameters(s.Parameters); err != nil {
		return err
	}
	if err := validatePipelineSteps(s.Steps); err != nil {
		return err
	}
	if err := validatePipelineTriggers(s.Triggers); err != nil {
		return err
	}
	t := s.Triggers
	if t.Schedule != "" || len(t.OnNewData) > 0 || len(t.OnAlarm) > 0 {
		for i, p := range s.Parameters {
			if p.Default == "" {
				return api.Errorf(api.EINVALID, fmt.Sprintf("spec.parameters[%d].default", i),
					"parameter %q has no default, but triggered runs (schedule, on_new_data, on_alarm) use the defaults; give it a default or remove the triggers", p.Name)
			}
		}
	}
	return nil
}

func validatePipelineParameters(params []api.PipelineParameter) error {
	if len(params) > maxPipelineParameters {
		return api.Errorf(api.EINVALID, "spec.parameters", "has %d parameters; use at most %d", len(params), maxPipelineParameters)
	}
	seen := map[string]int{}
	for i, p := range params {
		field := fmt.Sprintf("spec.parameters[%d]", i)
		if !identifierRE.MatchString(p.Name) {
			return api.Errorf(api.EINVALID, field+".name", "%q is not a valid parameter name; use lowercase letters, digits and '_', starting with a letter or '_' (steps read it as MLOPS_PARAM_%s)", p.Name, strings.ToUpper(p.Name))
		}
		if j, dup := seen[p.Name]; dup {
			return api.Errorf(api.EINVALID, field+".name", "%q is already used by spec.parameters[%d]; parameter names must be unique", p.Name, j)
		}
		seen[p.Name] = i
		if err := oneOf(field+".type", p.Type, api.ParamTypes...); err != nil {
			return err
		}
		if p.Default != "" {
			if err := pipeline.CheckValue(p.Type, p.Default); err != nil {
				return api.Errorf(api.EINVALID, field+".default", "%v; the default must be a value of the parameter's type %s", err, p.Type)
			}
		}
	}
	return nil
}

func validatePipelineSteps(steps []api.PipelineStep) error {
	if len(steps) < 1 || len(steps) > maxPipelineSteps {
		return api.Errorf(api.EINVALID, "spec.steps", "has %d steps; declare 1 to %d", len(steps), maxPipelineSteps)
	}
	index := map[string]int{}
	for i := range steps {
		s := &steps[i]
		field := fmt.Sprintf("spec.steps[%d]", i)
		if !stepNameRE.MatchString(s.Name) {
			return api.Errorf(api.EINVALID, field+".name", "%q is not a valid step name; use 1-63 lowercase letters, digits, '_' and '-', starting with a letter", s.Name)
		}
		if j, dup := index[s.Name]; dup {
			return api.Errorf(api.EINVALID, field+".name", "%q is already used by spec.steps[%d]; step names must be unique", s.Name, j)
		}
		index[s.Name] = i
		if err := validateStepBody(field, s); err != nil {
			return err
		}
	}
	for i, s := range steps {
		seen := map[string]bool{}
		for j, d := range s.DependsOn {
			field := fmt.Sprintf("spec.steps[%d].depends_on[%d]", i, j)
			switch _, known := index[d]; {
			case d == s.Name:
				return api.Errorf(api.EINVALID, field, "step %q cannot depend on itself", s.Name)
			case !known:
				return api.Errorf(api.EINVALID, field, "there is no step named %q; the steps are %q", d, stepNames(steps))
			case seen[d]:
				return api.Errorf(api.EINVALID, field, "%q is listed twice", d)
			}
			seen[d] = true
		}
	}
	return findCycle(steps, index)
}

// validateStepBody checks what a step runs and with what.
func validateStepBody(field string, s *api.PipelineStep) error {
	switch {
	case len(s.Command) > 0 && s.Image != "":
		return api.NewError(api.EINVALID, field+".image", "set either command or image, not both")
	case len(s.Command) == 0 && s.Image == "":
		return api.NewError(api.EINVALID, field+".command", "a step needs a command (the program and its arguments) or a container image")
	case len(s.Command) > maxStepArgs:
		return api.Errorf(api.EINVALID, field+".command", "has %d elements; use at most %d", len(s.Command), maxStepArgs)
	case len(s.Command) > 0 && strings.TrimSpace(s.Command[0]) == "":
		return api.NewError(api.EINVALID, field+".command[0]", "the program is empty; put the program first, then its arguments, e.g. [\"sh\", \"train.sh\"]")
	case len(s.Image) > maxImageLength || strings.ContainsFunc(s.Image, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return api.Errorf(api.EINVALID, field+".image", "%q is not a container image reference; use e.g. registry.example.com/train:1.4 or an image@sha256 digest", s.Image)
	}
	for k, a := range s.Command {
		if len(a) > maxStepArgLength || strings.ContainsRune(a, 0) {
			return api.Errorf(api.EINVALID, fmt.Sprintf("%s.command[%d]", field, k), "is longer than %d characters or contains a NUL character", maxStepArgLength)
		}
	}
	if len(s.Env) > maxStepEnv {
		return api.Errorf(api.EINVALID, field+".env", "has %d variables; use at most %d", len(s.Env), maxStepEnv)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		at := fmt.Sprintf("%s.env[%q]", field, k)
		if !envVarRE.MatchString(k) {
			return api.Errorf(api.EINVALID, at, "%q is not a valid environment variable name; use letters, digits and '_', not starting with a digit", k)
		}
		if strings.HasPrefix(k, "MLOPS_") {
			return api.Errorf(api.EINVALID, at, "names starting with MLOPS_ are set by mlopsd (MLOPS_RUN_DIR, MLOPS_OUTPUT_DIR, MLOPS_PARAM_<NAME>, ...); choose another name")
		}
		if len(s.Env[k]) > maxStepArgLength || strings.ContainsRune(s.Env[k], 0) {
			return api.Errorf(api.EINVALID, at, "value is longer than %d characters or contains a NUL character", maxStepArgLength)
		}
	}
	if len(s.Inputs) > maxStepURIs || len(s.Outputs) > maxStepURIs {
		return api.Errorf(api.EINVALID, field, "has %d inputs and %d outputs; use at most %d of each", len(s.Inputs), len(s.Outputs), maxStepURIs)
	}
	for k, in := range s.Inputs {
		if !uriRE.MatchString(in) {
			return api.Errorf(api.EINVALID, fmt.Sprintf("%s.inputs[%d]", field, k), "%q is not a URI; use scheme://location, e.g. file:///data/train.csv", in)
		}
	}
	for k, out := range s.Outputs {
		if out == "" || strings.HasPrefix(out, "/") || path.Clean(out) != out || out == "." || out == ".." || strings.HasPrefix(out, "../") {
			return api.Errorf(api.EINVALID, fmt.Sprintf("%s.outputs[%d]", field, k), "%q is not a clean path inside the run's output directory; use a relative path such as model.json or reports/metrics.json", out)
		}
	}
	if err := validateRange(field+".retries", s.Retries, 0, pipeline.MaxRetries); err != nil {
		return err
	}
	if s.TimeoutSeconds == 0 {
		s.TimeoutSeconds = pipeline.DefaultTimeoutSeconds
	}
	return validateRange(field+".timeout_seconds", s.TimeoutSeconds, 1, pipeline.MaxTimeoutSeconds)
}

func stepNames(steps []api.PipelineStep) []string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.Name
	}
	return names
}

// findCycle reports the first dependency cycle, in step order, naming the
// depends_on entry that closes it and the whole cycle.
func findCycle(steps []api.PipelineStep, index map[string]int) error {
	const (
		unvisited = iota
		onPath
		finished
	)
	state := make([]int, len(steps))
	var stack []int
	var visit func(i int) error
	visit = func(i int) error {
		state[i] = onPath
		stack = append(stack, i)
		for j, d := range steps[i].DependsOn {
			k := index[d]
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
				return api.Errorf(api.EINVALID, fmt.Sprintf("spec.steps[%d].depends_on[%d]", i, j),
					"the steps depend on each other in a cycle (%s, where each step depends on the next); remove one of these dependencies", strings.Join(cycle, " → "))
			case unvisited:
				if err := visit(k); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = finished
		return nil
	}
	for i := range steps {
		if state[i] == unvisited {
			if err := visit(i); err != nil {
				return err
			}
		}
	}
	return nil
}

func validatePipelineTriggers(t api.PipelineTriggers) error {
	if t.Schedule != "" {
		if _, err := pipeline.ParseSchedule(t.Schedule); err != nil {
			return api.Errorf(api.EINVALID, "spec.triggers.schedule", "%q is not a cron schedule (%v); use 5 fields in UTC: minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\" for 03:00 daily, or @hourly / @daily", t.Schedule, err)
		}
	}
	if len(t.OnNewData) > maxWatchedURIs {
		return api.Errorf(api.EINVALID, "spec.triggers.on_new_data", "watches %d URIs; use at most %d", len(t.OnNewData), maxWatchedURIs)
	}
	seen := map[string]int{}
	for i, uri := range t.OnNewData {
		field := fmt.Sprintf("spec.triggers.on_new_data[%d]", i)
		if _, err := pipeline.FilePath(uri); err != nil {
			return api.Errorf(api.EINVALID, field, "%v; on_new_data watches local files whose content changes", err)
		}
		if j, dup := seen[uri]; dup {
			return api.Errorf(api.EINVALID, field, "%q is already listed at spec.triggers.on_new_data[%d]", uri, j)
		}
		seen[uri] = i
	}
	if len(t.OnAlarm) > maxTriggerAlarms {
		return api.Errorf(api.EINVALID, "spec.triggers.on_alarm", "names %d alarms; use at most %d", len(t.OnAlarm), maxTriggerAlarms)
	}
	alarms := map[string]int{}
	for i, a := range t.OnAlarm {
		field := fmt.Sprintf("spec.triggers.on_alarm[%d]", i)
		if err := validateName(field, a); err != nil {
			return err
		}
		if j, dup := alarms[a]; dup {
			return api.Errorf(api.EINVALID, field, "%q is already listed at spec.triggers.on_alarm[%d]", a, j)
		}
		alarms[a] = i
	}
	return nil
}

// trainingPipelineRefsCheck checks the pipeline against the objects it
// names: its compute pool (and what the pool's driver can run) and its model.
func trainingPipelineRefsCheck(ctx context.Context, v store.View, ref api.Ref, s *api.TrainingPipelineSpec) error {
	if len(ref.Name) > pipeline.MaxNameLength {
		return api.Errorf(api.EINVALID, "name", "%q is %d characters long; a training pipeline's name may have at most %d, so that its run names (<name>-<number>) fit", ref.Name, len(ref.Name), pipeline.MaxNameLength)
	}
	poolObj, err := v.Get(ctx, api.Ref{Kind: api.KindComputePool, Environment: ref.Environment, Name: s.ComputePool})
	if notFound(err) {
		return api.Errorf(api.EINVALID, "spec.compute_pool", "compute pool %q does not exist in environment %q; create it first (mlops_compute_pool) or fix the name", s.ComputePool, ref.Environment)
	}
	if err != nil {
		return err
	}
	if poolObj.Meta.DeletionRequestedAt != nil {
		return api.Errorf(api.EINVALID, "spec.compute_pool", "compute pool %q is being deleted; use another one", s.ComputePool)
	}
	var pool api.ComputePoolSpec
	if err := json.Unmarshal(poolObj.Spec, &pool); err != nil {
		return fmt.Errorf("decoding %s: %w", poolObj.Ref(), err)
	}
	if pool.Driver == api.DriverLocal {
		for i, st := range s.Steps {
			if st.Image != "" {
				return api.Errorf(api.EINVALID, fmt.Sprintf("spec.steps[%d].image", i),
					"compute pool %q uses the local driver, which runs commands as processes and cannot run container images; set command instead of image, or use a pool whose driver runs containers", s.ComputePool)
			}
		}
	}
	modelObj, err := v.Get(ctx, api.Ref{Kind: api.KindModel, Environment: ref.Environment, Name: s.Model})
	if notFound(err) {
		return api.Errorf(api.EINVALID, "spec.model", "model %q does not exist in environment %q; create it first (mlops_model) or fix the name", s.Model, ref.Environment)
	}
	if err != nil {
		return err
	}
	if modelObj.Meta.DeletionRequestedAt != nil {
		return api.Errorf(api.EINVALID, "spec.model", "model %q is being deleted; use another one", s.Model)
	}
	return nil
}

// notFound reports whether err is an ENOTFOUND *api.Error.
func notFound(err error) bool {
	var apiErr *api.Error
	return errors.As(err, &apiErr) && apiErr.Code == api.ENOTFOUND
}
