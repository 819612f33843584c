terraform {
  required_version = ">= 1.11"
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}
