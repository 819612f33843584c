# The live status of an endpoint: phase, the version and replica count each
# variant serves with now, the count autoscaling aims for and the load it
# follows, and the rollout history (with the alarm that rolled one back).
data "mlops_model_endpoint" "price" {
  environment = "prod"
  name        = "price"
}

output "price_endpoint_phase" {
  value = data.mlops_model_endpoint.price.phase
}

output "price_champion_replicas" {
  value = data.mlops_model_endpoint.price.variants[0].replicas
}

output "price_challenger_load" {
  value = {
    rps      = data.mlops_model_endpoint.price.variants[1].observed_rps
    replicas = data.mlops_model_endpoint.price.variants[1].desired_replicas
  }
}

output "price_last_rollout" {
  value = try(data.mlops_model_endpoint.price.rollout_history[length(data.mlops_model_endpoint.price.rollout_history) - 1], null)
}
