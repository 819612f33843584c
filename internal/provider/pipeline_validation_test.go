package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// testStep is a known step that runs a command and depends on deps.
func testStep(name string, deps ...string) pipelineStepCheck {
	known := make([]bool, len(deps))
	for i := range known {
		known[i] = true
	}
	return pipelineStepCheck{Name: name, NameKnown: true, HasCommand: true, CommandKnown: true, ImageKnown: true, DependsOn: deps, DependsOnKnown: known}
}

// wantProblems checks problems against "path: detail part" expectations,
// in order.
func wantProblems(t *testing.T, got []pipelineProblem, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems %v, want %d %q", len(got), got, len(want), want)
	}
	for i, w := range want {
		wantPath, wantText, _ := strings.Cut(w, ": ")
		if got[i].Path.String() != wantPath {
			t.Errorf("problem %d is on %s, want %s (%s)", i, got[i].Path, wantPath, got[i].Detail)
		}
		if !strings.Contains(got[i].Detail, wantText) {
			t.Errorf("problem %d detail %q does not contain %q", i, got[i].Detail, wantText)
		}
	}
}

func TestPipelineStepProblems(t *testing.T) {
	unknownName := testStep("")
	unknownName.NameKnown = false
	unknownDep := testStep("b", "a", "x")
	unknownDep.DependsOnKnown[1] = false
	both := testStep("a")
	both.HasImage = true
	neither := testStep("a")
	neither.HasCommand = false
	unknownCommand := neither
	unknownCommand.CommandKnown = false

	for _, tc := range []struct {
		name  string
		steps []pipelineStepCheck
		want  []string
	}{
		{"Single", []pipelineStepCheck{testStep("train")}, nil},
		{"Chain", []pipelineStepCheck{testStep("prep"), testStep("train", "prep"), testStep("eval", "train", "prep")}, nil},
		{"DependsOnLaterStep", []pipelineStepCheck{testStep("train", "prep"), testStep("prep")}, nil},
		{"Duplicate", []pipelineStepCheck{testStep("a"), testStep("b"), testStep("a")},
			[]string{`steps[2].name: steps[2].name is "a", which steps[0] already uses`}},
		{"UnknownDependency", []pipelineStepCheck{testStep("a"), testStep("b", "c")},
			[]string{`steps[1].depends_on[0]: "c", but the pipeline has no step of that name; its steps are "a" and "b"`}},
		{"SelfDependency", []pipelineStepCheck{testStep("a", "a")},
			[]string{`steps[0].depends_on[0]: step "a" cannot depend on itself`}},
		{"DependencyTwice", []pipelineStepCheck{testStep("a"), testStep("b", "a", "a")},
			[]string{`steps[1].depends_on[1]: "a" is already listed at depends_on[0]`}},
		{"TwoCycle", []pipelineStepCheck{testStep("a", "b"), testStep("b", "a")},
			[]string{`steps[1].depends_on[0]: a -> b -> a (each step depends on the next)`}},
		{"ThreeCycle", []pipelineStepCheck{testStep("prep"), testStep("a", "prep", "c"), testStep("b", "a"), testStep("c", "b")},
			[]string{`steps[2].depends_on[0]: a -> c -> b -> a`}},
		{"CycleBehindPrefix", []pipelineStepCheck{testStep("x", "a"), testStep("a", "b"), testStep("b", "a")},
			[]string{`steps[2].depends_on[0]: a -> b -> a`}},
		{"BothCommandAndImage", []pipelineStepCheck{both},
			[]string{`steps[0].image: sets both command and image`}},
		{"NeitherCommandNorImage", []pipelineStepCheck{neither},
			[]string{`steps[0].command: sets neither command nor image`}},
		{"UnknownCommandSkipped", []pipelineStepCheck{unknownCommand}, nil},
		// An unknown name might be the one depended on.
		{"UnknownNameSkipsDangling", []pipelineStepCheck{unknownName, testStep("b", "c")}, nil},
		{"UnknownDependencySkipped", []pipelineStepCheck{testStep("a"), unknownDep}, nil},
		{"CycleWithUnknownName", []pipelineStepCheck{unknownName, testStep("a", "b"), testStep("b", "a")},
			[]string{`steps[2].depends_on[0]: a -> b -> a`}},
		// With a duplicate name the cycle check waits for the fix.
		{"DuplicateSkipsCycle", []pipelineStepCheck{testStep("a", "b"), testStep("b", "a"), testStep("b")},
			[]string{`steps[2].name: already uses`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblems(t, pipelineStepProblems(tc.steps), tc.want...)
		})
	}
}

