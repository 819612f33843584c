# An alarm is imported by <environment>/<name>.
terraform import mlops_alarm.price_errors prod/price-errors
