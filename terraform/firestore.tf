# ==== Firestore ================================================================================
resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"
  # Production can be restored to any minute of the last 7 days and cannot be deleted by apply.
  point_in_time_recovery_enablement = var.environment == "prod" ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.environment == "prod" ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = "ABANDON"
  depends_on                        = [google_project_service.apis]
}

locals {
  # The same file `firebase deploy --only firestore:indexes` and the emulator read.
  firestore_index_file = jsondecode(file("${path.module}/../firestore.indexes.json"))

  composite_indexes = {
    for index in local.firestore_index_file.indexes :
    join(" ", concat(
      [index.collectionGroup, try(index.queryScope, "COLLECTION")],
      [for f in index.fields : "${f.fieldPath}:${try(f.order, f.arrayConfig)}"],
    )) => index
  }

  field_overrides = {
    for override in try(local.firestore_index_file.fieldOverrides, []) :
    "${override.collectionGroup}.${override.fieldPath}" => override
  }

  # Collections whose documents expire: processed-event markers (shared/events.py) and
  # rate-limit counters; both write the expiry time to `expire_at`.
  ttl_fields = {
    processedEvents = "expire_at"
    rateLimits      = "expire_at"
  }
}

resource "google_firestore_index" "composite" {
  for_each    = local.composite_indexes
  database    = google_firestore_database.default.name
  collection  = each.value.collectionGroup
  query_scope = try(each.value.queryScope, "COLLECTION")

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.fieldPath
      order        = try(fields.value.order, null)
      array_config = try(fields.value.arrayConfig, null)
    }
  }
}

# Single-field index exemptions (large maps and lists nobody queries).
resource "google_firestore_field" "override" {
  for_each   = local.field_overrides
  database   = google_firestore_database.default.name
  collection = each.value.collectionGroup
  field      = each.value.fieldPath

  index_config {
    dynamic "indexes" {
      for_each = each.value.indexes
      content {
        query_scope  = try(indexes.value.queryScope, "COLLECTION")
        order        = try(indexes.value.order, null)
        array_config = try(indexes.value.arrayConfig, null)
      }
    }
  }
}

# TTL policies: Firestore deletes a document within a day or so after its expire_at.
resource "google_firestore_field" "ttl" {
  for_each   = local.ttl_fields
  database   = google_firestore_database.default.name
  collection = each.key
  field      = each.value

  ttl_config {}
  # A timestamp written in increasing order needs no index (and one would hot-spot).
  index_config {}
}
