# Rolling activity aggregates per customer, served online for a day and kept
# offline for training. Adding a feature later changes the group in place;
# removing one or changing its value_type replaces the group.
resource "mlops_feature_group" "customer" {
  environment   = "dev"
  feature_store = "main"
  name          = "customer-activity"
  description   = "Rolling activity aggregates per customer."

  entities = [
    { name = "customer_id", value_type = "string" },
  ]
  features = [
    { name = "orders_7d", value_type = "int64", description = "Orders in the last 7 days." },
    { name = "spend_30d", value_type = "float64", description = "Spend in the last 30 days." },
    { name = "is_premium", value_type = "bool" },
  ]

  online      = true
  offline     = true
  ttl_seconds = 86400
  source_uri  = "file:///var/lib/mlops/events/customer_activity.parquet"
}