func TestPipelineParameterProblems(t *testing.T) {
	param := func(name, typ, def string) pipelineParameterCheck {
		return pipelineParameterCheck{Name: name, NameKnown: true, Type: typ, TypeKnown: true, Default: def, DefaultKnown: true}
	}
	unknownDefault := param("lr", api.ParamFloat, "")
	unknownDefault.DefaultKnown = false
	for _, tc := range []struct {
		name     string
		params   []pipelineParameterCheck
		triggers bool
		want     []string
	}{
		{"Valid", []pipelineParameterCheck{param("lr", "float", "0.01"), param("epochs", "int", "-3"), param("shuffle", "bool", "true"), param("tag", "string", "x y")}, false, nil},
		{"RequiredWithoutTriggers", []pipelineParameterCheck{param("lr", "float", "")}, false, nil},
		{"BadInt", []pipelineParameterCheck{param("epochs", "int", "1.5")},
			false, []string{`parameters[0].default: "1.5" is not a whole number, but parameter "epochs" is of type int`}},
		{"BadFloat", []pipelineParameterCheck{param("ok", "int", "1"), param("lr", "float", "fast")},
			false, []string{`parameters[1].default: "fast" is not a finite decimal number`}},
		{"InfiniteFloat", []pipelineParameterCheck{param("lr", "float", "Inf")},
			false, []string{`parameters[0].default: not a finite decimal number`}},
		{"BadBool", []pipelineParameterCheck{param("shuffle", "bool", "yes")},
			false, []string{`parameters[0].default: "yes" is not true or false`}},
		{"Duplicate", []pipelineParameterCheck{param("lr", "float", "0.1"), param("lr", "float", "0.2")},
			false, []string{`parameters[1].name: which parameters[0] already uses`}},
		{"TriggersNeedDefaults", []pipelineParameterCheck{param("lr", "float", "0.1"), param("epochs", "int", "")},
			true, []string{`parameters[1].default: parameter "epochs" has no default, but runs started by triggers`}},
		{"UnknownDefaultSkipped", []pipelineParameterCheck{unknownDefault}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblems(t, pipelineParameterProblems(tc.params, tc.triggers), tc.want...)
		})
	}
}

func TestScheduleProblem(t *testing.T) {
	for _, tc := range []struct {
		schedule string
		want     string // "" for valid
	}{
		{"", ""},
		{"0 3 * * *", ""},
		{"*/15 * * * 1-5", ""},
		{" 0 3 * * * ", ""},
		{"@daily", ""},
		{"@hourly", ""},
		{"0 3 * *", "has 4 fields; use 5 fields in UTC"},
		{"0 0 3 * * *", "has 6 fields"},
		{"   ", "is blank"},
		{"@every 5m", "is not a cron schedule"},
		{"@fortnightly", "is not a known descriptor"},
		{"TZ=Europe/Berlin 0 3 * * *", "schedules are in UTC"},
	} {
		t.Run(tc.schedule, func(t *testing.T) {
			got := scheduleProblem(tc.schedule)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("scheduleProblem(%q) = %q, want %q", tc.schedule, got, tc.want)
			}
		})
	}
}

func TestFileURIProblem(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want string // "" for valid
	}{
		{"file:///data/train.csv", ""},
		{"file://localhost/data/train.csv", ""},
		{"/data/train.csv", "is not a file:// URI"},
		{"s3://bucket/train.csv", "is not a file:// URI"},
		{"file://data/train.csv", "not a local absolute file URI"},
		{"file:data/train.csv", "not a local absolute file URI"},
		{"file:///data/train.csv?v=2", "not a local absolute file URI"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			got := fileURIProblem(tc.uri)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("fileURIProblem(%q) = %q, want %q", tc.uri, got, tc.want)
			}
		})
	}
}

func TestPipelineRunNumber(t *testing.T) {
	for _, tc := range []struct {
		pipeline, run string
		want          int64
		ok            bool
	}{
		{"churn", "churn-1", 1, true},
		{"churn", "churn-42", 42, true},
		{"churn", "churn-train-3", 0, false},
		{"churn-train", "churn-train-3", 3, true},
		{"churn", "churn-03", 0, false},
		{"churn", "churn-0", 0, false},
		{"churn", "other-1", 0, false},
	} {
		n, ok := pipelineRunNumber(tc.pipeline, tc.run)
		if n != tc.want || ok != tc.ok {
			t.Errorf("pipelineRunNumber(%q, %q) = %d, %v; want %d, %v", tc.pipeline, tc.run, n, ok, tc.want, tc.ok)
		}
	}
}

