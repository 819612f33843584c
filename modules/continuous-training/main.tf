# Continuous training: a registered model, the pipeline that retrains it on
# a schedule and whenever its data changes, and optionally the
# "<name>-champion" alias that names the version serving production.

locals {
  pipeline_name = coalesce(var.pipeline_name, "${var.name}-train")
  labels        = length(var.labels) > 0 ? var.labels : null
}

resource "mlops_model" "this" {
  environment   = var.environment
  name          = var.name
  description   = var.description
  task_type     = var.task_type
  labels        = local.labels
  force_destroy = var.force_destroy
}

resource "mlops_training_pipeline" "this" {
  environment  = var.environment
  name         = local.pipeline_name
  description  = var.description
  labels       = local.labels
  compute_pool = var.compute_pool
  model        = mlops_model.this.name

  # The provider rejects empty lists (a list, when set, holds 1 or more
  # entries), so an empty variable becomes null.
  parameters = length(var.parameters) > 0 ? var.parameters : null

  steps = [
    for s in var.steps : {
      name            = s.name
      command         = length(s.command) > 0 ? s.command : null
      image           = s.image
      env             = length(s.env) > 0 ? s.env : null
      inputs          = length(s.inputs) > 0 ? s.inputs : null
      outputs         = length(s.outputs) > 0 ? s.outputs : null
      depends_on      = length(s.depends_on) > 0 ? s.depends_on : null
      retries         = s.retries
      timeout_seconds = s.timeout_seconds
    }
  ]

  triggers = {
    schedule    = var.schedule == null ? "" : var.schedule
    on_new_data = length(var.on_new_data) > 0 ? var.on_new_data : null
    on_alarm    = length(var.on_alarm) > 0 ? var.on_alarm : null
  }
}

# The champion alias is moved by changing champion_version: an in-place
# update whose every move the control plane keeps in the alias's history.
resource "mlops_model_alias" "champion" {
  count = var.champion_version == null ? 0 : 1

  environment = var.environment
  name        = "${mlops_model.this.name}-champion"
  model       = mlops_model.this.name
  version     = var.champion_version
}
