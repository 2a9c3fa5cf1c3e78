# ==== Buckets ==================================================================================
# Learners' audio: deleted after var.audio_retention_days, the same number the code reads as
# AUDIO_RETENTION_DAYS (tests/infra checks the variable's default against Settings).
resource "google_storage_bucket" "audio" {
  # checkov:skip=CKV_GCP_62:Access is audited by Cloud Audit Logs (Data Access for Cloud Storage); usage logs would add a bucket of callers' IP addresses to protect.
  # checkov:skip=CKV_GCP_78:A deleted recording (retention, erasure) must be gone; versioning would keep noncurrent copies of learners' voices.
  name                        = "${var.project_id}-audio"
  location                    = var.region
  labels                      = local.labels
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  lifecycle_rule {
    condition {
      age = var.audio_retention_days
    }
    action {
      type = "Delete"
    }
  }

  # A deleted recording (retention, erasure) must be gone, not kept 7 days as a soft copy.
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  # The PWA uploads long answers straight to signed URLs and plays the examiner's lines.
  cors {
    origin          = local.allowed_origins
    method          = ["GET", "PUT"]
    response_header = ["Content-Type"]
    max_age_seconds = 3600
  }

  depends_on = [google_project_service.apis]
}

# PDF reports: kept while the learner keeps their account (erasure deletes them).
resource "google_storage_bucket" "reports" {
  # checkov:skip=CKV_GCP_62:Access is audited by Cloud Audit Logs (Data Access for Cloud Storage); usage logs would add a bucket of callers' IP addresses to protect.
  # checkov:skip=CKV_GCP_78:An erased learner's reports must be gone; versioning would keep noncurrent copies.
  name                        = "${var.project_id}-reports"
  location                    = var.region
  labels                      = local.labels
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  soft_delete_policy {
    retention_duration_seconds = 0
  }

  depends_on = [google_project_service.apis]
}

# Function source archives, one object per content hash. Old archives are not needed once
# a function is built from them.
resource "google_storage_bucket" "function_source" {
  # checkov:skip=CKV_GCP_62:Holds only source archives of this repository; Cloud Audit Logs record who wrote them.
  # checkov:skip=CKV_GCP_78:Objects are immutable, named by the sha256 of their content; a version history adds nothing.
  name                        = "${var.project_id}-function-source"
  location                    = var.region
  labels                      = local.labels
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

# Cloud Build reads the source archive as the build account.
resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.function_source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.build.member
}
