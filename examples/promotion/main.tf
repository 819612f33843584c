# One configuration, three stages: dev -> staging -> prod. Each stage is a
# Terraform workspace with its own state, and the workspace name selects the
# stage's settings below. A change is promoted by applying the same commit
# in dev, then staging, then prod:
#
#   terraform workspace select -or-create dev     && terraform apply
#   terraform workspace select -or-create staging && terraform apply
#   terraform workspace select -or-create prod    && terraform apply
#
# See docs/guides/promotion.md.
terraform {
  required_version = ">= 1.11"
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}

# The endpoint comes from MLOPS_ENDPOINT (and the token from MLOPS_TOKEN),
# so one control plane can hold all stages, or each stage its own.
provider "mlops" {}

locals {
  # What differs between stages, and nothing else: the code is the same.
  stages = {
    dev = {
      max_gpus      = 4
      gpu_max_nodes = 2
      spot          = true
      schedule      = null # train by hand while iterating
      force_destroy = true # throwaway versions
    }
    staging = {
      max_gpus      = 8
      gpu_max_nodes = 4
      spot          = true
      schedule      = "0 4 * * 1" # weekly, to catch drift in the data before prod
      force_destroy = false
    }
    prod = {
      max_gpus      = 16
      gpu_max_nodes = 8
      spot          = false
      schedule      = "0 3 * * *" # nightly retraining
      force_destroy = false
    }
  }

  stage = local.stages[terraform.workspace] # select a stage first: terraform workspace select -or-create dev (or staging, prod)
}

module "environment" {
  source = "../../modules/ml-environment"

  name                      = terraform.workspace
  description               = "The ${terraform.workspace} stage of the churn model."
  labels                    = { stage = terraform.workspace }
  max_gpus                  = local.stage.max_gpus
  allowed_accelerator_types = ["nvidia-t4"]
  compute_pools = {
    gpu = { accelerator_type = "nvidia-t4", accelerator_count = 1, max_nodes = local.stage.gpu_max_nodes, spot = local.stage.spot }
    cpu = { max_nodes = 4 }
  }
}

module "churn" {
  source = "../../modules/continuous-training"

  environment  = module.environment.name
  compute_pool = "cpu"
  name         = "churn"
  task_type    = "classification"
  labels       = { stage = terraform.workspace }

  parameters = [{ name = "learning_rate", type = "float", default = "0.01" }]
  steps = [
    { name = "prepare", command = ["sh", "-c", "echo preparing data"] },
    { name = "train", command = ["sh", "-c", "echo training at $MLOPS_PARAM_LEARNING_RATE"], depends_on = ["prepare"] },
  ]
  schedule      = local.stage.schedule
  force_destroy = local.stage.force_destroy

  # The version serving in this stage, once runs registered one; promote a
  # model by setting it in staging, then in prod (e.g. with -var or a
  # per-stage entry in local.stages).
  champion_version = var.champion_version

  depends_on = [module.environment]
}

variable "champion_version" {
  description = "Model version the churn-champion alias of this stage points at, or null for none."
  type        = string
  default     = null
}

output "stage" {
  value = {
    environment = module.environment.name
    gpu_budget  = module.environment.gpu_budget
    pipeline    = module.churn.pipeline_name
    triggers    = module.churn.triggers
  }
}
