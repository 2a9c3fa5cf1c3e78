output "function_urls" {
  description = "HTTPS URL of every HTTP function (the PWA reaches them through Hosting's /api rewrites)."
  value       = { for name, f in local.http_functions : name => google_cloudfunctions2_function.function[name].url }
}

output "event_functions" {
  description = "Event function => the topic that triggers it."
  value       = { for name, f in local.event_functions : name => google_pubsub_topic.topics[f.topic_setting].name }
}

output "buckets" {
  description = "Audio, reports and function source buckets."
  value = {
    audio           = google_storage_bucket.audio.name
    reports         = google_storage_bucket.reports.name
    function_source = google_storage_bucket.function_source.name
  }
}

output "function_source_object" {
  description = "The uploaded source archive, named by its sha256."
  value       = google_storage_bucket_object.function_source.name
}

output "hosting_urls" {
  description = "Where the PWA is served once `firebase deploy --only hosting` has run."
  value       = ["https://${var.project_id}.web.app", "https://${var.project_id}.firebaseapp.com"]
}

output "firebase_web_app_config" {
  description = "The PWA's Firebase config (public values: API key, auth domain, app id)."
  value = {
    apiKey     = data.google_firebase_web_app_config.pwa.api_key
    authDomain = data.google_firebase_web_app_config.pwa.auth_domain
    projectId  = var.project_id
    appId      = google_firebase_web_app.pwa.app_id
  }
}
