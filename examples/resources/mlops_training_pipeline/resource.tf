# Retrain the churn classifier nightly and whenever the training data
# changes. Each successful run whose output directory holds model.json
# registers a new version of the model "churn". Editing steps, parameters,
# triggers or the compute pool changes the pipeline in place: runs under way
# keep the generation they started with. Changing the model replaces it.
resource "mlops_training_pipeline" "churn" {
  environment  = "dev"
  name         = "churn-train"
  description  = "Nightly retraining of the churn classifier."
  compute_pool = "cpu"
  model        = "churn"

  # Steps read parameters as MLOPS_PARAM_<NAME>. Triggered runs use the
  # defaults, so every parameter of a triggered pipeline needs one.
  parameters = [
    { name = "learning_rate", type = "float", default = "0.05" },
    { name = "epochs", type = "int", default = "20" },
  ]

  steps = [
    {
      name    = "prepare"
      command = ["python", "prepare.py"]
      inputs  = ["file:///var/lib/mlops/data/churn.csv"]
      outputs = ["features.parquet"]
    },
    {
      name            = "train"
      command         = ["python", "train.py", "--out", "model.json"]
      depends_on      = ["prepare"]
      outputs         = ["model.json"]
      retries         = 1
      timeout_seconds = 7200
      env = {
        OMP_NUM_THREADS = "4"
      }
    },
    {
      name       = "evaluate"
      command    = ["python", "evaluate.py"]
      depends_on = ["train"]
    },
  ]

  triggers = {
    schedule    = "0 3 * * *" # 03:00 UTC daily
    on_new_data = ["file:///var/lib/mlops/data/churn.csv"]
  }
}
