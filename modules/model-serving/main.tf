# Online serving of a registered model: an endpoint with one or more
# variants, a progressive rollout for every change of what a variant serves,
# and the standard alarms (p99 latency, error rate, input drift) that watch
# it and roll a bad rollout back.

locals {
  # Alarm names carry the endpoint's name: alarm names are unique per
  # environment, and people read them in notifications without context.
  alarm_names = {
    latency_p99 = "${var.name}-latency-p99"
    error_rate  = "${var.name}-error-rate"
    drift_psi   = "${var.name}-drift-psi"
  }
  # The provider rejects empty lists (a list, when set, holds 1 or more
  # entries), so empty variables become null.
  channels = length(var.notification_channels) > 0 ? var.notification_channels : null
}

resource "mlops_model_endpoint" "this" {
  environment = var.environment
  name        = var.name

  variants = [
    for v in var.variants : {
      name            = v.name
      model_version   = v.model_version
      compute_pool    = v.compute_pool
      command         = length(v.command) > 0 ? v.command : null
      replicas        = v.replicas
      autoscaling     = v.autoscaling
      traffic_percent = v.traffic_percent
      cpu_millicores  = v.cpu_millicores
      memory_mib      = v.memory_mib
    }
  ]

  request_log_sample_rate_percent = var.request_log_sample_rate_percent
  smoke_test                      = var.smoke_test

  rollout = {
    strategy          = var.rollout.strategy
    step_percent      = var.rollout.step_percent
    bake_time_seconds = var.rollout.bake_time_seconds
    # The module's own alarms are wired with actions.rollback_endpoint,
    # which needs no name here: a name listed here must exist before a
    # rollout starts, and the alarms come after the endpoint (they name it).
    # Alarms made elsewhere are listed by name.
    rollback_alarms = length(var.rollout.extra_rollback_alarms) > 0 ? var.rollout.extra_rollback_alarms : null
  }

  timeouts = {
    create = var.timeout
    update = var.timeout
  }
}

# The standard alarms, one resource per kind in var.alarms. Drift compares
# the inputs the gateway samples with the baseline of the model version
# that served them, so a version trained on other data (or without a
# baseline) shows there first.
locals {
  alarm_specs = {
    latency_p99 = {
      description = "p99 prediction latency of ${var.name} above ${var.alarms.latency_p99.threshold_ms} ms."
      metric      = "latency"
      statistic   = "p99"
      feature     = null
      threshold   = var.alarms.latency_p99.threshold_ms
      settings    = var.alarms.latency_p99
      pipelines   = []
    }
    error_rate = {
      description = "More than ${var.alarms.error_rate.threshold_percent}% of ${var.name}'s predictions fail."
      metric      = "error_rate"
      statistic   = null
      feature     = null
      threshold   = var.alarms.error_rate.threshold_percent
      settings    = var.alarms.error_rate
      pipelines   = []
    }
    drift_psi = {
      description = "Inputs of ${var.name} drifted from the training data (PSI above ${var.alarms.drift_psi.threshold})."
      metric      = "feature_drift_psi"
      statistic   = null
      feature     = var.alarms.drift_psi.feature
      threshold   = var.alarms.drift_psi.threshold
      settings    = var.alarms.drift_psi
      pipelines   = var.alarms.drift_psi.start_pipelines
    }
  }
}

resource "mlops_alarm" "this" {
  for_each = { for k, a in local.alarm_specs : k => a if a.settings.enabled }

  environment         = var.environment
  name                = local.alarm_names[each.key]
  description         = each.value.description
  metric              = each.value.metric
  statistic           = each.value.statistic
  endpoint            = mlops_model_endpoint.this.name
  feature             = each.value.feature
  comparison          = "greater_than"
  threshold           = each.value.threshold
  period_seconds      = each.value.settings.period_seconds
  evaluation_periods  = each.value.settings.evaluation_periods
  datapoints_to_alarm = each.value.settings.datapoints_to_alarm

  actions = {
    notification_channels = local.channels
    rollback_endpoint     = each.value.settings.rollback
    start_pipelines       = length(each.value.pipelines) > 0 ? each.value.pipelines : null
  }
}
