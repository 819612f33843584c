# A registered model: the churn classifier whose versions the registry
# tracks. Versions (mlops_model_version) and aliases (mlops_model_alias)
# refer to it by name.
resource "mlops_model" "churn" {
  environment = "dev"
  name        = "churn"
  description = "Predicts which customers cancel in the next 30 days."
  task_type   = "classification"

  labels = {
    team = "retention"
  }

  # Versions that pipeline runs register are in no Terraform state. With
  # force_destroy = true, destroying the model deletes them and the model's
  # aliases; with false (the default) the destroy fails and names them.
  force_destroy = false
}
