package reconcile_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/drift"
)

// baselineScript writes an mlops-linear model of one input and the given
// baseline file.
func baselineScript(baseline string) string {
	return `printf '{"slope": 2, "intercept": 1}' > "$MLOPS_OUTPUT_DIR/model.json"; printf '%s' '` + baseline + `' > "$MLOPS_OUTPUT_DIR/baseline.json"`
}

func TestRun_RegistersBaseline(t *testing.T) {
	f := newPipelineFixture(t, 2)
	const baseline = `{"features": [{"name": "size_m2", "values": [45, 60, 72, 85, 98, 110, 125, 140, 155, 170]}]}`
	f.createPipeline("fit", pspec(sh("train", baselineScript(baseline))))
	name := f.startManual("fit")
	r := f.finishRun(name)
	if r.Status.Phase != api.PhaseSucceeded {
		t.Fatalf("run %s: %s", r.Status.Phase, r.Status.Message)
	}
	mv, err := f.st.Get(f.ctx, api.Ref{Kind: api.KindModelVersion, Environment: "dev", Name: name})
	if err != nil {
		t.Fatal(err)
	}
	var spec api.ModelVersionSpec
	if err := json.Unmarshal(mv.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(spec.BaselineURI, "file://")
	if spec.BaselineSHA256 != sha256Hex(baseline) || filepath.Dir(path) != filepath.Dir(strings.TrimPrefix(spec.ArtifactURI, "file://")) {
		t.Fatalf("baseline %q %q next to artifact %q", spec.BaselineURI, spec.BaselineSHA256, spec.ArtifactURI)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm()&0o222 != 0 {
		t.Fatalf("baseline copy %s is writable or missing: %v", path, err)
	}
	if _, _, err := drift.ReadFile(path, spec.BaselineSHA256); err != nil {
		t.Fatalf("the registered baseline does not read back: %v", err)
	}
}

func TestRun_BadBaselineFailsRegistration(t *testing.T) {
	for name, tc := range map[string]struct{ baseline, msg string }{
		"NotJSON":      {`sqft`, "baseline.json is not valid: not a baseline file"},
		"TooFewValues": {`{"features": [{"name": "x", "values": [1, 2]}]}`, `features[0].values: feature "x" has 2 values`},
		"UnknownField": {`{"features": [], "mean": 1}`, `unknown field "mean"`},
		"TwoFeaturesForOneInput": {`{"features": [{"name": "a", "values": [1,2,3,4,5,6,7,8,9,10]}, {"name": "b", "values": [1,2,3,4,5,6,7,8,9,10]}]}`,
			"baseline.json has 2 features, but the mlops-linear model in model.json has 1 inputs"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newPipelineFixture(t, 2)
			f.createPipeline("fit", pspec(sh("train", baselineScript(tc.baseline))))
			r := f.finishRun(f.startManual("fit"))
			if r.Status.Phase != api.PhaseFailed || r.Status.Reason != "RegistrationFailed" || !strings.Contains(r.Status.Message, tc.msg) {
				t.Fatalf("run %s/%s: %s; want a failure saying %q", r.Status.Phase, r.Status.Reason, r.Status.Message, tc.msg)
			}
			if objs, _, _ := f.st.List(f.ctx, api.KindModelVersion, "dev", api.ListOptions{}); len(objs) != 0 {
				t.Fatalf("a version was registered")
			}
		})
	}
}
