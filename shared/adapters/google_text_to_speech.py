"""TextToSpeech on Google Cloud Text-to-Speech v1 (``text:synthesize``).

- Voices: one per examiner accent (``GoogleTextToSpeechConfig.voices``, default
  ``examiner_voice.GOOGLE_VOICES``: Neural2 voices for en-GB, en-US and en-AU).
- Input: SSML with ``<break>`` where an examiner pauses, every piece of text XML-escaped; a
  voice marked ``ssml=False`` gets plain text.
- Output: MP3, which every browser the PWA targets plays (Ogg Opus is not played by older
  Safari). A line over the 5,000-byte input limit is cut at sentence boundaries into several
  requests; their MP3 frames are joined in order (tags and the encoder's info frame dropped,
  so no header claims the length of one part) and the duration is counted from the frames.
- Calls go through ``shared.resilience``: a timeout per attempt, retries with backoff only for
  transient failures (429, 500, 503, 504, connection errors), and a circuit breaker, so a
  Text-to-Speech outage fails fast with ``DependencyUnavailable``. A refused request (400,
  403, 404) is not retried: it raises ``InternalError`` with the status, never the text.

The client is created on first use and reused for the life of the instance. For contract
tests, ``endpoint="http://127.0.0.1:PORT"`` with ``transport="rest"`` talks to a plain local
HTTP server with anonymous credentials.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import texttospeech

from shared.adapters.google_calls import google_resilience
from shared.errors import InternalError
from shared.logging import get_logger
from shared.models.speech import SynthesizedSpeech
from shared.models.user import ExaminerVoice
from shared.speech.examiner_voice import (
    EXAMINER_VOICES,
    GOOGLE_INPUT_LIMIT_BYTES,
    GOOGLE_VOICES,
    GoogleVoice,
    check_speaking_rate,
    examiner_voice,
    request_inputs,
)

__all__ = [
    "GoogleTextToSpeech",
    "GoogleTextToSpeechConfig",
    "concatenate_mp3",
    "mp3_duration_seconds",
]

log = get_logger(__name__)

DEPENDENCY: Final = "text_to_speech"


@dataclass(frozen=True)
class GoogleTextToSpeechConfig:
    """How to reach Text-to-Speech and which voices to use.

    Attributes:
        voices: examiner voice -> Text-to-Speech voice (language code, name, SSML or not).
        audio_encoding: MP3 only: it plays everywhere and its frames concatenate.
        sample_rate_hertz: None keeps each voice's natural rate (24 kHz for Neural2).
        quota_project: project billed for the calls; None uses the credentials' project.
        endpoint: None for the global endpoint; "eu-texttospeech.googleapis.com" to keep
            data in the EU (check the voices are served there); "http://127.0.0.1:PORT" for
            a local fake (anonymous credentials).
        transport: "grpc" in production; "rest" against a plain HTTP fake.
        timeout_seconds: the limit of one attempt of one request.
        attempts: attempts per request, the first included (transient failures only).
        deadline_seconds: the limit of all attempts and waits of one request.
        breaker_failures: consecutive failed calls that open the circuit breaker.
        breaker_reset_seconds: how long an open breaker refuses calls before one trial.
        max_input_bytes: the provider's limit on one request's text or SSML.
    """

    voices: Mapping[ExaminerVoice, GoogleVoice] = field(default_factory=lambda: GOOGLE_VOICES)
    audio_encoding: Literal["MP3"] = "MP3"
    sample_rate_hertz: int | None = None
    quota_project: str | None = None
    endpoint: str | None = None
    transport: Literal["grpc", "rest"] = "grpc"
    timeout_seconds: float = 10.0
    attempts: int = 3
    deadline_seconds: float = 25.0
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0
    max_input_bytes: int = GOOGLE_INPUT_LIMIT_BYTES

    def __post_init__(self) -> None:
        missing = [voice for voice in EXAMINER_VOICES if voice not in self.voices]
        if missing:
            raise ValueError(f"no Text-to-Speech voice for examiner voices {missing}")
        if self.timeout_seconds <= 0 or self.attempts < 1:
            raise ValueError("timeout_seconds must be positive and attempts at least 1")


class GoogleTextToSpeech:
    """``ports.TextToSpeech`` on Google Cloud Text-to-Speech v1."""

    provider: Final = "google"

    def __init__(
        self,
        config: GoogleTextToSpeechConfig | None = None,
        *,
        credentials: Credentials | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``credentials`` default to the environment's (anonymous for an ``http://``
        endpoint); ``sleep`` and ``clock`` drive backoff and the breaker (tests pass fakes)."""
        self._config = config = config or GoogleTextToSpeechConfig()
        self._credentials = credentials
        self._client: texttospeech.TextToSpeechClient | None = None
        self._lock = threading.Lock()
        self._resilience = google_resilience(DEPENDENCY, config, sleep=sleep, clock=clock)

    def voice_identity(self, voice: str) -> str:
        """What decides the sound of ``voice`` here (the voice cache keys on it)."""
        chosen = self._config.voices[examiner_voice(voice)]
        rate = self._config.sample_rate_hertz or "natural"
        form = "ssml" if chosen.ssml else "text"
        encoding = self._config.audio_encoding
        return f"google/{chosen.language_code}/{chosen.name}/{form}/{encoding}/{rate}"

    def synthesize(self, text: str, *, voice: str, speaking_rate: float = 1.0) -> SynthesizedSpeech:
        """Speak ``text`` as ``voice`` at ``speaking_rate`` (1.0 is the voice's own pace).

        Raises:
            ValueError: empty text, unknown voice or a rate outside 0.5 to 2.0.
            DependencyUnavailable: Text-to-Speech did not answer (after retries), or the
                circuit breaker is open.
            InternalError: Text-to-Speech refused the request or answered with no MP3 audio.
        """
        chosen = self._config.voices[examiner_voice(voice)]
        rate = check_speaking_rate(speaking_rate)
        inputs = request_inputs(text, ssml=chosen.ssml, max_bytes=self._config.max_input_bytes)
        started = time.monotonic()
        parts = [self._synthesize_one(piece, chosen, rate) for piece in inputs]
        audio = concatenate_mp3(parts)
        duration = mp3_duration_seconds(audio)
        if duration <= 0:
            raise InternalError(
                "Text-to-Speech answered without MP3 audio.",
                details={"dependency": DEPENDENCY, "reason": "no_audio_frames"},
            )
        log.info(
            "speech_synthesized",
            provider=self.provider,
            voice=chosen.name,
            speaking_rate=rate,
            characters=len(text),
            requests=len(inputs),
            audio_seconds=round(duration, 3),
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        return SynthesizedSpeech(
            audio=audio, mime_type="audio/mpeg", duration_seconds=duration, voice=voice
        )

    # --- one request -------------------------------------------------------------------------
    def _synthesize_one(self, piece: str, chosen: GoogleVoice, rate: float) -> bytes:
        request = texttospeech.SynthesizeSpeechRequest(
            input=(
                texttospeech.SynthesisInput(ssml=piece)
                if chosen.ssml
                else texttospeech.SynthesisInput(text=piece)
            ),
            voice=texttospeech.VoiceSelectionParams(
                language_code=chosen.language_code, name=chosen.name
            ),
            audio_config=texttospeech.AudioConfig(
                audio_encoding=texttospeech.AudioEncoding.MP3,
                speaking_rate=rate,
                sample_rate_hertz=self._config.sample_rate_hertz or 0,
            ),
        )
        client = self._tts()

        def call(timeout: float) -> bytes:
            # retry=None: shared.resilience owns retries, so attempts never multiply.
            response = client.synthesize_speech(request=request, timeout=timeout, retry=None)
            return bytes(response.audio_content)

        try:
            return self._resilience.call(call)
        except gexc.GoogleAPICallError as error:
            raise InternalError(
                "Text-to-Speech refused the request.",
                details={
                    "dependency": DEPENDENCY,
                    "status": error.code,
                    "reason": type(error).__name__,
                },
            ) from None

    def _tts(self) -> texttospeech.TextToSpeechClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> texttospeech.TextToSpeechClient:
        config = self._config
        options = ClientOptions(api_endpoint=config.endpoint, quota_project_id=config.quota_project)
        credentials = self._credentials
        if credentials is None and (config.endpoint or "").startswith("http://"):
            credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]  # local fake
        return texttospeech.TextToSpeechClient(
            credentials=credentials, transport=config.transport, client_options=options
        )


