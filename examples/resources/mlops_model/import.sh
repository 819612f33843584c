# A model is imported by <environment>/<name>.
terraform import mlops_model.churn dev/churn
