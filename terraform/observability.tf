# ==== Log-based metrics and alerts =============================================================
# Every metric reads fields of one structured log line the code writes (shared/logging.py:
# jsonPayload.<field>; labels.<function|request_id|session_id|uid>). tests/infra captures
# those lines from the real code and checks each field used here exists in them.

locals {
  function_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=starts_with(\"${var.name_prefix}-\")"

  # The stages of shared/sessions/timings.py, each logged in turn_recorded.milliseconds.
  turn_stages = ["store", "decode", "stt", "policy", "llm", "tts", "firestore"]

  counter_metrics = {
    # Every HTTP request, one request_served line each: the denominator of the error rate.
    request_count = {
      description = "HTTP requests served, by function, route and status."
      filter      = "jsonPayload.message=\"request_served\""
      labels = {
        function = "EXTRACT(labels.function)"
        route    = "EXTRACT(jsonPayload.route)"
        status   = "EXTRACT(jsonPayload.status)"
      }
    }
    # Errors by their stable code (shared/errors.py), 4xx and 5xx.
    request_errors = {
      description = "HTTP requests answered with an error, by function and error code."
      filter      = "jsonPayload.message=\"request_served\" AND jsonPayload.status>=400"
      labels = {
        function   = "EXTRACT(labels.function)"
        error_code = "EXTRACT(jsonPayload.error_code)"
        status     = "EXTRACT(jsonPayload.status)"
      }
    }
  }

  distribution_metrics = {
    # A turn's whole server time, as the learner waits for it.
    turn_latency = {
      description = "Server time of POST /sessions/{id}/turns in milliseconds."
      filter      = "jsonPayload.message=\"request_served\" AND labels.function=\"turns\" AND jsonPayload.method=\"POST\" AND jsonPayload.route=\"/sessions/{session_id}/turns\""
      value       = "EXTRACT(jsonPayload.latency_ms)"
      unit        = "ms"
      labels      = { status = "EXTRACT(jsonPayload.status)" }
    }
    scoring_duration = {
      description = "Time to write a session's fast summary (phase 1) or deep analysis (phase 2), in milliseconds."
      filter      = "jsonPayload.message=(\"summary_written\" OR \"deep_analysis_written\")"
      value       = "EXTRACT(jsonPayload.duration_ms)"
      unit        = "ms"
      labels      = { phase = "EXTRACT(jsonPayload.phase)" }
    }
    seconds_transcribed = {
      description = "Seconds of audio sent to Speech-to-Text per request."
      filter      = "jsonPayload.message=\"speech_transcribed\""
      value       = "EXTRACT(jsonPayload.audio_seconds)"
      unit        = "s"
      labels      = { model = "EXTRACT(jsonPayload.model)" }
    }
    characters_synthesized = {
      description = "Characters of examiner text sent to Text-to-Speech per request."
      filter      = "jsonPayload.message=\"speech_synthesized\""
      value       = "EXTRACT(jsonPayload.characters)"
      unit        = "1"
      labels      = { voice = "EXTRACT(jsonPayload.voice)" }
    }
    language_model_input_tokens = {
      description = "Prompt tokens per Gemini call, by prompt template."
      filter      = "jsonPayload.message=\"language_model_generated\""
      value       = "EXTRACT(jsonPayload.input_tokens)"
      unit        = "1"
      labels      = { template_id = "EXTRACT(jsonPayload.template_id)", model = "EXTRACT(jsonPayload.model)" }
    }
    language_model_output_tokens = {
      description = "Output tokens per Gemini call, by prompt template."
      filter      = "jsonPayload.message=\"language_model_generated\""
      value       = "EXTRACT(jsonPayload.output_tokens)"
      unit        = "1"
      labels      = { template_id = "EXTRACT(jsonPayload.template_id)", model = "EXTRACT(jsonPayload.model)" }
    }
  }

  # One distribution per stage of a turn, from the one turn_recorded line per turn.
  turn_stage_metrics = {
    for stage in local.turn_stages : "turn_stage_${stage}" => {
      description = "Milliseconds a turn spent in its ${stage} stage."
      filter      = "jsonPayload.message=\"turn_recorded\" AND jsonPayload.milliseconds.${stage}:*"
      value       = "EXTRACT(jsonPayload.milliseconds.${stage})"
      unit        = "ms"
      labels      = {}
    }
  }
}

resource "google_logging_metric" "counter" {
  for_each    = local.counter_metrics
  name        = "speaking_coach/${each.key}"
  description = each.value.description
  filter      = "${local.function_filter} AND ${each.value.filter}"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }
  label_extractors = each.value.labels
  depends_on       = [google_project_service.apis]
}

resource "google_logging_metric" "distribution" {
  for_each        = merge(local.distribution_metrics, local.turn_stage_metrics)
  name            = "speaking_coach/${each.key}"
  description     = each.value.description
  filter          = "${local.function_filter} AND ${each.value.filter}"
  value_extractor = each.value.value

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = each.value.unit
    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }
  label_extractors = each.value.labels

  # 1, 1.5, 2.25 ... about 3.8e6: milliseconds to an hour, seconds, characters and tokens alike.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 38
      growth_factor      = 1.5
      scale              = 1
    }
  }
  depends_on = [google_project_service.apis]
}

# ---- Alerts (README "Runbook" says what each means and what to do) ---------------------------
resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "speaking-coach on-call (${var.environment})"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
  depends_on = [google_project_service.apis]
}

locals {
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]
}

resource "google_monitoring_alert_policy" "error_rate" {
  display_name          = "speaking-coach ${var.environment}: HTTP 5xx rate"
  combiner              = "OR"
  notification_channels = local.notification_channels
  conditions {
    display_name = "More than ${var.alert_error_rate * 100}% of requests answered 5xx over 5 minutes"
    condition_threshold {
      filter             = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.counter["request_count"].name}\" AND resource.type=\"cloud_run_revision\" AND metric.label.status=monitoring.regex.full_match(\"5[0-9][0-9]\")"
      denominator_filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.counter["request_count"].name}\" AND resource.type=\"cloud_run_revision\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_error_rate
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  documentation {
    content   = "HTTP functions answer 5xx. See README.md, Runbook: \"HTTP 5xx rate\"."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "dead_letter" {
  display_name          = "speaking-coach ${var.environment}: dead-letter topic not empty"
  combiner              = "OR"
  notification_channels = local.notification_channels
  conditions {
    display_name = "A message waits on ${google_pubsub_subscription.dead_letter.name}"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.dead_letter.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  documentation {
    content   = "An event failed for good. See README.md, Runbook: \"Dead-letter topic not empty\"."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "turn_latency" {
  display_name          = "speaking-coach ${var.environment}: p95 turn latency"
  combiner              = "OR"
  notification_channels = local.notification_channels
  conditions {
    display_name = "95% of turns take longer than ${var.alert_turn_latency_p95_ms} ms over 10 minutes"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.distribution["turn_latency"].name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_turn_latency_p95_ms
      duration        = "600s"
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_95"
      }
    }
  }
  documentation {
    content   = "Learners wait too long for the examiner. See README.md, Runbook: \"p95 turn latency\"."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "event_delivery_stuck" {
  display_name          = "speaking-coach ${var.environment}: scoring events stuck"
  combiner              = "OR"
  notification_channels = local.notification_channels
  conditions {
    display_name = "An event on an Eventarc subscription is unacknowledged for 30 minutes"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=starts_with(\"eventarc-\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 1800
      duration        = "300s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  documentation {
    content   = "Scoring keeps failing and being retried. See README.md, Runbook: \"Scoring events stuck\"."
    mime_type = "text/markdown"
  }
}