# --- MP3 frames ------------------------------------------------------------------------------
# Bitrates in kbit/s by (MPEG-1?, layer) and the header's 4-bit index (0 "free", 15 invalid).
_BITRATES: Final[dict[tuple[bool, int], tuple[int, ...]]] = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# Sample rates by the header's version bits (3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5) and rate index.
_SAMPLE_RATES: Final[dict[int, tuple[int, int, int]]] = {
    3: (44100, 48000, 32000),
    2: (22050, 24000, 16000),
    0: (11025, 12000, 8000),
}


@dataclass(frozen=True)
class _Frame:
    start: int
    length: int
    samples: int
    sample_rate: int
    info: bool  # a Xing/Info/VBRI header frame: metadata, not audio


def _frame_at(data: bytes, offset: int) -> _Frame | None:
    if offset + 4 > len(data) or data[offset] != 0xFF or data[offset + 1] & 0xE0 != 0xE0:
        return None
    version = (data[offset + 1] >> 3) & 3
    layer = 4 - ((data[offset + 1] >> 1) & 3)  # header bits 3, 2, 1 mean layers I, II, III
    bitrate_index = data[offset + 2] >> 4
    rate_index = (data[offset + 2] >> 2) & 3
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    bitrate = _BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    sample_rate = _SAMPLE_RATES[version][rate_index]
    padding = (data[offset + 2] >> 1) & 1
    if layer == 1:
        samples, length = 384, (12 * bitrate // sample_rate + padding) * 4
    elif layer == 2 or mpeg1:
        samples, length = 1152, 144 * bitrate // sample_rate + padding
    else:
        samples, length = 576, 72 * bitrate // sample_rate + padding
    if offset + length > len(data):
        return None  # a truncated last frame carries no whole audio
    mono = data[offset + 3] >> 6 == 3
    side_info = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    tag_at = offset + 4 + side_info
    info = layer == 3 and (
        data[tag_at : tag_at + 4] in (b"Xing", b"Info")
        or data[offset + 36 : offset + 40] == b"VBRI"
    )
    return _Frame(offset, length, samples, sample_rate, info)


def _frames(data: bytes) -> Iterator[_Frame]:
    offset = 0
    if data[:3] == b"ID3" and len(data) >= 10:  # ID3v2: a 10-byte header and a syncsafe size
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        offset = 10 + size + (10 if data[5] & 0x10 else 0)
    while offset + 4 <= len(data):
        if data[offset : offset + 3] == b"TAG" and len(data) - offset == 128:
            return  # ID3v1 at the very end
        frame = _frame_at(data, offset)
        if frame is None:
            offset += 1  # not a frame header: resynchronise on the next byte
            continue
        yield frame
        offset += frame.length


def _audio_frames(data: bytes) -> list[_Frame]:
    return [frame for frame in _frames(data) if not frame.info]


def concatenate_mp3(parts: Sequence[bytes]) -> bytes:
    """MP3 files joined into one stream, in order.

    One part is returned as it is. Several are reduced to their audio frames (ID3 tags and
    Xing/Info/VBRI frames dropped, as those would describe only the first part).
    """
    if len(parts) == 1:
        return parts[0]
    joined = bytearray()
    for part in parts:
        for frame in _audio_frames(part):
            joined += part[frame.start : frame.start + frame.length]
    return bytes(joined)


def mp3_duration_seconds(data: bytes) -> float:
    """Seconds of audio in an MP3 stream, counted frame by frame (0.0 if it holds none)."""
    return sum(frame.samples / frame.sample_rate for frame in _audio_frames(data))
