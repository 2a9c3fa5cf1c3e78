# terraform apply -var-file=envs/dev.tfvars -var=project_id=<your dev project>
environment = "dev"
region      = "europe-west1"
log_level   = "DEBUG"

http_function_defaults = {
  memory          = "512Mi"
  cpu             = "1"
  timeout_seconds = 60
  concurrency     = 8
  min_instances   = 0 # cold starts are fine in dev; nothing runs (or costs) while idle
  max_instances   = 5
}

event_function_settings = {
  memory          = "2Gi"
  cpu             = "1"
  timeout_seconds = 540
  max_instances   = 3
}

cors_extra_origins        = ["http://localhost:5000"]
alert_turn_latency_p95_ms = 10000
