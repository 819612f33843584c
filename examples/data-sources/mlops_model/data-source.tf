# Read a model that another configuration registers, e.g. to check its task
# type before deploying one of its versions.
data "mlops_model" "churn" {
  environment = "prod"
  name        = "churn"
}

output "churn_task_type" {
  value = data.mlops_model.churn.task_type
}
