output "name" {
  description = "Name of the environment, for the environment argument of other resources."
  value       = mlops_environment.this.name
}

output "uid" {
  description = "The uid mlopsd assigned to the environment."
  value       = mlops_environment.this.uid
}

output "compute_pools" {
  description = "Compute pools by name: id, accelerator and node bounds."
  value = {
    for n, p in mlops_compute_pool.this : n => {
      id                = p.id
      accelerator_type  = p.accelerator_type
      accelerator_count = p.accelerator_count
      min_nodes         = p.min_nodes
      max_nodes         = p.max_nodes
    }
  }
}

output "gpu_budget" {
  description = "GPUs the pools may use in total (max_nodes × accelerator_count summed) and the environment's cap (null for none)."
  value = {
    used = sum(concat([0], [for p in mlops_compute_pool.this : p.max_nodes * p.accelerator_count]))
    cap  = var.max_gpus
  }
}

output "feature_store" {
  description = "Name of the feature store, or null when none was requested."
  value       = var.feature_store == null ? null : mlops_feature_store.this[0].name
}

output "notification_channel" {
  description = "Name of the notification channel, for alarms' actions.notification_channels (e.g. the model-serving module's notification_channels), or null when none was requested."
  value       = var.notification_channel == null ? null : mlops_notification_channel.this[0].name
}

output "notification_channel_uid" {
  description = "The uid mlopsd assigned to the notification channel, or null when none was requested."
  value       = var.notification_channel == null ? null : mlops_notification_channel.this[0].uid
}
