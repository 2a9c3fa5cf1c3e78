"""terraform/ against the code, without a terraform binary: every file parses, the functions
match functions/catalog.py both ways, every topic the code uses exists, every Settings field a
deployed function needs is set, and the audio retention is one number.

Each check is also run on a copy of terraform/ with one thing removed, to show it notices.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import hcl2
import pytest

from functions.catalog import all_entry_points
from tests.infra.terraform_model import (
    REPO_ROOT,
    TERRAFORM_DIR,
    Terraform,
    check_audio_retention,
    check_functions,
    check_settings_env,
    check_topics,
    settings_a_deployed_function_needs,
    topic_settings_used_by_code,
)

HCL_FILES = sorted([*TERRAFORM_DIR.rglob("*.tf"), *TERRAFORM_DIR.rglob("*.tfvars")])


@pytest.fixture(scope="module")
def terraform() -> Terraform:
    return Terraform.load()


def edited_copy(tmp_path: Path, file_name: str, pattern: str, replacement: str = "") -> Terraform:
    """terraform/ copied to tmp_path with ``pattern`` (a multiline regex, found exactly once)
    replaced in ``file_name``, then parsed."""
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, copy, ignore=shutil.ignore_patterns(".build", ".terraform"))
    target = copy / file_name
    text, count = re.subn(pattern, replacement, target.read_text(encoding="utf-8"), flags=re.M)
    assert count == 1, f"{pattern!r} matched {count} times in {file_name}"
    target.write_text(text, encoding="utf-8")
    return Terraform.load(copy)


def remove_block(tmp_path: Path, file_name: str, header: str) -> Terraform:
    """The copy without the block that starts with the line ``header`` (up to its closing brace
    at the start of a line)."""
    return edited_copy(tmp_path, file_name, rf"^{re.escape(header)}\n(?:.*\n)*?\}}\n")


@pytest.mark.parametrize("path", HCL_FILES, ids=lambda p: str(p.relative_to(TERRAFORM_DIR)))
def test_every_terraform_file_parses(path: Path) -> None:
    with path.open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    assert parsed, f"{path} is empty"


def test_the_expected_files_are_there() -> None:
    names = {path.relative_to(TERRAFORM_DIR).as_posix() for path in HCL_FILES}
    assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf"} <= names
    assert {"envs/dev.tfvars", "envs/prod.tfvars"} <= names


# --- functions -----------------------------------------------------------------------------------
def test_every_catalog_function_has_exactly_one_terraform_function(terraform: Terraform) -> None:
    assert check_functions(terraform) == []
    assert sorted(terraform.locals["functions"]) == sorted(all_entry_points())


def test_removing_a_function_from_terraform_is_caught(tmp_path: Path) -> None:
    copy = edited_copy(tmp_path, "main.tf", r"^ +turns += \{ kind[^\n]*\}\n")
    assert "function 'turns' is in functions/catalog.py but not in Terraform" in check_functions(
        copy
    )


def test_a_function_the_catalog_does_not_list_is_caught(tmp_path: Path) -> None:
    copy = edited_copy(
        tmp_path,
        "main.tf",
        r"^( +)health( +)= \{ kind",
        r'\1legacy = { kind = "http", entry_point = "legacy", topic_setting = null }'
        r"\n\1health\2= { kind",
    )
    assert "Terraform deploys 'legacy', which functions/catalog.py does not list" in (
        check_functions(copy)
    )


def test_a_wrong_entry_point_is_caught(tmp_path: Path) -> None:
    copy = edited_copy(tmp_path, "main.tf", r'entry_point = "results"', 'entry_point = "result"')
    assert "results: entry_point 'result' != 'results'" in check_functions(copy)


def test_event_functions_retry(tmp_path: Path) -> None:
    copy = edited_copy(tmp_path, "main.tf", r'"RETRY_POLICY_RETRY"', '"RETRY_POLICY_DO_NOT_RETRY"')
    assert any("retry" in problem for problem in check_functions(copy))


# --- topics --------------------------------------------------------------------------------------
def test_the_code_uses_the_topics_we_expect() -> None:
    # The scan finds real uses: if it found nothing, the topic check would pass vacuously.
    used = topic_settings_used_by_code()
    assert {"topic_session_finished", "topic_analysis_requested", "topic_dead_letter"} <= used


def test_every_topic_the_code_uses_exists(terraform: Terraform) -> None:
    needed = topic_settings_used_by_code() | {
        name for name in settings_a_deployed_function_needs() if name.startswith("topic_")
    }
    assert check_topics(terraform, needed) == []


def test_removing_a_topic_is_caught(tmp_path: Path) -> None:
    copy = edited_copy(tmp_path, "pubsub.tf", r"^ +topic_dead_letter += var\.topic_dead_letter\n")
    problems = check_topics(copy, topic_settings_used_by_code())
    assert "topic 'topic_dead_letter' (used by the code) is not in local.topics" in problems


def test_removing_the_topic_resource_is_caught(tmp_path: Path) -> None:
    copy = remove_block(tmp_path, "pubsub.tf", 'resource "google_pubsub_topic" "topics" {')
    problems = check_topics(copy, topic_settings_used_by_code())
    assert problems == ["no google_pubsub_topic.topics resource with for_each = local.topics"]


def test_removing_the_dead_letter_subscription_is_caught(tmp_path: Path) -> None:
    copy = remove_block(
        tmp_path, "pubsub.tf", 'resource "google_pubsub_subscription" "dead_letter" {'
    )
    problems = check_topics(copy, topic_settings_used_by_code())
    assert problems == ["the dead-letter topic has no subscription keeping its messages"]


# --- Settings ------------------------------------------------------------------------------------
def test_every_setting_a_deployed_function_needs_is_set(terraform: Terraform) -> None:
    assert check_settings_env(terraform) == []


def test_the_needed_settings_include_every_topic_bucket_and_provider() -> None:
    needed = settings_a_deployed_function_needs()
    assert {
        "google_cloud_project",
        "audio_bucket",
        "reports_bucket",
        "topic_session_finished",
        "topic_analysis_requested",
        "topic_analysis_completed",
        "topic_dead_letter",
        "speech_to_text_provider",
        "text_to_speech_provider",
        "language_model_provider",
        "audio_retention_days",
    } <= needed
    assert "k_service" not in needed


@pytest.mark.parametrize("variable", ["TOPIC_ANALYSIS_COMPLETED", "AUDIO_BUCKET", "REPORTS_BUCKET"])
def test_a_missing_topic_or_bucket_setting_is_caught(tmp_path: Path, variable: str) -> None:
    copy = edited_copy(tmp_path, "main.tf", rf"^ +{variable} += [^\n]*\n")
    assert f"{variable} is not set in Terraform's local.function_env" in check_settings_env(copy)


def test_a_missing_privacy_pepper_secret_is_caught(tmp_path: Path) -> None:
    copy = edited_copy(
        tmp_path,
        "main.tf",
        r'^ +secret_environment_variables \{\n +key += "PRIVACY_PEPPER"'
        r"(?:.*\n)*? +\}\n",
    )
    problems = check_settings_env(copy)
    assert "PRIVACY_PEPPER must reach the functions from Secret Manager" in problems


def test_an_unknown_variable_name_is_caught(tmp_path: Path) -> None:
    copy = edited_copy(tmp_path, "main.tf", r"^( +)LOG_LEVEL( +)=", r"\1LOG_LEVL\2=")
    problems = check_settings_env(copy)
    assert "LOG_LEVL in local.function_env is not a Settings field" in problems


def test_the_functions_use_the_google_providers(terraform: Terraform) -> None:
    env = terraform.locals["function_env"]
    assert env["SPEECH_TO_TEXT_PROVIDER"] == "google"
    assert env["TEXT_TO_SPEECH_PROVIDER"] == "google"
    assert env["LANGUAGE_MODEL_PROVIDER"] == "google"


# --- audio retention -----------------------------------------------------------------------------
def test_the_audio_lifecycle_uses_the_retention_setting(terraform: Terraform) -> None:
    assert check_audio_retention(terraform) == []


def test_a_hard_coded_lifecycle_age_is_caught(tmp_path: Path) -> None:
    copy = edited_copy(tmp_path, "storage.tf", r"age = var\.audio_retention_days", "age = 30")
    assert any("audio bucket" in problem for problem in check_audio_retention(copy))


def test_a_retention_default_that_drifts_from_settings_is_caught(tmp_path: Path) -> None:
    copy = edited_copy(tmp_path, "variables.tf", r"^(\s+default\s+=) 30$", r"\1 14")
    assert check_audio_retention(copy) == ["var.audio_retention_days default 14 != 30"]


# --- Firestore -----------------------------------------------------------------------------------
def test_ttl_policies_cover_event_markers_and_rate_limits(terraform: Terraform) -> None:
    ttl = terraform.resources("google_firestore_field")["ttl"]
    assert ttl["for_each"] == "${local.ttl_fields}"
    assert terraform.locals["ttl_fields"] == {
        "processedEvents": "expire_at",
        "rateLimits": "expire_at",
    }
    assert "ttl_config" in ttl
    # shared/events.py writes the marker's expiry under the same name.
    events_code = (REPO_ROOT / "shared" / "events.py").read_text(encoding="utf-8")
    assert '"expire_at"' in events_code


def test_composite_indexes_come_from_firestore_indexes_json(terraform: Terraform) -> None:
    assert 'file("${path.module}/../firestore.indexes.json")' in str(
        terraform.locals["firestore_index_file"]
    )
    index = terraform.resources("google_firestore_index")["composite"]
    assert index["for_each"] == "${local.composite_indexes}"
    indexes = json.loads((REPO_ROOT / "firestore.indexes.json").read_text(encoding="utf-8"))
    overridden = {(o["collectionGroup"], o["fieldPath"]) for o in indexes.get("fieldOverrides", [])}
    # One google_firestore_field per field: a TTL field must not also be an index override.
    assert not overridden & set(terraform.locals["ttl_fields"].items())


# --- function source -----------------------------------------------------------------------------
def test_terraform_deploys_the_archive_of_tools_function_source(terraform: Terraform) -> None:
    program = terraform.files["main.tf"]["data"][0]["external"]["function_source"]["program"]
    assert program[:3] == ["python3", "-m", "tools.function_source"]
    assert "--json" in program
    obj = terraform.resources("google_storage_bucket_object")["function_source"]
    assert obj["name"] == "function-source-${data.external.function_source.result.sha256}.zip"


def test_the_source_tool_answers_terraforms_external_protocol(tmp_path: Path) -> None:
    out = tmp_path / "build"
    completed = subprocess.run(
        [sys.executable, "-m", "tools.function_source", "--out", str(out), "--json"],
        cwd=REPO_ROOT,
        input="{}",  # Terraform sends the query as JSON on stdin
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(completed.stdout)
    assert set(result) == {"sha256", "path"}
    assert all(isinstance(value, str) for value in result.values())
    archive = Path(result["path"])
    archive = archive if archive.is_absolute() else REPO_ROOT / archive
    assert archive.is_file()
    assert archive.name == f"function-source-{result['sha256'][:16]}.zip"
