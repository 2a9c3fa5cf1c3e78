# speaking-coach on Google Cloud: APIs, the function source, every function of
# functions/catalog.py (one map, one for_each) and who may do what.
# tests/infra checks this file against the catalog, the Settings model and the code's topics.

locals {
  labels = {
    app = "speaking-coach"
    env = var.environment
  }

  # --- Every function of functions/catalog.py: same names, same entry points ---------------
  # kind "http": served under /api/... through Firebase Hosting's rewrites (firebase.json).
  # kind "event": a CloudEvent function on the topic named by the Settings field topic_setting.
  functions = {
    health          = { kind = "http", entry_point = "health", topic_setting = null }
    users           = { kind = "http", entry_point = "users", topic_setting = null }
    turns           = { kind = "http", entry_point = "turns", topic_setting = null }
    results         = { kind = "http", entry_point = "results", topic_setting = null }
    sessions        = { kind = "http", entry_point = "sessions", topic_setting = null }
    score_session   = { kind = "event", entry_point = "score_session", topic_setting = "topic_session_finished" }
    analyze_session = { kind = "event", entry_point = "analyze_session", topic_setting = "topic_analysis_requested" }
  }

  http_functions  = { for name, f in local.functions : name => f if f.kind == "http" }
  event_functions = { for name, f in local.functions : name => f if f.kind == "event" }

  # Memory, CPU, timeout, concurrency and instances per function, from the variables.
  runtime = merge(
    {
      for name, f in local.http_functions : name => merge(
        var.http_function_defaults,
        { for key, value in try(var.http_function_overrides[name], {}) : key => value if value != null },
      )
    },
    {
      for name, f in local.event_functions : name => {
        memory          = var.event_function_settings.memory
        cpu             = var.event_function_settings.cpu
        timeout_seconds = var.event_function_settings.timeout_seconds
        concurrency     = 1 # scoring is CPU-bound: one event per instance
        min_instances   = 0
        max_instances   = var.event_function_settings.max_instances
      }
    },
  )

  # The PWA calls the API on its own origin (Hosting rewrites); browsers still send Origin.
  allowed_origins = concat(
    ["https://${var.project_id}.web.app", "https://${var.project_id}.firebaseapp.com"],
    var.cors_extra_origins,
  )

  # What every function reads through shared/config.py Settings (upper-case field names).
  # tests/infra/test_terraform_settings.py fails when a field a deployed function needs is
  # missing here; fields with safe defaults (answer caps, timeouts...) are left to the code.
  function_env = {
    GOOGLE_CLOUD_PROJECT     = var.project_id
    REGION                   = var.region
    AUDIO_BUCKET             = google_storage_bucket.audio.name
    REPORTS_BUCKET           = google_storage_bucket.reports.name
    TOPIC_SESSION_FINISHED   = google_pubsub_topic.topics["topic_session_finished"].name
    TOPIC_ANALYSIS_REQUESTED = google_pubsub_topic.topics["topic_analysis_requested"].name
    TOPIC_ANALYSIS_COMPLETED = google_pubsub_topic.topics["topic_analysis_completed"].name
    TOPIC_DEAD_LETTER        = google_pubsub_topic.topics["topic_dead_letter"].name
    SPEECH_TO_TEXT_PROVIDER  = "google"
    TEXT_TO_SPEECH_PROVIDER  = "google"
    LANGUAGE_MODEL_PROVIDER  = "google"
    SPEECH_TO_TEXT_LOCATION  = var.speech_to_text_location
    LANGUAGE_MODEL_LOCATION  = var.language_model_location
    LANGUAGE_MODEL_NAME      = var.language_model_name
    AUDIO_RETENTION_DAYS     = tostring(var.audio_retention_days)
    CORS_ALLOWED_ORIGINS     = join(",", local.allowed_origins)
    LOG_LEVEL                = var.log_level
  }
}

# ==== APIs ===================================================================================
resource "google_project_service" "apis" {
  for_each = toset([
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "eventarc.googleapis.com",
    "firebase.googleapis.com",
    "firebasehosting.googleapis.com",
    "firebaserules.googleapis.com",
    "firebasestorage.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "identitytoolkit.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "serviceusage.googleapis.com",
    "speech.googleapis.com",
    "storage.googleapis.com",
    "texttospeech.googleapis.com",
  ])
  service = each.value
  # Turning an API off on destroy would break anything else living in the project.
  disable_on_destroy = false
}

# ==== Function source ==========================================================================
# tools/function_source.py zips the files listed in function_source.json byte for byte
# reproducibly (the same archive the deployability test installs) and names it by its sha256:
# a code change uploads a new object and redeploys every function; no change, no redeploy.
data "external" "function_source" {
  program     = ["python3", "-m", "tools.function_source", "--out", "terraform/.build", "--json"]
  working_dir = "${path.module}/.."
}

resource "google_storage_bucket_object" "function_source" {
  name   = "function-source-${data.external.function_source.result.sha256}.zip"
  bucket = google_storage_bucket.function_source.name
  source = "${path.module}/../${data.external.function_source.result.path}"
}

