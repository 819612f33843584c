# An environment is imported by its name.
terraform import mlops_environment.dev dev
