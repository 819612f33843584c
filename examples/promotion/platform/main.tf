# The platform under the promotion example: the dev and prod environments
# with their policies, pools and on-call channels, the service accounts
# that CI and the approver act as, and what each may do where. Applied once
# by a platform admin (MLOPS_TOKEN: an admin token), since only admin may
# write environments: so prod's CI cannot switch off the approval gate it
# is held to, nor approve what it deploys. See docs/guides/promotion.md.
terraform {
  required_version = ">= 1.11"
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}

provider "mlops" {}

variable "oncall_url" {
  description = "Webhook the stages' alarms notify; <stage> in it is replaced by the stage's name."
  type        = string
  default     = "https://hooks.example.com/mlops/<stage>"
}

variable "oncall_signing_secret" {
  description = "Secret the on-call webhook verifies X-Mlops-Signature with, 16-512 bytes (TF_VAR_oncall_signing_secret). Ephemeral: in neither plan nor state."
  type        = string
  sensitive   = true
  ephemeral   = true
}

locals {
  # What differs between the stages' environments.
  stages = {
    dev = {
      max_gpus                = 4
      cpu_max_nodes           = 4
      require_approved_models = false # iterate freely
    }
    prod = {
      max_gpus                = 16
      cpu_max_nodes           = 8
      require_approved_models = true # serve only what a person approved
    }
  }
}

module "stage" {
  source   = "../../../modules/ml-environment"
  for_each = local.stages

  name                    = each.key
  description             = "The ${each.key} stage of house-prices."
  labels                  = { stage = each.key }
  max_gpus                = each.value.max_gpus
  require_approved_models = each.value.require_approved_models
  compute_pools           = { cpu = { min_nodes = 1, max_nodes = each.value.cpu_max_nodes } }

  notification_channel = {
    url                       = replace(var.oncall_url, "<stage>", each.key)
    signing_secret_wo_version = 1 # bump after changing the secret
  }
  notification_signing_secret = var.oncall_signing_secret
}

# Who is who. Tokens for them are issued outside Terraform (POST
# /v1/service-accounts/{name}/tokens, or the mlops_service_account_token
# ephemeral resource), so that none lands in this state.
resource "mlops_service_account" "ci" {
  for_each    = toset(["dev-ci", "prod-ci", "prod-approver"])
  name        = each.key
  description = "Promotion example: ${each.key}"
}

locals {
  bindings = {
    # dev's CI changes dev and starts its training runs (editor includes invoker).
    dev-ci-editor = { env = "dev", subject = "dev-ci", role = "editor" }
    # prod's CI changes prod and reads the dev versions it promotes.
    prod-ci-editor = { env = "prod", subject = "prod-ci", role = "editor" }
    prod-ci-viewer = { env = "dev", subject = "prod-ci", role = "viewer" }
    # Only an owner may approve a model version.
    prod-approver-owner = { env = "prod", subject = "prod-approver", role = "owner" }
  }
}

resource "mlops_role_binding" "this" {
  for_each = local.bindings

  environment = module.stage[each.value.env].name
  name        = each.key
  subject     = mlops_service_account.ci[each.value.subject].name
  role        = each.value.role
}

output "environments" {
  value = { for k, m in module.stage : k => { name = m.name, notification_channel = m.notification_channel } }
}
