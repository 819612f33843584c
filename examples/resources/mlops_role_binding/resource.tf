# Let CI start training runs in dev, but not change its objects.
resource "mlops_service_account" "ci" {
  name = "ci"
}

resource "mlops_role_binding" "ci_dev" {
  environment = "dev"
  name        = "ci-invoker"
  subject     = mlops_service_account.ci.name
  role        = "invoker"
}
