# A GPU pool of one to four A100 nodes with two GPUs each. It counts
# max_nodes × accelerator_count = 8 GPUs against the environment's max_gpus.
resource "mlops_compute_pool" "gpu" {
  environment         = "dev"
  name                = "gpu-a100"
  accelerator_type    = "nvidia-a100"
  accelerator_count   = 2
  cpu_per_node        = 16
  memory_gib_per_node = 128
  min_nodes           = 1
  max_nodes           = 4

  # Nodes added for workloads are released after half an hour idle.
  idle_scale_down_minutes = 30

  timeouts = {
    create = "30m"
  }
}

# A CPU-only pool: accelerator_type defaults to "none".
resource "mlops_compute_pool" "cpu" {
  environment = "dev"
  name        = "cpu"
  min_nodes   = 2
  max_nodes   = 10
}
