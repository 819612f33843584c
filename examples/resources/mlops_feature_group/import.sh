# A feature group is imported by <environment>/<name>.
terraform import mlops_feature_group.customer dev/customer-activity