# ==== Service accounts =========================================================================
resource "google_service_account" "function" {
  for_each     = local.functions
  account_id   = substr("${var.name_prefix}-${replace(each.key, "_", "-")}", 0, 30)
  display_name = "speaking-coach function ${each.key}"
  depends_on   = [google_project_service.apis]
}

# Builds the functions' images from the source zip (instead of the default compute account).
resource "google_service_account" "build" {
  account_id   = "${var.name_prefix}-build"
  display_name = "speaking-coach function builds"
  depends_on   = [google_project_service.apis]
}

# Eventarc delivers Pub/Sub messages to the event functions as this account.
resource "google_service_account" "eventarc" {
  account_id   = "${var.name_prefix}-events"
  display_name = "speaking-coach Eventarc deliveries"
  depends_on   = [google_project_service.apis]
}

locals {
  # Project-wide roles per function. Each role says why; nothing broader than the work needs.
  project_roles = {
    health = [
      "roles/datastore.viewer", # /readyz reads one document to prove Firestore answers
    ]
    users = [
      "roles/datastore.user",     # profiles, preferences, teacher links, audit records
      "roles/firebaseauth.admin", # roles live in custom claims; erasing deletes the account
    ]
    sessions = [
      "roles/datastore.user",      # sessions, question memory
      "roles/firebaseauth.viewer", # revocation check of tokens on sensitive routes
    ]
    turns = [
      "roles/datastore.user",      # the turn and session transaction
      "roles/firebaseauth.viewer", # revocation check of tokens on sensitive routes
      "roles/speech.client",       # Speech-to-Text v2 recognize (no narrower role exists)
      "roles/aiplatform.user",     # Gemini on Vertex AI words follow-ups and rephrasings
    ]
    results = [
      "roles/datastore.viewer",    # results are read, never written, by this function
      "roles/firebaseauth.viewer", # revocation check of tokens on sensitive routes
    ]
    score_session = [
      "roles/datastore.user", # summary, status and processed-event markers
    ]
    analyze_session = [
      "roles/datastore.user",  # deep analysis, drills, status, processed-event markers
      "roles/aiplatform.user", # the Gemini judge of phase 2
    ]
  }

  # Bucket roles per function: bucket key (audio, reports) => roles.
  bucket_roles = {
    health          = { audio = ["roles/storage.objectViewer"] }                                         # /readyz lists one object
    users           = { audio = ["roles/storage.objectUser"], reports = ["roles/storage.objectUser"] }   # export signs links; erase deletes
    sessions        = { audio = ["roles/storage.objectUser"] }                                           # examiner voice cache, signed links
    turns           = { audio = ["roles/storage.objectUser"] }                                           # answers stored first; voice cache
    results         = { reports = ["roles/storage.objectViewer"] }                                       # signed links to PDF reports
    score_session   = { audio = ["roles/storage.objectViewer"] }                                         # reads answers for fluency/pronunciation
    analyze_session = { audio = ["roles/storage.objectViewer"], reports = ["roles/storage.objectUser"] } # reads answers; writes the PDF
  }

  # Topic roles per function: Settings topic field => roles.
  topic_roles = {
    health          = { topic_session_finished = ["roles/pubsub.viewer"] }    # /readyz looks the topic up
    sessions        = { topic_session_finished = ["roles/pubsub.publisher"] } # finish publishes session-finished
    turns           = { topic_session_finished = ["roles/pubsub.publisher"] } # the examiner's closing turn publishes it
    results         = {}
    users           = {}
    score_session   = { topic_analysis_requested = ["roles/pubsub.publisher"], topic_dead_letter = ["roles/pubsub.publisher"] } # phase 2 next; poison forwarded
    analyze_session = { topic_analysis_completed = ["roles/pubsub.publisher"], topic_dead_letter = ["roles/pubsub.publisher"] } # done; poison forwarded
  }

  # Functions that hand out V4 signed URLs sign them with IAM signBlob as themselves.
  signing_functions = toset(["users", "sessions", "turns", "results"])

  project_grants = merge([
    for name, roles in local.project_roles : { for role in roles : "${name} ${role}" => { function = name, role = role } }
  ]...)
  bucket_grants = merge([
    for name, buckets in local.bucket_roles : merge([
      for bucket, roles in buckets : { for role in roles : "${name} ${bucket} ${role}" => { function = name, bucket = bucket, role = role } }
    ]...)
  ]...)
  topic_grants = merge([
    for name, topics in local.topic_roles : merge([
      for topic, roles in topics : { for role in roles : "${name} ${topic} ${role}" => { function = name, topic = topic, role = role } }
    ]...)
  ]...)
  buckets = {
    audio   = google_storage_bucket.audio.name
    reports = google_storage_bucket.reports.name
  }
}

resource "google_project_iam_member" "function" {
  for_each = local.project_grants
  project  = var.project_id
  role     = each.value.role
  member   = google_service_account.function[each.value.function].member
}

resource "google_storage_bucket_iam_member" "function" {
  for_each = local.bucket_grants
  bucket   = local.buckets[each.value.bucket]
  role     = each.value.role
  member   = google_service_account.function[each.value.function].member
}

