output "endpoint_name" {
  description = "Name of the model endpoint."
  value       = mlops_model_endpoint.this.name
}

output "endpoint_uid" {
  description = "The uid mlopsd assigned to the endpoint."
  value       = mlops_model_endpoint.this.uid
}

output "endpoint_id" {
  description = "Terraform ID of the endpoint, \"<environment>/<name>\"."
  value       = mlops_model_endpoint.this.id
}

output "predict_path" {
  description = "The gateway path that answers predictions, relative to mlopsd's URL: POST {\"inputs\": [...]} to it (role invoker when mlopsd runs with -auth on)."
  value       = "/v1/environments/${mlops_model_endpoint.this.environment}/model-endpoints/${mlops_model_endpoint.this.name}:predict"
}

output "serving" {
  description = "What each variant serves as applied: model version and traffic share, by variant name."
  value = {
    for v in mlops_model_endpoint.this.variants : v.name => {
      model_version   = v.model_version
      traffic_percent = v.traffic_percent
    }
  }
}

output "alarm_names" {
  description = "Names of the alarms the module made, by kind (latency_p99, error_rate, drift_psi); a disabled alarm is left out."
  value       = { for k, a in mlops_alarm.this : k => a.name }
}

output "rollback_alarms" {
  description = "Names of every alarm that rolls a rollout of the endpoint back: the module's alarms with rollback on, and rollout.extra_rollback_alarms."
  value = concat(
    [for k in ["latency_p99", "error_rate", "drift_psi"] : mlops_alarm.this[k].name if contains(keys(mlops_alarm.this), k) && try(mlops_alarm.this[k].actions.rollback_endpoint, false)],
    var.rollout.extra_rollback_alarms,
  )
}
