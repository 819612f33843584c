# A token for CI that works for an hour and never lands in state: it
# configures a second mlops provider that acts as the service account.
resource "mlops_service_account" "ci" {
  name        = "ci"
  description = "Continuous training pipelines"
}

ephemeral "mlops_service_account_token" "ci" {
  service_account = mlops_service_account.ci.name
  ttl_seconds     = 3600
}

provider "mlops" {
  alias = "ci"
  token = ephemeral.mlops_service_account_token.ci.token
}
