# ==== Firebase =================================================================================
# Firebase on the project: Auth (Identity Platform), the PWA's web app, rules for Firestore
# and for the buckets. Hosting content is deployed with firebase-tools (README "Deploy").

resource "google_firebase_project" "default" {
  provider   = google-beta
  project    = var.project_id
  depends_on = [google_project_service.apis]
}

resource "google_firebase_web_app" "pwa" {
  provider        = google-beta
  project         = var.project_id
  display_name    = "speaking-coach (${var.environment})"
  deletion_policy = "ABANDON"
  depends_on      = [google_firebase_project.default]
}

data "google_firebase_web_app_config" "pwa" {
  provider   = google-beta
  project    = var.project_id
  web_app_id = google_firebase_web_app.pwa.app_id
}

# Firebase Authentication: e-mail sign-in; ID tokens are verified by the functions.
resource "google_identity_platform_config" "auth" {
  project = var.project_id
  authorized_domains = concat(
    ["localhost", "${var.project_id}.firebaseapp.com", "${var.project_id}.web.app"],
    [for origin in var.cors_extra_origins : regex("^https?://([^:/]+)", origin)[0] if !startswith(origin, "http://")],
  )
  sign_in {
    allow_duplicate_emails = false
    email {
      enabled           = true
      password_required = true
    }
  }
  depends_on = [google_firebase_project.default, google_project_service.apis]
}

# --- Security rules: the files firebase.json names, released by Terraform ----------------------
resource "google_firebaserules_ruleset" "firestore" {
  project = var.project_id
  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/../firestore.rules")
    }
  }
  depends_on = [google_firestore_database.default]
}

resource "google_firebaserules_release" "firestore" {
  project      = var.project_id
  name         = "cloud.firestore"
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore.name}"
  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore]
  }
}

# The buckets are linked to Firebase so that storage.rules govern any client access to them
# (the functions use their service accounts and signed URLs, which rules do not affect).
resource "google_firebase_storage_bucket" "linked" {
  provider   = google-beta
  for_each   = local.buckets
  project    = var.project_id
  bucket_id  = each.value
  depends_on = [google_firebase_project.default]
}

resource "google_firebaserules_ruleset" "storage" {
  project = var.project_id
  source {
    files {
      name    = "storage.rules"
      content = file("${path.module}/../storage.rules")
    }
  }
  depends_on = [google_firebase_storage_bucket.linked]
}

resource "google_firebaserules_release" "storage" {
  for_each     = local.buckets
  project      = var.project_id
  name         = "firebase.storage/${each.value}"
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.storage.name}"
  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.storage]
  }
}
