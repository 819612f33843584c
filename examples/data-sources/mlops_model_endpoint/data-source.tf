# The live status of an endpoint: phase, the version and replica count each
# variant serves with now, and the rollout history.
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

output "price_last_rollout" {
  value = try(data.mlops_model_endpoint.price.rollout_history[length(data.mlops_model_endpoint.price.rollout_history) - 1], null)
}
