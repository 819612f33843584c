package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

const alarmDSAddr = "data.mlops_alarm.accuracy"

// testAccAlarmDataSourceConfig declares a custom-metric alarm (no endpoint
// needed) that notifies channel ops, and reads it back.
func testAccAlarmDataSourceConfig(a *testAcc) string {
	return a.providerConfig() + `
resource "mlops_environment" "dev" {
  name = "dev"
}

resource "mlops_notification_channel" "ops" {
  environment = mlops_environment.dev.name
  name        = "ops"
  url         = "https://hooks.example.com/ops"
}

resource "mlops_alarm" "accuracy" {
  environment         = mlops_environment.dev.name
  name                = "accuracy"
  description         = "online accuracy below 80%"
  metric              = "custom"
  metric_name         = "online_accuracy"
  statistic           = "minimum"
  comparison          = "less_than"
  threshold           = 0.8
  period_seconds      = 86400
  evaluation_periods  = 2
  datapoints_to_alarm = 1
  min_samples         = 10
  actions = {
    notification_channels = [mlops_notification_channel.ops.name]
    notify_on             = ["ALARM", "OK", "INSUFFICIENT_DATA"]
  }
}

data "mlops_alarm" "accuracy" {
  environment = mlops_alarm.accuracy.environment
  name        = mlops_alarm.accuracy.name
}
`
}

// alarmEvaluated writes, as the evaluator would, the status of an alarm
// that went OK and then ALARM: one period with too few samples and one
// breaching, a failed and a delivered notification. The last evaluation
// is the newest period end (periods of a day), so an evaluator would not
// evaluate again during the test.
func alarmEvaluated(t *testing.T, a *testAcc) (end time.Time) {
	t.Helper()
	ctx := context.Background()
	ref := api.Ref{Kind: api.KindAlarm, Environment: "dev", Name: "accuracy"}
	obj, err := a.srv.Daemon.Store.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Unix()
	end = time.Unix(now-now%86400, 0).UTC()
	first, second := end.Add(-2*24*time.Hour), end.Add(-24*time.Hour)
	okAt, alarmAt := second.Add(-time.Hour), end.Add(time.Second)
	delivered := alarmAt.Add(2 * time.Second)
	v93, v74 := 0.93, 0.74
	st := api.AlarmStatus{
		Status:          api.Status{Phase: api.PhaseReady, ObservedGeneration: obj.Meta.Generation},
		State:           api.AlarmStateAlarm,
		StateReason:     "1 of the last 2 periods was less than the threshold (0.8): minimum 0.74 over 95 samples",
		StateChangedAt:  &alarmAt,
		TransitionCount: 2,
		LastEvaluatedAt: &end,
		Datapoints: []api.AlarmDatapoint{
			{Start: first, Samples: 4, Detail: "4 samples, fewer than min_samples (10)"},
			{Start: second, Value: &v74, Samples: 95, Breaching: true},
		},
		History: []api.AlarmTransition{
			{Seq: 1, From: api.AlarmStateInsufficientData, To: api.AlarmStateOK, At: okAt, Reason: "0 of the last 2 periods breached", Value: &v93},
			{Seq: 2, From: api.AlarmStateOK, To: api.AlarmStateAlarm, At: alarmAt, Reason: "1 of the last 2 periods breached", Value: &v74},
		},
		Notifications: []api.AlarmNotification{
			{ID: obj.Meta.UID + "-1-ops", Channel: "ops", TransitionSeq: 1, State: api.DeliveryFailed, Attempts: api.MaxDeliveryAttempts,
				LastError: "POST https://hooks.example.com/ops: 503 Service Unavailable"},
			{ID: obj.Meta.UID + "-2-ops", Channel: "ops", TransitionSeq: 2, State: api.DeliveryDelivered, Attempts: 1, DeliveredAt: &delivered},
		},
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.srv.Daemon.Store.UpdateStatus(ctx, ref, obj.Meta.UID, b); err != nil {
		t.Fatal(err)
	}
	return end
}

func TestAccAlarmDataSource_basic(t *testing.T) {
	a := startAcc(t)
	rfc3339 := knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))
	var end time.Time
	at := func(want func() time.Time) resource.CheckResourceAttrWithFunc {
		return func(got string) error {
			if w := want().Format(time.RFC3339); got != w {
				return fmt.Errorf("got %s; want %s", got, w)
			}
			return nil
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   writeOnlyVersionChecks,
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckAlarmDestroyed(a),
		Steps: []resource.TestStep{
			{ // right after create: the spec with its defaults, evaluated once, no data yet
				Config: testAccAlarmDataSourceConfig(a),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/accuracy")),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("created_at"), rfc3339),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("description"), knownvalue.StringExact("online accuracy below 80%")),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("metric"), knownvalue.StringExact("custom")),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("metric_name"), knownvalue.StringExact("online_accuracy")),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("statistic"), knownvalue.StringExact("minimum")),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("endpoint"), knownvalue.Null()),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("threshold"), knownvalue.Float64Exact(0.8)),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("datapoints_to_alarm"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("missing_data"), knownvalue.StringExact("missing")),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("min_samples"), knownvalue.Int64Exact(10)),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("actions"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"notification_channels": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("ops")}),
						"notify_on": knownvalue.ListExact([]knownvalue.Check{
							knownvalue.StringExact("ALARM"), knownvalue.StringExact("OK"), knownvalue.StringExact("INSUFFICIENT_DATA"),
						}),
						"rollback_endpoint": knownvalue.Bool(false),
						"start_pipelines":   knownvalue.Null(),
					})),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("observed_generation"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("state"), knownvalue.StringExact("INSUFFICIENT_DATA")),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("state_reason"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("transition_count"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("datapoints"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("history"), knownvalue.ListExact([]knownvalue.Check{})),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("notifications"), knownvalue.ListExact([]knownvalue.Check{})),
				},
			},
			{ // a missing alarm is an error that names it
				Config: testAccAlarmDataSourceConfig(a) + `
data "mlops_alarm" "ghost" {
  environment = mlops_environment.dev.name
  name        = "ghost"
}
`,
				ExpectError: expectErrorWords("Error reading alarm", `alarm "ghost" in environment "dev"`, "does not exist"),
			},
			{ // after evaluations: the data source shows them; the resource has no diff (runtime-owned)
				PreConfig: func() { end = alarmEvaluated(t, a) },
				Config:    testAccAlarmDataSourceConfig(a),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("state"), knownvalue.StringExact("ALARM")),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("state_reason"),
						knownvalue.StringExact("1 of the last 2 periods was less than the threshold (0.8): minimum 0.74 over 95 samples")),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("transition_count"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("state_changed_at"), rfc3339),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("last_evaluated_at"), rfc3339),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("datapoints"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"start": rfc3339, "value": knownvalue.Null(), "samples": knownvalue.Int64Exact(4), "breaching": knownvalue.Bool(false),
							"detail":        knownvalue.StringExact("4 samples, fewer than min_samples (10)"),
							"feature_drift": knownvalue.Null(),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"start": rfc3339, "value": knownvalue.Float64Exact(0.74), "samples": knownvalue.Int64Exact(95), "breaching": knownvalue.Bool(true),
							"detail":        knownvalue.StringExact(""),
							"feature_drift": knownvalue.Null(),
						}),
					})),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("history"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"seq": knownvalue.Int64Exact(1), "from": knownvalue.StringExact("INSUFFICIENT_DATA"), "to": knownvalue.StringExact("OK"),
							"at": rfc3339, "reason": knownvalue.StringExact("0 of the last 2 periods breached"), "value": knownvalue.Float64Exact(0.93),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"seq": knownvalue.Int64Exact(2), "from": knownvalue.StringExact("OK"), "to": knownvalue.StringExact("ALARM"),
							"at": rfc3339, "reason": knownvalue.StringExact("1 of the last 2 periods breached"), "value": knownvalue.Float64Exact(0.74),
						}),
					})),
					statecheck.ExpectKnownValue(alarmDSAddr, tfjsonpath.New("notifications"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"id": knownvalue.StringRegexp(regexp.MustCompile(`-1-ops$`)), "channel": knownvalue.StringExact("ops"),
							"transition_seq": knownvalue.Int64Exact(1), "state": knownvalue.StringExact("failed"), "attempts": knownvalue.Int64Exact(5),
							"last_error":      knownvalue.StringExact("POST https://hooks.example.com/ops: 503 Service Unavailable"),
							"next_attempt_at": knownvalue.Null(), "delivered_at": knownvalue.Null(),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"id": knownvalue.StringRegexp(regexp.MustCompile(`-2-ops$`)), "channel": knownvalue.StringExact("ops"),
							"transition_seq": knownvalue.Int64Exact(2), "state": knownvalue.StringExact("delivered"), "attempts": knownvalue.Int64Exact(1),
							"last_error": knownvalue.StringExact(""), "next_attempt_at": knownvalue.Null(), "delivered_at": rfc3339,
						}),
					})),
				},
				// The exact times, known only once PreConfig ran.
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttrWith(alarmDSAddr, "last_evaluated_at", at(func() time.Time { return end })),
					resource.TestCheckResourceAttrWith(alarmDSAddr, "state_changed_at", at(func() time.Time { return end.Add(time.Second) })),
					resource.TestCheckResourceAttrWith(alarmDSAddr, "datapoints.0.start", at(func() time.Time { return end.Add(-48 * time.Hour) })),
					resource.TestCheckResourceAttrWith(alarmDSAddr, "notifications.1.delivered_at", at(func() time.Time { return end.Add(3 * time.Second) })),
				),
			},
		},
	})
}

