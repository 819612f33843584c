# An identity for the CI system; role bindings grant it roles per environment.
resource "mlops_service_account" "ci" {
  name        = "ci"
  description = "Continuous training pipelines"
}
