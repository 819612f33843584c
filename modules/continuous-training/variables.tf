variable "environment" {
  description = "Name of the environment (mlops_environment) the model and the pipeline live in."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.environment))
    error_message = "environment must be the name of an environment: 1-63 lowercase letters, digits and '-', starting with a letter (e.g. \"dev\")."
  }
}

variable "name" {
  description = "Name of the model. The pipeline is \"<name>-train\" unless pipeline_name is set, and the champion alias is \"<name>-champion\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,44}[a-z0-9])?$", var.name))
    error_message = "name must be 1-46 lowercase letters, digits and '-', start with a letter and not end with '-' (e.g. \"churn\"); 46 leaves room for \"-train\" in the pipeline's name, whose runs are named \"<pipeline>-<number>\"."
  }
}

variable "pipeline_name" {
  description = "Name of the training pipeline. null (the default) means \"<name>-train\"."
  type        = string
  default     = null

  validation {
    condition     = var.pipeline_name == null || can(regex("^[a-z]([a-z0-9-]{0,50}[a-z0-9])?$", var.pipeline_name))
    error_message = "pipeline_name must be 1-52 lowercase letters, digits and '-', start with a letter and not end with '-' (runs are named \"<pipeline>-<number>\", which must fit 63 characters), or null for \"<name>-train\"."
  }
}

variable "description" {
  description = "Free text for people, put on the model and the pipeline."
  type        = string
  default     = ""
}

variable "task_type" {
  description = "What the model does: classification, regression, ranking, forecasting, generation, embedding or other."
  type        = string

  validation {
    condition     = contains(["classification", "regression", "ranking", "forecasting", "generation", "embedding", "other"], var.task_type)
    error_message = "task_type must be one of classification, regression, ranking, forecasting, generation, embedding or other."
  }
}

variable "labels" {
  description = "Labels put on the model and the pipeline."
  type        = map(string)
  default     = {}
}

variable "compute_pool" {
  description = "Name of the compute pool, in the same environment, whose capacity the steps use (e.g. from the ml-environment module's compute_pools output)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.compute_pool))
    error_message = "compute_pool must be the name of a compute pool: 1-63 lowercase letters, digits and '-', starting with a letter (e.g. \"cpu\")."
  }
}

variable "parameters" {
  description = "Typed inputs of the pipeline; a step reads each as MLOPS_PARAM_<NAME>. type is string, int, float or bool. Triggered runs use the defaults, so with any trigger every parameter needs a default."
  type = list(object({
    name    = string
    type    = string
    default = optional(string, "")
  }))
  default = []

  validation {
    condition     = alltrue([for p in var.parameters : can(regex("^[a-z_][a-z0-9_]{0,62}$", p.name))])
    error_message = "Every parameter name must be 1-63 lowercase letters, digits and '_', starting with a letter or '_' (e.g. \"learning_rate\")."
  }

  validation {
    condition     = length(distinct([for p in var.parameters : p.name])) == length(var.parameters)
    error_message = "Parameter names must be unique; rename or remove the duplicates."
  }

  validation {
    condition     = alltrue([for p in var.parameters : contains(["string", "int", "float", "bool"], p.type)])
    error_message = "Every parameter type must be string, int, float or bool."
  }

  validation {
    condition     = (var.schedule == null && length(var.on_new_data) == 0 && length(var.on_alarm) == 0) || alltrue([for p in var.parameters : p.default != ""])
    error_message = "Triggered runs (schedule, on_new_data, on_alarm) use the parameters' defaults, so every parameter needs a non-empty default; give one or remove the triggers."
  }
}

