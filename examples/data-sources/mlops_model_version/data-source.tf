# Choose a version by alias: whatever the champion points at now.
data "mlops_model_version" "champion" {
  environment = "prod"
  model       = "churn"
  alias       = "churn-champion"
}

# Or the approved version with the newest approval decision.
data "mlops_model_version" "latest" {
  environment     = "prod"
  model           = "churn"
  latest_approved = true
}

# Or one version by name.
data "mlops_model_version" "pinned" {
  environment = "prod"
  model       = "churn"
  version     = "churn-7"
}

output "champion" {
  value = {
    version     = data.mlops_model_version.champion.version
    artifact    = data.mlops_model_version.champion.artifact_uri
    auc         = tonumber(data.mlops_model_version.champion.metrics["auc"])
    approved_by = data.mlops_model_version.champion.approved_by
  }
}

output "latest_approved_version" {
  value = data.mlops_model_version.latest.version
}
