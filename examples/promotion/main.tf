# One configuration, two stages: dev trains and registers house-prices
# versions, prod serves the one a person approved. Each stage is a
# Terraform workspace with its own state, the workspace name selects the
# stage's settings below, and each stage's CI applies it with its own
# token (MLOPS_TOKEN), with the roles platform/ grants:
#
#   terraform workspace select -or-create dev  && terraform apply   # as dev-ci
#   mlopsd runs start -env dev house-prices-train                    # registers house-prices-train-<n>
#   terraform workspace select -or-create prod && terraform apply -var champion_version=house-prices-train-<n>   # as prod-ci
#
# prod's policy (require_approved_models) refuses to serve the version
# until an owner of prod approves it; the apply fails and says so. After
# the approval the same apply serves it. See docs/guides/promotion.md.
terraform {
  required_version = ">= 1.11"
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}

# The endpoint comes from MLOPS_ENDPOINT and the token from MLOPS_TOKEN:
# each stage's CI job sets its own.
provider "mlops" {}

variable "champion_version" {
  description = "In prod: the dev version of house-prices to promote and serve, e.g. house-prices-train-3, or null to serve nothing yet. Ignored in dev."
  type        = string
  default     = null
}

locals {
  # What differs between stages, and nothing else: the code is the same.
  stages = {
    dev = {
      trains        = true
      serves        = false
      schedule      = null # train by hand while iterating
      force_destroy = true # throwaway versions
      replicas      = 1
      rollout       = { strategy = "all_at_once", step_percent = 100, bake_time_seconds = 0 }
    }
    prod = {
      trains        = false
      serves        = true
      schedule      = null
      force_destroy = false
      replicas      = 2
      rollout       = { strategy = "canary", step_percent = 50, bake_time_seconds = 60 }
    }
  }

  # The fallback only keeps the expressions below valid (terraform validate
  # runs in the default workspace); terraform_data.stage fails every plan
  # in a workspace that is no stage.
  stage = lookup(local.stages, terraform.workspace, local.stages.dev)
  train = local.stage.trains ? 1 : 0
  serve = local.stage.serves && var.champion_version != null ? 1 : 0
}

resource "terraform_data" "stage" {
  lifecycle {
    precondition {
      condition     = contains(keys(local.stages), terraform.workspace)
      error_message = "Workspace \"${terraform.workspace}\" is no stage of this configuration; select one first: terraform workspace select -or-create dev (or prod)."
    }
  }
}

# dev: the model and the pipeline that trains it, with the quickstart's
# small sh + awk training scripts; every successful run registers a version.
locals {
  train_dir = "${abspath(path.module)}/../quickstart/train"
}

module "training" {
  source = "../../modules/continuous-training"
  count  = local.train

  environment  = terraform.workspace
  compute_pool = "cpu"
  name         = "house-prices"
  task_type    = "regression"
  labels       = { stage = terraform.workspace }

  parameters = [{ name = "min_rows", type = "int", default = "3" }]
  steps = [
    {
      name    = "prepare"
      command = ["sh", "${local.train_dir}/prepare.sh", "${local.train_dir}/houses.csv"]
      inputs  = [provider::mlops::artifact_uri("${local.train_dir}/houses.csv")]
      outputs = ["train.csv"]
    },
    {
      name       = "train"
      command    = ["sh", "${local.train_dir}/train.sh"]
      depends_on = ["prepare"]
      outputs    = ["model.json", "metrics.json"]
    },
  ]
  schedule      = local.stage.schedule
  force_destroy = local.stage.force_destroy
}

# prod: the promoted version, registered again in prod from the dev
# version's artifact (same URI and SHA-256, which mlopsd verifies) with
# its lineage. Its approval is left out on purpose: an owner of prod
# decides it through the API or the CLI, and Terraform leaves the decision
# alone.
data "mlops_model_version" "candidate" {
  count = local.serve

  environment = "dev"
  model       = "house-prices"
  version     = var.champion_version
}

resource "mlops_model" "serving" {
  count = local.stage.serves ? 1 : 0

  environment = terraform.workspace
  name        = "house-prices"
  task_type   = "regression"
  labels      = { stage = terraform.workspace }
}

resource "mlops_model_version" "promoted" {
  count = local.serve

  environment     = terraform.workspace
  model           = mlops_model.serving[0].name
  name            = var.champion_version
  description     = "Promoted from dev/${var.champion_version}."
  artifact_uri    = data.mlops_model_version.candidate[0].artifact_uri
  artifact_sha256 = data.mlops_model_version.candidate[0].artifact_sha256
  framework       = data.mlops_model_version.candidate[0].framework
  baseline_uri    = data.mlops_model_version.candidate[0].baseline_uri == "" ? null : data.mlops_model_version.candidate[0].baseline_uri
  baseline_sha256 = data.mlops_model_version.candidate[0].baseline_sha256 == "" ? null : data.mlops_model_version.candidate[0].baseline_sha256
  metrics         = length(data.mlops_model_version.candidate[0].metrics) > 0 ? data.mlops_model_version.candidate[0].metrics : null
  lineage = {
    pipeline_run   = data.mlops_model_version.candidate[0].lineage.pipeline_run
    dataset_uri    = data.mlops_model_version.candidate[0].lineage.dataset_uri
    dataset_sha256 = data.mlops_model_version.candidate[0].lineage.dataset_sha256
    code_ref       = "dev/${var.champion_version}"
  }

  # Promoting the next version moves the alias before this one goes.
  lifecycle {
    create_before_destroy = true
  }
}

# The endpoint serves whatever the champion alias names, and the alias
# names only the promoted version: promoting is changing champion_version.
resource "mlops_model_alias" "champion" {
  count = local.serve

  environment = terraform.workspace
  name        = "house-prices-champion"
  model       = mlops_model.serving[0].name
  version     = mlops_model_version.promoted[0].name
}

module "serving" {
  source = "../../modules/model-serving"
  count  = local.serve

  environment = terraform.workspace
  name        = "house-prices"
  variants = [{
    name          = "primary"
    model_version = mlops_model_alias.champion[0].version
    compute_pool  = "cpu"
    replicas      = local.stage.replicas
  }]
  smoke_test            = { request_body = jsonencode({ inputs = [80] }), json_path = "prediction" }
  rollout               = local.stage.rollout
  notification_channels = ["oncall"] # platform/ made it with the environment
}

output "stage" {
  value = {
    environment  = terraform.workspace
    pipeline     = local.train == 1 ? module.training[0].pipeline_name : null
    serving      = local.serve == 1 ? module.serving[0].serving : null
    predict_path = local.serve == 1 ? module.serving[0].predict_path : null
  }
}
