# What the control plane observed about an alarm: its state and why, the
# periods of the last evaluation, its transitions and the deliveries to its
# notification channels.
data "mlops_alarm" "price_errors" {
  environment = "prod"
  name        = "price-errors"
}

output "price_errors_state" {
  value = "${data.mlops_alarm.price_errors.state}: ${data.mlops_alarm.price_errors.state_reason}"
}

output "price_errors_last_transition" {
  value = try(data.mlops_alarm.price_errors.history[length(data.mlops_alarm.price_errors.history) - 1], null)
}

output "price_errors_failed_deliveries" {
  value = [for n in data.mlops_alarm.price_errors.notifications : n if n.state == "failed"]
}
