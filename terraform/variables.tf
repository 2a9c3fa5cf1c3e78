# Inputs of the deployment. dev and prod differ only through envs/<env>.tfvars.
# Defaults that mirror a Settings default in shared/config.py are checked against it by
# tests/infra (the names of topics, the audio retention): change both or neither.

variable "project_id" {
  description = "Google Cloud project id (Firebase is added to it)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id: 6-30 lowercase letters, digits or hyphens."
  }
}

variable "environment" {
  description = "dev or prod: names, minimum instances and deletion protection follow it."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "region" {
  description = "Region of the functions, buckets and Eventarc triggers."
  type        = string
  default     = "europe-west1"
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1."
  }
}

variable "firestore_location" {
  description = "Firestore location (a multi-region such as eur3, or a region). Cannot change later."
  type        = string
  default     = "eur3"
  validation {
    condition     = can(regex("^(eur3|nam5|nam7|[a-z]+-[a-z]+[0-9])$", var.firestore_location))
    error_message = "firestore_location must be eur3, nam5, nam7 or a region."
  }
}

variable "name_prefix" {
  description = "Prefix of function, service account and bucket names."
  type        = string
  default     = "speaking-coach"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,17}$", var.name_prefix))
    error_message = "name_prefix must be 3-18 lowercase letters, digits or hyphens (service account ids are short)."
  }
}

# --- What the code reads (Settings) ------------------------------------------------------
variable "audio_retention_days" {
  description = "Days before raw audio is deleted: the bucket's lifecycle rule and AUDIO_RETENTION_DAYS."
  type        = number
  default     = 30
  validation {
    condition     = var.audio_retention_days >= 1 && var.audio_retention_days <= 3650 && floor(var.audio_retention_days) == var.audio_retention_days
    error_message = "audio_retention_days must be a whole number of days from 1 to 3650 (as Settings allows)."
  }
}

variable "topic_session_finished" {
  description = "Topic: a mock test ended (TOPIC_SESSION_FINISHED)."
  type        = string
  default     = "session-finished"
  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-_.~+%]{2,254}$", var.topic_session_finished))
    error_message = "A topic id is 3-255 characters, starting with a letter."
  }
}

variable "topic_analysis_requested" {
  description = "Topic: phase 2 of scoring may start (TOPIC_ANALYSIS_REQUESTED)."
  type        = string
  default     = "analysis-requested"
  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-_.~+%]{2,254}$", var.topic_analysis_requested))
    error_message = "A topic id is 3-255 characters, starting with a letter."
  }
}

variable "topic_analysis_completed" {
  description = "Topic: the deep analysis is ready (TOPIC_ANALYSIS_COMPLETED)."
  type        = string
  default     = "analysis-completed"
  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-_.~+%]{2,254}$", var.topic_analysis_completed))
    error_message = "A topic id is 3-255 characters, starting with a letter."
  }
}

variable "topic_dead_letter" {
  description = "Topic receiving events that failed every delivery attempt (TOPIC_DEAD_LETTER)."
  type        = string
  default     = "speaking-coach-dead-letter"
  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-_.~+%]{2,254}$", var.topic_dead_letter))
    error_message = "A topic id is 3-255 characters, starting with a letter."
  }
}

variable "speech_to_text_location" {
  description = "Speech-to-Text v2 location; the model (chirp_2) must be offered there."
  type        = string
  default     = "europe-west4"
  validation {
    condition     = can(regex("^(global|eu|us|[a-z]+-[a-z]+[0-9])$", var.speech_to_text_location))
    error_message = "speech_to_text_location must be a region, eu, us or global."
  }
}

variable "language_model_location" {
  description = "Vertex AI location of Gemini (keeps learners' data in the EU by default)."
  type        = string
  default     = "europe-west4"
  validation {
    condition     = can(regex("^(global|[a-z]+-[a-z]+[0-9])$", var.language_model_location))
    error_message = "language_model_location must be a region or global."
  }
}

variable "language_model_name" {
  description = "Gemini model used by the examiner's follow-ups and the scoring judge."
  type        = string
  default     = "gemini-2.5-flash"
  validation {
    condition     = can(regex("^gemini-[a-z0-9.-]+$", var.language_model_name))
    error_message = "language_model_name must name a Gemini model such as gemini-2.5-flash."
  }
}

variable "cors_extra_origins" {
  description = "Origins allowed besides the project's Firebase Hosting domains (e.g. a custom domain)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for origin in var.cors_extra_origins : can(regex("^(https://[a-z0-9.-]+|http://(localhost|127[.]0[.]0[.]1))(:[0-9]+)?$", origin))])
    error_message = "Each origin must look like https://app.example.com or http://localhost:5000 (never *, no path)."
  }
}

