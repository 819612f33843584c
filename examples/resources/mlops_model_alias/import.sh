# A model alias is imported by <environment>/<name>.
terraform import mlops_model_alias.churn_champion dev/churn-champion
