# Read a compute pool's live status. The mlops_compute_pool resource records
# phase and current_nodes only as of its last apply; this data source reads
# them fresh on every plan.
data "mlops_compute_pool" "gpu" {
  environment = "dev"
  name        = "gpu-a100"
}

output "gpu_nodes_up" {
  value = "${data.mlops_compute_pool.gpu.current_nodes} of ${data.mlops_compute_pool.gpu.max_nodes} nodes (${data.mlops_compute_pool.gpu.phase})"
}
