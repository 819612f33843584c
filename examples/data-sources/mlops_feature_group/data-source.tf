# Read a feature group that another configuration manages, e.g. to wire its
# feature names into a training job.
data "mlops_feature_group" "customer" {
  environment = "dev"
  name        = "customer-activity"
}

output "customer_feature_names" {
  value = [for f in data.mlops_feature_group.customer.features : f.name]
}

output "customer_features_ready" {
  value = data.mlops_feature_group.customer.phase == "ready"
}
