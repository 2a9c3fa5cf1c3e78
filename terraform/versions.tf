# Terraform and provider versions, pinned: a plan made today is the plan made next month.

terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "= 7.22.0"
    }
    # Firebase resources (project, storage bucket links, web app) are beta-only.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "= 7.22.0"
    }
    # Runs tools/function_source.py, which zips the deployable files reproducibly.
    # Generates the privacy pepper once (main.tf); its value stays in the state.
    random = {
      source  = "hashicorp/random"
      version = "= 3.7.2"
    }
    external = {
      source  = "hashicorp/external"
      version = "= 2.3.5"
    }
  }

  # State: pass a bucket at init (`terraform init -backend-config="bucket=<project>-tfstate"`).
  backend "gcs" {
    prefix = "speaking-coach"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
  # Quota and billing of API calls go to our project, not to the caller's.
  user_project_override = true
  billing_project       = var.project_id
}

provider "google-beta" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}
