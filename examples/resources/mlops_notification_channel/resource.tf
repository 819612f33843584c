# The signing secret comes from an ephemeral variable (TF_VAR_oncall_signing_secret,
# or -var), so it is in neither the plan nor the state: signing_secret_wo is
# write-only. Bump signing_secret_wo_version whenever the secret changes;
# Terraform sends the secret on create and when the version changes.
variable "oncall_signing_secret" {
  type        = string
  description = "Secret the on-call webhook verifies X-Mlops-Signature with (16-512 bytes)."
  sensitive   = true
  ephemeral   = true
}

resource "mlops_notification_channel" "oncall" {
  environment = "prod"
  name        = "oncall"
  description = "on-call webhook"
  url         = "https://hooks.example.com/mlops/prod"

  signing_secret_wo         = var.oncall_signing_secret
  signing_secret_wo_version = 1
}
