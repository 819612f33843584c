# A churn model retrained nightly and whenever its data changes, in a
# development environment from the ml-environment module.
terraform {
  required_version = ">= 1.11"
  required_providers {
    mlops = {
      source = "mlops-as-code/mlops"
    }
  }
}

provider "mlops" {}

module "dev" {
  source = "../../../modules/ml-environment"

  name          = "dev"
  compute_pools = { cpu = { max_nodes = 4 } }
}

module "churn" {
  source = "../../../modules/continuous-training"

  environment  = module.dev.name
  compute_pool = "cpu"
  name         = "churn"
  description  = "Predicts which customers cancel in the next 30 days."
  task_type    = "classification"
  labels       = { team = "retention" }

  parameters = [
    { name = "learning_rate", type = "float", default = "0.01" },
  ]
  steps = [
    {
      name    = "prepare"
      command = ["sh", "-c", "cp \"$1\" \"$MLOPS_OUTPUT_DIR/train.csv\"", "prepare", "${abspath(path.module)}/data/churn.csv"]
      inputs  = [provider::mlops::artifact_uri(abspath("${path.module}/data/churn.csv"))]
      outputs = ["train.csv"]
    },
    {
      # The quickstart's least-squares fit of the second column on the
      # first: a linear probability model of churn on months_inactive,
      # which the built-in mlops-linear runtime can serve. Any command
      # that writes model.json (and metrics.json) to $MLOPS_OUTPUT_DIR
      # would do.
      name       = "train"
      command    = ["sh", "${abspath(path.module)}/../../quickstart/train/train.sh"]
      depends_on = ["prepare"]
      outputs    = ["model.json", "metrics.json", "baseline.json"]
      retries    = 1
    },
  ]

  schedule    = "0 3 * * *"
  on_new_data = [provider::mlops::artifact_uri(abspath("${path.module}/data/churn.csv"))]

  # Set once a run registered a version worth serving, e.g. "churn-train-3";
  # changing it later promotes another version.
  champion_version = null

  # Development only: lets `terraform destroy` delete the versions runs registered.
  force_destroy = true

  depends_on = [module.dev]
}

output "pipeline" {
  value = module.churn.pipeline_name
}

output "triggers" {
  value = module.churn.triggers
}
