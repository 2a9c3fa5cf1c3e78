# terraform apply -var-file=envs/prod.tfvars -var=project_id=<your prod project>
environment = "prod"
region      = "europe-west1"
log_level   = "INFO"

http_function_defaults = {
  memory          = "512Mi"
  cpu             = "1"
  timeout_seconds = 60
  concurrency     = 8
  min_instances   = 0
  max_instances   = 50
}

# The turn and session paths are the ones learners wait on: keep an instance warm.
http_function_overrides = {
  turns    = { memory = "1Gi", timeout_seconds = 120, concurrency = 4, min_instances = 1, max_instances = 100 }
  sessions = { min_instances = 1 }
}

event_function_settings = {
  memory          = "2Gi"
  cpu             = "2"
  timeout_seconds = 540
  max_instances   = 20
}

alert_email               = "" # set the on-call address before the first apply
alert_error_rate          = 0.02
alert_turn_latency_p95_ms = 6000