// TestTrainingPipelineRoundTrip checks that a spec read from the server and
// written back is the same spec, and that empty collections read as null,
// the way an omitted attribute reads, so leaving them out never shows a diff.
func TestTrainingPipelineRoundTrip(t *testing.T) {
	ctx := context.Background()
	spec := api.TrainingPipelineSpec{
		Description: "nightly",
		Labels:      map[string]string{"team": "growth"},
		ComputePool: "cpu",
		Model:       "churn",
		Parameters:  []api.PipelineParameter{{Name: "lr", Type: api.ParamFloat, Default: "0.01"}},
		Steps: []api.PipelineStep{
			{Name: "prep", Command: []string{"sh", "-c", "echo prep"}, Inputs: []string{"file:///data/train.csv"}, Outputs: []string{"train.parquet"}, Retries: 2, TimeoutSeconds: 600},
			{Name: "train", Command: []string{"python", "train.py"}, Env: map[string]string{"SEED": "1"}, DependsOn: []string{"prep"}, TimeoutSeconds: 3600},
		},
		Triggers: api.PipelineTriggers{Schedule: "0 3 * * *", OnNewData: []string{"file:///data/train.csv"}},
	}
	p := &api.TrainingPipeline{
		Metadata: api.Metadata{Name: "churn-train", Environment: "dev", UID: "u1", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)},
		Spec:     spec,
	}
	var diags diag.Diagnostics
	m := trainingPipelineFromAPI(ctx, p, trainingPipelineModel{}, &diags)
	if diags.HasError() {
		t.Fatalf("from API: %v", diags)
	}
	if m.ID.ValueString() != "dev/churn-train" || m.CreatedAt.ValueString() != "2025-01-02T03:04:05Z" {
		t.Errorf("id %v, created_at %v", m.ID, m.CreatedAt)
	}
	var steps []pipelineStepModel
	diags.Append(m.Steps.ElementsAs(ctx, &steps, false)...)
	if !steps[0].Env.IsNull() || !steps[0].DependsOn.IsNull() || !steps[1].Inputs.IsNull() || !steps[1].Outputs.IsNull() {
		t.Errorf("empty step collections should be null: %+v", steps)
	}
	var trig pipelineTriggersModel
	diags.Append(m.Triggers.As(ctx, &trig, basetypes.ObjectAsOptions{})...)
	if !trig.OnAlarm.IsNull() {
		t.Errorf("on_alarm = %v, want null", trig.OnAlarm)
	}
	back := trainingPipelineToAPI(ctx, m, &diags)
	if diags.HasError() {
		t.Fatalf("to API: %v", diags)
	}
	m2 := trainingPipelineFromAPI(ctx, &api.TrainingPipeline{Metadata: p.Metadata, Spec: back}, m, &diags)
	if !m2.Steps.Equal(m.Steps) || !m2.Parameters.Equal(m.Parameters) || !m2.Triggers.Equal(m.Triggers) || !m2.Labels.Equal(m.Labels) {
		t.Errorf("round trip changed the model:\n%v\n%v", m, m2)
	}
	if back.Steps[0].Retries != 2 || back.Steps[1].DependsOn[0] != "prep" || back.Triggers.Schedule != "0 3 * * *" {
		t.Errorf("spec after round trip: %+v", back)
	}

	// A pipeline without parameters or triggers reads them as null and
	// empty, the schema's defaults.
	bare := &api.TrainingPipeline{Metadata: p.Metadata, Spec: api.TrainingPipelineSpec{ComputePool: "cpu", Model: "churn", Steps: spec.Steps[:1]}}
	m = trainingPipelineFromAPI(ctx, bare, trainingPipelineModel{}, &diags)
	if !m.Parameters.IsNull() || !m.Labels.IsNull() {
		t.Errorf("parameters %v labels %v, want null", m.Parameters, m.Labels)
	}
	if !m.Triggers.Equal(pipelineTriggersDefault()) {
		t.Errorf("triggers = %v, want the schema's default %v", m.Triggers, pipelineTriggersDefault())
	}
	if diags.HasError() {
		t.Fatal(diags)
	}
}
