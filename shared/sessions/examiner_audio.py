"""The examiner's voice for a move: synthesised once (VoiceCache), played through a signed URL.

Speech is a convenience on top of the text: when the engine or the bucket fails, the learner
still gets the examiner's line as text, flagged ``audio_unavailable``, and the test goes on.
A later GET of the session tries again.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from shared import errors
from shared.bootstrap import Container
from shared.logging import get_logger
from shared.speech.voice_cache import VoiceCache

__all__ = ["ExaminerSpeech", "speak"]

log = get_logger(__name__)

# One cache per container (an instance's lifetime): it remembers which lines are stored.
_caches: weakref.WeakKeyDictionary[Container, VoiceCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


@dataclass(frozen=True)
class ExaminerSpeech:
    """A line's audio as the app gets it, and what producing it cost."""

    text: str
    audio_url: str | None
    characters_synthesized: int = 0  # 0 for a cache hit (or a failed synthesis)

    @property
    def audio_unavailable(self) -> bool:
        return self.audio_url is None


def _cache(container: Container) -> VoiceCache:
    with _caches_lock:
        cache = _caches.get(container)
        if cache is None:
            engine = container.text_to_speech
            provider = str(getattr(engine, "provider", container.settings.text_to_speech_provider))
            cache = VoiceCache(
                engine, container.blobs, bucket=container.settings.audio_bucket, provider=provider
            )
            _caches[container] = cache
        return cache


def speak(container: Container, text: str, *, voice: str) -> ExaminerSpeech:
    """The line's audio URL (synthesising it if no instance has yet); text-only on failure."""
    characters = 0
    try:
        cached = _cache(container).synthesize(text, voice=voice)
        if cached.synthesized:
            characters = len(text)
        url = container.blobs.signed_url(
            cached.bucket,
            cached.blob_name,
            method="GET",
            expires_seconds=container.settings.signed_url_seconds,
        )
    except (errors.DependencyUnavailable, errors.InternalError) as error:
        # The test must not stop for the examiner's voice: the text carries the move.
        log.warning(
            "examiner_audio_unavailable",
            error_code=error.code,
            details=error.details,
            characters=len(text),
        )
        return ExaminerSpeech(text=text, audio_url=None, characters_synthesized=characters)
    return ExaminerSpeech(text=text, audio_url=url, characters_synthesized=characters)
