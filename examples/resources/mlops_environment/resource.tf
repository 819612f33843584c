# A development environment: any accelerator from the list, at most 8 GPUs
# across all of its compute pools.
resource "mlops_environment" "dev" {
  name        = "dev"
  description = "Development: small GPU budget, any change allowed."
  labels = {
    team = "ml-platform"
  }
  policy = {
    max_gpus                  = 8
    allowed_accelerator_types = ["nvidia-t4", "nvidia-a100"]
  }
}
