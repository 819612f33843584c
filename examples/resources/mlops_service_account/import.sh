# A service account is imported by its name.
terraform import mlops_service_account.ci ci
