output "model_name" {
  description = "Name of the registered model, for mlops_model_version, mlops_model_alias and data sources."
  value       = mlops_model.this.name
}

output "pipeline_name" {
  description = "Name of the training pipeline; start a run by hand with: mlopsd runs start -env <environment> <pipeline_name>."
  value       = mlops_training_pipeline.this.name
}

output "pipeline_id" {
  description = "Terraform ID of the training pipeline, \"<environment>/<name>\"."
  value       = mlops_training_pipeline.this.id
}

output "pipeline_uid" {
  description = "The uid mlopsd assigned to the training pipeline."
  value       = mlops_training_pipeline.this.uid
}

output "triggers" {
  description = "What starts a run besides manual runs: schedule (\"\" for none), on_new_data and on_alarm (empty lists for none)."
  value = {
    schedule    = mlops_training_pipeline.this.triggers.schedule
    on_new_data = mlops_training_pipeline.this.triggers.on_new_data == null ? tolist([]) : mlops_training_pipeline.this.triggers.on_new_data
    on_alarm    = mlops_training_pipeline.this.triggers.on_alarm == null ? tolist([]) : mlops_training_pipeline.this.triggers.on_alarm
  }
}

output "champion_alias" {
  description = "Name of the champion alias (\"<model>-champion\"), or null when champion_version is not set."
  value       = var.champion_version == null ? null : mlops_model_alias.champion[0].name
}
