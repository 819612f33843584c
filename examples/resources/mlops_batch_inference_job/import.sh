# A batch inference job is imported by <environment>/<name>.
terraform import mlops_batch_inference_job.nightly dev/nightly-scores
