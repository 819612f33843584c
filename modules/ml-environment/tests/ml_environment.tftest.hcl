# Runs against a real mlopsd with the locally built provider; the Go test
# modules/modules_test.go sets MLOPS_ENDPOINT and the CLI configuration.

variables {
  name                      = "tftest"
  description               = "terraform test"
  labels                    = { team = "ml-platform" }
  max_gpus                  = 8
  allowed_accelerator_types = ["nvidia-t4"]
  compute_pools = {
    gpu = { accelerator_type = "nvidia-t4", accelerator_count = 2, min_nodes = 1, max_nodes = 4 }
    cpu = { max_nodes = 3 }
  }
  feature_store           = { name = "main", offline_store_uri = "file:///tmp/features" }
  require_approved_models = true
  # Nothing listens on the discard port; no alarm notifies in this test.
  notification_channel        = { url = "http://127.0.0.1:9/hook", signing_secret_wo_version = 1 }
  notification_signing_secret = "tftest-signing-secret-1"
}

run "creates_environment_pools_and_feature_store" {
  assert {
    condition     = output.name == "tftest" && output.uid != ""
    error_message = "environment was not created"
  }
  assert {
    condition     = output.compute_pools["gpu"].id == "tftest/gpu" && mlops_compute_pool.this["gpu"].phase == "ready"
    error_message = "gpu pool is not ready"
  }
  assert {
    condition     = output.gpu_budget.used == 8 && output.gpu_budget.cap == 8
    error_message = "gpu budget output is wrong"
  }
  assert {
    condition     = output.feature_store == "main"
    error_message = "feature store was not created"
  }
  assert {
    condition     = mlops_environment.this.policy.require_approved_models
    error_message = "require_approved_models was not put in the environment's policy"
  }
  assert {
    condition     = output.notification_channel == "oncall" && mlops_notification_channel.this[0].url == "http://127.0.0.1:9/hook"
    error_message = "notification channel oncall was not created"
  }
  assert {
    condition     = mlops_notification_channel.this[0].signing_secret_wo == null && mlops_notification_channel.this[0].signing_secret_wo_version == 1
    error_message = "the signing secret must be write-only (null in state) with version 1"
  }
}

run "rotates_the_signing_secret_in_place" {
  variables {
    notification_channel        = { url = "http://127.0.0.1:9/hook", signing_secret_wo_version = 2 }
    notification_signing_secret = "tftest-signing-secret-2"
  }
  assert {
    condition     = mlops_notification_channel.this[0].signing_secret_wo_version == 2 && mlops_notification_channel.this[0].uid == run.creates_environment_pools_and_feature_store.notification_channel_uid
    error_message = "bumping signing_secret_wo_version must update the channel in place"
  }
}

run "resizes_a_pool_in_place" {
  variables {
    compute_pools = {
      gpu = { accelerator_type = "nvidia-t4", accelerator_count = 2, min_nodes = 2, max_nodes = 4 }
      cpu = { max_nodes = 3 }
    }
  }
  assert {
    condition     = mlops_compute_pool.this["gpu"].min_nodes == 2 && mlops_compute_pool.this["gpu"].current_nodes == 2
    error_message = "gpu pool was not resized to 2 nodes"
  }
}

run "rejects_min_above_max" {
  command = plan
  variables {
    compute_pools = { bad = { min_nodes = 5, max_nodes = 2 } }
  }
  expect_failures = [var.compute_pools]
}

run "rejects_accelerator_outside_allow_list" {
  command = plan
  variables {
    compute_pools = { bad = { accelerator_type = "nvidia-h100", accelerator_count = 1, max_nodes = 1 } }
  }
  expect_failures = [var.compute_pools]
}

run "rejects_gpu_budget_overrun" {
  command = plan
  variables {
    compute_pools = { big = { accelerator_type = "nvidia-t4", accelerator_count = 4, max_nodes = 4 } }
  }
  expect_failures = [var.compute_pools]
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "Not_Valid"
  }
  expect_failures = [var.name]
}

run "allows_no_gpu_cap" {
  command = plan
  variables {
    max_gpus                  = null
    allowed_accelerator_types = []
  }
  assert {
    condition     = output.gpu_budget.cap == null && output.gpu_budget.used == 8
    error_message = "max_gpus = null must plan an environment without a GPU cap"
  }
}

run "rejects_secret_without_version" {
  command = plan
  variables {
    notification_channel = { url = "http://127.0.0.1:9/hook" }
  }
  expect_failures = [var.notification_signing_secret]
}

run "rejects_short_secret" {
  command = plan
  variables {
    notification_signing_secret = "short"
  }
  expect_failures = [var.notification_signing_secret]
}

run "rejects_credentials_in_webhook_url" {
  command = plan
  variables {
    notification_channel = { url = "https://user:pw@hooks.example.com/mlops", signing_secret_wo_version = 1 }
  }
  expect_failures = [var.notification_channel]
}

run "allows_no_notification_channel" {
  command = plan
  variables {
    notification_channel        = null
    notification_signing_secret = null
  }
  assert {
    condition     = output.notification_channel == null && length(mlops_notification_channel.this) == 0
    error_message = "notification_channel = null must plan no channel"
  }
}
