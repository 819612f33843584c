# Watch a CSV next to this configuration: artifact_uri turns the absolute
# path into the file:// URI the pipeline expects, and fails at plan time
# with the fix if the path is relative.
resource "mlops_training_pipeline" "churn" {
  environment  = "dev"
  name         = "churn-train"
  compute_pool = "cpu"
  model        = "churn"

  steps = [
    {
      name    = "train"
      command = ["python", "${abspath(path.module)}/train.py"]
      inputs  = [provider::mlops::artifact_uri(abspath("${path.module}/data/churn.csv"))]
      outputs = ["model.json"]
    },
  ]

  triggers = {
    on_new_data = [provider::mlops::artifact_uri(abspath("${path.module}/data/churn.csv"))]
  }
}

# Paths are cleaned and percent-encoded:
# provider::mlops::artifact_uri("/data/raw/../my data.csv") == "file:///data/my%20data.csv"
output "model_artifact" {
  value = provider::mlops::artifact_uri("/var/lib/mlops/models/churn/3/model.json")
}
