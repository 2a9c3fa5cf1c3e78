"""Audio intake: from the raw bytes of a learner's answer to 16 kHz mono PCM with its measures,
or a refusal with a specific code.

    prepared = prepare_answer_audio(body, max_bytes=..., max_seconds=..., min_speech_seconds=...)

Steps, cheapest first: size gate, magic-byte gate (``formats``), decode and normalise with
PyAV (``decoding``), measure with numpy and webrtcvad (``measures``), then the content gates:

- no speech found: ``audio_silent``; but loud, spectrally flat noise (>= -12 dBFS RMS,
  flatness >= 0.3) is ``audio_corrupt``. That is what a WAV header followed by garbage decodes
  to, and no microphone delivers white noise that loud: telling this learner to check a
  microphone that works would mislead them.
- speech quieter than ``TOO_QUIET_DBFS`` (-50 dBFS RMS over speech): ``audio_too_quiet``.
  Browsers deliver speech at -15 to -30 dBFS (the ITU-T P.56 nominal active speech level is
  -26 dBov); 24 dB below nominal is what a muted or distant microphone, or a wrong input,
  gives, and recognisers lose words fast as the mic's own noise takes over. Between -50 and
  ``LOW_LEVEL_DBFS`` (-40) the answer is accepted with a ``low_level`` warning.
- less detected speech than ``min_speech_seconds``: ``audio_too_short``.

Importing this module is cheap: PyAV, numpy and webrtcvad load on the first call (or with
``preload()`` at cold start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from shared.speech.audio_errors import (
    AudioCorrupt,
    AudioEmpty,
    AudioSilent,
    AudioTooLarge,
    AudioTooQuiet,
    AudioTooShort,
    AudioUnsupportedFormat,
)
from shared.speech.formats import identify

if TYPE_CHECKING:
    from shared.speech.decoding import DecodedAudio
    from shared.speech.measures import Measures

__all__ = [
    "CLIPPED_RATIO",
    "LOW_LEVEL_DBFS",
    "NOISY_SNR_DB",
    "TOO_QUIET_DBFS",
    "PreparedAudio",
    "preload",
    "prepare_answer_audio",
]

TOO_QUIET_DBFS = -50.0
LOW_LEVEL_DBFS = -40.0
# 0.1% of samples at full scale is audible distortion and hurts recognition.
CLIPPED_RATIO = 0.001
# Speech less than 10 dB above the background: recognisers start dropping words.
NOISY_SNR_DB = 10.0
# Garbage decoded as PCM: loud and spectrally flat, with no voiced speech.
_GARBAGE_MIN_DBFS = -12.0
_GARBAGE_MIN_FLATNESS = 0.3


class PreparedAudio(BaseModel):
    """A learner's answer, decoded, normalised and measured."""

    model_config = ConfigDict(frozen=True)

    pcm16: bytes = Field(repr=False, description="16 kHz mono signed 16-bit little-endian PCM.")
    sample_rate_hz: int = Field(default=16000, description="Always 16000.")
    format: str = Field(description="Container/codec as decoded, e.g. 'webm/opus'.")
    extension: str = Field(description="File extension for storing the original bytes.")
    mime_type: str = Field(description="Content-Type for storing the original bytes.")
    duration_seconds: float = Field(ge=0, description="From the decoded samples.")
    speech_seconds: float = Field(ge=0, description="Sum of the speech segments.")
    speech_segments: list[tuple[float, float]] = Field(
        description="(start, end) seconds of speech: 30 ms VAD frames, gaps < 0.24 s merged."
    )
    level_dbfs: float = Field(description="RMS level over the speech segments (dBFS).")
    peak_dbfs: float = Field(description="Highest absolute sample (dBFS).")
    clipping_ratio: float = Field(ge=0, le=1, description="Share of samples at full scale.")
    noise_floor_dbfs: float = Field(description="RMS of the quietest 10% of 30 ms frames.")
    source_sample_rate_hz: int = Field(description="Sample rate of the stream as recorded.")
    source_channels: int = Field(description="Channels of the stream as recorded.")
    warnings: list[str] = Field(
        default_factory=list,
        description="clipped, low_level, noisy, truncated, decode_errors, stream_changed.",
    )


