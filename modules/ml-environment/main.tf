# One environment with its guardrails, its compute pools and optionally a
# feature store and a notification channel: the base every ML team starts
# from.

resource "mlops_environment" "this" {
  name        = var.name
  description = var.description
  labels      = length(var.labels) > 0 ? var.labels : null
  policy = {
    max_gpus                  = var.max_gpus
    allowed_accelerator_types = length(var.allowed_accelerator_types) > 0 ? var.allowed_accelerator_types : null
    require_approved_models   = var.require_approved_models
  }
}

resource "mlops_compute_pool" "this" {
  for_each = var.compute_pools

  environment             = mlops_environment.this.name
  name                    = each.key
  accelerator_type        = each.value.accelerator_type
  accelerator_count       = each.value.accelerator_count
  cpu_per_node            = each.value.cpu_per_node
  memory_gib_per_node     = each.value.memory_gib_per_node
  min_nodes               = each.value.min_nodes
  max_nodes               = each.value.max_nodes
  spot                    = each.value.spot
  idle_scale_down_minutes = each.value.idle_scale_down_minutes
}

resource "mlops_feature_store" "this" {
  count = var.feature_store == null ? 0 : 1

  environment       = mlops_environment.this.name
  name              = var.feature_store.name
  description       = var.feature_store.description
  offline_store_uri = var.feature_store.offline_store_uri
  online_store      = var.feature_store.online_store
  labels            = length(var.labels) > 0 ? var.labels : null
}

# Where the environment's alarms send their state changes. The signing
# secret is write-only: it comes from an ephemeral variable and is sent to
# mlopsd on create and whenever signing_secret_wo_version changes, and is in
# neither the plan nor the state.
resource "mlops_notification_channel" "this" {
  count = var.notification_channel == null ? 0 : 1

  environment = mlops_environment.this.name
  name        = var.notification_channel.name
  description = var.notification_channel.description
  url         = var.notification_channel.url

  signing_secret_wo         = var.notification_signing_secret
  signing_secret_wo_version = var.notification_channel.signing_secret_wo_version
}
