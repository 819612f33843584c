# A training pipeline is imported by <environment>/<name>.
terraform import mlops_training_pipeline.churn dev/churn-train
