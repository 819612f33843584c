# A model endpoint is imported by <environment>/<name>.
terraform import mlops_model_endpoint.price prod/price