variable "log_level" {
  description = "Lowest severity the functions write (LOG_LEVEL)."
  type        = string
  default     = "INFO"
  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "secrets" {
  description = "Further Secret Manager secrets handed to every function: environment variable => secret id (PRIVACY_PEPPER is always made by main.tf; Google APIs use the functions' service accounts)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for name, id in var.secrets : can(regex("^[A-Z][A-Z0-9_]*$", name)) && can(regex("^[A-Za-z0-9_-]{1,255}$", id))])
    error_message = "Keys are environment variable names (UPPER_CASE); values are secret ids."
  }
}

# --- Functions ------------------------------------------------------------------------------
variable "http_function_defaults" {
  description = "Memory, CPU, timeout, concurrency and instance counts of every HTTP function."
  type = object({
    memory          = string
    cpu             = string
    timeout_seconds = number
    concurrency     = number
    min_instances   = number
    max_instances   = number
  })
  default = {
    memory          = "512Mi"
    cpu             = "1"
    timeout_seconds = 60
    concurrency     = 8
    min_instances   = 0
    max_instances   = 20
  }
  validation {
    condition = (
      can(regex("^[0-9]+(Mi|Gi)$", var.http_function_defaults.memory))
      && var.http_function_defaults.timeout_seconds >= 1 && var.http_function_defaults.timeout_seconds <= 3600
      && var.http_function_defaults.concurrency >= 1 && var.http_function_defaults.concurrency <= 1000
      && var.http_function_defaults.min_instances >= 0
      && var.http_function_defaults.max_instances >= max(1, var.http_function_defaults.min_instances)
    )
    error_message = "memory like 512Mi, timeout 1-3600 s, concurrency 1-1000, 0 <= min_instances <= max_instances."
  }
}

variable "http_function_overrides" {
  description = "Per HTTP function (catalog name), the settings that differ from http_function_defaults."
  type = map(object({
    memory          = optional(string)
    cpu             = optional(string)
    timeout_seconds = optional(number)
    concurrency     = optional(number)
    min_instances   = optional(number)
    max_instances   = optional(number)
  }))
  default = {
    # A turn decodes audio and waits for speech-to-text and the examiner's voice.
    turns = { memory = "1Gi", timeout_seconds = 120, concurrency = 4 }
  }
  validation {
    condition = alltrue([
      for name, o in var.http_function_overrides :
      (o.memory == null || can(regex("^[0-9]+(Mi|Gi)$", coalesce(o.memory, "1Mi"))))
      && (o.timeout_seconds == null || (coalesce(o.timeout_seconds, 1) >= 1 && coalesce(o.timeout_seconds, 1) <= 3600))
      && (o.concurrency == null || (coalesce(o.concurrency, 1) >= 1 && coalesce(o.concurrency, 1) <= 1000))
      && (o.min_instances == null || coalesce(o.min_instances, 0) >= 0)
    ])
    error_message = "Overrides follow the same limits as http_function_defaults."
  }
}

variable "event_function_settings" {
  description = "Memory, CPU, timeout and instances of the scoring event functions (phase 2 renders a PDF and calls Gemini)."
  type = object({
    memory          = string
    cpu             = string
    timeout_seconds = number
    max_instances   = number
  })
  default = {
    memory          = "2Gi"
    cpu             = "1"
    timeout_seconds = 540
    max_instances   = 10
  }
  validation {
    condition = (
      can(regex("^[0-9]+(Mi|Gi)$", var.event_function_settings.memory))
      && var.event_function_settings.timeout_seconds >= 1 && var.event_function_settings.timeout_seconds <= 540
      && var.event_function_settings.max_instances >= 1
    )
    error_message = "memory like 2Gi, timeout 1-540 s (the limit of event functions), max_instances >= 1."
  }
}

# --- Alerts ---------------------------------------------------------------------------------
variable "alert_email" {
  description = "Where alerts are e-mailed; empty: alerts appear in Cloud Monitoring only."
  type        = string
  default     = ""
  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an e-mail address or empty."
  }
}

variable "alert_error_rate" {
  description = "Share of HTTP requests answered 5xx, over 5 minutes, that raises the error-rate alert."
  type        = number
  default     = 0.02
  validation {
    condition     = var.alert_error_rate > 0 && var.alert_error_rate < 1
    error_message = "alert_error_rate is a fraction between 0 and 1."
  }
}

variable "alert_turn_latency_p95_ms" {
  description = "95th percentile of a turn's server time (ms), over 10 minutes, that raises the latency alert."
  type        = number
  default     = 6000
  validation {
    condition     = var.alert_turn_latency_p95_ms >= 100
    error_message = "alert_turn_latency_p95_ms must be at least 100 ms."
  }
}
