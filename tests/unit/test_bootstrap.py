"""The composition root: the provider setting picks the adapter, each built once, lazily."""

from __future__ import annotations

import sys

import pytest

from shared.bootstrap import Container
from shared.config import ConfigurationError, load_settings


@pytest.mark.parametrize(
    ("provider", "speech_to_text", "text_to_speech"),
    [
        ("local", "PocketsphinxSpeechToText", "FliteTextToSpeech"),
        ("google", "GoogleSpeechToText", "GoogleTextToSpeech"),
    ],
)
def test_the_provider_setting_picks_the_adapter(
    provider: str, speech_to_text: str, text_to_speech: str
) -> None:
    container = Container(
        load_settings({"SPEECH_TO_TEXT_PROVIDER": provider, "TEXT_TO_SPEECH_PROVIDER": provider})
    )
    assert type(container.speech_to_text).__name__ == speech_to_text
    assert type(container.text_to_speech).__name__ == text_to_speech


def test_each_adapter_is_built_once_per_instance() -> None:
    container = Container(load_settings({}))
    assert container.text_to_speech is container.text_to_speech
    assert container.clock is container.clock


def test_building_a_container_loads_no_client_library() -> None:
    before = set(sys.modules)
    Container(load_settings({"SPEECH_TO_TEXT_PROVIDER": "google"}))
    loaded = {name for name in set(sys.modules) - before if name.startswith("google.cloud")}
    assert loaded == set()


def test_a_voice_name_is_checked_at_cold_start() -> None:
    with pytest.raises(ConfigurationError, match="TEXT_TO_SPEECH_VOICE_BRITISH"):
        load_settings({"TEXT_TO_SPEECH_VOICE_BRITISH": "posh"})


def test_no_language_model_runs_offline() -> None:
    assert Container(load_settings({})).language_model is None
    google = Container(load_settings({"LANGUAGE_MODEL_PROVIDER": "google"}))
    assert type(google.language_model).__name__ == "GeminiLanguageModel"
