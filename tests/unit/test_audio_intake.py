"""prepare_answer_audio: the whole intake, its model, and one test per refusal code."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from shared import errors
from shared.speech import (
    AUDIO_ERROR_CODES,
    AudioCorrupt,
    AudioEmpty,
    AudioRejected,
    AudioSilent,
    AudioTooLarge,
    AudioTooLong,
    AudioTooQuiet,
    AudioTooShort,
    AudioUnsupportedFormat,
    PreparedAudio,
    prepare_answer_audio,
)
from shared.speech.intake import LOW_LEVEL_DBFS, TOO_QUIET_DBFS
from tests.unit import audio_corpus as corpus

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_seconds": 60.0, "min_speech_seconds": 1.0}
SPEECH_DIR = Path(__file__).resolve().parents[2] / "shared" / "speech"
STORAGE = {
    "webm/opus": ("webm", "audio/webm"),
    "webm/live": ("webm", "audio/webm"),
    "webm/vorbis": ("webm", "audio/webm"),
    "ogg/opus": ("ogg", "audio/ogg"),
    "ogg/vorbis": ("ogg", "audio/ogg"),
    "mp4/aac": ("m4a", "audio/mp4"),
    "mp4/opus": ("m4a", "audio/mp4"),
    "fmp4/aac": ("m4a", "audio/mp4"),
    "wav": ("wav", "audio/wav"),
    "mp3": ("mp3", "audio/mpeg"),
    "flac": ("flac", "audio/flac"),
}


def prepare(data: bytes, **overrides: float) -> PreparedAudio:
    limits = {**LIMITS, **overrides}
    return prepare_answer_audio(
        data,
        max_bytes=int(limits["max_bytes"]),
        max_seconds=limits["max_seconds"],
        min_speech_seconds=limits["min_speech_seconds"],
    )


# --- Accepted answers ------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", list(corpus.FORMATS))
def test_an_answer_in_every_format_is_prepared(fmt: str) -> None:
    prepared = prepare(corpus.answer(fmt, seconds=4.0))
    assert prepared.format == corpus.REPORTED[fmt]
    assert (prepared.extension, prepared.mime_type) == STORAGE[fmt]
    assert prepared.sample_rate_hz == 16000
    # duration_seconds is rounded to the millisecond (16 samples).
    assert len(prepared.pcm16) / 2 == pytest.approx(prepared.duration_seconds * 16000, abs=8)
    assert prepared.duration_seconds == pytest.approx(4.0, abs=0.13)
    assert 2.0 < prepared.speech_seconds < 4.0
    assert all(0 <= s < e <= prepared.duration_seconds for s, e in prepared.speech_segments)
    assert prepared.level_dbfs == pytest.approx(-22.0, abs=2.5)
    assert prepared.peak_dbfs < 0
    assert prepared.clipping_ratio == 0
    assert prepared.warnings == []


def test_pcm_is_16_bit_little_endian_mono() -> None:
    tone = corpus.tone(1.0, dbfs=-12.0)
    source = corpus.to_int16(tone)
    speech = corpus.to_int16(corpus.speech_like(2.0))
    prepared = prepare(corpus.wav_bytes(np.concatenate([speech, source])))
    pcm = np.frombuffer(prepared.pcm16, dtype="<i2")
    assert np.array_equal(pcm[-16000:], source)


def test_the_model_is_frozen_and_keeps_pcm_out_of_its_repr() -> None:
    prepared = prepare(corpus.answer("webm/live"))
    with pytest.raises(ValidationError):
        prepared.duration_seconds = 1.0  # type: ignore[misc]
    assert "pcm16" not in repr(prepared)
    assert set(PreparedAudio.model_fields) >= {
        "pcm16",
        "sample_rate_hz",
        "format",
        "extension",
        "mime_type",
        "duration_seconds",
        "speech_seconds",
        "speech_segments",
        "level_dbfs",
        "peak_dbfs",
        "clipping_ratio",
        "warnings",
    }


def test_48k_stereo_is_downmixed_and_resampled() -> None:
    left = corpus.speech_like(4.0, rate=48000)
    prepared = prepare(corpus.encode(np.vstack([left, left * 0.5]), "wav", rate=48000))
    assert (prepared.source_sample_rate_hz, prepared.source_channels) == (48000, 2)
    assert prepared.sample_rate_hz == 16000
    assert prepared.duration_seconds == pytest.approx(4.0)


def test_clipped_audio_is_accepted_with_a_warning() -> None:
    clipped = np.clip(corpus.speech_like(4.0, level_dbfs=-3.0) * 4, -1.0, 1.0)
    prepared = prepare(corpus.encode(clipped, "wav"))
    assert prepared.clipping_ratio > 0.01
    assert prepared.peak_dbfs == pytest.approx(0.0, abs=0.01)
    assert "clipped" in prepared.warnings


def test_low_but_usable_speech_is_accepted_with_a_warning() -> None:
    level = (TOO_QUIET_DBFS + LOW_LEVEL_DBFS) / 2
    prepared = prepare(corpus.encode(corpus.speech_like(4.0, level_dbfs=level), "flac"))
    assert "low_level" in prepared.warnings


def test_speech_barely_above_the_noise_is_flagged_noisy() -> None:
    speech = corpus.speech_like(5.0, level_dbfs=-25.0) + corpus.white_noise(5.0, dbfs=-31.0)
    prepared = prepare(corpus.encode(speech, "wav"))
    assert "noisy" in prepared.warnings


def test_a_truncated_answer_is_kept_with_a_warning() -> None:
    data = corpus.answer("webm/live", seconds=4.0)
    prepared = prepare(data[: int(len(data) * 0.9)])
    assert "truncated" in prepared.warnings
    assert prepared.duration_seconds < 3.8


def test_a_wav_header_claiming_hours_gives_the_real_duration() -> None:
    pcm = corpus.to_int16(corpus.speech_like(5.0))
    prepared = prepare(corpus.wav_bytes(pcm, data_size=0x7FFFFF00), max_seconds=30)
    assert prepared.duration_seconds == pytest.approx(5.0)
    assert "truncated" in prepared.warnings


# --- Refusals, one per code --------------------------------------------------------------------
def test_empty_body() -> None:
    with pytest.raises(AudioEmpty) as caught:
        prepare(b"")
    assert caught.value.details == {"size_bytes": 0}


def test_too_large_is_refused_before_anything_is_decoded() -> None:
    with pytest.raises(AudioTooLarge) as caught:
        prepare(b"not even audio" * 100, max_bytes=1000)
    assert caught.value.details == {"size_bytes": 1400, "limit_bytes": 1000}
    assert "limit" in caught.value.message


@pytest.mark.parametrize(
    "data",
    [b"\x00" * 1000, b"hello", b"%PDF-1.7\n" + b"\x00" * 100, b"\x89PNG\r\n\x1a\n" + b"\x00" * 50],
)
def test_unsupported_format(data: bytes) -> None:
    with pytest.raises(AudioUnsupportedFormat) as caught:
        prepare(data)
    assert caught.value.details["reason"] == "unrecognised_leading_bytes"


def test_corrupt_file() -> None:
    data = corpus.answer("ogg/opus")
    with pytest.raises(AudioCorrupt):
        prepare(corpus.garbage_after_header(data, corpus.header_length("ogg/opus", data)))


def test_a_wav_header_followed_by_garbage_is_corrupt_not_silent() -> None:
    garbage = np.random.default_rng(5).integers(0, 256, 96000, dtype=np.uint8).tobytes()
    with pytest.raises(AudioCorrupt) as caught:
        prepare(corpus.wav_bytes(garbage))
    assert caught.value.details["reason"] == "decodes_to_noise"
    assert caught.value.details["level_dbfs"] > -12


def test_too_long() -> None:
    with pytest.raises(AudioTooLong) as caught:
        prepare(corpus.answer("mp3", seconds=6.0), max_seconds=4.0)
    assert caught.value.details["limit_seconds"] == 4.0
    assert "4-second" in caught.value.message


def test_too_short() -> None:
    with pytest.raises(AudioTooShort) as caught:
        prepare(corpus.answer("wav", seconds=2.0), min_speech_seconds=3.0)
    details = caught.value.details
    assert details["min_speech_seconds"] == 3.0
    assert 0 < details["speech_seconds"] < 3.0
    assert "at least 3 s" in caught.value.message


@pytest.mark.parametrize("fmt", ["webm/live", "fmp4/aac", "mp3"])
def test_silence(fmt: str) -> None:
    with pytest.raises(AudioSilent) as caught:
        prepare(corpus.encode(corpus.silence(3.0), fmt))
    assert caught.value.details["speech_seconds"] == 0
    assert "microphone" in caught.value.message


def test_background_noise_without_speech_is_silent() -> None:
    with pytest.raises(AudioSilent):
        prepare(corpus.encode(corpus.white_noise(3.0, dbfs=-35.0), "wav"))


@pytest.mark.parametrize("level", [TOO_QUIET_DBFS - 5, -70.0])
def test_too_quiet(level: float) -> None:
    with pytest.raises(AudioTooQuiet) as caught:
        prepare(corpus.encode(corpus.speech_like(4.0, level_dbfs=level), "wav"))
    assert caught.value.details["level_dbfs"] < TOO_QUIET_DBFS
    assert caught.value.details["min_level_dbfs"] == TOO_QUIET_DBFS
    assert caught.value.details["speech_seconds"] > 1.0


# --- The error classes ---------------------------------------------------------------------------
AUDIO_CLASSES = {
    AudioEmpty: ("audio_empty", 400, errors.InvalidRequest),
    AudioUnsupportedFormat: ("audio_unsupported_format", 415, errors.UnsupportedMediaType),
    AudioCorrupt: ("audio_corrupt", 400, errors.InvalidRequest),
    AudioTooLarge: ("audio_too_large", 413, errors.PayloadTooLarge),
    AudioTooLong: ("audio_too_long", 400, errors.InvalidRequest),
    AudioTooShort: ("audio_too_short", 400, errors.InvalidRequest),
    AudioSilent: ("audio_silent", 400, errors.InvalidRequest),
    AudioTooQuiet: ("audio_too_quiet", 400, errors.InvalidRequest),
}


def test_each_refusal_has_its_code_status_and_parent() -> None:
    for cls, (code, status, parent) in AUDIO_CLASSES.items():
        assert (cls.code, cls.http_status) == (code, status)
        assert issubclass(cls, parent)
        assert issubclass(cls, AudioRejected)
        assert not cls.retryable
        assert cls.default_message.endswith(".")
    assert set(AUDIO_ERROR_CODES) == {code for code, _, _ in AUDIO_CLASSES.values()}


def test_codes_stay_unique_across_the_whole_hierarchy() -> None:
    classes = errors.all_error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), sorted(codes)
    assert set(AUDIO_ERROR_CODES) <= set(codes)
    assert AudioRejected not in classes  # the marker registers no code of its own


def test_a_refusal_renders_as_the_api_error_body() -> None:
    body = AudioTooLarge(details={"size_bytes": 5, "limit_bytes": 4}).to_body()
    assert body["error"]["code"] == "audio_too_large"
    assert body["error"]["details"] == {"size_bytes": 5, "limit_bytes": 4}


# --- Import cost and boundaries ------------------------------------------------------------------
def test_importing_the_package_loads_no_audio_library() -> None:
    probe = (
        "import sys, shared.speech, shared.speech.intake, shared.speech.formats, "
        "shared.speech.audio_errors\n"
        "print(sorted(m for m in ('av', 'numpy', 'webrtcvad') if m in sys.modules))"
    )
    root = SPEECH_DIR.parents[1]
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


INTAKE_MODULES = ("__init__", "audio_errors", "formats", "decoding", "measures", "intake")


def test_the_intake_never_imports_google_cloud_or_firebase() -> None:
    for name in INTAKE_MODULES:
        source = (SPEECH_DIR / f"{name}.py").read_text()
        assert not re.search(r"^\s*(from|import)\s+(google|firebase_admin)", source, re.M), name


def test_a_minute_long_answer_is_prepared_quickly() -> None:
    data = corpus.encode(
        corpus.speech_like(60.0, rate=48000), "webm/live", rate=48000
    )  # MediaRecorder-like
    prepare(corpus.answer("webm/live"))  # warm up the codecs
    started = time.perf_counter()
    prepared = prepare(data, max_seconds=90)
    elapsed = time.perf_counter() - started
    assert prepared.duration_seconds == pytest.approx(60.0, abs=0.1)
    assert elapsed < 1.5  # about 0.15 s on the reference machine