def preload() -> None:
    """Import PyAV, numpy and webrtcvad now (at cold start) rather than on the first answer."""
    import shared.speech.decoding
    import shared.speech.measures  # noqa: F401


def prepare_answer_audio(
    data: bytes, *, max_bytes: int, max_seconds: float, min_speech_seconds: float
) -> PreparedAudio:
    """Identify, decode, normalise and measure one answer, or refuse it.

    Raises (all subclasses of ``AudioRejected`` and of a ``shared.errors`` class):
        AudioEmpty, AudioTooLarge, AudioUnsupportedFormat, AudioCorrupt, AudioTooLong,
        AudioSilent, AudioTooQuiet, AudioTooShort.
    """
    if not data:
        raise AudioEmpty(details={"size_bytes": 0})
    if len(data) > max_bytes:
        raise AudioTooLarge(
            f"The recording is too large ({_mb(len(data))} MB; the limit is {_mb(max_bytes)} "
            "MB). Record a shorter answer, or use the app's recorder.",
            details={"size_bytes": len(data), "limit_bytes": max_bytes},
        )
    sniffed = identify(data)
    if sniffed is None:
        raise AudioUnsupportedFormat(
            details={"reason": "unrecognised_leading_bytes", "leading_bytes": data[:12].hex()}
        )
    from shared.speech.decoding import decode_audio
    from shared.speech.measures import measure

    decoded = decode_audio(data, sniffed, max_seconds=max_seconds)
    measures = measure(decoded.samples)
    _check_content(measures, min_speech_seconds)
    return PreparedAudio(
        pcm16=decoded.samples.astype("<i2", copy=False).tobytes(),
        format=f"{decoded.container}/{decoded.codec}",
        extension=sniffed.kind.extension,
        mime_type=sniffed.kind.mime_type,
        duration_seconds=round(measures.duration_seconds, 3),
        speech_seconds=measures.speech_seconds,
        speech_segments=list(measures.speech_segments),
        level_dbfs=measures.level_dbfs,
        peak_dbfs=measures.peak_dbfs,
        clipping_ratio=round(measures.clipping_ratio, 6),
        noise_floor_dbfs=measures.noise_floor_dbfs,
        source_sample_rate_hz=decoded.source_sample_rate_hz,
        source_channels=decoded.source_channels,
        warnings=_warnings(decoded, measures),
    )


def _check_content(measures: Measures, min_speech_seconds: float) -> None:
    numbers = {
        "duration_seconds": round(measures.duration_seconds, 3),
        "speech_seconds": measures.speech_seconds,
        "level_dbfs": measures.level_dbfs,
        "peak_dbfs": measures.peak_dbfs,
    }
    if not measures.speech_segments:
        if (
            measures.overall_dbfs >= _GARBAGE_MIN_DBFS
            and measures.flatness >= _GARBAGE_MIN_FLATNESS
        ):
            raise AudioCorrupt(
                details={"reason": "decodes_to_noise", "flatness": measures.flatness, **numbers}
            )
        raise AudioSilent(details=numbers)
    if measures.level_dbfs < TOO_QUIET_DBFS:
        raise AudioTooQuiet(details={**numbers, "min_level_dbfs": TOO_QUIET_DBFS})
    if measures.speech_seconds < min_speech_seconds:
        raise AudioTooShort(
            f"We heard only {measures.speech_seconds:.1f} s of speech; we need at least "
            f"{min_speech_seconds:g} s to assess your answer. Answer in a few full sentences "
            "and record again.",
            details={**numbers, "min_speech_seconds": min_speech_seconds},
        )


def _warnings(decoded: DecodedAudio, measures: Measures) -> list[str]:
    warnings = list(decoded.warnings)
    if measures.clipping_ratio >= CLIPPED_RATIO:
        warnings.append("clipped")
    if measures.level_dbfs < LOW_LEVEL_DBFS:
        warnings.append("low_level")
    if measures.level_dbfs - measures.noise_floor_dbfs < NOISY_SNR_DB:
        warnings.append("noisy")
    return warnings


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f}"
