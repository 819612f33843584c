# Version 7 of the churn model, registered from a training run. The
# control plane reads the local artifact and refuses the registration if
# its SHA-256 differs from artifact_sha256.
resource "mlops_model_version" "churn_7" {
  environment  = "dev"
  model        = "churn"
  name         = "churn-7"
  description  = "Retrained on June data with tenure features."
  artifact_uri = "file:///var/lib/mlops/models/churn/7/model.json"
  # The artifact's hex SHA-256, e.g. filesha256("/var/lib/mlops/models/churn/7/model.json")
  # where the file is on the machine that runs Terraform.
  artifact_sha256 = "9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab"
  framework       = "mlops-linear"

  inputs = [
    { name = "tenure_months", value_type = "int64" },
    { name = "monthly_spend", value_type = "float64" },
  ]
  outputs = [
    { name = "churn_probability", value_type = "float64" },
  ]

  # Decimal strings, so no precision is lost.
  metrics = {
    auc = "0.912"
    f1  = "0.804"
  }

  lineage = {
    pipeline_run   = "churn-train-20240701"
    dataset_uri    = "file:///var/lib/mlops/data/churn/2024-06.parquet"
    dataset_sha256 = "3b7f5c1e9d2a4f6b8c0e1d3a5b7c9e1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2d"
    code_ref       = "git@example.com:ml/churn.git@9f1c2e7"
    parameters = {
      learning_rate = "0.05"
      epochs        = "20"
    }
  }

  # Only description and approval change in place. Every decision is
  # recorded in approval_history under the caller's authenticated identity.
  # Leave approval out when people approve through the CLI or the API:
  # Terraform then leaves the decision alone and shows it without a diff.
  approval = {
    status = "approved"
    reason = "AUC 0.912 beats the champion's 0.897 on the July holdout."
  }

  # Lets one apply move an alias to a newer version and remove this one:
  # Terraform then moves the alias first.
  lifecycle {
    create_before_destroy = true
  }
}
