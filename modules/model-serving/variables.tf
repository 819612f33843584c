variable "environment" {
  description = "Name of the environment (mlops_environment) the endpoint and its alarms live in, e.g. from the ml-environment module's name output."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.environment))
    error_message = "environment must be the name of an environment: 1-63 lowercase letters, digits and '-', starting with a letter (e.g. \"prod\")."
  }
}

variable "name" {
  description = "Name of the model endpoint. The alarms are \"<name>-latency-p99\", \"<name>-error-rate\" and \"<name>-drift-psi\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,46}[a-z0-9])?$", var.name))
    error_message = "name must be 1-48 lowercase letters, digits and '-', start with a letter and not end with '-' (e.g. \"churn\"); 48 leaves room for the alarms' \"-latency-p99\" suffix in 63 characters."
  }
}

variable "variants" {
  description = "Variants that serve traffic, 1-10. Each serves model_version (a version of an mlops-linear model, or any framework with command) on compute_pool, with either a fixed replicas count or autoscaling, and traffic_percent of the requests (the shares sum to 100). Optional cpu_millicores and memory_mib are what each replica requests (checked against a node of the pool). Changing a variant's model_version or its requests rolls it out with the rollout strategy."
  type = list(object({
    name          = string
    model_version = string
    compute_pool  = string
    command       = optional(list(string), [])
    replicas      = optional(number)
    autoscaling = optional(object({
      min_replicas              = number
      max_replicas              = number
      target_rps                = optional(number)
      scale_in_cooldown_seconds = optional(number, 300)
    }))
    traffic_percent = optional(number, 100)
    cpu_millicores  = optional(number)
    memory_mib      = optional(number)
  }))

  validation {
    condition     = length(var.variants) >= 1 && length(var.variants) <= 10
    error_message = "variants must hold 1 to 10 variants."
  }

  validation {
    condition     = alltrue([for v in var.variants : can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", v.name))]) && length(distinct([for v in var.variants : v.name])) == length(var.variants)
    error_message = "Every variant needs a distinct name of 1-63 lowercase letters, digits and '-', starting with a letter (e.g. \"primary\"); rename the duplicates."
  }

  validation {
    condition     = alltrue([for v in var.variants : (v.cpu_millicores == null || try(v.cpu_millicores >= 1 && floor(v.cpu_millicores) == v.cpu_millicores, false)) && (v.memory_mib == null || try(v.memory_mib >= 16 && floor(v.memory_mib) == v.memory_mib, false))])
    error_message = "A variant's cpu_millicores must be a whole number of at least 1 (1000 = one core) and its memory_mib a whole number of at least 16; leave them out to request nothing."
  }

  validation {
    condition     = alltrue([for v in var.variants : (v.replicas == null) != (v.autoscaling == null)])
    error_message = "Every variant needs exactly one of replicas (a fixed count, e.g. 2) and autoscaling ({ min_replicas, max_replicas, target_rps })."
  }

  validation {
    condition     = alltrue([for v in var.variants : v.replicas == null || (try(v.replicas >= 1 && v.replicas <= 100 && floor(v.replicas) == v.replicas, false))])
    error_message = "Every variant's replicas must be a whole number from 1 to 100."
  }

  validation {
    condition     = alltrue([for v in var.variants : v.autoscaling == null || try(v.autoscaling.min_replicas >= 1 && v.autoscaling.min_replicas <= v.autoscaling.max_replicas && v.autoscaling.max_replicas <= 100, false)])
    error_message = "Every variant's autoscaling needs 1 <= min_replicas <= max_replicas <= 100; lower min_replicas or raise max_replicas."
  }

  validation {
    condition     = alltrue([for v in var.variants : v.traffic_percent >= 0 && v.traffic_percent <= 100 && floor(v.traffic_percent) == v.traffic_percent]) && sum(concat([0], [for v in var.variants : v.traffic_percent])) == 100
    error_message = "The variants' traffic_percent must be whole numbers from 0 to 100 that sum to 100 (a single variant takes the default, 100); e.g. 90 and 10."
  }
}

variable "rollout" {
  description = "How a changed model_version replaces the serving one: strategy canary (step_percent, then all), linear (step_percent more per step), blue_green (started and checked without traffic, then all) or all_at_once, baking bake_time_seconds at each step. extra_rollback_alarms names alarms made outside the module (in the same environment, existing before the next rollout) that roll a rollout back too; the module's own alarms always do unless their rollback is false."
  type = object({
    strategy              = optional(string, "canary")
    step_percent          = optional(number, 10)
    bake_time_seconds     = optional(number, 300)
    extra_rollback_alarms = optional(list(string), [])
  })
  default = {}

  validation {
    condition     = contains(["canary", "linear", "blue_green", "all_at_once"], var.rollout.strategy)
    error_message = "rollout.strategy must be canary, linear, blue_green or all_at_once."
  }

  validation {
    condition     = var.rollout.step_percent >= 1 && var.rollout.step_percent <= 100 && floor(var.rollout.step_percent) == var.rollout.step_percent
    error_message = "rollout.step_percent must be a whole number from 1 to 100: the share of traffic the new version gains per step."
  }

  validation {
    condition     = var.rollout.bake_time_seconds >= 0 && var.rollout.bake_time_seconds <= 86400 && floor(var.rollout.bake_time_seconds) == var.rollout.bake_time_seconds
    error_message = "rollout.bake_time_seconds must be a whole number of seconds from 0 to 86400 (a day)."
  }

  validation {
    condition     = length(var.rollout.extra_rollback_alarms) <= 10 && alltrue([for a in var.rollout.extra_rollback_alarms : can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", a))])
    error_message = "rollout.extra_rollback_alarms must list at most 10 alarm names of 1-63 lowercase letters, digits and '-'."
  }
}

variable "smoke_test" {
  description = "A request every new replica must answer before it gets traffic, e.g. { request_body = jsonencode({ inputs = [80] }), json_path = \"prediction\" }; null sends none."
  type = object({
    request_body               = string
    expected_status            = optional(number, 200)
    expected_response_contains = optional(string)
    json_path                  = optional(string)
    expected_json_value        = optional(string)
  })
  default = null

  validation {
    condition     = var.smoke_test == null || can(jsondecode(try(var.smoke_test.request_body, "")))
    error_message = "smoke_test.request_body must be JSON, e.g. jsonencode({ inputs = [80] })."
  }
}

variable "request_log_sample_rate_percent" {
  description = "Share of requests, 0-100, whose inputs and prediction the gateway logs; the drift alarm needs sampled inputs (at least 30 a period by default), so keep it above 0 when the drift alarm is on."
  type        = number
  default     = 10

  validation {
    condition     = var.request_log_sample_rate_percent >= 0 && var.request_log_sample_rate_percent <= 100 && floor(var.request_log_sample_rate_percent) == var.request_log_sample_rate_percent
    error_message = "request_log_sample_rate_percent must be a whole number from 0 to 100."
  }
}

variable "alarms" {
  description = "The standard alarms on the endpoint. latency_p99 (milliseconds) and error_rate (percent) roll a rollout back by default; drift_psi watches the population stability index of the sampled inputs against the serving version's baseline (feature null: the most drifted one) and may start retraining pipelines. Each period_seconds × evaluation_periods should fit in rollout.bake_time_seconds to be seen during a rollout."
  type = object({
    latency_p99 = optional(object({
      enabled             = optional(bool, true)
      threshold_ms        = optional(number, 500)
      period_seconds      = optional(number, 60)
      evaluation_periods  = optional(number, 5)
      datapoints_to_alarm = optional(number, 3)
      rollback            = optional(bool, true)
    }), {})
    error_rate = optional(object({
      enabled             = optional(bool, true)
      threshold_percent   = optional(number, 5)
      period_seconds      = optional(number, 60)
      evaluation_periods  = optional(number, 5)
      datapoints_to_alarm = optional(number, 3)
      rollback            = optional(bool, true)
    }), {})
    drift_psi = optional(object({
      enabled             = optional(bool, true)
      threshold           = optional(number, 0.2)
      feature             = optional(string)
      period_seconds      = optional(number, 3600)
      evaluation_periods  = optional(number, 3)
      datapoints_to_alarm = optional(number, 2)
      rollback            = optional(bool, true)
      start_pipelines     = optional(list(string), [])
    }), {})
  })
  default = {}

  validation {
    condition     = var.alarms.latency_p99.threshold_ms > 0
    error_message = "alarms.latency_p99.threshold_ms must be above 0 (milliseconds, e.g. 500)."
  }

  validation {
    condition     = var.alarms.error_rate.threshold_percent >= 0 && var.alarms.error_rate.threshold_percent < 100
    error_message = "alarms.error_rate.threshold_percent must be from 0 to below 100 (percent of failed predictions, e.g. 5)."
  }

  validation {
    condition     = var.alarms.drift_psi.threshold > 0
    error_message = "alarms.drift_psi.threshold must be above 0 (a PSI; 0.1 is a small shift, 0.2 a large one)."
  }

  validation {
    condition = alltrue([for a in [var.alarms.latency_p99, var.alarms.error_rate, var.alarms.drift_psi] :
    a.period_seconds >= 1 && a.period_seconds <= 86400 && floor(a.period_seconds) == a.period_seconds && a.period_seconds * a.evaluation_periods <= 172800])
    error_message = "Every alarm's period_seconds must be a whole number from 1 to 86400, and period_seconds × evaluation_periods at most 172800 (48 hours, the metrics mlopsd keeps)."
  }

  validation {
    condition = alltrue([for a in [var.alarms.latency_p99, var.alarms.error_rate, var.alarms.drift_psi] :
    a.evaluation_periods >= 1 && floor(a.evaluation_periods) == a.evaluation_periods && a.datapoints_to_alarm >= 1 && a.datapoints_to_alarm <= a.evaluation_periods && floor(a.datapoints_to_alarm) == a.datapoints_to_alarm])
    error_message = "Every alarm needs whole numbers 1 <= datapoints_to_alarm <= evaluation_periods (M of N, e.g. 3 of 5)."
  }

  validation {
    condition     = alltrue([for p in var.alarms.drift_psi.start_pipelines : can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", p))])
    error_message = "alarms.drift_psi.start_pipelines must name training pipelines: 1-63 lowercase letters, digits and '-' (e.g. the continuous-training module's pipeline_name output)."
  }
}

variable "notification_channels" {
  description = "Names of notification channels (mlops_notification_channel, e.g. the ml-environment module's notification_channel output) in the same environment that every alarm notifies on ALARM and OK; empty notifies none."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.notification_channels) <= 10 && length(distinct(var.notification_channels)) == length(var.notification_channels) && alltrue([for c in var.notification_channels : can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", c))])
    error_message = "notification_channels must list at most 10 distinct channel names of 1-63 lowercase letters, digits and '-'."
  }
}

variable "timeout" {
  description = "How long apply waits for the endpoint to be ready on create, and for a rollout to finish on update, e.g. \"30m\"; give it at least the rollout's steps × bake_time_seconds."
  type        = string
  default     = "30m"

  validation {
    condition     = can(regex("^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", var.timeout)) && var.timeout != ""
    error_message = "timeout must be a duration such as \"30m\", \"1h\" or \"90s\"."
  }
}
