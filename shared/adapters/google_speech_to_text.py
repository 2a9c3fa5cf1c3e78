"""SpeechToText on Google Cloud Speech-to-Text v2 (``recognizers/*:recognize``).

- Request: the audio inline (16-bit PCM, sent as LINEAR16 with an explicit decoding config:
  sample rate, one channel), the model and language, word time offsets, word confidence and
  automatic punctuation on, profanity filter off (a learner's words are scored as spoken).
- Default model ``chirp_2`` in ``europe-west4``: Google's most accurate model on accented
  English, with word timestamps, served in the EU next to our functions (europe-west1).
- Default language ``en-GB``. IELTS accepts every accent; the chirp models are trained on
  many, and the variant mainly decides spelling (British, as IELTS materials use). A caller
  asking for plain ``en`` gets the configured variant; a full tag (``en-US``) is used as is.
- Response: every result's top alternative, in order; texts joined (with punctuation), words
  with their offsets (JSON durations like ``"1.500s"``), confidence (0 means "not given":
  None), edge punctuation stripped from each word; hesitations the engine reports are kept as
  filled pauses. No result (silence) is an empty transcript, not an error.
- Answers longer than ``sync_limit_seconds`` (synchronous recognition takes one minute at
  most) are split at pauses and recognised concurrently (``shared.speech.long_answers``).
- Every call goes through ``shared.resilience``: a timeout per attempt, retries with backoff
  for transient failures only (429, 500, 503, 504 / deadline, connection errors), and a
  circuit breaker, so an outage fails fast with ``DependencyUnavailable``. A refused request
  (400, 403, 404...) is not retried: it raises ``InternalError`` with the status.

The client is created on first use and reused. ``transport="rest"`` with
``endpoint="http://127.0.0.1:PORT"`` talks to a plain local HTTP server (contract tests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import speech_v2

from shared.adapters.google_calls import google_resilience
from shared.errors import InternalError
from shared.logging import get_logger
from shared.models.speech import TranscribedWord, Transcript
from shared.speech.long_answers import (
    canonical_language,
    filled_pause_form,
    strip_edge_punctuation,
    transcribe_long,
)

__all__ = ["GoogleSpeechConfig", "GoogleSpeechToText", "transcript_from_response"]

log = get_logger(__name__)

DEPENDENCY: Final = "speech_to_text"


@dataclass(frozen=True)
class GoogleSpeechConfig:
    """How to reach Speech-to-Text and what to ask it for.

    Attributes:
        project: the Google Cloud project that owns the recognizer (and is billed).
        location: where recognition runs; the model must be served there.
        recognizer: a recognizer id or full name; ``_`` (default) is the implicit recognizer
            that takes the whole config inline.
        model: ``chirp_2`` (default), ``chirp_3``, ``long``...
        language: the recognition language when the caller says only ``en``.
        endpoint: None for ``{location}-speech.googleapis.com`` (``speech.googleapis.com``
            for ``global``); ``http://127.0.0.1:PORT`` for a local fake (anonymous
            credentials, REST).
        transport: ``grpc`` in production; ``rest`` against a plain HTTP fake.
        timeout_seconds: the limit of one attempt (a minute of audio takes seconds).
        attempts: attempts per request, the first included (transient failures only).
        deadline_seconds: the limit of all attempts and waits of one request.
        sync_limit_seconds: longest audio sent in one request; longer answers are split.
            Google's limit is 60 s; the margin absorbs rounding of the audio's length.
        max_concurrent_requests: requests in flight for one long answer.
        breaker_failures: consecutive failed calls that open the circuit breaker.
        breaker_reset_seconds: how long an open breaker refuses calls before one trial.
    """

    project: str
    location: str = "europe-west4"
    recognizer: str = "_"
    model: str = "chirp_2"
    language: str = "en-GB"
    endpoint: str | None = None
    transport: Literal["grpc", "rest"] = "grpc"
    timeout_seconds: float = 30.0
    attempts: int = 3
    deadline_seconds: float = 75.0
    sync_limit_seconds: float = 55.0
    max_concurrent_requests: int = 4
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not self.project or not self.location:
            raise ValueError("project and location are required")
        if self.timeout_seconds <= 0 or self.attempts < 1:
            raise ValueError("timeout_seconds must be positive and attempts at least 1")
        if not 1 <= self.sync_limit_seconds <= 60:
            raise ValueError("sync_limit_seconds must be between 1 and 60")
        if self.max_concurrent_requests < 1:
            raise ValueError("max_concurrent_requests must be at least 1")

    @property
    def recognizer_name(self) -> str:
        if self.recognizer.startswith("projects/"):
            return self.recognizer
        return f"projects/{self.project}/locations/{self.location}/recognizers/{self.recognizer}"

    @property
    def api_endpoint(self) -> str:
        if self.endpoint:
            return self.endpoint
        if self.location == "global":
            return "speech.googleapis.com"
        return f"{self.location}-speech.googleapis.com"


def _seconds(value: timedelta | None) -> float:
    return value.total_seconds() if value is not None else 0.0


def transcript_from_response(
    response: speech_v2.RecognizeResponse,
    *,
    duration_seconds: float,
    language: str,
    model: str,
) -> Transcript:
    """Our transcript from a ``RecognizeResponse``: results in order, top alternatives."""
    texts: list[str] = []
    words: list[TranscribedWord] = []
    reported: str | None = None
    for result in response.results:
        if not result.alternatives:
            continue
        best = result.alternatives[0]
        if best.transcript.strip():
            texts.append(best.transcript.strip())
        if result.language_code and reported is None:
            reported = canonical_language(result.language_code)
        for info in best.words:
            text = strip_edge_punctuation(info.word)
            if not text:
                continue
            pause = filled_pause_form(text)
            start = min(max(0.0, _seconds(info.start_offset)), duration_seconds)
            end = min(max(start, _seconds(info.end_offset)), duration_seconds)
            words.append(
                TranscribedWord(
                    text=pause or text,
                    start=round(start, 3),
                    end=round(end, 3),
                    # 0 is proto3's "not set": Google gives no confidence rather than zero.
                    confidence=min(1.0, info.confidence) if info.confidence > 0 else None,
                    filled_pause=pause is not None,
                )
            )
    return Transcript(
        text=" ".join(texts),
        words=words,
        language=reported or language,
        model=model,
        duration_seconds=duration_seconds,
    )


class GoogleSpeechToText:
    """``ports.SpeechToText`` on Google Cloud Speech-to-Text v2."""

    provider: Final = "google"

    def __init__(
        self,
        config: GoogleSpeechConfig,
        *,
        credentials: Credentials | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``credentials`` default to the environment's (anonymous for an ``http://``
        endpoint); ``sleep`` and ``clock`` drive backoff and the breaker (tests pass fakes)."""
        self._config = config
        self._credentials = credentials
        self._client: speech_v2.SpeechClient | None = None
        self._lock = threading.Lock()
        self._resilience = google_resilience(DEPENDENCY, config, sleep=sleep, clock=clock)

    @property
    def model(self) -> str:
        return f"google/{self._config.model}"

    def transcribe(self, pcm16: bytes, sample_rate_hz: int, *, language: str) -> Transcript:
        """Transcribe 16-bit little-endian mono PCM.

        Raises:
            ValueError: an odd number of bytes or a sample rate out of 8-48 kHz.
            DependencyUnavailable: Speech-to-Text did not answer (after retries), or the
                circuit breaker is open.
            InternalError: Speech-to-Text refused the request.
        """
        if len(pcm16) % 2:
            raise ValueError("16-bit PCM must have an even number of bytes")
        if not 8000 <= sample_rate_hz <= 48000:
            raise ValueError("Speech-to-Text takes LINEAR16 at 8 to 48 kHz")
        recognition_language = self._recognition_language(language)
        duration = len(pcm16) / 2 / sample_rate_hz
        if not pcm16:
            return Transcript(
                text="",
                words=[],
                language=recognition_language,
                model=self.model,
                duration_seconds=0.0,
            )
        started = time.monotonic()
        if duration > self._config.sync_limit_seconds:
            transcript = transcribe_long(
                pcm16,
                sample_rate_hz,
                language=recognition_language,
                transcribe_chunk=self._recognize,
                limit_seconds=self._config.sync_limit_seconds,
                model=self.model,
                max_workers=self._config.max_concurrent_requests,
            )
        else:
            transcript = self._recognize(pcm16, sample_rate_hz, recognition_language)
        log.info(
            "speech_transcribed",
            provider=self.provider,
            model=self._config.model,
            language=transcript.language,
            audio_seconds=round(duration, 2),
            words=len(transcript.words),
            filled_pauses=sum(word.filled_pause for word in transcript.words),
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        return transcript

    def _recognition_language(self, requested: str) -> str:
        default = canonical_language(self._config.language)
        if not requested:
            return default
        tag = canonical_language(requested)
        if "-" not in tag and tag == default.split("-")[0]:
            return default  # "en": the configured variant of English
        return tag

    # --- one request -------------------------------------------------------------------------
    def _recognize(self, pcm16: bytes, sample_rate_hz: int, language: str) -> Transcript:
        config = self._config
        request = speech_v2.RecognizeRequest(
            recognizer=config.recognizer_name,
            config=speech_v2.RecognitionConfig(
                explicit_decoding_config=speech_v2.ExplicitDecodingConfig(
                    encoding=speech_v2.ExplicitDecodingConfig.AudioEncoding.LINEAR16,
                    sample_rate_hertz=sample_rate_hz,
                    audio_channel_count=1,
                ),
                model=config.model,
                language_codes=[language],
                features=speech_v2.RecognitionFeatures(
                    profanity_filter=False,
                    enable_word_time_offsets=True,
                    enable_word_confidence=True,
                    enable_automatic_punctuation=True,
                ),
            ),
            content=pcm16,
        )
        client = self._speech()

        def call(timeout: float) -> speech_v2.RecognizeResponse:
            # retry=None: shared.resilience owns retries, so attempts never multiply.
            return client.recognize(request=request, timeout=timeout, retry=None)

        try:
            response = self._resilience.call(call)
        except gexc.GoogleAPICallError as error:
            status = int(error.code) if error.code is not None else None
            log.error(
                "speech_recognition_refused",
                provider=self.provider,
                status=status,
                reason=type(error).__name__,
            )
            raise InternalError(
                "Speech-to-Text refused the request.",
                details={
                    "dependency": DEPENDENCY,
                    "status": status,
                    "reason": type(error).__name__,
                },
            ) from error
        return transcript_from_response(
            response,
            duration_seconds=len(pcm16) / 2 / sample_rate_hz,
            language=language,
            model=self.model,
        )

    def _speech(self) -> speech_v2.SpeechClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> speech_v2.SpeechClient:
        endpoint = self._config.api_endpoint
        credentials = self._credentials
        if credentials is None and endpoint.startswith("http://"):
            # A local fake checks no token.
            credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        return speech_v2.SpeechClient(
            transport=self._config.transport,
            credentials=credentials,
            client_options=ClientOptions(api_endpoint=endpoint),
        )