variable "steps" {
  description = "Steps of the pipeline, a DAG through depends_on. Each runs either command (program and arguments) or image. Steps that write model.json to $MLOPS_OUTPUT_DIR register a new model version per successful run."
  type = list(object({
    name            = string
    command         = optional(list(string), [])
    image           = optional(string, "")
    env             = optional(map(string), {})
    inputs          = optional(list(string), [])
    outputs         = optional(list(string), [])
    depends_on      = optional(list(string), [])
    retries         = optional(number, 0)
    timeout_seconds = optional(number, 3600)
  }))

  validation {
    condition     = length(var.steps) >= 1 && length(var.steps) <= 100
    error_message = "steps must hold 1 to 100 steps."
  }

  validation {
    condition     = alltrue([for s in var.steps : can(regex("^[a-z][a-z0-9_-]{0,62}$", s.name))])
    error_message = "Every step name must be 1-63 lowercase letters, digits, '_' and '-', starting with a letter (e.g. \"train\")."
  }

  validation {
    condition     = length(distinct([for s in var.steps : s.name])) == length(var.steps)
    error_message = "Step names must be unique in a pipeline; rename the duplicates (and the depends_on entries that mean them)."
  }

  validation {
    condition     = alltrue(flatten([for s in var.steps : [for d in s.depends_on : contains([for o in var.steps : o.name], d) && d != s.name]]))
    error_message = "Every depends_on entry must name another step of the pipeline (not the step itself); fix the name or remove the entry."
  }

  validation {
    condition     = alltrue([for s in var.steps : (length(s.command) > 0) != (s.image != "")])
    error_message = "Every step needs exactly one of command (e.g. [\"python\", \"train.py\"]) and image."
  }

  validation {
    condition     = alltrue([for s in var.steps : s.retries >= 0 && s.retries <= 10 && floor(s.retries) == s.retries])
    error_message = "Every step's retries must be a whole number from 0 to 10."
  }

  validation {
    condition     = alltrue([for s in var.steps : s.timeout_seconds >= 1 && s.timeout_seconds <= 604800 && floor(s.timeout_seconds) == s.timeout_seconds])
    error_message = "Every step's timeout_seconds must be a whole number from 1 to 604800 (one week)."
  }

  validation {
    condition     = alltrue(flatten([for s in var.steps : [for u in s.inputs : can(regex("^[a-z][a-z0-9+.-]*://[^\\s]+$", u))]]))
    error_message = "Every step input must be a URI of the form scheme://location, e.g. file:///data/train.csv; build local ones with provider::mlops::artifact_uri(abspath(\"...\"))."
  }
}

variable "schedule" {
  description = "Cron schedule in UTC (5 fields, e.g. \"0 3 * * *\" for 03:00 daily, or a descriptor such as \"@daily\"), or null for none."
  type        = string
  default     = null

  validation {
    condition     = var.schedule == null || trimspace(coalesce(var.schedule, " ")) != ""
    error_message = "schedule must not be empty; use null for no schedule, or a cron expression such as \"0 3 * * *\"."
  }

  validation {
    condition     = var.schedule == null || startswith(trimspace(coalesce(var.schedule, "@")), "@") || length(regexall("\\S+", coalesce(var.schedule, "@"))) == 5
    error_message = "schedule must be a 5-field cron expression in UTC (minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\") or a descriptor such as \"@daily\"."
  }
}

variable "on_new_data" {
  description = "Local files whose content is watched, as absolute file:// URIs: a change of a file's SHA-256 starts a run. Build them with provider::mlops::artifact_uri(abspath(\"...\"))."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.on_new_data : can(regex("^file:///[^?#]*$", u))])
    error_message = "Every on_new_data entry must be an absolute file:// URI with three slashes, e.g. \"file:///data/train.csv\"; turn a path into one with provider::mlops::artifact_uri(abspath(\"$${path.module}/data/train.csv\"))."
  }

  validation {
    condition     = length(distinct(var.on_new_data)) == length(var.on_new_data)
    error_message = "on_new_data lists a file more than once; list each file once."
  }

  validation {
    condition     = length(var.on_new_data) <= 32
    error_message = "on_new_data watches at most 32 files."
  }
}

variable "on_alarm" {
  description = "Names of alarms whose firing starts a run."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.on_alarm : can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", a))]) && length(distinct(var.on_alarm)) == length(var.on_alarm)
    error_message = "on_alarm must list distinct alarm names: 1-63 lowercase letters, digits and '-', starting with a letter."
  }
}

variable "champion_version" {
  description = "Name of the model version the \"<name>-champion\" alias points at, e.g. \"churn-train-3\". null (the default) creates no alias. Changing it moves the alias in place."
  type        = string
  default     = null

  validation {
    condition     = var.champion_version == null || can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.champion_version))
    error_message = "champion_version must name a model version (1-63 lowercase letters, digits and '-', e.g. \"churn-train-3\"), or be null for no champion alias."
  }
}

variable "force_destroy" {
  description = "Whether destroying the module deletes the model's versions and aliases too. Versions that pipeline runs register are in no Terraform state, so with false (the default) destroying a model that was trained fails and names them; set true for throwaway environments and tests. It takes effect only once applied."
  type        = bool
  default     = false
}
