"""Settings: defaults for the local stack, clear failures, and a deployed function's guard."""

from __future__ import annotations

import pytest

from shared.config import ConfigurationError, Settings, load_settings

DEPLOYED = {
    "K_SERVICE": "users",
    "GOOGLE_CLOUD_PROJECT": "coach-prod-123",
    "AUDIO_BUCKET": "coach-prod-audio",
    "REPORTS_BUCKET": "coach-prod-reports",
    "SPEECH_TO_TEXT_PROVIDER": "google",
    "TEXT_TO_SPEECH_PROVIDER": "google",
    "LANGUAGE_MODEL_PROVIDER": "google",
    "PRIVACY_PEPPER": "a-deployment-secret-from-secret-manager",
}


def test_a_developer_machine_defaults_to_local_providers() -> None:
    settings = load_settings({})
    assert not settings.deployed
    assert settings.speech_to_text_provider == "local"
    assert settings.text_to_speech_provider == "local"
    assert settings.language_model_provider == "local"
    assert settings.audio_retention_days == 30


def test_only_the_given_mapping_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIO_BUCKET", "from-the-process")
    assert load_settings({}).audio_bucket == "speaking-coach-audio"
    assert load_settings().audio_bucket == "from-the-process"


def test_an_invalid_value_names_its_variable() -> None:
    with pytest.raises(ConfigurationError, match="MAX_AUDIO_UPLOAD_BYTES") as raised:
        load_settings({"MAX_AUDIO_UPLOAD_BYTES": "lots"})
    assert "integer" in str(raised.value)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"AUDIO_RETENTION_DAYS": "0", "SPEECH_TO_TEXT_PROVIDER": "azure"})
    assert "AUDIO_RETENTION_DAYS" in str(raised.value)
    assert "SPEECH_TO_TEXT_PROVIDER" in str(raised.value)


def test_a_deployed_function_with_real_services_starts() -> None:
    settings = load_settings(DEPLOYED)
    assert settings.deployed
    assert settings.audio_bucket == "coach-prod-audio"


@pytest.mark.parametrize(
    "missing", ["GOOGLE_CLOUD_PROJECT", "AUDIO_BUCKET", "REPORTS_BUCKET", "PRIVACY_PEPPER"]
)
def test_a_deployed_function_needs_explicit_names(missing: str) -> None:
    environ = {key: value for key, value in DEPLOYED.items() if key != missing}
    with pytest.raises(ConfigurationError, match=f"{missing} must be set"):
        load_settings(environ)


def test_a_deployed_function_refuses_the_local_pepper() -> None:
    with pytest.raises(ConfigurationError, match="PRIVACY_PEPPER must be a secret"):
        load_settings({**DEPLOYED, "PRIVACY_PEPPER": "local-only-pepper-not-secret"})


@pytest.mark.parametrize(
    "provider", ["SPEECH_TO_TEXT_PROVIDER", "TEXT_TO_SPEECH_PROVIDER", "LANGUAGE_MODEL_PROVIDER"]
)
def test_a_deployed_function_refuses_a_local_provider(provider: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{provider}=local"):
        load_settings({**DEPLOYED, provider: "local"})


@pytest.mark.parametrize(
    "host",
    [
        "FIRESTORE_EMULATOR_HOST",
        "PUBSUB_EMULATOR_HOST",
        "STORAGE_EMULATOR_HOST",
        "FIREBASE_AUTH_EMULATOR_HOST",
    ],
)
def test_a_deployed_function_refuses_an_emulator(host: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{host} is set"):
        load_settings({**DEPLOYED, host: "127.0.0.1:8081"})


def test_cors_origins_are_a_comma_separated_allowlist() -> None:
    settings = load_settings(
        {"CORS_ALLOWED_ORIGINS": "https://coach.example.com/, http://localhost:5000"}
    )
    assert settings.cors_allowed_origins == ["https://coach.example.com", "http://localhost:5000"]


@pytest.mark.parametrize("origin", ["*", "coach.example.com", "https://a.com,*"])
def test_cors_never_allows_a_wildcard_or_a_bare_host(origin: str) -> None:
    with pytest.raises(ConfigurationError, match="CORS_ALLOWED_ORIGINS"):
        load_settings({"CORS_ALLOWED_ORIGINS": origin})


def test_answer_caps_include_the_margin() -> None:
    settings = load_settings({"ANSWER_CAP_MARGIN_SECONDS": "5"})
    assert settings.answer_cap_seconds(2) == 125
    assert settings.answer_cap_seconds(1) == settings.max_answer_seconds_part1 + 5


def test_every_field_is_documented() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undocumented == []
