# Point the provider at mlopsd. Every setting can instead come from the
# environment (MLOPS_ENDPOINT, MLOPS_TOKEN, ...), so the same configuration
# serves every workspace.
provider "mlops" {
  endpoint = "http://127.0.0.1:8080"
}
