# ==== Pub/Sub ==================================================================================
# Every topic the code publishes to or listens on, keyed by the Settings field that holds its
# id (tests/infra compares these keys with Settings and with the code's publish calls).
locals {
  topics = {
    topic_session_finished   = var.topic_session_finished
    topic_analysis_requested = var.topic_analysis_requested
    topic_analysis_completed = var.topic_analysis_completed
    topic_dead_letter        = var.topic_dead_letter
  }
}

resource "google_pubsub_topic" "topics" {
  # checkov:skip=CKV_GCP_83:Messages carry ids only (session, uid), never learner content; Google-managed encryption at rest suffices and a customer key adds a KMS key ring per environment for nothing.
  for_each = local.topics
  name     = each.value
  labels   = local.labels
  # A day of messages kept on the topic: a subscription can seek back after an outage.
  message_retention_duration = "86400s"
  depends_on                 = [google_project_service.apis]
}

# Events that failed for good land on the dead-letter topic (shared/events.py forwards poison
# messages there); this subscription keeps them for a week so someone can read and replay them.
# The dead-letter alert (observability.tf) fires as soon as it holds a message.
resource "google_pubsub_subscription" "dead_letter" {
  name                       = "${var.topic_dead_letter}-inspect"
  topic                      = google_pubsub_topic.topics["topic_dead_letter"].id
  labels                     = local.labels
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  retain_acked_messages      = false
  expiration_policy {
    ttl = "" # never expires, even when nobody pulls for a month
  }
}

# The event functions' own subscriptions are created and owned by their Eventarc triggers
# (main.tf, retry on): Terraform cannot attach a dead-letter policy to them. Poison messages
# are dead-lettered by the code; messages that keep failing are caught by the "event delivery
# stuck" alert (the age of the oldest unacknowledged message on those subscriptions).
