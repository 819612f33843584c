# The quickstart: one development environment with a GPU pool, a CPU pool
# and a feature store holding one feature group. `make quickstart` builds the
# provider, starts mlopsd and applies this configuration.

terraform {
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}

variable "endpoint" {
  description = "Base URL of mlopsd."
  type        = string
  default     = "http://127.0.0.1:8080"
}

provider "mlops" {
  endpoint = var.endpoint
}

resource "mlops_environment" "dev" {
  name        = "dev"
  description = "Development: small GPU budget, any change allowed."
  labels = {
    team = "ml-platform"
  }
  policy = {
    max_gpus                  = 8
    allowed_accelerator_types = ["nvidia-t4", "nvidia-a100"]
  }
}

resource "mlops_compute_pool" "gpu" {
  environment         = mlops_environment.dev.name
  name                = "gpu-t4"
  accelerator_type    = "nvidia-t4"
  accelerator_count   = 1
  cpu_per_node        = 8
  memory_gib_per_node = 32
  min_nodes           = 1
  max_nodes           = 4
  spot                = true
}

resource "mlops_compute_pool" "cpu" {
  environment = mlops_environment.dev.name
  name        = "cpu"
  min_nodes   = 2
  max_nodes   = 10
}

resource "mlops_feature_store" "main" {
  environment       = mlops_environment.dev.name
  name              = "main"
  description       = "Customer features for churn and fraud models."
  offline_store_uri = "file:///var/lib/mlops/features"
}

resource "mlops_feature_group" "customer" {
  environment   = mlops_environment.dev.name
  feature_store = mlops_feature_store.main.name
  name          = "customer-activity"
  description   = "Rolling activity aggregates per customer."

  entities = [
    { name = "customer_id", value_type = "string" },
  ]
  features = [
    { name = "orders_7d", value_type = "int64", description = "Orders in the last 7 days." },
    { name = "spend_30d", value_type = "float64", description = "Spend in the last 30 days." },
    { name = "is_premium", value_type = "bool" },
  ]

  online      = true
  offline     = true
  ttl_seconds = 86400
  source_uri  = "file:///var/lib/mlops/events/customer_activity.parquet"
}

output "environment_uid" {
  description = "The uid mlopsd assigned to the dev environment."
  value       = mlops_environment.dev.uid
}

output "gpu_pool_phase" {
  description = "Phase of the GPU pool when it was last applied."
  value       = mlops_compute_pool.gpu.phase
}
