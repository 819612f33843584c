# Score every CSV file that lands in /var/lib/mlops/incoming with the
# model version that alias "champion" of model "churn" points at when each
# run starts, nightly and whenever new files arrive. Run R writes
# /var/lib/mlops/predictions/R/ with one predictions file per input file
# (the input's columns plus "prediction") and summary.json. Every attribute
# but environment and name changes in place.
resource "mlops_batch_inference_job" "nightly" {
  environment  = "dev"
  name         = "nightly-scores"
  description  = "Churn scores of the day's new accounts."
  compute_pool = "cpu"

  # Either a fixed model version ...
  # model_version = "churn-train-7"
  # ... or a model and alias, resolved when each run starts.
  model = "churn"
  alias = "champion"

  # A folder: its .csv/.jsonl files are scored in name order. Producers
  # write files under a hidden name (.part-...) and rename them into place.
  input_uri       = "file:///var/lib/mlops/incoming"
  input_format    = "csv"
  feature_columns = ["tenure_months", "monthly_spend"]
  output_uri      = "file:///var/lib/mlops/predictions"

  # Up to 1% of the rows may fail to score (they are listed, with row
  # numbers, in summary.json); more fails the run.
  max_failed_rows_percent = 1
  timeout_seconds         = 1800

  triggers = {
    schedule    = "30 2 * * *" # 02:30 UTC daily
    on_new_data = true
  }
}
