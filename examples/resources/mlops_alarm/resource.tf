# The on-call webhook both alarms notify (see mlops_notification_channel
# for its signing secret).
resource "mlops_notification_channel" "oncall" {
  environment = "prod"
  name        = "oncall"
  url         = "https://hooks.example.com/mlops/prod"
}

# More than 5% of the price endpoint's predictions failing in 3 of the last
# 5 minutes puts the alarm in ALARM: a rollout of the endpoint that is in
# progress is rolled back, and the on-call channel is told (and told again
# when the alarm is back to OK).
resource "mlops_alarm" "price_errors" {
  environment         = "prod"
  name                = "price-errors"
  description         = "more than 5% of price predictions fail"
  metric              = "error_rate"
  endpoint            = "price"
  comparison          = "greater_than"
  threshold           = 5
  period_seconds      = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3

  actions = {
    notification_channels = [mlops_notification_channel.oncall.name]
    rollback_endpoint     = true
  }
}

# The inputs the gateway samples drifting from the training data (the
# population stability index of sqft above 0.2 in 2 of the last 3 hours,
# each hour with at least 200 sampled inputs, the default for drift) starts a
# run of the training pipeline, which registers a retrained model version.
resource "mlops_alarm" "price_drift" {
  environment         = "prod"
  name                = "price-drift"
  description         = "sqft of price requests drifted from the training data"
  metric              = "feature_drift_psi"
  endpoint            = "price"
  feature             = "sqft"
  comparison          = "greater_than"
  threshold           = 0.2
  period_seconds      = 3600
  evaluation_periods  = 3
  datapoints_to_alarm = 2

  actions = {
    notification_channels = [mlops_notification_channel.oncall.name]
    notify_on             = ["ALARM"]
    start_pipelines       = ["price-train"]
  }
}
