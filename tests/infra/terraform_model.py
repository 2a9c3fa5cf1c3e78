"""terraform/ read with python-hcl2 (there is no terraform binary in CI), and the checks that
tie it to the code: the function catalog, the Settings model and the topics the code uses.

Each ``check_*`` returns a list of problems (empty: consistent), so a test can show both that
the real configuration passes and that a copy with something removed is caught.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from functions.catalog import EVENT_FUNCTIONS, HTTP_FUNCTIONS
from shared.config import (
    _EMULATOR_HOSTS,
    _PROVIDERS,
    _REQUIRED_WHEN_DEPLOYED,
    SECRET_SETTINGS,
    Settings,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
CODE_DIRS = (REPO_ROOT / "shared", REPO_ROOT / "functions")
FUNCTION_RESOURCE = "google_cloudfunctions2_function"
TOPIC_RESOURCE = "google_pubsub_topic"


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals (and block labels); drop them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {unquote(key): unquote(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unquote(item) for item in value]
    return value


@dataclass(frozen=True)
class Terraform:
    """The parsed .tf files of one directory."""

    files: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, directory: Path = TERRAFORM_DIR) -> Terraform:
        files = {}
        for path in sorted(directory.glob("*.tf")):
            with path.open(encoding="utf-8") as handle:
                files[path.name] = unquote(hcl2.load(handle))
        return cls(files)

    def _blocks(self, kind: str) -> list[dict[str, Any]]:
        return [block for parsed in self.files.values() for block in parsed.get(kind, [])]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """name => body of every ``resource "<resource_type>" "<name>"``."""
        found: dict[str, dict[str, Any]] = {}
        for block in self._blocks("resource"):
            for name, body in block.get(resource_type, {}).items():
                found[name] = body
        return found

    @property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self._blocks("locals"):
            merged.update({key: value for key, value in block.items() if not key.startswith("__")})
        return merged

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self._blocks("variable") for name, body in block.items()}


def _block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """A nested block (python-hcl2 gives a list with one dict) or {}."""
    found = body.get(name) or [{}]
    return found[0] if isinstance(found, list) else found


# --- functions ---------------------------------------------------------------------------------
def check_functions(terraform: Terraform) -> list[str]:
    """Every catalog function has exactly one Terraform function, with its entry point and
    trigger, and Terraform deploys nothing the catalog does not list."""
    problems: list[str] = []
    resources = terraform.resources(FUNCTION_RESOURCE)
    if list(resources) != ["function"]:
        problems.append(
            f"expected one {FUNCTION_RESOURCE} resource named 'function' (for_each over "
            f"local.functions), found {sorted(resources)}"
        )
    body = resources.get("function", {})
    if body.get("for_each") != "${local.functions}":
        problems.append(f"{FUNCTION_RESOURCE}.function must use for_each = local.functions")
    if _block(body, "build_config").get("entry_point") != "${each.value.entry_point}":
        problems.append("build_config.entry_point must be each.value.entry_point")
    declared: dict[str, dict[str, Any]] = terraform.locals.get("functions", {})
    catalog = {f.name: ("http", None) for f in HTTP_FUNCTIONS} | {
        f.name: ("event", f.topic_setting) for f in EVENT_FUNCTIONS
    }
    for name in sorted(set(catalog) - set(declared)):
        problems.append(f"function {name!r} is in functions/catalog.py but not in Terraform")
    for name in sorted(set(declared) - set(catalog)):
        problems.append(f"Terraform deploys {name!r}, which functions/catalog.py does not list")
    for name in sorted(set(catalog) & set(declared)):
        entry = declared[name]
        kind, topic_setting = catalog[name]
        if entry.get("entry_point") != name:
            problems.append(f"{name}: entry_point {entry.get('entry_point')!r} != {name!r}")
        if entry.get("kind") != kind:
            problems.append(f"{name}: kind {entry.get('kind')!r}, the catalog says {kind!r}")
        if entry.get("topic_setting") != topic_setting:
            problems.append(
                f"{name}: topic_setting {entry.get('topic_setting')!r}, catalog {topic_setting!r}"
            )
    triggers = [
        block["event_trigger"] for block in body.get("dynamic", []) if "event_trigger" in block
    ]
    content = _block(triggers[0], "content") if triggers else {}
    if content.get("event_type") != "google.cloud.pubsub.topic.v1.messagePublished":
        problems.append("event functions need a Pub/Sub messagePublished event_trigger")
    if content.get("retry_policy") != "RETRY_POLICY_RETRY":
        problems.append("event functions must retry (retry_policy = RETRY_POLICY_RETRY)")
    if "google_pubsub_topic.topics[event_trigger.value]" not in str(content.get("pubsub_topic")):
        problems.append("an event trigger's pubsub_topic must be one of google_pubsub_topic.topics")
    return problems


# --- topics --------------------------------------------------------------------------------------
_TOPIC_USE = re.compile(r"\bsettings\.(topic_[a-z_]+)\b")


def topic_settings_used_by_code() -> set[str]:
    """Settings topic fields the code publishes to or listens on: every ``settings.topic_*``
    in shared/ and functions/, and every event function's topic."""
    used = {f.topic_setting for f in EVENT_FUNCTIONS}
    for directory in CODE_DIRS:
        for path in directory.rglob("*.py"):
            used |= set(_TOPIC_USE.findall(path.read_text(encoding="utf-8")))
    return used


