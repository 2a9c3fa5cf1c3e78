"""The composition root: which adapter serves each port, created lazily, once per instance.

Real adapters are the default. Tests build a ``Container`` with fakes and ``install`` it.
Nothing here imports a Google client at module level: an adapter module (and its client
library) is imported the first time its port is used, so a function that never transcribes
never pays for Speech-to-Text at cold start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from shared.config import Settings, get_settings
from shared.ports import (
    BlobStore,
    Clock,
    DocumentStore,
    EventPublisher,
    IdentityAdmin,
    LanguageModel,
    SpeechToText,
    TextToSpeech,
    TokenVerifier,
)

T = TypeVar("T")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Container:
    """Holds one instance per port; pass an instance to override the default adapter."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: DocumentStore | None = None,
        blobs: BlobStore | None = None,
        events: EventPublisher | None = None,
        token_verifier: TokenVerifier | None = None,
        identity_admin: IdentityAdmin | None = None,
        speech_to_text: SpeechToText | None = None,
        text_to_speech: TextToSpeech | None = None,
        language_model: LanguageModel | None = None,
        clock: Clock | None = None,
    ):
        self.settings = settings
        self._lock = threading.Lock()
        self._instances: dict[str, Any] = {
            name: value
            for name, value in {
                "store": store,
                "blobs": blobs,
                "events": events,
                "token_verifier": token_verifier,
                "identity_admin": identity_admin,
                "speech_to_text": speech_to_text,
                "text_to_speech": text_to_speech,
                "language_model": language_model,
                "clock": clock,
            }.items()
            if value is not None
        }

    def _get(self, name: str, factory: Callable[[Settings], T]) -> T:
        instance = self._instances.get(name)
        if instance is None:
            with self._lock:  # functions serve concurrent requests: build each client once
                instance = self._instances.get(name)
                if instance is None:
                    instance = factory(self.settings)
                    self._instances[name] = instance
        return instance

    @property
    def store(self) -> DocumentStore:
        return self._get("store", _firestore)

    @property
    def blobs(self) -> BlobStore:
        return self._get("blobs", _cloud_storage)

    @property
    def events(self) -> EventPublisher:
        return self._get("events", _pubsub)

    @property
    def token_verifier(self) -> TokenVerifier:
        return self._get("token_verifier", _firebase_auth)

    @property
    def identity_admin(self) -> IdentityAdmin:
        return self._get("identity_admin", _firebase_identity_admin)

    @property
    def speech_to_text(self) -> SpeechToText:
        return self._get("speech_to_text", _speech_to_text)

    @property
    def text_to_speech(self) -> TextToSpeech:
        return self._get("text_to_speech", _text_to_speech)

    @property
    def language_model(self) -> LanguageModel | None:
        """Gemini in production; None locally (every use has a deterministic offline path)."""
        if "language_model" not in self._instances:
            with self._lock:
                if "language_model" not in self._instances:
                    self._instances["language_model"] = _language_model(self.settings)
        return self._instances["language_model"]  # type: ignore[no-any-return]

    @property
    def clock(self) -> Clock:
        return self._get("clock", lambda _: SystemClock())


# --- Default adapters, imported on first use --------------------------------------------------
def _firestore(settings: Settings) -> DocumentStore:
    from shared.adapters.firestore_store import FirestoreStore

    return FirestoreStore(settings)


def _cloud_storage(settings: Settings) -> BlobStore:
    from shared.adapters.gcs_blobs import CloudStorageBlobs

    return CloudStorageBlobs(settings)


def _pubsub(settings: Settings) -> EventPublisher:
    from shared.adapters.pubsub_events import PubSubPublisher

    return PubSubPublisher(settings)


def _firebase_auth(settings: Settings) -> TokenVerifier:
    from shared.adapters.firebase_auth import FirebaseTokenVerifier

    return FirebaseTokenVerifier(settings)


def _firebase_identity_admin(settings: Settings) -> IdentityAdmin:
    from shared.adapters.firebase_identity import FirebaseIdentityAdmin

    return FirebaseIdentityAdmin(settings)


def _speech_to_text(settings: Settings) -> SpeechToText:
    if settings.speech_to_text_provider == "google":
        from shared.adapters.google_speech_to_text import GoogleSpeechConfig, GoogleSpeechToText

        return GoogleSpeechToText(
            GoogleSpeechConfig(
                project=settings.google_cloud_project,
                location=settings.speech_to_text_location,
                recognizer=settings.speech_to_text_recognizer,
                model=settings.speech_to_text_model,
                language=settings.speech_to_text_language,
                endpoint=settings.speech_to_text_endpoint,
            )
        )
    from shared.speech.pocketsphinx_stt import PocketsphinxSpeechToText

    return PocketsphinxSpeechToText()


def _text_to_speech(settings: Settings) -> TextToSpeech:
    if settings.text_to_speech_provider == "google":
        from shared.adapters.google_text_to_speech import (
            GoogleTextToSpeech,
            GoogleTextToSpeechConfig,
        )
        from shared.speech.examiner_voice import GoogleVoice

        return GoogleTextToSpeech(
            GoogleTextToSpeechConfig(
                voices={
                    "british": GoogleVoice.from_name(settings.text_to_speech_voice_british),
                    "american": GoogleVoice.from_name(settings.text_to_speech_voice_american),
                    "australian": GoogleVoice.from_name(settings.text_to_speech_voice_australian),
                },
                endpoint=settings.text_to_speech_endpoint,
            )
        )
    from shared.speech.flite_tts import FliteTextToSpeech

    return FliteTextToSpeech()


def _language_model(settings: Settings) -> LanguageModel | None:
    # No language model runs offline: callers take their deterministic path when this is None.
    if settings.language_model_provider != "google":
        return None
    from shared.adapters.gemini import GeminiConfig, GeminiLanguageModel

    return GeminiLanguageModel(
        GeminiConfig(
            project=settings.google_cloud_project,
            location=settings.language_model_location,
            model=settings.language_model_name,
            endpoint=settings.language_model_endpoint,
        )
    )


_container: Container | None = None
_container_lock = threading.Lock()


def get_container() -> Container:
    """The instance's container, built from Settings on first use."""
    global _container
    if _container is None:
        with _container_lock:
            if _container is None:
                _container = Container(get_settings())
    return _container


def install(container: Container | None) -> None:
    """Replace the instance's container (tests install fakes; None resets to the default)."""
    global _container
    with _container_lock:
        _container = container
