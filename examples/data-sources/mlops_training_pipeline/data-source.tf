# Read a training pipeline and what the control plane observed about it.
data "mlops_training_pipeline" "churn" {
  environment = "dev"
  name        = "churn-train"
}

output "churn_runs_started" {
  value = data.mlops_training_pipeline.churn.run_count
}

output "churn_next_run_at" {
  value = data.mlops_training_pipeline.churn.next_scheduled_at
}
