# A role binding is imported by <environment>/<name>.
terraform import mlops_role_binding.ci_dev dev/ci-invoker
