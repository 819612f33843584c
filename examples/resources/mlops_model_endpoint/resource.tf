# An online endpoint for the price model: 90% of requests go to the
# champion, 10% to the challenger (autoscaled on its load), and a shadow
# copy of every request goes to a candidate whose answers are discarded.
# Changing a variant's model_version rolls it out as a canary (25%, then
# 100%, baking 5 minutes at each step). Every new replica must first pass the
# smoke test. If the new version's replicas fail to start, fail their checks
# or the smoke test, or the price-errors-high alarm goes to ALARM during the
# rollout, the rollout rolls back and the apply fails, naming the cause and
# the version that still serves.
#
# Predict through the gateway (role invoker when mlopsd runs with -auth on):
#   curl -X POST $MLOPS_ENDPOINT/v1/environments/prod/model-endpoints/price/predict \
#     -H 'Content-Type: application/json' -d '{"inputs": [72.5]}'
#   {"variant":"champion","model_version":"price-7","prediction":231.4}
resource "mlops_model_endpoint" "price" {
  environment = "prod"
  name        = "price"

  variants = [
    {
      name            = "champion"
      model_version   = "price-7"
      compute_pool    = "cpu"
      replicas        = 2
      traffic_percent = 90
      # Each replica asks for half a core and 512 MiB; one replica must fit
      # on a node of the pool. Changing them rolls out like a new version.
      cpu_millicores = 500
      memory_mib     = 512
    },
    {
      name            = "challenger"
      model_version   = "price-8"
      compute_pool    = "cpu"
      autoscaling     = { min_replicas = 1, max_replicas = 4, target_rps = 50, scale_in_cooldown_seconds = 600 }
      traffic_percent = 10
    },
  ]

  shadow = {
    name          = "candidate"
    model_version = "price-9"
    compute_pool  = "cpu"
    replicas      = 1
  }

  request_log_sample_rate_percent = 5

  smoke_test = {
    request_body    = jsonencode({ inputs = [72.5] })
    expected_status = 200
    json_path       = "prediction"
  }

  rollout = {
    strategy          = "canary"
    step_percent      = 25
    bake_time_seconds = 300
    # Alarms in the same environment (mlops_alarm) that roll a rollout back;
    # create them before the first rollout.
    rollback_alarms = ["price-errors-high"]
  }

  timeouts = {
    update = "30m"
  }
}

# A model of another framework (here ONNX) served by your own program: mlopsd
# starts it once per replica with MLOPS_MODEL_URI, MLOPS_ARTIFACT_PATH and
# PORT set, plus MLOPS_CPU_MILLICORES and MLOPS_MEMORY_MIB for the requests
# (size its threads and caches from them); it answers GET /healthz and
# POST /predict on 127.0.0.1:$PORT.
resource "mlops_model_endpoint" "fraud" {
  environment = "prod"
  name        = "fraud"

  variants = [{
    name            = "primary"
    model_version   = "fraud-onnx-3"
    compute_pool    = "cpu"
    command         = ["/opt/models/onnx-serve", "--threads", "2"]
    replicas        = 2
    traffic_percent = 100
    cpu_millicores  = 2000
    memory_mib      = 2048
  }]

  smoke_test = {
    request_body               = jsonencode({ inputs = [120.5, 3, 0] })
    expected_response_contains = "prediction"
  }
}
