# Test fixture: the environment, compute pool, model and the two versions
# (mlops-linear artifacts checked in beside this file) the endpoint serves,
# and a notification channel for the alarms. The names are fixed, so the
# plan-only runs can use them too.
terraform {
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}

resource "mlops_environment" "test" {
  name        = "serving-test"
  description = "model-serving module tests"
}

resource "mlops_compute_pool" "cpu" {
  environment = mlops_environment.test.name
  name        = "cpu"
  max_nodes   = 2
}

resource "mlops_model" "price" {
  environment   = mlops_environment.test.name
  name          = "price"
  task_type     = "regression"
  force_destroy = true
}

resource "mlops_model_version" "v" {
  for_each = toset(["v1", "v2"])

  environment     = mlops_environment.test.name
  model           = mlops_model.price.name
  name            = "price-${each.key}"
  artifact_uri    = provider::mlops::artifact_uri(abspath("${path.module}/${each.key}.json"))
  artifact_sha256 = filesha256("${path.module}/${each.key}.json")
  framework       = "mlops-linear"
}

# Nothing listens on the discard port: deliveries fail and are retried,
# which the alarms do not wait for.
resource "mlops_notification_channel" "oncall" {
  environment = mlops_environment.test.name
  name        = "oncall"
  url         = "http://127.0.0.1:9/hook"
}

output "environment" {
  value = mlops_environment.test.name
}

output "versions" {
  value = [for v in mlops_model_version.v : v.name]
}
