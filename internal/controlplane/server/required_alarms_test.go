package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// linearVersion registers an mlops-linear model version of model churn in
// dev whose artifact is content.
func linearVersion(t *testing.T, c *apiClient, name, content string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: name, Spec: api.ModelVersionSpec{
		Model: "churn", ArtifactURI: "file://" + path, ArtifactSHA256: hex.EncodeToString(sum[:]), Framework: api.FrameworkMLOpsLinear,
		Approval: api.ApprovalRequest{Status: api.ApprovalPending},
	}})
}

// TestRequiredAlarms: an environment whose policy requires alarms on
// error_rate and latency lets an endpoint be created without them (they
// name it, so they come after it) and says what it lacks in its status,
// but refuses to change what it serves until both exist.
func TestRequiredAlarms(t *testing.T) {
	c := MustStart(t)
	wantError(t, c.do(http.MethodPost, "/v1/environments", api.CreateEnvironmentRequest{Name: "bad", Spec: api.EnvironmentSpec{
		Policy: api.EnvironmentPolicy{RequiredAlarms: []string{"error_rate", "errors"}}}}), http.StatusBadRequest, api.EINVALID, "spec.policy.required_alarms[1]")
	wantError(t, c.do(http.MethodPost, "/v1/environments", api.CreateEnvironmentRequest{Name: "bad", Spec: api.EnvironmentSpec{
		Policy: api.EnvironmentPolicy{RequiredAlarms: []string{"latency", "latency"}}}}), http.StatusBadRequest, api.EINVALID, "spec.policy.required_alarms[1]")

	createEnv(c, "dev", api.EnvironmentSpec{Policy: api.EnvironmentPolicy{RequiredAlarms: []string{api.AlarmMetricErrorRate, api.AlarmMetricLatency}}})
	createPool(c, "dev", "cpu", api.ComputePoolSpec{MaxNodes: 1})
	createModel(c, "churn")
	linearVersion(t, c, "v1", `{"slope": 2, "intercept": 1}`)
	linearVersion(t, c, "v2", `{"slope": 3, "intercept": 0}`)
	spec := func(version string) api.ModelEndpointSpec {
		return api.ModelEndpointSpec{
			Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: version, ComputePool: "cpu", Replicas: 1, TrafficPercent: 100}},
			Rollout:  api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
		}
	}
	ep := objPath("dev", api.KindModelEndpoint, "api")
	c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelEndpoint, ""), api.CreateModelEndpointRequest{Name: "api", Spec: spec("v1")})
	r := c.waitFor(ep, 20*time.Second, func(r response) bool {
		e := decode[api.ModelEndpoint](t, r)
		return e.Status.Phase == api.PhaseReady && e.Status.ObservedGeneration == e.Metadata.Generation
	})
	got := decode[api.ModelEndpoint](t, r)
	var cond *api.Condition
	for i := range got.Status.Conditions {
		if got.Status.Conditions[i].Type == "RequiredAlarms" {
			cond = &got.Status.Conditions[i]
		}
	}
	if cond == nil || cond.Status != api.ConditionFalse || !strings.Contains(cond.Message, "has none on error_rate, latency") ||
		!strings.Contains(got.Status.Message, "policy.required_alarms") {
		t.Fatalf("status of an endpoint without its required alarms: %+v", got.Status)
	}

	update := api.UpdateModelEndpointRequest{Spec: spec("v2")}
	e := wantError(t, c.do(http.MethodPut, ep, update), http.StatusBadRequest, api.EINVALID, "spec.variants[0].model_version")
	if !strings.Contains(e.Message, `has none on error_rate, latency; create an mlops_alarm with metric "error_rate" and endpoint "api"`) {
		t.Fatalf("message = %q", e.Message)
	}
	alarm := func(name, metric string) {
		c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindAlarm, ""), api.CreateAlarmRequest{Name: name, Spec: api.AlarmSpec{
			Metric: metric, Endpoint: "api", Comparison: api.ComparisonGreaterThan, Threshold: "100", PeriodSeconds: 60, EvaluationPeriods: 1}})
	}
	alarm("errors", api.AlarmMetricErrorRate)
	e = wantError(t, c.do(http.MethodPut, ep, update), http.StatusBadRequest, api.EINVALID, "spec.variants[0].model_version")
	if !strings.Contains(e.Message, "has none on latency") {
		t.Fatalf("message = %q", e.Message)
	}
	// A change that leaves what serves alone goes through.
	unchanged := spec("v1")
	unchanged.RequestLogSampleRatePercent = 5
	c.must(http.StatusOK, http.MethodPut, ep, api.UpdateModelEndpointRequest{Spec: unchanged})

	alarm("latency", api.AlarmMetricLatency)
	c.must(http.StatusOK, http.MethodPut, ep, update)
	c.waitFor(ep, 20*time.Second, func(r response) bool {
		e := decode[api.ModelEndpoint](t, r)
		for _, cond := range e.Status.Conditions {
			if cond.Type == "RequiredAlarms" && cond.Status == api.ConditionTrue {
				return e.Status.Phase == api.PhaseReady && e.Status.ObservedGeneration == e.Metadata.Generation
			}
		}
		return false
	})
}
