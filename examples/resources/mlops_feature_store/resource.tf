# A feature store with history on local disk and the embedded online store.
resource "mlops_feature_store" "main" {
  environment       = "dev"
  name              = "main"
  description       = "Customer features for churn and fraud models."
  offline_store_uri = "file:///var/lib/mlops/features"
  online_store      = "embedded"
  labels = {
    team = "ml-platform"
  }
}
