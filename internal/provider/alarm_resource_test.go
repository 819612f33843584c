package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

const (
	errorsAlarmAddr = "mlops_alarm.errors"
	driftAlarmAddr  = "mlops_alarm.drift"
)

// alarmAcc is a control plane with endpoint api serving an mlops-linear
// model, two notification channels and a training pipeline to start.
type alarmAcc struct {
	*endpointAcc
}

func startAlarmAcc(t *testing.T) *alarmAcc {
	t.Helper()
	e := startEndpointAcc(t)
	return &alarmAcc{e}
}

// alarmBase declares what the alarms refer to.
func (a *alarmAcc) alarmBase() string {
	return a.base("{}") + `
resource "mlops_model_endpoint" "api" {
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

resource "mlops_notification_channel" "ops" {
  environment = mlops_environment.dev.name
  name        = "ops"
  url         = "https://hooks.example.com/ops"
}

resource "mlops_notification_channel" "pager" {
  environment = mlops_environment.dev.name
  name        = "pager"
  url         = "https://hooks.example.com/pager"
}

resource "mlops_training_pipeline" "retrain" {
  environment  = mlops_environment.dev.name
  name         = "retrain"
  compute_pool = mlops_compute_pool.cpu.name
  model        = mlops_model.price.name
  steps        = [{ name = "train", command = ["true"] }]
}
`
}

// alarms declares an error-rate alarm (name and the attributes given) and
// a PSI drift alarm that starts the pipeline.
func (a *alarmAcc) alarms(name, errorsAttrs string) string {
	return a.alarmBase() + fmt.Sprintf(`
resource "mlops_alarm" "errors" {
  environment        = mlops_environment.dev.name
  name               = %[1]q
  metric             = "error_rate"
  endpoint           = mlops_model_endpoint.api.name
  comparison         = "greater_than"
  period_seconds     = 60
  evaluation_periods = 5
%[2]s
}

resource "mlops_alarm" "drift" {
  environment         = mlops_environment.dev.name
  name                = "drift"
  description         = "inputs drifted from the training data"
  metric              = "feature_drift_psi"
  endpoint            = mlops_model_endpoint.api.name
  feature             = "x"
  comparison          = "greater_than"
  threshold           = 0.2
  period_seconds      = 3600
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  actions = {
    start_pipelines = [mlops_training_pipeline.retrain.name]
  }
}
`, name, errorsAttrs)
}

const errorsAlarmV1 = `
  variant   = "primary"
  threshold = 5
  actions = {
    notification_channels = [mlops_notification_channel.ops.name]
    rollback_endpoint     = true
  }
`

const errorsAlarmV2 = `
  description         = "5xx above 2.5%"
  threshold           = 2.5
  datapoints_to_alarm = 3
  actions = {
    notification_channels = [mlops_notification_channel.ops.name, mlops_notification_channel.pager.name]
    notify_on             = ["ALARM"]
  }
`

func testAccCheckAlarmDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_alarm", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetAlarm(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

// checkAlarmSpec reads alarm dev/name through the API and hands its spec
// to check.
func (a *alarmAcc) checkAlarmSpec(name string, check func(api.AlarmSpec, api.Metadata) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		al, err := a.client.GetAlarm(context.Background(), "dev", name)
		if err != nil {
			return err
		}
		return check(al.Spec, al.Metadata)
	}
}

