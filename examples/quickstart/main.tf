# The quickstart: one development environment with a GPU pool, a CPU pool,
# a feature store holding one feature group, a model with the training
# pipeline that trains it, and, once a version is trained, an endpoint that
# serves it with the alarms that watch it. `make quickstart` builds the
# provider, starts mlopsd, applies this configuration, starts one training
# run, then applies again with served_version set to the version the run
# registered.

terraform {
  # provider::mlops::artifact_uri is a provider-defined function (Terraform 1.8+).
  required_version = ">= 1.8"
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

# A model in the registry. Its versions are registered by the pipeline's
# runs, outside Terraform, so they are in no Terraform state: force_destroy
# lets `terraform destroy` delete them with the model.
resource "mlops_model" "house_prices" {
  environment   = mlops_environment.dev.name
  name          = "house-prices"
  description   = "Price of a house (k) from its size (m2): a straight line."
  task_type     = "regression"
  force_destroy = true
}

# Trains house-prices on the CPU pool: prepare checks the CSV and copies it
# into the run's output directory, train fits a line and writes model.json
# and metrics.json there, which mlopsd registers as a new model version with
# lineage (the run, the data and its SHA-256, the pipeline generation). The
# steps are small POSIX sh + awk scripts in train/, run by mlopsd's local
# driver as child processes, so they need absolute paths; URIs of local files
# come from provider::mlops::artifact_uri, which turns an absolute path into
# the file:// URI mlopsd expects (and fails at plan time on a relative one).
locals {
  train_dir   = "${abspath(path.module)}/train"
  houses_csv  = "${local.train_dir}/houses.csv"
  houses_data = provider::mlops::artifact_uri(local.houses_csv)
}

resource "mlops_training_pipeline" "house_prices" {
  environment  = mlops_environment.dev.name
  name         = "house-prices-train"
  description  = "Fits house-prices to train/houses.csv."
  compute_pool = mlops_compute_pool.cpu.name
  model        = mlops_model.house_prices.name

  parameters = [
    { name = "min_rows", type = "int", default = "3" },
  ]

  steps = [
    {
      name            = "prepare"
      command         = ["sh", "${local.train_dir}/prepare.sh", local.houses_csv]
      inputs          = [local.houses_data]
      outputs         = ["train.csv"]
      timeout_seconds = 60
    },
    {
      name            = "train"
      command         = ["sh", "${local.train_dir}/train.sh"]
      depends_on      = ["prepare"]
      outputs         = ["model.json", "metrics.json"]
      timeout_seconds = 60
    },
  ]

  # A new run starts by itself whenever train/houses.csv changes. The first
  # content mlopsd sees is the baseline and starts nothing, so
  # scripts/quickstart.sh starts the first run by hand (mlopsd runs start).
  triggers = {
    on_new_data = [local.houses_data]
  }
}

# Serving. The versions the pipeline registers are not in Terraform state,
# so which one serves is a decision written down here: scripts/quickstart.sh
# writes served_version into serving.auto.tfvars once the first run
# registered a version. Promote a newer one by changing it and applying.
variable "served_version" {
  description = "Model version of house-prices to serve, e.g. house-prices-train-1; null serves nothing yet."
  type        = string
  default     = null
}

locals {
  serving = var.served_version == null ? 0 : 1
}

resource "mlops_model_endpoint" "house_prices" {
  count       = local.serving
  environment = mlops_environment.dev.name
  name        = "house-prices"

  variants = [{
    name            = "primary"
    model_version   = var.served_version
    compute_pool    = mlops_compute_pool.cpu.name
    replicas        = 2
    traffic_percent = 100
  }]

  # Every new replica answers this before it gets traffic.
  smoke_test = {
    request_body = jsonencode({ inputs = [80] })
    json_path    = "prediction"
  }

  # A new served_version takes 50% of the traffic for 20 s, then all of it;
  # the errors alarm below rolls it back if it fails requests meanwhile.
  rollout = {
    strategy          = "canary"
    step_percent      = 50
    bake_time_seconds = 20
  }

  # The served version is registered by the pipeline's run: the model (and
  # with it that version) must outlive the endpoint on destroy.
  depends_on = [mlops_model.house_prices, mlops_training_pipeline.house_prices]
}

# More than 5% of the predictions fail in 2 of the last 3 ten-second
# periods: ALARM, and a rollout in progress rolls back.
resource "mlops_alarm" "errors" {
  count               = local.serving
  environment         = mlops_environment.dev.name
  name                = "house-prices-errors"
  description         = "The endpoint fails more than 5% of its predictions."
  metric              = "error_rate"
  endpoint            = mlops_model_endpoint.house_prices[0].name
  comparison          = "greater_than"
  threshold           = 5
  period_seconds      = 10
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  actions = {
    rollback_endpoint = true
  }
}

# The sizes the endpoint is asked about drift from those it was trained on
# (PSI against the version's baseline, the training sizes): ALARM, and the
# pipeline retrains. Continuous training, closed in a loop.
resource "mlops_alarm" "drift" {
  count              = local.serving
  environment        = mlops_environment.dev.name
  name               = "house-prices-drift"
  description        = "The sizes asked about no longer look like the training data."
  metric             = "feature_drift_psi"
  endpoint           = mlops_model_endpoint.house_prices[0].name
  comparison         = "greater_than"
  threshold          = 0.25
  period_seconds     = 60
  evaluation_periods = 1
  actions = {
    start_pipelines = [mlops_training_pipeline.house_prices.name]
  }
}

output "environment_uid" {
  description = "The uid mlopsd assigned to the dev environment."
  value       = mlops_environment.dev.uid
}

output "gpu_pool_phase" {
  description = "Phase of the GPU pool when it was last applied."
  value       = mlops_compute_pool.gpu.phase
}

output "training_pipeline" {
  description = "Name of the training pipeline; start a run with: mlopsd runs start -env dev <name>."
  value       = mlops_training_pipeline.house_prices.name
}

output "predict_path" {
  description = "The gateway path that serves house-prices, once a version serves; POST {\"inputs\": [size_m2]} to it."
  value       = local.serving == 1 ? "/v1/environments/${mlops_environment.dev.name}/model-endpoints/${mlops_model_endpoint.house_prices[0].name}:predict" : null
}
