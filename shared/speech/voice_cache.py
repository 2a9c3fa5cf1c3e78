"""Examiner audio, synthesised once per distinct line and kept in the BlobStore.

A line's blob is named by the SHA-256 of a canonical JSON of everything that decides its sound
(provider, examiner voice, the provider's own voice when it says, speaking rate, normalised
text), so every instance and every process finds the same name, and the blob never changes
once written. The caller signs a URL for the returned name.

    cache = VoiceCache(container.text_to_speech, container.blobs, bucket=..., provider="flite")
    audio = cache.synthesize("Good morning.", voice="british")
    url = container.blobs.signed_url(audio.bucket, audio.blob_name)
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from shared.logging import get_logger
from shared.ports import BlobStore, TextToSpeech
from shared.speech.examiner_voice import check_speaking_rate, examiner_voice, normalise_text

__all__ = ["CACHE_KEY_VERSION", "CachedSpeech", "DescribesVoices", "VoiceCache", "cache_key"]

log = get_logger(__name__)

# Bump when the audio for the same inputs would change (pause rules, encoding): old blobs are
# then simply not found again, and expire under the bucket's lifecycle rule.
CACHE_KEY_VERSION: Final = 1


@runtime_checkable
class DescribesVoices(Protocol):
    """An engine that can say which of its own voices (and format) an examiner voice uses."""

    def voice_identity(self, voice: str) -> str: ...


@dataclass(frozen=True)
class CachedSpeech:
    """Where an examiner line's audio is stored; ``synthesized`` is True if this call made it."""

    bucket: str
    blob_name: str
    synthesized: bool


def cache_key(
    *,
    provider: str,
    voice: str,
    speaking_rate: float,
    text: str,
    voice_identity: str | None = None,
) -> str:
    """The line's SHA-256 (hex) over a canonical JSON: stable across processes and machines."""
    canonical = json.dumps(
        {
            "v": CACHE_KEY_VERSION,
            "provider": provider,
            "voice": voice,
            "engine_voice": voice_identity,
            "rate": f"{speaking_rate:.3f}",
            "text": normalise_text(text),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class VoiceCache:
    """Synthesise-once examiner lines on any ``TextToSpeech`` and ``BlobStore``.

    Args:
        engine: the synthesiser; if it has ``voice_identity`` (both adapters do), a change of
            the provider's voice or format behind an examiner voice changes the key.
        blobs: where the audio lives.
        bucket: the bucket for examiner audio.
        provider: names the engine in the key (e.g. "google", "flite").
        prefix: folder of the blobs inside the bucket.
        remembered: how many names this instance remembers as stored, saving a lookup each
            (blobs are never rewritten, so a name once stored stays right).
    """

    def __init__(
        self,
        engine: TextToSpeech,
        blobs: BlobStore,
        *,
        bucket: str,
        provider: str,
        prefix: str = "examiner-audio/",
        remembered: int = 2048,
    ) -> None:
        if not provider:
            raise ValueError("provider must name the engine")
        self._engine = engine
        self._blobs = blobs
        self._bucket = bucket
        self._provider = provider
        self._prefix = prefix
        self._remembered_max = remembered
        self._remembered: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def blob_name(self, text: str, *, voice: str, speaking_rate: float = 1.0) -> str:
        """The name the line's audio has (or will have) in the bucket."""
        checked_voice = examiner_voice(voice)
        identity = (
            self._engine.voice_identity(checked_voice)
            if isinstance(self._engine, DescribesVoices)
            else None
        )
        key = cache_key(
            provider=self._provider,
            voice=checked_voice,
            speaking_rate=check_speaking_rate(speaking_rate),
            text=text,
            voice_identity=identity,
        )
        return f"{self._prefix}{self._provider}/{key}"

    def synthesize(self, text: str, *, voice: str, speaking_rate: float = 1.0) -> CachedSpeech:
        """The stored audio of the line, synthesising and storing it only if it is not there.

        Two instances racing on a new line both synthesise; the first write wins
        (``if_absent``) and both return the same name. Errors of the engine or the store
        propagate (``DependencyUnavailable`` when one does not answer).
        """
        name = self.blob_name(text, voice=voice, speaking_rate=speaking_rate)
        if self._is_remembered(name) or self._blobs.exists(self._bucket, name):
            self._remember(name)
            log.debug("examiner_audio_cached", blob=name)
            return CachedSpeech(self._bucket, name, synthesized=False)
        speech = self._engine.synthesize(text, voice=voice, speaking_rate=speaking_rate)
        written = self._blobs.put(
            self._bucket, name, speech.audio, content_type=speech.mime_type, if_absent=True
        )
        self._remember(name)
        log.info(
            "examiner_audio_stored",
            blob=name,
            provider=self._provider,
            voice=voice,
            bytes=len(speech.audio),
            audio_seconds=round(speech.duration_seconds, 3),
            written=written,
        )
        return CachedSpeech(self._bucket, name, synthesized=True)

    def warm(
        self, texts: Iterable[str], *, voice: str, speaking_rate: float = 1.0
    ) -> list[CachedSpeech]:
        """Synthesise ahead of time (bank questions), so a turn waits only for transcription."""
        return [self.synthesize(text, voice=voice, speaking_rate=speaking_rate) for text in texts]

    def _is_remembered(self, name: str) -> bool:
        with self._lock:
            return name in self._remembered

    def _remember(self, name: str) -> None:
        with self._lock:
            self._remembered[name] = None
            self._remembered.move_to_end(name)
            while len(self._remembered) > self._remembered_max:
                self._remembered.popitem(last=False)