def check_topics(terraform: Terraform, needed: set[str]) -> list[str]:
    """Each topic setting in ``needed`` is a google_pubsub_topic (through local.topics), named
    by its variable, whose default is the Settings default; the dead-letter topic has a
    subscription."""
    problems: list[str] = []
    topics = terraform.resources(TOPIC_RESOURCE)
    if topics.get("topics", {}).get("for_each") != "${local.topics}":
        problems.append(f"no {TOPIC_RESOURCE}.topics resource with for_each = local.topics")
        return problems
    declared: dict[str, str] = terraform.locals.get("topics", {})
    variables = terraform.variables
    for setting in sorted(needed):
        if setting not in declared:
            problems.append(f"topic {setting!r} (used by the code) is not in local.topics")
            continue
        if declared[setting] != f"${{var.{setting}}}":
            problems.append(f"local.topics.{setting} must be var.{setting}")
        default = variables.get(setting, {}).get("default")
        if default != Settings.model_fields[setting].default:
            problems.append(
                f"var.{setting} default {default!r} != Settings default "
                f"{Settings.model_fields[setting].default!r}"
            )
    subscriptions = terraform.resources("google_pubsub_subscription")
    if not any(
        'topics["topic_dead_letter"]' in str(body.get("topic")) for body in subscriptions.values()
    ):
        problems.append("the dead-letter topic has no subscription keeping its messages")
    return problems


# --- Settings in the functions' environment ------------------------------------------------------
def settings_a_deployed_function_needs() -> set[str]:
    """Fields whose value must come from the deployment, not from a default:

    - fields without a default;
    - fields a deployed function refuses to start without (``_REQUIRED_WHEN_DEPLOYED``);
    - every topic and bucket name, every provider choice (the defaults are the local stack's);
    - the audio retention (the bucket's lifecycle rule must use the same number) and the
      CORS origins (the PWA's origin is only known at deploy time).

    ``K_SERVICE`` is set by Cloud Run itself.
    """
    fields = Settings.model_fields
    needed = {name for name, field in fields.items() if field.is_required()}
    needed |= set(_REQUIRED_WHEN_DEPLOYED) | set(_PROVIDERS)
    needed |= {name for name in fields if name.startswith("topic_") or name.endswith("_bucket")}
    needed |= {"audio_retention_days", "cors_allowed_origins"}
    return needed - {"k_service"}


def function_environment(terraform: Terraform) -> dict[str, str]:
    return dict(terraform.locals.get("function_env", {}))


def secret_environment(terraform: Terraform) -> set[str]:
    """Environment variables the functions get from Secret Manager (static blocks)."""
    body = terraform.resources(FUNCTION_RESOURCE).get("function", {})
    blocks = _block(body, "service_config").get("secret_environment_variables", [])
    if isinstance(blocks, dict):
        blocks = [blocks]
    return {str(block.get("key")) for block in blocks if isinstance(block, dict)}


def check_settings_env(terraform: Terraform) -> list[str]:
    problems: list[str] = []
    body = terraform.resources(FUNCTION_RESOURCE).get("function", {})
    if _block(body, "service_config").get("environment_variables") != "${local.function_env}":
        problems.append("service_config.environment_variables must be local.function_env")
    env = function_environment(terraform)
    secrets = secret_environment(terraform)
    known = {name.upper() for name in Settings.model_fields}
    for name in sorted(settings_a_deployed_function_needs()):
        if name in SECRET_SETTINGS:
            if name.upper() not in secrets:
                problems.append(f"{name.upper()} must reach the functions from Secret Manager")
            if name.upper() in env:
                problems.append(f"{name.upper()} must never be a plain environment variable")
        elif name.upper() not in env:
            problems.append(f"{name.upper()} is not set in Terraform's local.function_env")
    for key in sorted(set(env) - known):
        problems.append(f"{key} in local.function_env is not a Settings field")
    for name in _EMULATOR_HOSTS:
        if name.upper() in env:
            problems.append(f"{name.upper()} must never be set for a deployed function")
    for name in _PROVIDERS:
        if name.upper() in env and env[name.upper()] != "google":
            problems.append(f"{name.upper()} must be google for a deployed function")
    for key, value in env.items():
        if key.startswith("TOPIC_"):
            setting = key.lower()
            if f'google_pubsub_topic.topics["{setting}"]' not in value:
                problems.append(
                    f"{key} must be the name of google_pubsub_topic.topics[{setting!r}]"
                )
    return problems


def check_audio_retention(terraform: Terraform) -> list[str]:
    """The bucket's lifecycle rule and AUDIO_RETENTION_DAYS are one variable whose default is
    the Settings default."""
    problems: list[str] = []
    variable = terraform.variables.get("audio_retention_days", {})
    default = Settings.model_fields["audio_retention_days"].default
    if variable.get("default") != default:
        problems.append(
            f"var.audio_retention_days default {variable.get('default')!r} != {default}"
        )
    audio = terraform.resources("google_storage_bucket").get("audio", {})
    rules = audio.get("lifecycle_rule", [])
    ages = [_block(rule, "condition").get("age") for rule in rules]
    actions = [_block(rule, "action").get("type") for rule in rules]
    if ages != ["${var.audio_retention_days}"] or actions != ["Delete"]:
        problems.append(
            f"the audio bucket must delete objects at age var.audio_retention_days: {ages}"
        )
    if function_environment(terraform).get("AUDIO_RETENTION_DAYS") != (
        "${tostring(var.audio_retention_days)}"
    ):
        problems.append("AUDIO_RETENTION_DAYS must be var.audio_retention_days")
    return problems
