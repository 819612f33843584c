# Runs against a real mlopsd with the locally built provider; the Go test
# modules/modules_test.go sets MLOPS_ENDPOINT and the CLI configuration.

# The environment, pool, model versions and channel come from a fixture
# module with fixed names, so the plan-only runs below can use them too.
run "setup" {
  module {
    source = "./tests/setup"
  }
}

variables {
  environment = "serving-test"
  name        = "price"
  variants = [
    { name = "primary", model_version = "price-v1", compute_pool = "cpu", replicas = 2 },
  ]
  smoke_test = {
    request_body = "{\"inputs\": [10]}"
    json_path    = "prediction"
  }
  # Short bakes keep the test quick; the alarms' windows are the defaults.
  rollout               = { strategy = "canary", step_percent = 50, bake_time_seconds = 1 }
  notification_channels = ["oncall"]
  alarms = {
    drift_psi = { feature = "x", rollback = false }
  }
  timeout = "5m"
}

run "creates_endpoint_and_alarms" {
  assert {
    condition     = output.endpoint_name == "price" && output.endpoint_id == "serving-test/price"
    error_message = "endpoint name or id is wrong"
  }
  assert {
    condition     = output.predict_path == "/v1/environments/serving-test/model-endpoints/price:predict"
    error_message = "predict_path is wrong"
  }
  assert {
    condition     = output.serving["primary"].model_version == "price-v1" && output.serving["primary"].traffic_percent == 100
    error_message = "the primary variant does not serve price-v1 with all traffic"
  }
  assert {
    condition = output.alarm_names == {
      latency_p99 = "price-latency-p99"
      error_rate  = "price-error-rate"
      drift_psi   = "price-drift-psi"
    }
    error_message = "alarm names are wrong"
  }
  assert {
    condition     = output.rollback_alarms == ["price-latency-p99", "price-error-rate"]
    error_message = "latency and error alarms roll back, drift (rollback = false) does not"
  }
  assert {
    condition     = mlops_alarm.this["latency_p99"].statistic == "p99" && mlops_alarm.this["latency_p99"].threshold == 500
    error_message = "latency alarm is not p99 > 500 ms"
  }
  assert {
    condition     = mlops_alarm.this["error_rate"].actions.notification_channels == tolist(["oncall"]) && mlops_alarm.this["drift_psi"].feature == "x"
    error_message = "alarms are not wired to the oncall channel, or drift does not watch feature x"
  }
  assert {
    condition     = mlops_model_endpoint.this.rollout.strategy == "canary" && mlops_model_endpoint.this.rollout.rollback_alarms == null
    error_message = "rollout was not passed through"
  }
}

run "rolls_out_a_new_version_in_place" {
  variables {
    variants = [
      { name = "primary", model_version = "price-v2", compute_pool = "cpu", replicas = 2 },
    ]
  }
  assert {
    condition     = output.serving["primary"].model_version == "price-v2"
    error_message = "the rollout did not end with price-v2 serving"
  }
  assert {
    condition     = mlops_model_endpoint.this.uid == run.creates_endpoint_and_alarms.endpoint_uid
    error_message = "changing model_version replaced the endpoint instead of rolling out in place"
  }
}

run "plans_a_split_with_autoscaling_and_no_drift_alarm" {
  command = plan
  variables {
    variants = [
      { name = "champion", model_version = "price-v2", compute_pool = "cpu", replicas = 2, traffic_percent = 90 },
      { name = "challenger", model_version = "price-v1", compute_pool = "cpu", autoscaling = { min_replicas = 1, max_replicas = 2, target_rps = 5 }, traffic_percent = 10, cpu_millicores = 500, memory_mib = 256 },
    ]
    rollout = { strategy = "blue_green", extra_rollback_alarms = ["price-slo"] }
    alarms  = { drift_psi = { enabled = false } }
  }
  assert {
    condition     = !contains(keys(mlops_alarm.this), "drift_psi") && mlops_model_endpoint.this.rollout.rollback_alarms == tolist(["price-slo"])
    error_message = "drift alarm should be off and price-slo a rollback alarm"
  }
  assert {
    condition     = mlops_model_endpoint.this.variants[1].autoscaling.scale_in_cooldown_seconds == 300
    error_message = "autoscaling default cooldown is not 300"
  }
  assert {
    condition     = mlops_model_endpoint.this.variants[1].cpu_millicores == 500 && mlops_model_endpoint.this.variants[1].memory_mib == 256 && mlops_model_endpoint.this.variants[0].cpu_millicores == null
    error_message = "the challenger's requests (500 millicores, 256 MiB) did not reach the endpoint"
  }
}

run "rejects_a_fraction_of_a_millicore" {
  command = plan
  variables {
    variants = [
      { name = "a", model_version = "price-v1", compute_pool = "cpu", replicas = 1, cpu_millicores = 0.5 },
    ]
  }
  expect_failures = [var.variants]
}

run "rejects_traffic_not_summing_to_100" {
  command = plan
  variables {
    variants = [
      { name = "a", model_version = "price-v1", compute_pool = "cpu", replicas = 1, traffic_percent = 60 },
      { name = "b", model_version = "price-v2", compute_pool = "cpu", replicas = 1, traffic_percent = 60 },
    ]
  }
  expect_failures = [var.variants]
}

run "rejects_replicas_with_autoscaling" {
  command = plan
  variables {
    variants = [
      { name = "a", model_version = "price-v1", compute_pool = "cpu", replicas = 1, autoscaling = { min_replicas = 1, max_replicas = 2 } },
    ]
  }
  expect_failures = [var.variants]
}

run "rejects_duplicate_variant_names" {
  command = plan
  variables {
    variants = [
      { name = "a", model_version = "price-v1", compute_pool = "cpu", replicas = 1, traffic_percent = 50 },
      { name = "a", model_version = "price-v2", compute_pool = "cpu", replicas = 1, traffic_percent = 50 },
    ]
  }
  expect_failures = [var.variants]
}

run "rejects_unknown_strategy" {
  command = plan
  variables {
    rollout = { strategy = "big_bang" }
  }
  expect_failures = [var.rollout]
}

run "rejects_m_above_n" {
  command = plan
  variables {
    alarms = { error_rate = { evaluation_periods = 2, datapoints_to_alarm = 3 } }
  }
  expect_failures = [var.alarms]
}

run "rejects_long_name" {
  command = plan
  variables {
    name = "a-very-long-endpoint-name-that-leaves-no-room-for-alarms"
  }
  expect_failures = [var.name]
}
