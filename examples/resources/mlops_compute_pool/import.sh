# A compute pool is imported by <environment>/<name>.
terraform import mlops_compute_pool.gpu dev/gpu-a100