func TestAccAlarm_basic(t *testing.T) {
	a := startAlarmAcc(t)
	ctx := context.Background()
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	notifyOn := func(states ...string) knownvalue.Check {
		var checks []knownvalue.Check
		for _, s := range states {
			checks = append(checks, knownvalue.StringExact(s))
		}
		return knownvalue.ListExact(checks)
	}
	resource.ParallelTest(t, resource.TestCase{
		TerraformVersionChecks:   writeOnlyVersionChecks,
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(testAccCheckAlarmDestroyed(a.testAcc), testAccCheckNotificationChannelDestroyed(a.testAcc),
			testAccCheckModelEndpointDestroyed(a.testAcc), testAccCheckEnvironmentDestroyed(a.testAcc)),
		Steps: []resource.TestStep{
			{ // create: the plan and the state show the server's defaults
				Config: a.alarms("errors", errorsAlarmV1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("statistic"), knownvalue.StringExact("average")),
						plancheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("datapoints_to_alarm"), knownvalue.Int64Exact(5)),
						plancheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("min_samples"), knownvalue.Int64Exact(1)),
						plancheck.ExpectKnownValue(driftAlarmAddr, tfjsonpath.New("min_samples"), knownvalue.Int64Exact(api.DefaultDriftMinSamples)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					uidSame.AddStateValue(errorsAlarmAddr, tfjsonpath.New("uid")),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/errors")),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("statistic"), knownvalue.StringExact("average")),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("variant"), knownvalue.StringExact("primary")),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("feature"), knownvalue.Null()),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("threshold"), knownvalue.Float64Exact(5)),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("datapoints_to_alarm"), knownvalue.Int64Exact(5)),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("missing_data"), knownvalue.StringExact("missing")),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("min_samples"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("actions"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"notification_channels": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("ops")}),
						"notify_on":             notifyOn("ALARM", "OK"),
						"rollback_endpoint":     knownvalue.Bool(true),
						"start_pipelines":       knownvalue.Null(),
					})),
					statecheck.ExpectKnownValue(driftAlarmAddr, tfjsonpath.New("statistic"), knownvalue.StringExact("maximum")),
					statecheck.ExpectKnownValue(driftAlarmAddr, tfjsonpath.New("threshold"), knownvalue.Float64Exact(0.2)),
					statecheck.ExpectKnownValue(driftAlarmAddr, tfjsonpath.New("min_samples"), knownvalue.Int64Exact(api.DefaultDriftMinSamples)),
					statecheck.ExpectKnownValue(driftAlarmAddr, tfjsonpath.New("actions").AtMapKey("start_pipelines"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("retrain")})),
				},
				Check: resource.ComposeTestCheckFunc(
					a.checkAlarmSpec("errors", func(s api.AlarmSpec, _ api.Metadata) error {
						if s.Threshold != "5" || !s.Actions.RollbackEndpoint || s.Variant != "primary" {
							return fmt.Errorf("errors spec = %+v", s)
						}
						return nil
					}),
					// An unset min_samples is sent as 0, the server's default, which follows the metric.
					a.checkAlarmSpec("drift", func(s api.AlarmSpec, _ api.Metadata) error {
						if s.Threshold != "0.2" || s.MinSamples != 0 || s.Feature != "x" {
							return fmt.Errorf("drift spec = %+v", s)
						}
						return nil
					}),
				),
			},
			{
				ResourceName:      errorsAlarmAddr,
				ImportState:       true,
				ImportStateId:     "dev/errors",
				ImportStateVerify: true,
			},
			{
				ResourceName:      driftAlarmAddr,
				ImportState:       true,
				ImportStateId:     "dev/drift",
				ImportStateVerify: true,
			},
			{ // threshold, description, datapoints and actions change in place; the other alarm is left alone
				Config: a.alarms("errors", errorsAlarmV2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(errorsAlarmAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(driftAlarmAddr, plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					uidSame.AddStateValue(errorsAlarmAddr, tfjsonpath.New("uid")),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("threshold"), knownvalue.Float64Exact(2.5)),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("variant"), knownvalue.Null()),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("datapoints_to_alarm"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("actions"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"notification_channels": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("ops"), knownvalue.StringExact("pager")}),
						"notify_on":             notifyOn("ALARM"),
						"rollback_endpoint":     knownvalue.Bool(false),
						"start_pipelines":       knownvalue.Null(),
					})),
				},
				Check: a.checkAlarmSpec("errors", func(s api.AlarmSpec, m api.Metadata) error {
					if s.Threshold != "2.5" || s.Description != "5xx above 2.5%" || !slices.Equal(s.Actions.NotifyOn, []string{"ALARM"}) || m.Generation != 2 {
						return fmt.Errorf("errors spec = %+v (generation %d)", s, m.Generation)
					}
					return nil
				}),
			},
			{ // drift: threshold and min_samples changed behind Terraform's back
				PreConfig: func() {
					al, err := a.client.GetAlarm(ctx, "dev", "errors")
					if err != nil {
						t.Fatal(err)
					}
					al.Spec.Threshold, al.Spec.MinSamples = "7", 50
					if _, err := a.client.UpdateAlarm(ctx, "dev", "errors", al.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config:             a.alarms("errors", errorsAlarmV2),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{ // apply puts them back
				Config: a.alarms("errors", errorsAlarmV2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(errorsAlarmAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("min_samples"), knownvalue.Int64Exact(1)),
					},
				},
				Check: a.checkAlarmSpec("errors", func(s api.AlarmSpec, _ api.Metadata) error {
					if s.Threshold != "2.5" || s.MinSamples != 0 {
						return fmt.Errorf("errors spec = %+v", s)
					}
					return nil
				}),
			},
			{ // drift: the drift alarm deleted behind Terraform's back is planned again
				PreConfig: func() {
					if _, err := a.client.DeleteAlarm(ctx, "dev", "drift"); err != nil {
						t.Fatal(err)
					}
				},
				Config:             a.alarms("errors", errorsAlarmV2),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: a.alarms("errors", errorsAlarmV2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(driftAlarmAddr, plancheck.ResourceActionCreate)},
				},
			},
			{ // a new name replaces the alarm; a threshold such as 0.1 reads back exactly
				Config: a.alarms("errors-5xx", `
  threshold = 0.1
  actions   = {}
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(errorsAlarmAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/errors-5xx")),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("threshold"), knownvalue.Float64Exact(0.1)),
					statecheck.ExpectKnownValue(errorsAlarmAddr, tfjsonpath.New("actions").AtMapKey("notify_on"), notifyOn("ALARM", "OK")),
				},
				Check: resource.ComposeTestCheckFunc(
					a.checkAlarmSpec("errors-5xx", func(s api.AlarmSpec, _ api.Metadata) error {
						if s.Threshold != "0.1" || len(s.Actions.NotificationChannels) != 0 {
							return fmt.Errorf("errors-5xx spec = %+v", s)
						}
						return nil
					}),
					func(*terraform.State) error {
						if _, err := a.client.GetAlarm(ctx, "dev", "errors"); !client.IsNotFound(err) {
							return fmt.Errorf("the replaced alarm dev/errors still exists (err %v)", err)
						}
						return nil
					},
				),
			},
		},
	})
}

func TestAccAlarm_badInput(t *testing.T) {
	a := startAcc(t)
	alarm := func(attrs string) string {
		return a.providerConfig() + `
resource "mlops_environment" "dev" {
  name = "dev"
}

resource "mlops_alarm" "test" {
  environment = mlops_environment.dev.name
  name        = "test"
  comparison  = "greater_than"
  threshold   = 5
` + attrs + `
}
`
	}
	// attrError matches a plan-time error: the summary, the configuration
	// line Terraform points at (the attribute path), then the detail.
	attrError := func(summary, line string, detail ...string) *regexp.Regexp {
		parts := []string{words(summary), `\d+:\s+` + words(line)}
		for _, d := range detail {
			parts = append(parts, words(d))
		}
		return regexp.MustCompile(`(?s)` + strings.Join(parts, `.*`))
	}
	errorRate := `
  metric             = "error_rate"
  endpoint           = "api"
  period_seconds     = 60
`
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckAlarmDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config:      alarm(errorRate + "  evaluation_periods = 5\n  statistic = \"p99\"\n"),
				PlanOnly:    true,
				ExpectError: attrError("Invalid statistic", `statistic = "p99"`, `statistic "p99" is not a statistic of metric error_rate; use one of ["average"], or remove statistic`),
			},
			{
				Config:      alarm(errorRate + "  evaluation_periods = 5\n  datapoints_to_alarm = 6\n"),
				PlanOnly:    true,
				ExpectError: attrError("Invalid datapoints_to_alarm", `datapoints_to_alarm = 6`, "more than evaluation_periods (5)", "lower datapoints_to_alarm to at most 5"),
			},
			{
				Config:      alarm(errorRate + "  evaluation_periods = 5\n  feature = \"x\"\n"),
				PlanOnly:    true,
				ExpectError: attrError("Feature without a drift metric", `feature = "x"`, "feature selects an input of a drift metric", "not of error_rate; remove feature"),
			},
			{
				Config:      alarm("  metric = \"latency\"\n  period_seconds = 60\n  evaluation_periods = 5\n"),
				PlanOnly:    true,
				ExpectError: expectErrorWords("Missing endpoint", "metric latency watches a model endpoint; set endpoint to the name of a model endpoint"),
			},
			{
				Config:      alarm("  metric = \"latency\"\n  endpoint = \"api\"\n  period_seconds = 86400\n  evaluation_periods = 3\n"),
				PlanOnly:    true,
				ExpectError: attrError("Alarm window too long", "evaluation_periods = 3", "period_seconds × evaluation_periods is 72h0m0s, longer than the 48h0m0s", "use fewer or shorter periods"),
			},
			{
				Config:      alarm("  metric = \"custom\"\n  period_seconds = 60\n  evaluation_periods = 1\n"),
				PlanOnly:    true,
				ExpectError: expectErrorWords("Missing metric_name", "metric custom needs metric_name"),
			},
			{
				Config:      alarm(errorRate + "  evaluation_periods = 5\n  metric_name = \"rmse\"\n"),
				PlanOnly:    true,
				ExpectError: attrError("Unexpected metric_name", `metric_name = "rmse"`, "metric error_rate takes none, remove metric_name"),
			},
			{
				Config:      alarm("  metric = \"custom\"\n  metric_name = \"accuracy\"\n  period_seconds = 60\n  evaluation_periods = 1\n  variant = \"blue\"\n"),
				PlanOnly:    true,
				ExpectError: attrError("Variant without endpoint", `variant = "blue"`, "set endpoint too, or remove variant"),
			},
			{
				Config: alarm("  metric = \"custom\"\n  metric_name = \"accuracy\"\n  period_seconds = 60\n  evaluation_periods = 1\n" +
					"  actions = {\n    rollback_endpoint = true\n  }\n"),
				PlanOnly: true,
				// Terraform points nested attribute paths at the resource block.
				ExpectError: expectErrorWords("Rollback without endpoint", "set endpoint, or remove rollback_endpoint"),
			},
			{
				Config:      alarm("  metric = \"cpu\"\n  endpoint = \"api\"\n  period_seconds = 60\n  evaluation_periods = 1\n"),
				PlanOnly:    true,
				ExpectError: attrError("Invalid Attribute Value Match", `metric = "cpu"`, `value must be one of:`, `"error_rate"`, `got: "cpu"`),
			},
			{
				Config:      alarm("  metric = \"custom\"\n  metric_name = \"accuracy\"\n  period_seconds = 60\n  evaluation_periods = 1\n  actions = { notify_on = [\"ALARM\", \"ALARM\"] }\n"),
				PlanOnly:    true,
				ExpectError: expectErrorWords("Duplicate list entry", `actions.notify_on[1] is "ALARM", which actions.notify_on[0] already is; list each entry once`),
			},
			{ // a number beyond float64 is refused by the framework before any validator, at the attribute
				Config:      strings.Replace(alarm(errorRate+"  evaluation_periods = 5\n"), "threshold   = 5", "threshold   = 1e400", 1),
				PlanOnly:    true,
				ExpectError: attrError("Value Conversion Error", "threshold = 1e400", "cannot be represented as a 64-bit floating point"),
			},
			{ // the server: the endpoint must exist, and the error points at it
				Config:      alarm(errorRate + "  evaluation_periods = 5\n"),
				ExpectError: attrError("Error creating alarm", `endpoint = "api"`, `spec.endpoint: model endpoint "api" does not exist in environment "dev"; create it first (mlops_model_endpoint)`),
			},
			{ // the server: so must the channels
				Config: alarm("  metric = \"custom\"\n  metric_name = \"accuracy\"\n  period_seconds = 60\n  evaluation_periods = 1\n" +
					"  actions = {\n    notification_channels = [\"nope\"]\n  }\n"),
				ExpectError: expectErrorWords("Error creating alarm",
					`spec.actions.notification_channels[0]: notification channel "nope" does not exist in environment "dev"; create it first (mlops_notification_channel)`),
			},
		},
	})
}
