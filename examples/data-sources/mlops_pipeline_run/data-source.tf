# Read the newest run of a pipeline, e.g. to gate a promotion on it.
data "mlops_pipeline_run" "latest" {
  environment = "dev"
  pipeline    = "churn-train"
  latest      = true
}

# Or read one run by name (<pipeline>-<number>).
data "mlops_pipeline_run" "third" {
  environment = "dev"
  name        = "churn-train-3"
}

output "latest_run_succeeded" {
  value = data.mlops_pipeline_run.latest.phase == "succeeded"
}

output "latest_model_version" {
  value = data.mlops_pipeline_run.latest.model_version
}

output "failed_steps" {
  value = [for s in data.mlops_pipeline_run.latest.steps : s.name if s.phase == "failed"]
}
