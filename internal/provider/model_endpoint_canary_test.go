package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// canaryLoad sends predictions through the gateway from a few clients until
// stopped, and counts every answer by the model version the gateway says
// served it (the X-Mlops-Model-Version header), so a test can show that no
// request was dropped while traffic moved between versions.
type canaryLoad struct {
	url    string
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu sync.Mutex
	// ok and failed count answers by model version; failed holds non-200
	// answers that name the version that failed them.
	ok, failed map[string]int
	// lost counts requests with no answer at all, or an error answer that
	// names no version: the gateway dropped them.
	lost     int
	lastLost string
}

func startCanaryLoad(t *testing.T, baseURL string) *canaryLoad {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &canaryLoad{url: baseURL + "/v1/environments/dev/" + api.KindModelEndpoint + "/api:predict", cancel: cancel,
		ok: map[string]int{}, failed: map[string]int{}}
	hc := &http.Client{Timeout: 30 * time.Second}
	for w := range 4 {
		l.wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for ctx.Err() == nil {
				// Inputs of 2 and more overflow the broken version.
				l.send(ctx, hc, 2+98*rng.Float64())
			}
		})
	}
	t.Cleanup(l.stop)
	return l
}

func (l *canaryLoad) send(ctx context.Context, hc *http.Client, x float64) {
	body, _ := json.Marshal(api.PredictRequest{Inputs: []float64{x}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if ctx.Err() != nil {
		// Stopping the load is not a lost request.
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.lost++
		l.lastLost = err.Error()
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	version := resp.Header.Get(api.HeaderModelVersion)
	switch {
	case resp.StatusCode == http.StatusOK && version != "":
		l.ok[version]++
	case version != "":
		l.failed[version]++
	default:
		l.lost++
		l.lastLost = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
}

// stop stops the clients and waits for them; it may be called again.
func (l *canaryLoad) stop() {
	l.cancel()
	l.wg.Wait()
}

// snapshot returns copies of the counts.
func (l *canaryLoad) snapshot() (ok, failed map[string]int, lost int, lastLost string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ok, failed = map[string]int{}, map[string]int{}
	for k, v := range l.ok {
		ok[k] = v
	}
	for k, v := range l.failed {
		failed[k] = v
	}
	return ok, failed, l.lost, l.lastLost
}

// canaryConfig is endpoint api serving version on variant primary with a
// canary rollout, and the error-rate alarm that rolls it back.
func (e *endpointAcc) canaryConfig(version string) string {
	return e.base("{}") + fmt.Sprintf(`
resource "mlops_model_version" "broken" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.price.name
  name            = "broken"
  artifact_uri    = "file://%[2]s"
  artifact_sha256 = %[3]q
  framework       = "mlops-linear"
}

resource "mlops_model_endpoint" "test" {
  environment = mlops_environment.dev.name
  name        = "api"
  variants = [{
    name            = "primary"
    model_version   = %[1]q
    compute_pool    = mlops_compute_pool.cpu.name
    replicas        = 2
    traffic_percent = 100
  }]
  rollout = {
    strategy          = "canary"
    step_percent      = 50
    bake_time_seconds = 6
  }
  depends_on = [mlops_model_version.v1, mlops_model_version.v2, mlops_model_version.broken]
}

# The error rate of the endpoint's predictions, per second: two periods of
# which one breaches send it to ALARM, well within a canary step's bake
# time, and while it is in ALARM a rollout in progress rolls back.
resource "mlops_alarm" "errors" {
  environment         = mlops_environment.dev.name
  name                = "errors-high"
  metric              = "error_rate"
  endpoint            = mlops_model_endpoint.test.name
  comparison          = "greater_than"
  threshold           = 5
  period_seconds      = 1
  evaluation_periods  = 2
  datapoints_to_alarm = 1
  min_samples         = 5
  actions = {
    rollback_endpoint = true
  }
}
`, version, e.brokenPath, e.brokenSHA)
}

// TestAccModelEndpoint_canaryRollsBackOnErrors is the honest rollout end to
// end, with predictions flowing all the time: a canary of a version whose
// replicas pass their checks but fail real requests (its weights overflow)
// makes the error-rate alarm fire; the rollout rolls back and the apply
// FAILS saying which alarm fired and that v1 still serves; traffic is back
// on v1. Applying the same change again retries the rollout (and fails
// again). A healthy canary (v2) then completes and the apply succeeds.
// Throughout, every request is answered: each failure is the broken
// version's own, and no request is lost in either switch.
func TestAccModelEndpoint_canaryRollsBackOnErrors(t *testing.T) {
	e := startEndpointAcc(t)
	e.brokenPath, e.brokenSHA = writeArtifact(t, `{"weights": [1e308], "bias": 0}`)
	var load *canaryLoad
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelEndpointDestroyed(e.testAcc),
		Steps: []resource.TestStep{
			{
				Config: e.canaryConfig("v1"),
				Check:  e.checkPredict("v1", 21),
			},
			{ // the broken version's canary: the alarm fires, the rollout rolls back, the apply fails
				PreConfig: func() {
					load = startCanaryLoad(t, e.srv.URL)
					waitForAnswers(t, load, "v1", 50)
				},
				Config: e.canaryConfig("broken"),
				ExpectError: expectErrorWords("rollout was rolled back", `alarm "errors-high" went to ALARM`,
					`model version "v1" is still serving variant "primary"`),
			},
			{ // applying the same change again retries the rollout (it fails again: the version is still broken)
				PreConfig: func() { e.checkV1ServesNow(t) },
				Config:    e.canaryConfig("broken"),
				ExpectError: expectErrorWords("rollout was rolled back", `alarm "errors-high"`,
					`model version "v1" is still serving variant "primary"`),
			},
			{ // traffic is back on v1; a healthy canary completes
				PreConfig: func() {
					e.checkV1ServesNow(t)
					ep, err := e.client.GetModelEndpoint(context.Background(), "dev", "api")
					if err != nil {
						t.Fatal(err)
					}
					var rolledBack int
					for _, r := range ep.Status.RolloutHistory {
						if r.ToVersion == "broken" && r.Result == api.RolloutRolledBack && r.Alarm == "errors-high" {
							rolledBack++
						}
					}
					if rolledBack != 2 || ep.Spec.RolloutAttempt != 1 {
						t.Fatalf("rollouts of broken rolled back by the alarm: %d (attempt %d), want 2 (attempt 1): %+v", rolledBack, ep.Spec.RolloutAttempt, ep.Status.RolloutHistory)
					}
					ok, failed, _, _ := load.snapshot()
					if failed["broken"] == 0 {
						t.Fatalf("the broken canary failed no request (ok %v, failed %v): it never got traffic", ok, failed)
					}
				},
				Config: e.canaryConfig("v2"),
				Check: resource.ComposeTestCheckFunc(
					e.checkPredict("v2", 30),
					// The load stops before the endpoint is destroyed.
					func(*terraform.State) error { load.stop(); return nil },
				),
			},
		},
	})
	load.stop()
	ok, failed, lost, lastLost := load.snapshot()
	t.Logf("answers: ok %v, failed %v, lost %d", ok, failed, lost)
	if lost != 0 {
		t.Errorf("%d requests were dropped while traffic moved (last: %s); want none", lost, lastLost)
	}
	for version, n := range failed {
		if version != "broken" {
			t.Errorf("model version %s failed %d requests; only the broken version may fail any", version, n)
		}
	}
	if ok["v1"] == 0 || ok["v2"] == 0 {
		t.Errorf("ok answers = %v; want v1 and v2 to have served", ok)
	}
}

// waitForAnswers waits until version answered n requests of the load.
func waitForAnswers(t *testing.T, l *canaryLoad, version string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, failed, lost, lastLost := l.snapshot()
		if ok[version] >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("version %s answered %d requests, want %d (failed %v, lost %d: %s)", version, ok[version], n, failed, lost, lastLost)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requiredAlarmsConfig is endpoint api serving version in an environment
// whose policy requires an error_rate alarm on every endpoint, with that
// alarm when alarm is true.
func (e *endpointAcc) requiredAlarmsConfig(version string, alarm bool) string {
	cfg := e.base(`{ required_alarms = ["error_rate"] }`) + fmt.Sprintf(`
resource "mlops_model_endpoint" "test" {
  environment = mlops_environment.dev.name
  name        = "api"
  variants = [{
    name            = "primary"
    model_version   = %q
    compute_pool    = mlops_compute_pool.cpu.name
    replicas        = 1
    traffic_percent = 100
  }]
  depends_on = [mlops_model_version.v1, mlops_model_version.v2]
}
`, version)
	if alarm {
		cfg += `
resource "mlops_alarm" "errors" {
  environment        = mlops_environment.dev.name
  name               = "errors-high"
  metric             = "error_rate"
  endpoint           = mlops_model_endpoint.test.name
  comparison         = "greater_than"
  threshold          = 5
  period_seconds     = 60
  evaluation_periods = 1
}
`
	}
	return cfg
}

// TestAccModelEndpoint_requiredAlarms: policy.required_alarms lets an
// endpoint be created before its alarms, but a plan that changes what it
// serves fails at plan time, naming the missing alarm and the fix, until
// the alarm exists.
func TestAccModelEndpoint_requiredAlarms(t *testing.T) {
	e := startEndpointAcc(t)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelEndpointDestroyed(e.testAcc),
		Steps: []resource.TestStep{
			{
				Config: e.requiredAlarmsConfig("v1", false),
				Check:  e.checkPredict("v1", 21),
			},
			{
				Config: e.requiredAlarmsConfig("v2", false),
				ExpectError: expectErrorWords("Endpoint lacks alarms its environment requires", `environment "dev" requires`,
					"policy.required_alarms", `create an mlops_alarm with metric "error_rate" and endpoint "api"`),
			},
			{Config: e.requiredAlarmsConfig("v1", true)},
			{
				Config: e.requiredAlarmsConfig("v2", true),
				Check:  e.checkPredict("v2", 30),
			},
		},
	})
}

// TestAccModelEndpoint_approvedOnlyAtPlanTime: in an environment that
// serves only approved versions, a plan to serve a pending version fails at
// plan time with the policy and the fix; once an owner approved it (out of
// band, as people do), the same configuration applies.
func TestAccModelEndpoint_approvedOnlyAtPlanTime(t *testing.T) {
	e := startEndpointAcc(t)
	versions := e.base(`{ require_approved_models = true }`)
	endpoint := versions + `
resource "mlops_model_endpoint" "test" {
  environment = mlops_environment.dev.name
  name        = "api"
  variants = [{
    name            = "primary"
    model_version   = mlops_model_version.v1.name
    compute_pool    = mlops_compute_pool.cpu.name
    replicas        = 1
    traffic_percent = 100
  }]
}
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckModelEndpointDestroyed(e.testAcc),
		Steps: []resource.TestStep{
			{Config: versions},
			{
				Config:      endpoint,
				PlanOnly:    true,
				ExpectError: expectErrorWords("Model version not approved", `model version "v1" is pending`, "policy.require_approved_models", "checked at plan time"),
			},
			{
				PreConfig: func() {
					ctx := context.Background()
					mv, err := e.client.GetModelVersion(ctx, "dev", "v1")
					if err != nil {
						t.Fatal(err)
					}
					mv.Spec.Approval = api.ApprovalRequest{Status: api.ApprovalApproved, Reason: "beats the baseline"}
					if _, err := e.client.UpdateModelVersion(ctx, "dev", "v1", mv.Spec, mv.Metadata.ETag); err != nil {
						t.Fatal(err)
					}
				},
				Config: endpoint,
				Check:  e.checkPredict("v1", 21),
			},
		},
	})
}
