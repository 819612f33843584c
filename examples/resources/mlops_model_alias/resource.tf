# The champion serves production traffic; the challenger is evaluated
# beside it. Promoting a version is moving the alias, an in-place update
# whose every move the control plane keeps in history.
#
# Alias names are unique per environment across all models, so they carry
# the model's name.
resource "mlops_model_alias" "churn_champion" {
  environment = "dev"
  name        = "churn-champion"
  model       = "churn"
  version     = "churn-7"
}

resource "mlops_model_alias" "churn_challenger" {
  environment = "dev"
  name        = "churn-challenger"
  model       = "churn"
  version     = "churn-8"
}
