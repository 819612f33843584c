# Read the newest run of a batch inference job, e.g. to check last night's
# scores before a report uses them.
data "mlops_batch_inference_run" "latest" {
  environment = "dev"
  job         = "nightly-scores"
  latest      = true
}

# Or read one run by name (<job>-<number>).
data "mlops_batch_inference_run" "third" {
  environment = "dev"
  name        = "nightly-scores-3"
}

output "latest_scores_ok" {
  value = data.mlops_batch_inference_run.latest.phase == "succeeded"
}

output "latest_predictions" {
  value = [for f in data.mlops_batch_inference_run.latest.files : f.output]
}

output "latest_failed_rows" {
  value = data.mlops_batch_inference_run.latest.rows_failed
}
