# A feature store is imported by <environment>/<name>.
terraform import mlops_feature_store.main dev/main
