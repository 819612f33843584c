variable "name" {
  description = "Name of the environment, e.g. dev, staging or prod: 1-63 lowercase letters, digits and '-', starting with a letter."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be 1-63 lowercase letters, digits and '-', start with a letter and not end with '-' (e.g. \"dev\")."
  }
}

variable "description" {
  description = "Free text for people."
  type        = string
  default     = ""
}

variable "labels" {
  description = "Labels put on the environment and every object the module creates."
  type        = map(string)
  default     = {}
}

variable "max_gpus" {
  description = "Most GPUs the environment's pools may hold in total (max_nodes × accelerator_count summed over pools). null means no cap."
  type        = number
  default     = null

  validation {
    condition     = var.max_gpus == null || (coalesce(var.max_gpus, 0) >= 0 && floor(coalesce(var.max_gpus, 0)) == coalesce(var.max_gpus, 0))
    error_message = "max_gpus must be a whole number >= 0, or null for no cap."
  }
}

variable "allowed_accelerator_types" {
  description = "Accelerator types pools may use, e.g. [\"nvidia-t4\"]. Empty allows any."
  type        = set(string)
  default     = []
}

variable "compute_pools" {
  description = "Compute pools by name. accelerator_type defaults to \"none\" (CPU only)."
  type = map(object({
    accelerator_type        = optional(string, "none")
    accelerator_count       = optional(number, 0)
    cpu_per_node            = optional(number, 4)
    memory_gib_per_node     = optional(number, 16)
    min_nodes               = optional(number, 0)
    max_nodes               = number
    spot                    = optional(bool, false)
    idle_scale_down_minutes = optional(number, 0)
  }))
  default = {}

  validation {
    condition     = alltrue([for n, p in var.compute_pools : p.min_nodes <= p.max_nodes])
    error_message = "Every compute pool needs min_nodes <= max_nodes; lower min_nodes or raise max_nodes."
  }

  validation {
    condition     = alltrue([for n, p in var.compute_pools : (p.accelerator_type == "none") == (p.accelerator_count == 0)])
    error_message = "A compute pool with accelerator_type \"none\" must have accelerator_count 0, and any other accelerator_type needs accelerator_count >= 1."
  }

  validation {
    condition     = length(var.allowed_accelerator_types) == 0 || alltrue([for n, p in var.compute_pools : p.accelerator_type == "none" || contains(var.allowed_accelerator_types, p.accelerator_type)])
    error_message = "Every compute pool's accelerator_type must be in allowed_accelerator_types (or \"none\")."
  }

  validation {
    condition     = var.max_gpus == null || sum(concat([0], [for n, p in var.compute_pools : p.max_nodes * p.accelerator_count])) <= coalesce(var.max_gpus, 0)
    error_message = "The compute pools ask for more GPUs (max_nodes × accelerator_count summed) than max_gpus allows; shrink the pools or raise max_gpus."
  }
}

variable "feature_store" {
  description = "A feature store to create in the environment, or null for none."
  type = object({
    name              = optional(string, "main")
    description       = optional(string, "")
    offline_store_uri = optional(string, "")
    online_store      = optional(string, "embedded")
  })
  default = null
}
