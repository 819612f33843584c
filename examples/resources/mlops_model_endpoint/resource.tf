# An online endpoint for the price model: 90% of requests go to the
# champion, 10% to the challenger, and a shadow copy of every request goes
# to a candidate whose answers are discarded. Changing a variant's
# model_version rolls it out as a canary (25%, then 100%, baking 5 minutes at
# each step); if the new version's replicas fail to start or fail their
# checks, the rollout rolls back and the apply fails, naming the version that
# still serves.
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
    },
    {
      name            = "challenger"
      model_version   = "price-8"
      compute_pool    = "cpu"
      autoscaling     = { min_replicas = 1, max_replicas = 4, target_rps = 50 }
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

  rollout = {
    strategy          = "canary"
    step_percent      = 25
    bake_time_seconds = 300
  }

  timeouts = {
    update = "30m"
  }
}
