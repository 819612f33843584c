# Read an environment that another configuration manages, e.g. to see how
# much of its GPU budget is left before adding a pool.
data "mlops_environment" "dev" {
  name = "dev"
}

output "dev_gpus_left" {
  value = data.mlops_environment.dev.policy.max_gpus == null ? null : data.mlops_environment.dev.policy.max_gpus - data.mlops_environment.dev.gpus_allocated
}
