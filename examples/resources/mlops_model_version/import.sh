# A model version is imported by <environment>/<name>.
terraform import mlops_model_version.churn_7 dev/churn-7
