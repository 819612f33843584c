# The house-prices model served in production from the model-serving
# module: two variants (the champion on fixed replicas, a challenger that
# autoscales), canary rollouts that the module's latency and error alarms
# roll back, a drift alarm that starts retraining, and every alarm sent to
# the on-call channel of the ml-environment module.
terraform {
  required_version = ">= 1.11"
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}

provider "mlops" {}

variable "oncall_signing_secret" {
  description = "Secret the on-call webhook verifies X-Mlops-Signature with (16-512 bytes); TF_VAR_oncall_signing_secret."
  type        = string
  sensitive   = true
  ephemeral   = true
}

module "prod" {
  source = "../../../modules/ml-environment"

  name                    = "prod"
  require_approved_models = true
  compute_pools           = { cpu = { min_nodes = 2, max_nodes = 8 } }
  notification_channel = {
    url                       = "https://hooks.example.com/mlops/prod"
    signing_secret_wo_version = 1
  }
  notification_signing_secret = var.oncall_signing_secret
}

module "house_prices" {
  source = "../../../modules/model-serving"

  environment = module.prod.name
  name        = "house-prices"

  variants = [
    { name = "champion", model_version = "house-prices-train-7", compute_pool = "cpu", replicas = 2, traffic_percent = 90 },
    { name = "challenger", model_version = "house-prices-train-8", compute_pool = "cpu", autoscaling = { min_replicas = 1, max_replicas = 4, target_rps = 50 }, traffic_percent = 10 },
  ]

  smoke_test = {
    request_body = jsonencode({ inputs = [80] })
    json_path    = "prediction"
  }

  # A new version takes 25% of its variant's traffic for 5 minutes, then all.
  rollout = { strategy = "canary", step_percent = 25, bake_time_seconds = 300 }

  alarms = {
    latency_p99 = { threshold_ms = 250 }
    error_rate  = { threshold_percent = 2, period_seconds = 30 }
    drift_psi   = { feature = "size_m2", rollback = false, start_pipelines = ["house-prices-train"] }
  }
  notification_channels = [module.prod.notification_channel]

  depends_on = [module.prod]
}

output "predict_path" {
  value = module.house_prices.predict_path
}

output "alarms" {
  value = module.house_prices.alarm_names
}
