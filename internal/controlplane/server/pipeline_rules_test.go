package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// dag builds steps from "name:dep,dep" strings.
func dag(specs ...string) []api.PipelineStep {
	var steps []api.PipelineStep
	for _, s := range specs {
		name, deps, _ := strings.Cut(s, ":")
		st := api.PipelineStep{Name: name, Command: []string{"true"}}
		if deps != "" {
			st.DependsOn = strings.Split(deps, ",")
		}
		steps = append(steps, st)
	}
	return steps
}

func TestValidatePipelineSteps_DAG(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []api.PipelineStep
		// field is "" for a valid DAG; msg must occur in the message.
		field, msg string
	}{
		{"Single", dag("train"), "", ""},
		{"Chain", dag("prep", "train:prep", "eval:train"), "", ""},
		{"ChainListedBackwards", dag("eval:train", "train:prep", "prep"), "", ""},
		{"Diamond", dag("a", "b:a", "c:a", "d:b,c"), "", ""},
		{"Forest", dag("a", "b", "c:a", "d:b"), "", ""},
		{"DuplicateName", dag("a", "b:a", "a"), "spec.steps[2].name", `"a" is already used by spec.steps[0]`},
		{"UnknownDependency", dag("a", "b:a,x"), "spec.steps[1].depends_on[1]", `there is no step named "x"; the steps are ["a" "b"]`},
		{"SelfLoop", dag("a:a"), "spec.steps[0].depends_on[0]", `step "a" cannot depend on itself`},
		{"RepeatedDependency", dag("a", "b:a,a"), "spec.steps[1].depends_on[1]", `"a" is listed twice`},
		{"TwoCycle", dag("a:b", "b:a"), "spec.steps[1].depends_on[0]", "(a → b → a,"},
		{"ThreeCycle", dag("a:c", "b:a", "c:b"), "spec.steps[1].depends_on[0]", "(a → c → b → a,"},
		{"CycleBehindValidPart", dag("root", "x:root,z", "y:x", "z:y"), "spec.steps[2].depends_on[0]", "(x → z → y → x,"},
		{"CycleReachedLate", dag("a", "b:a", "c:d", "d:c"), "spec.steps[3].depends_on[0]", "(c → d → c,"},
		{"EmptyName", dag(""), "spec.steps[0].name", "not a valid step name"},
		{"UpperCaseName", dag("Train"), "spec.steps[0].name", "not a valid step name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validatePipelineSteps(tc.steps)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid DAG refused: %v", err)
				}
				return
			}
			var apiErr *api.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v, want an *api.Error on %s", err, tc.field)
			}
			if apiErr.Code != api.EINVALID || apiErr.Field != tc.field || !strings.Contains(apiErr.Message, tc.msg) {
				t.Errorf("error %s %s: %s\nwant field %s and a message with %q", apiErr.Code, apiErr.Field, apiErr.Message, tc.field, tc.msg)
			}
		})
	}
}

func TestValidateTrainingPipeline_Defaults(t *testing.T) {
	spec := api.TrainingPipelineSpec{ComputePool: "cpu", Model: "m", Steps: dag("a", "b:a")}
	spec.Steps[1].TimeoutSeconds = 60
	if err := validateTrainingPipeline(&spec); err != nil {
		t.Fatal(err)
	}
	if spec.Steps[0].TimeoutSeconds != 3600 || spec.Steps[1].TimeoutSeconds != 60 {
		t.Errorf("timeouts %d, %d; want the default 3600 and 60 as given", spec.Steps[0].TimeoutSeconds, spec.Steps[1].TimeoutSeconds)
	}
}

func TestValidatePipelineParameters_Types(t *testing.T) {
	for _, tc := range []struct {
		typ, def string
		ok       bool
	}{
		{api.ParamString, "anything at all", true},
		{api.ParamInt, "42", true},
		{api.ParamInt, "-7", true},
		{api.ParamInt, "4.2", false},
		{api.ParamInt, "1e3", false},
		{api.ParamFloat, "0.01", true},
		{api.ParamFloat, "1e-3", true},
		{api.ParamFloat, "NaN", false},
		{api.ParamFloat, "Inf", false},
		{api.ParamFloat, "fast", false},
		{api.ParamBool, "true", true},
		{api.ParamBool, "false", true},
		{api.ParamBool, "yes", false},
		{api.ParamBool, "1", false},
		{"double", "1", false},
	} {
		err := validatePipelineParameters([]api.PipelineParameter{{Name: "p", Type: tc.typ, Default: tc.def}})
		if (err == nil) != tc.ok {
			t.Errorf("type %s default %q: error %v, want ok=%v", tc.typ, tc.def, err, tc.ok)
		}
	}
	err := validatePipelineParameters([]api.PipelineParameter{{Name: "p", Type: api.ParamInt}, {Name: "p", Type: api.ParamInt}})
	if err == nil || !strings.Contains(err.Error(), "spec.parameters[1].name") {
		t.Errorf("duplicate parameter: %v", err)
	}
}
