# Test fixture: the environment and the compute pool the module's tests
# train in, and the URI of a data file for on_new_data.
terraform {
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}

resource "mlops_environment" "test" {
  name        = "ct-test"
  description = "continuous-training module tests"
}

resource "mlops_compute_pool" "cpu" {
  environment = mlops_environment.test.name
  name        = "cpu"
  max_nodes   = 2
}

output "environment" {
  value = mlops_environment.test.name
}

output "compute_pool" {
  value = mlops_compute_pool.cpu.name
}

output "data_uri" {
  value = provider::mlops::artifact_uri(abspath("${path.module}/train.csv"))
}
