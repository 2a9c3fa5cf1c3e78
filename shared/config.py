"""All configuration of speaking-coach, read from the environment and validated at cold start.

Every field is read from the environment variable of the same name in upper case
(``audio_bucket`` from ``AUDIO_BUCKET``). On a developer machine the defaults point at the
local stack (emulators, embedded speech and a deterministic examiner); a deployed function
(``K_SERVICE`` set by Cloud Run) refuses to start with a local provider or an emulator host.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

Provider = Literal["google", "local"]
BandRounding = Literal["published", "nearest_half"]

LOCAL_PROJECT = "demo-speaking-coach"

# Fields a deployed function must be given explicitly: their defaults only make sense locally.
_REQUIRED_WHEN_DEPLOYED = (
    "google_cloud_project",
    "audio_bucket",
    "reports_bucket",
    "privacy_pepper",
)
# Set from Secret Manager when deployed, never in plain environment variables.
SECRET_SETTINGS = ("privacy_pepper",)
_LOCAL_PEPPER = "local-only-pepper-not-secret"
_EMULATOR_HOSTS = (
    "firestore_emulator_host",
    "pubsub_emulator_host",
    "storage_emulator_host",
    "firebase_auth_emulator_host",
)
_PROVIDERS = ("speech_to_text_provider", "text_to_speech_provider", "language_model_provider")


class ConfigurationError(RuntimeError):
    """Raised at cold start when the environment does not describe a runnable function."""


class Settings(BaseSettings):
    """Validated configuration; one instance per function instance (see ``get_settings``)."""

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", frozen=True, validate_default=True
    )

    # --- Where we run -------------------------------------------------------------------
    k_service: str | None = Field(
        default=None, description="Set by Cloud Run for a deployed function; never set locally."
    )
    google_cloud_project: str = Field(
        default=LOCAL_PROJECT, min_length=6, description="Google Cloud project id."
    )
    region: str = Field(default="europe-west1", description="Region of functions and Vertex AI.")

    # --- Storage, events ----------------------------------------------------------------
    audio_bucket: str = Field(
        default="speaking-coach-audio", min_length=3, description="Bucket for learners' audio."
    )
    reports_bucket: str = Field(
        default="speaking-coach-reports", min_length=3, description="Bucket for PDF reports."
    )
    topic_session_finished: str = Field(
        default="session-finished", min_length=3, description="Topic: a mock test ended."
    )
    topic_analysis_requested: str = Field(
        default="analysis-requested", min_length=3, description="Topic: phase 2 may start."
    )
    topic_analysis_completed: str = Field(
        default="analysis-completed", min_length=3, description="Topic: deep analysis is ready."
    )
    topic_dead_letter: str = Field(
        default="speaking-coach-dead-letter",
        min_length=3,
        description="Topic receiving events that failed every delivery attempt.",
    )

    # --- Emulators (local stack only) ----------------------------------------------------
    firestore_emulator_host: str | None = Field(default=None, description="host:port, local.")
    pubsub_emulator_host: str | None = Field(default=None, description="host:port, local.")
    storage_emulator_host: str | None = Field(default=None, description="http://host:port, local.")
    firebase_auth_emulator_host: str | None = Field(default=None, description="host:port, local.")

    # --- Providers per capability --------------------------------------------------------
    speech_to_text_provider: Provider = Field(
        default="local", description="`google` (Speech-to-Text v2) or `local` (pocketsphinx)."
    )
    text_to_speech_provider: Provider = Field(
        default="local", description="`google` (Text-to-Speech) or `local` (flite)."
    )
    language_model_provider: Provider = Field(
        default="local", description="`google` (Gemini on Vertex AI) or `local` (deterministic)."
    )

    # --- Google speech and language model (used when the provider is `google`) -----------
    speech_to_text_location: str = Field(
        default="europe-west4", description="Speech-to-Text v2 location (the model must be there)."
    )
    speech_to_text_model: str = Field(default="chirp_2", description="Speech-to-Text v2 model.")
    speech_to_text_language: str = Field(
        default="en-GB", description="Recognition language (IELTS accepts every accent)."
    )
    speech_to_text_recognizer: str = Field(
        default="_", description="Recognizer id; `_` is the implicit one (inline config)."
    )
    speech_to_text_endpoint: str | None = Field(
        default=None, description="Override of the Speech-to-Text endpoint (tests: a local fake)."
    )
    text_to_speech_voice_british: str = Field(
        default="en-GB-Neural2-B", description="Text-to-Speech voice of the British examiner."
    )
    text_to_speech_voice_american: str = Field(
        default="en-US-Neural2-J", description="Text-to-Speech voice of the American examiner."
    )
    text_to_speech_voice_australian: str = Field(
        default="en-AU-Neural2-B", description="Text-to-Speech voice of the Australian examiner."
    )
    text_to_speech_endpoint: str | None = Field(
        default=None, description="Override of the Text-to-Speech endpoint (EU or a local fake)."
    )

    language_model_location: str = Field(
        default="europe-west4", description="Vertex AI location of Gemini (keeps data in the EU)."
    )
    language_model_name: str = Field(default="gemini-2.5-flash", description="Gemini model.")
    language_model_endpoint: str | None = Field(
        default=None, description="Override of the Vertex AI endpoint (tests: a local fake)."
    )

    # --- Audio limits --------------------------------------------------------------------
    audio_retention_days: int = Field(
        default=30, ge=1, le=3650, description="Days before raw audio is deleted."
    )
    max_audio_upload_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=64 * 1024,
        le=32 * 1024 * 1024,
        description="Largest answer accepted in a request body (Cloud Functions caps at 32 MiB).",
    )
    max_answer_seconds_part1: float = Field(
        default=90, gt=0, le=600, description="Longest Part 1 answer."
    )
    max_answer_seconds_part2: float = Field(
        default=120, gt=0, le=600, description="Part 2 long turn cap (the examiner stops at 2 min)."
    )
    max_answer_seconds_part3: float = Field(
        default=150, gt=0, le=600, description="Longest Part 3 answer."
    )
    answer_cap_margin_seconds: float = Field(
        default=10, ge=0, le=60, description="Tolerance above a part's cap before refusing audio."
    )
    min_speech_seconds: float = Field(
        default=1.0, ge=0, le=30, description="Less detected speech than this is too short."
    )
    max_uploaded_audio_bytes: int = Field(
        default=50 * 1024 * 1024,
        ge=64 * 1024,
        le=200 * 1024 * 1024,
        description="Largest answer accepted through a signed upload URL (long answers).",
    )

    # --- Mock test sessions ----------------------------------------------------------------
    session_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="Minutes without a turn after which a session is abandoned on next access.",
    )
    signed_url_seconds: int = Field(
        default=900,
        ge=60,
        le=12 * 3600,
        description="Lifetime of signed URLs: examiner audio to play, answer audio to upload.",
    )

    # --- HTTP ----------------------------------------------------------------------------
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default=["http://localhost:5000", "http://127.0.0.1:5000"],
        description="Comma-separated origins allowed by CORS (never `*`).",
    )
    max_json_body_bytes: int = Field(
        default=64 * 1024, ge=1024, le=1024 * 1024, description="Largest JSON request body."
    )
    auth_check_revoked: bool = Field(
        default=False,
        description="Check token revocation on every request (sensitive actions always do).",
    )
    readiness_timeout_seconds: float = Field(
        default=2.0, gt=0, le=10, description="Timeout of each dependency check in /readyz."
    )

    # --- Rate limits (shared/limits: fixed windows counted in Firestore) ----------------------
    rate_sessions_per_day_per_user: int = Field(
        default=20, ge=1, le=10_000, description="Mock tests a learner may start per UTC day."
    )
    rate_sessions_per_day_per_ip: int = Field(
        default=500,
        ge=1,
        le=1_000_000,
        description="Mock tests started per UTC day from one IP (a school shares one address).",
    )
    rate_turns_per_minute_per_user: int = Field(
        default=60,
        ge=1,
        le=10_000,
        description="Answers (and upload URLs) a learner may send per minute: far above a "
        "person's pace (one every 10 s or more), a guard against runaway clients and scripts; "
        "retries of a recorded answer are not counted.",
    )
    rate_turns_per_minute_per_ip: int = Field(
        default=600, ge=1, le=1_000_000, description="Answers sent per minute from one IP."
    )
    rate_results_polls_per_minute_per_user: int = Field(
        default=30, ge=1, le=10_000, description="Results requests a learner may make per minute."
    )
    rate_results_polls_per_minute_per_ip: int = Field(
        default=600, ge=1, le=1_000_000, description="Results requests per minute from one IP."
    )
    client_ip_forwarded_position: int = Field(
        default=1,
        ge=1,
        le=10,
        description="Which X-Forwarded-For entry, counted from the end, is the client: 1 when "
        "clients call the functions directly (Google's front end appends the address it saw), "
        "2 behind an external Application Load Balancer (it appends the client and itself).",
    )

    # --- Accounts and privacy ----------------------------------------------------------
    link_invite_hours: int = Field(
        default=72,
        ge=1,
        le=30 * 24,
        description="Hours a teacher's invite code can be accepted (each code links once).",
    )
    privacy_pepper: str = Field(
        default=_LOCAL_PEPPER,
        min_length=16,
        description="Secret mixed into the hash that replaces an erased user's uid in the "
        "audit log, into invite codes made for an Idempotency-Key and into rate-limit counter ids. "
        "Terraform generates it "
        "in Secret Manager; a deployed function refuses the local default. Never change it.",
    )

    # --- Scoring -------------------------------------------------------------------------
    band_rounding: BandRounding = Field(
        default="published",
        description="`published`: .25 rounds up to .5 and .75 up to the next band (the IELTS "
        "overall rule); `nearest_half`: plain rounding to the nearest half band.",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest severity written to the log."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() reads the environment mapping itself, so tests can pass their own.
        return (init_settings,)

    @field_validator(
        "text_to_speech_voice_british",
        "text_to_speech_voice_american",
        "text_to_speech_voice_australian",
    )
    @classmethod
    def _voice_name(cls, name: str) -> str:
        if not re.fullmatch(r"[a-z]{2,3}-[A-Z]{2}-[A-Za-z0-9-]+", name):
            raise ValueError(f"{name!r} is not a Text-to-Speech voice name like 'en-GB-Neural2-B'")
        return name

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_allowed_origins")
    @classmethod
    def _no_wildcard_origin(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin == "*" or not origin.startswith(("http://", "https://")):
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
        return [origin.rstrip("/") for origin in origins]

    @model_validator(mode="after")
    def _deployed_functions_use_real_services(self) -> Settings:
        if not self.deployed:
            return self
        problems = [
            f"{name.upper()} must be set for a deployed function"
            for name in _REQUIRED_WHEN_DEPLOYED
            if name not in self.model_fields_set
        ]
        if self.privacy_pepper == _LOCAL_PEPPER:
            problems.append("PRIVACY_PEPPER must be a secret of the deployment, not the local one")
        problems += [
            f"{name.upper()} is set, but a deployed function must not use an emulator"
            for name in _EMULATOR_HOSTS
            if getattr(self, name)
        ]
        problems += [
            f"{name.upper()}=local is for the local stack; a deployed function needs google"
            for name in _PROVIDERS
            if getattr(self, name) == "local"
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def deployed(self) -> bool:
        """True inside Cloud Run / Cloud Functions (``K_SERVICE`` is set by the platform)."""
        return bool(self.k_service)

    def answer_cap_seconds(self, part: int) -> float:
        """Longest answer accepted for an IELTS part, margin included."""
        caps = {
            1: self.max_answer_seconds_part1,
            2: self.max_answer_seconds_part2,
            3: self.max_answer_seconds_part3,
        }
        return caps[part] + self.answer_cap_margin_seconds


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from ``environ`` (default: the process environment).

    Raises:
        ConfigurationError: naming every variable that is missing or invalid.
    """
    env = dict(os.environ if environ is None else environ)
    known = {name.upper() for name in Settings.model_fields}
    # Read only our own variables, so nothing else in the environment can break start-up.
    values = {key.lower(): value for key, value in env.items() if key.upper() in known}
    try:
        return Settings(**values)  # type: ignore[arg-type]  # values are validated here
    except ValidationError as error:
        raise ConfigurationError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        if problem["loc"]:
            message = f"{str(problem['loc'][0]).upper()}: {message}"
        lines.append(message)
    return "invalid configuration: " + "; ".join(lines)


@functools.cache
def get_settings() -> Settings:
    """The Settings of this instance, loaded once (at cold start, by the entry points)."""
    return load_settings()


def settings_markdown_table() -> str:
    """The README's configuration table, generated from the fields above (a test keeps the
    README in step)."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, list):
            default = ",".join(str(item) for item in default)
        shown = "(unset)" if default is None else f"`{default}`"
        rows.append(f"| `{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)
