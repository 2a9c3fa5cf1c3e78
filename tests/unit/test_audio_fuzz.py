"""Fuzz the intake with mutated files the tests make themselves: every case must end in a
PreparedAudio or in one of the audio refusals (never another exception), with its specific
code where one is right, and within a time bound (never a hang)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from shared.speech import AudioRejected, PreparedAudio, prepare_answer_audio
from tests.unit import audio_corpus as corpus

FORMATS = list(corpus.FORMATS)
# Seconds one file may take, generous for a loaded 2-core machine: files take 1-20 ms.
TIME_LIMIT = 2.0
MAX_SECONDS = 30.0


def outcome(data: bytes, max_seconds: float = MAX_SECONDS) -> tuple[PreparedAudio | str, float]:
    """The prepared audio or the refusal code, and the time it took. Anything else raises."""
    started = time.perf_counter()
    try:
        result: PreparedAudio | str = prepare_answer_audio(
            data, max_bytes=10_000_000, max_seconds=max_seconds, min_speech_seconds=1.0
        )
    except AudioRejected as refusal:
        result = refusal.code
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_LIMIT, f"took {elapsed:.2f} s"
    return result, elapsed


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_at_many_points(fmt: str) -> None:
    data = corpus.answer(fmt, seconds=4.0)
    full = outcome(data)[0]
    assert isinstance(full, PreparedAudio)
    for name, cut in corpus.truncations(data, 16):
        result, _ = outcome(cut)
        if isinstance(result, PreparedAudio):
            # What decodes is kept, and the cut is always noticed.
            assert "truncated" in result.warnings, name
            assert result.duration_seconds < full.duration_seconds, name
        elif fmt in ("mp4/aac", "mp4/opus"):
            assert result == "audio_corrupt", name  # its index (moov) is at the end
        else:
            # Cut in the headers or in the first words.
            assert result in {"audio_corrupt", "audio_too_short", "audio_silent"}, name


@pytest.mark.parametrize("fmt", FORMATS)
def test_flipped_bytes_anywhere(fmt: str) -> None:
    data = corpus.answer(fmt, seconds=4.0)
    for name, mutated in corpus.byte_flips(data, count=16, seed=11):
        result, _ = outcome(mutated)
        if isinstance(result, PreparedAudio):
            assert result.duration_seconds <= 4.2, name
        else:
            assert result in {"audio_corrupt", "audio_too_short", "audio_silent"}, name


@pytest.mark.parametrize("fmt", FORMATS)
def test_flipped_bytes_in_the_headers(fmt: str) -> None:
    data = corpus.answer(fmt, seconds=4.0)
    header = corpus.header_length(fmt, data)
    for name, mutated in corpus.byte_flips(data, count=24, seed=13, within=header):
        result, _ = outcome(mutated)
        if isinstance(result, PreparedAudio):
            assert result.duration_seconds <= 4.2, name
        else:
            assert result in {
                "audio_corrupt",
                "audio_unsupported_format",
                "audio_empty",
                "audio_too_short",
                "audio_silent",
            }, name


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_bytes_behind_the_header_are_corrupt(fmt: str, seed: int) -> None:
    data = corpus.answer(fmt, seconds=4.0)
    garbage = corpus.garbage_after_header(data, corpus.header_length(fmt, data), seed=seed)
    assert outcome(garbage)[0] == "audio_corrupt"


@pytest.mark.parametrize("fmt", FORMATS)
def test_zeros_behind_the_header(fmt: str) -> None:
    data = corpus.answer(fmt, seconds=4.0)
    zeros = data[: corpus.header_length(fmt, data)] + bytes(64_000)
    # Zeros are valid PCM (digital silence); in every other format they are no audio at all.
    assert outcome(zeros)[0] == ("audio_silent" if fmt == "wav" else "audio_corrupt")


@pytest.mark.parametrize("seed", range(4))
def test_a_wav_header_followed_by_garbage_is_corrupt(seed: int) -> None:
    rng = np.random.default_rng(seed)
    garbage = rng.integers(0, 256, 80_000, dtype=np.uint8).tobytes()
    for sample_format, bits in ((1, 16), (1, 8), (1, 24), (3, 32), (7, 8)):
        assert outcome(corpus.wav_bytes(garbage, sample_format=sample_format, bits=bits))[0] == (
            "audio_corrupt"
        ), (sample_format, bits)


def test_a_wav_chunk_claiming_gigabytes_is_refused_without_walking_it() -> None:
    # Found by fuzzing: FFmpeg spent 0.7 s skipping a 4 GB LIST chunk that was not there.
    wav = bytearray(corpus.answer("wav", seconds=3.0))
    list_at = wav.index(b"LIST")
    wav[list_at + 4 : list_at + 8] = b"\x1a\x00\x00\xef"
    result, elapsed = outcome(bytes(wav))
    assert result == "audio_corrupt"
    assert elapsed < 0.2


@pytest.mark.parametrize("size", [1, 3, 7, 64, 5000])
def test_bytes_that_are_no_format_at_all(size: int) -> None:
    assert outcome(bytes(size))[0] == "audio_unsupported_format"
    noise = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert outcome(b"\x7f" + noise)[0] == "audio_unsupported_format"


def test_zero_bytes() -> None:
    assert outcome(b"")[0] == "audio_empty"


@pytest.mark.parametrize("head_fmt", ["webm/live", "ogg/opus", "fmp4/aac", "flac", "mp3"])
@pytest.mark.parametrize("body_fmt", ["webm/live", "ogg/vorbis", "mp4/aac", "wav"])
def test_one_formats_header_on_another_formats_body(head_fmt: str, body_fmt: str) -> None:
    head = corpus.answer(head_fmt, seconds=4.0)
    body = corpus.answer(body_fmt, seconds=4.0)
    spliced = head[: corpus.header_length(head_fmt, head)] + body
    result, _ = outcome(spliced)
    if isinstance(result, PreparedAudio):
        # Only possible when the demuxer resyncs onto frames of its own kind.
        assert result.duration_seconds <= 4.2
    else:
        assert result in {"audio_corrupt", "audio_silent", "audio_too_short"}


# --- Named cases -------------------------------------------------------------------------------
def test_a_wav_header_claiming_hours_of_audio() -> None:
    pcm = corpus.to_int16(corpus.speech_like(5.0))
    result, _ = outcome(corpus.wav_bytes(pcm, data_size=0xFFFFFF00))
    assert isinstance(result, PreparedAudio)
    assert result.duration_seconds == pytest.approx(5.0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_48k_stereo(fmt: str) -> None:
    left = corpus.speech_like(4.0, rate=48000, seed=4)
    result, _ = outcome(corpus.encode(np.vstack([left, left * 0.7]), fmt, rate=48000))
    assert isinstance(result, PreparedAudio)
    assert result.source_channels == 2
    assert result.source_sample_rate_hz == 48000


@pytest.mark.parametrize("fmt", FORMATS)
def test_clipped(fmt: str) -> None:
    clipped = np.clip(corpus.speech_like(4.0, level_dbfs=-3.0) * 4, -1.0, 1.0)
    result, _ = outcome(corpus.encode(clipped, fmt))
    assert isinstance(result, PreparedAudio)
    assert "clipped" in result.warnings


@pytest.mark.parametrize("fmt", FORMATS)
def test_pure_silence(fmt: str) -> None:
    assert outcome(corpus.encode(corpus.silence(4.0), fmt))[0] == "audio_silent"


@pytest.mark.parametrize("fmt", FORMATS)
def test_very_quiet_speech(fmt: str) -> None:
    quiet = corpus.speech_like(4.0, level_dbfs=-62.0)
    assert outcome(corpus.encode(quiet, fmt))[0] == "audio_too_quiet"


@pytest.mark.parametrize("container", ["ogg", "webm"])
def test_hours_of_opus_silence_are_too_long_without_decoding_them(container: str) -> None:
    data = corpus.repeated_packet_opus(2 * 3600, container)
    result, elapsed = outcome(data, max_seconds=150)
    assert result == "audio_too_long"
    assert elapsed < 1.0