func TestAlarmDataSourceFromAPI(t *testing.T) {
	ctx := context.Background()
	v := 0.31
	a := &api.Alarm{Spec: api.AlarmSpec{Metric: api.AlarmMetricFeatureDriftPSI, Threshold: "0.2"}, Status: api.AlarmStatus{Datapoints: []api.AlarmDatapoint{
		{Start: time.Unix(0, 0), Value: &v, Samples: 100, Detail: "PSI of feature tenure", FeatureDrift: map[string]float64{"tenure": 0.31, "spend": 0.05}},
		{Start: time.Unix(60, 0), Samples: 3, Detail: "3 sampled inputs, fewer than min_samples 30"},
	}}}
	var diags diag.Diagnostics
	m := alarmDataSourceFromAPI(ctx, a, &diags)
	if diags.HasError() {
		t.Fatal(diags)
	}
	var got map[string]float64
	if d := m.Datapoints[0].FeatureDrift.ElementsAs(ctx, &got, false); d.HasError() {
		t.Fatal(d)
	}
	if len(got) != 2 || got["tenure"] != 0.31 || got["spend"] != 0.05 {
		t.Errorf("feature_drift = %v, want tenure 0.31 and spend 0.05", got)
	}
	if fd := m.Datapoints[1].FeatureDrift; !fd.IsNull() || !fd.ElementType(ctx).Equal(types.Float64Type) {
		t.Errorf("feature_drift of a period without a value = %v, want a null map of numbers", fd)
	}
}
