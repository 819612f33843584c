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

variable "require_approved_models" {
  description = "Whether model endpoints in the environment may serve only approved model versions (policy.require_approved_models); true for production."
  type        = bool
  default     = false
}

variable "notification_channel" {
  description = "A webhook notification channel for the environment's alarms, or null for none: name (\"oncall\"), description, url (http:// or https://, without credentials) and signing_secret_wo_version, which goes with notification_signing_secret (bump it to send a rotated secret)."
  type = object({
    name                      = optional(string, "oncall")
    description               = optional(string, "")
    url                       = string
    signing_secret_wo_version = optional(number)
  })
  default = null

  validation {
    condition     = var.notification_channel == null || can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", try(var.notification_channel.name, "")))
    error_message = "notification_channel.name must be 1-63 lowercase letters, digits and '-', starting with a letter (e.g. \"oncall\")."
  }

  validation {
    condition     = var.notification_channel == null || can(regex("^https?://[^/@#\\s]+(/[^#\\s]*)?$", try(var.notification_channel.url, "")))
    error_message = "notification_channel.url must be an absolute http:// or https:// URL without user:password@ or #fragment, e.g. \"https://hooks.example.com/mlops\"; sign deliveries with notification_signing_secret instead of credentials in the URL."
  }

  validation {
    condition     = try(var.notification_channel.signing_secret_wo_version, null) == null || try(var.notification_channel.signing_secret_wo_version >= 1 && floor(var.notification_channel.signing_secret_wo_version) == var.notification_channel.signing_secret_wo_version, false)
    error_message = "notification_channel.signing_secret_wo_version must be a whole number >= 1; bump it whenever notification_signing_secret changes."
  }
}

variable "notification_signing_secret" {
  description = "Secret, 16-512 bytes, the notification channel signs every delivery with (X-Mlops-Signature); set it with TF_VAR_notification_signing_secret or from an ephemeral resource. Ephemeral: it is in neither the plan nor the state. Needs notification_channel.signing_secret_wo_version; null signs nothing."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = var.notification_signing_secret == null || (length(coalesce(var.notification_signing_secret, "x")) >= 16 && length(coalesce(var.notification_signing_secret, "x")) <= 512)
    error_message = "notification_signing_secret must be 16-512 bytes, e.g. 32 random bytes hex-encoded (openssl rand -hex 32)."
  }

  validation {
    condition     = (var.notification_signing_secret == null) == (try(var.notification_channel.signing_secret_wo_version, null) == null)
    error_message = "notification_signing_secret and notification_channel.signing_secret_wo_version go together: set both to sign deliveries (the version tells Terraform when to send the secret), or neither."
  }
}
