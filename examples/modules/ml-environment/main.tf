# A development environment from the ml-environment module.
terraform {
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}

provider "mlops" {}

module "dev" {
  source = "../../../modules/ml-environment"

  name                      = "dev"
  description               = "Development: small GPU budget."
  labels                    = { team = "ml-platform" }
  max_gpus                  = 8
  allowed_accelerator_types = ["nvidia-t4"]
  compute_pools = {
    gpu = { accelerator_type = "nvidia-t4", accelerator_count = 1, min_nodes = 1, max_nodes = 4, spot = true }
    cpu = { max_nodes = 10 }
  }
  feature_store = { name = "main", offline_store_uri = "file:///var/lib/mlops/features" }
}

output "environment" {
  value = module.dev.name
}

output "gpu_budget" {
  value = module.dev.gpu_budget
}
