# Runs against a real mlopsd with the locally built provider; the Go test
# modules/modules_test.go sets MLOPS_ENDPOINT and the CLI configuration.

# The environment and the compute pool come from a fixture module. Its
# names are fixed, so the plan-only runs below can use them too.
run "setup" {
  module {
    source = "./tests/setup"
  }
}

variables {
  environment   = "ct-test"
  compute_pool  = "cpu"
  name          = "churn"
  task_type     = "classification"
  description   = "terraform test"
  labels        = { team = "ml-platform" }
  force_destroy = true
  parameters = [
    { name = "min_rows", type = "int", default = "2" },
  ]
  steps = [
    { name = "check", command = ["sh", "-c", "echo ok"] },
    { name = "train", command = ["sh", "-c", "echo ok"], depends_on = ["check"], retries = 1, timeout_seconds = 60 },
  ]
  schedule = "0 3 * * *"
}

run "creates_model_and_pipeline" {
  variables {
    on_new_data = [run.setup.data_uri]
  }
  assert {
    condition     = output.model_name == "churn" && mlops_model.this.force_destroy
    error_message = "model was not created with force_destroy"
  }
  assert {
    condition     = output.pipeline_name == "churn-train" && output.pipeline_id == "ct-test/churn-train" && output.pipeline_uid != ""
    error_message = "pipeline name, id or uid is wrong"
  }
  assert {
    condition     = output.triggers.schedule == "0 3 * * *" && output.triggers.on_new_data == tolist([run.setup.data_uri]) && length(output.triggers.on_alarm) == 0
    error_message = "pipeline triggers are wrong"
  }
  assert {
    condition     = startswith(run.setup.data_uri, "file:///") && endswith(run.setup.data_uri, "/setup/train.csv")
    error_message = "artifact_uri did not build an absolute file:// URI"
  }
  assert {
    condition     = mlops_training_pipeline.this.steps[1].depends_on == tolist(["check"]) && mlops_training_pipeline.this.steps[0].depends_on == null
    error_message = "steps were not passed through"
  }
  assert {
    condition     = output.champion_alias == null
    error_message = "no champion alias was asked for"
  }
}

run "drops_triggers_in_place" {
  variables {
    schedule   = null
    parameters = [{ name = "min_rows", type = "int" }]
  }
  assert {
    condition     = output.triggers.schedule == "" && length(output.triggers.on_new_data) == 0
    error_message = "triggers were not removed"
  }
  assert {
    condition     = output.pipeline_uid == run.creates_model_and_pipeline.pipeline_uid
    error_message = "removing triggers replaced the pipeline instead of updating it"
  }
}

run "plans_champion_alias" {
  command = plan
  variables {
    champion_version = "churn-train-1"
  }
  assert {
    condition     = mlops_model_alias.champion[0].name == "churn-champion" && mlops_model_alias.champion[0].version == "churn-train-1"
    error_message = "champion alias is not planned as churn-champion -> churn-train-1"
  }
}

run "rejects_duplicate_step_names" {
  command = plan
  variables {
    steps = [
      { name = "train", command = ["sh", "-c", "echo ok"] },
      { name = "train", command = ["sh", "-c", "echo again"] },
    ]
  }
  expect_failures = [var.steps]
}

run "rejects_unknown_depends_on" {
  command = plan
  variables {
    steps = [{ name = "train", command = ["sh", "-c", "echo ok"], depends_on = ["prepare"] }]
  }
  expect_failures = [var.steps]
}

run "rejects_step_without_command_or_image" {
  command = plan
  variables {
    steps = [{ name = "train" }]
  }
  expect_failures = [var.steps]
}

run "rejects_empty_schedule" {
  command = plan
  variables {
    schedule = " "
  }
  expect_failures = [var.schedule]
}

run "rejects_bad_cron" {
  command = plan
  variables {
    schedule = "0 3 * *"
  }
  expect_failures = [var.schedule]
}

run "rejects_relative_on_new_data" {
  command = plan
  variables {
    on_new_data = ["file://data/train.csv"]
  }
  expect_failures = [var.on_new_data]
}

run "rejects_trigger_with_parameter_without_default" {
  command = plan
  variables {
    parameters = [{ name = "min_rows", type = "int" }]
  }
  expect_failures = [var.parameters]
}

run "rejects_bad_task_type" {
  command = plan
  variables {
    task_type = "clustering"
  }
  expect_failures = [var.task_type]
}

run "rejects_empty_champion_version" {
  command = plan
  variables {
    champion_version = ""
  }
  expect_failures = [var.champion_version]
}

run "rejects_bad_pipeline_name" {
  command = plan
  variables {
    pipeline_name = ""
  }
  expect_failures = [var.pipeline_name]
}