resource "google_pubsub_topic_iam_member" "function" {
  for_each = local.topic_grants
  topic    = google_pubsub_topic.topics[each.value.topic].id
  role     = each.value.role
  member   = google_service_account.function[each.value.function].member
}

# signBlob on itself only: a function can sign URLs as itself, never as another account.
resource "google_service_account_iam_member" "self_signing" {
  for_each           = local.signing_functions
  service_account_id = google_service_account.function[each.value].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_service_account.function[each.value].member
}

# Cloud Build runs the buildpacks as this account. Not roles/cloudbuild.builds.builder: that
# one may act as other service accounts. The source is read through a bucket grant (storage.tf).
resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/logging.logWriter",       # build logs
    "roles/artifactregistry.writer", # push the function's image to gcf-artifacts
  ])
  project = var.project_id
  role    = each.value
  member  = google_service_account.build.member
}

# Eventarc needs its account to be allowed to receive events in the project.
resource "google_project_iam_member" "eventarc_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.eventarc.member
}

# ==== Secrets ==================================================================================
# PRIVACY_PEPPER keys the hash that replaces an erased user's uid in the audit log and the
# invite codes made for an Idempotency-Key: generated once here, kept in Secret Manager, never
# rotated (a new pepper would make old pseudonyms unmatchable). Its value is in the Terraform
# state, which lives in a private bucket for that reason. Further secrets in var.secrets are
# created empty (add a version with `gcloud secrets versions add`) and reach every function as
# environment variables.
resource "random_password" "privacy_pepper" {
  length  = 64
  special = false
}

resource "google_secret_manager_secret" "privacy_pepper" {
  secret_id = "${var.name_prefix}-privacy-pepper"
  labels    = local.labels
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "privacy_pepper" {
  secret      = google_secret_manager_secret.privacy_pepper.id
  secret_data = random_password.privacy_pepper.result
}

resource "google_secret_manager_secret_iam_member" "privacy_pepper" {
  for_each  = local.functions
  secret_id = google_secret_manager_secret.privacy_pepper.id
  role      = "roles/secretmanager.secretAccessor" # read the pepper at start-up
  member    = google_service_account.function[each.key].member
}

resource "google_secret_manager_secret" "secret" {
  for_each  = var.secrets
  secret_id = each.value
  labels    = local.labels
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "function" {
  for_each = {
    for pair in setproduct(keys(var.secrets), keys(local.functions)) : "${pair[0]} ${pair[1]}" => {
      env = pair[0], function = pair[1]
    }
  }
  secret_id = google_secret_manager_secret.secret[each.value.env].id
  role      = "roles/secretmanager.secretAccessor" # read the secret's value at start-up
  member    = google_service_account.function[each.value.function].member
}

# ==== Functions ================================================================================
resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions
  name     = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  location = var.region
  labels   = local.labels

  build_config {
    runtime         = "python311"
    entry_point     = each.value.entry_point
    service_account = google_service_account.build.id
    # functions-framework loads main.py from functions/, beside shared/ (the whole repo's tree).
    environment_variables = {
      GOOGLE_FUNCTION_SOURCE = "functions/main.py"
    }
    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }
  }

  service_config {
    available_memory                 = local.runtime[each.key].memory
    available_cpu                    = local.runtime[each.key].cpu
    timeout_seconds                  = local.runtime[each.key].timeout_seconds
    max_instance_request_concurrency = local.runtime[each.key].concurrency
    min_instance_count               = local.runtime[each.key].min_instances
    max_instance_count               = local.runtime[each.key].max_instances
    service_account_email            = google_service_account.function[each.key].email
    # HTTP functions are called by browsers through Hosting; event functions only by Eventarc.
    ingress_settings               = each.value.kind == "http" ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    environment_variables          = local.function_env

    secret_environment_variables {
      key        = "PRIVACY_PEPPER"
      project_id = var.project_id
      secret     = google_secret_manager_secret.privacy_pepper.secret_id
      version    = google_secret_manager_secret_version.privacy_pepper.version
    }

    dynamic "secret_environment_variables" {
      for_each = var.secrets
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = google_secret_manager_secret.secret[secret_environment_variables.key].secret_id
        version    = "latest"
      }
    }
  }

  dynamic "event_trigger" {
    for_each = each.value.kind == "event" ? [each.value.topic_setting] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = google_pubsub_topic.topics[event_trigger.value].id
      retry_policy          = "RETRY_POLICY_RETRY" # transient failures are retried (the code raises)
      service_account_email = google_service_account.eventarc.email
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.build,
    google_project_iam_member.function,
    google_secret_manager_secret_iam_member.function,
    google_secret_manager_secret_iam_member.privacy_pepper,
  ]
}

# The HTTP functions authenticate every caller themselves (Firebase ID tokens; /healthz is
# open on purpose), so Cloud Run lets anyone reach them.
resource "google_cloud_run_v2_service_iam_member" "public" {
  for_each = local.http_functions
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Only Eventarc's account may invoke the event functions.
resource "google_cloud_run_v2_service_iam_member" "eventarc" {
  for_each = local.event_functions
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.eventarc.member
}
