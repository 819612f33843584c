package e2e

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// TestDrift_ShiftedInputsRetrain drives the continuous-training loop with
// real predictions: an endpoint serves a model version whose baseline is
// the training data's sizes; inputs from the same distribution keep the PSI
// drift alarm OK; inputs shifted far beyond the training range send it to
// ALARM, and the training pipeline that names the alarm in its
// triggers.on_alarm starts exactly one run with trigger alarm.
func TestDrift_ShiftedInputsRetrain(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()

	// The "training data": sizes uniform in 40..160 m², a line through them.
	rng := rand.New(rand.NewPCG(1, 2))
	train := make([]float64, 500)
	for i := range train {
		train[i] = 40 + 120*rng.Float64()
	}
	baseline, err := json.Marshal(api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "size_m2", Values: train}}})
	if err != nil {
		t.Fatal(err)
	}
	modelPath, baselinePath := filepath.Join(dir, "model.json"), filepath.Join(dir, "baseline.json")
	for path, b := range map[string][]byte{modelPath: []byte(`{"slope": 3.2, "intercept": 12}`), baselinePath: baseline} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.c.CreateModelVersion(f.ctx, "dev", "v1", api.ModelVersionSpec{
		Model: "house-prices", ArtifactURI: fileURI(modelPath), ArtifactSHA256: sha256File(t, modelPath), Framework: api.FrameworkMLOpsLinear,
		Inputs:      []api.ModelSignatureField{{Name: "size_m2", ValueType: "float64"}},
		BaselineURI: fileURI(baselinePath), BaselineSHA256: sha256File(t, baselinePath),
		Approval: api.ApprovalRequest{Status: api.ApprovalPending},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateModelEndpoint(f.ctx, "dev", "prices", api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v1", ComputePool: "cpu", Replicas: 1, TrafficPercent: 100}},
		Rollout:  api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, err := f.endpointReady("prices")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("endpoint prices did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The pipeline names the alarm before it exists: on_alarm is not
	// checked at write time, so the two may be created in either order.
	if _, err := f.c.CreateTrainingPipeline(f.ctx, "dev", "retrain", api.TrainingPipelineSpec{
		ComputePool: "cpu", Model: "house-prices", Steps: []api.PipelineStep{{Name: "train", Command: []string{"true"}}},
		Triggers: api.PipelineTriggers{OnAlarm: []string{"size-drift"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CreateAlarm(f.ctx, "dev", "size-drift", api.AlarmSpec{
		Description: "the sizes we are asked about no longer look like the training data",
		Metric:      api.AlarmMetricFeatureDriftPSI, Endpoint: "prices", Comparison: api.ComparisonGreaterThan, Threshold: "0.25",
		// 200 samples a period at least: PSI over ten bins is biased up by
		// about (bins-1)/samples, 0.05 here, but 0.23 at 40 samples, where
		// a period of inputs like the training data can cross 0.25 by
		// chance (as it did on a loaded machine, starting a run).
		PeriodSeconds: 2, EvaluationPeriods: 1, MinSamples: 200,
	}); err != nil {
		t.Fatal(err)
	}

	// predict sends inputs drawn by draw until the alarm reaches state
	// with a period that had data, and returns the alarm.
	predict := func(draw func() float64, state string) *api.Alarm {
		t.Helper()
		deadline := time.Now().Add(waitTimeout)
		for {
			for range 20 {
				if _, err := f.c.Predict(f.ctx, "dev", "prices", []float64{draw()}); err != nil {
					t.Fatalf("predict: %v", err)
				}
			}
			a, err := f.c.GetAlarm(f.ctx, "dev", "size-drift")
			if err != nil {
				t.Fatal(err)
			}
			if n := len(a.Status.Datapoints); a.Status.State == state && n > 0 && a.Status.Datapoints[n-1].Value != nil {
				return a
			}
			if time.Now().After(deadline) {
				t.Fatalf("alarm did not reach %s with data: %+v", state, a.Status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	inDistribution := predict(func() float64 { return 40 + 120*rng.Float64() }, api.AlarmStateOK)
	if v := *inDistribution.Status.Datapoints[0].Value; v > 0.25 {
		t.Fatalf("PSI of inputs like the training data = %v, want it under the threshold", v)
	}
	if _, err := f.c.GetPipelineRun(f.ctx, "dev", "retrain-1"); !client.IsNotFound(err) {
		t.Fatalf("a run started while the inputs looked like the training data: %v", err)
	}

	// Houses three times the size of any in the training data.
	drifted := predict(func() float64 { return 400 + 100*rng.Float64() }, api.AlarmStateAlarm)
	dp := drifted.Status.Datapoints[len(drifted.Status.Datapoints)-1]
	if *dp.Value <= 0.25 || !strings.Contains(dp.Detail, "size_m2") || !strings.Contains(dp.Detail, "v1") {
		t.Fatalf("drifted datapoint = %+v (value %v), want PSI above 0.25 naming feature size_m2 and version v1", dp, *dp.Value)
	}

	run := f.waitRun("retrain-1", finished)
	if run.Spec.Trigger != api.TriggerAlarm || run.Status.Phase != api.PhaseSucceeded {
		t.Fatalf("run retrain-1: trigger %s, %s (%s)", run.Spec.Trigger, run.Status.Phase, run.Status.Message)
	}
	// One transition into ALARM starts one run, however long it lasts.
	predict(func() float64 { return 400 + 100*rng.Float64() }, api.AlarmStateAlarm)
	if _, err := f.c.GetPipelineRun(f.ctx, "dev", "retrain-2"); !client.IsNotFound(err) {
		t.Fatalf("a second run started for the same transition: %v", err)
	}
}
