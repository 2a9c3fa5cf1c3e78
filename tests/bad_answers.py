"""One recording per way an answer can be refused, generated (nothing read from disk), with the
error code and HTTP status the turns API must answer. Shared by the unit and e2e tests."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from shared.config import Settings
from tests.unit import audio_corpus as corpus


@dataclass(frozen=True)
class BadAnswer:
    name: str
    data: bytes
    code: str
    status: int


def _random_bytes(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def bad_answers(settings: Settings) -> tuple[BadAnswer, ...]:
    """Empty, random, truncated/garbage, too large, too long for Part 1, too short, silent and
    too quiet answers, as a learner's recorder might send them."""
    return _generated(settings.max_audio_upload_bytes, settings.answer_cap_seconds(1))


@functools.cache
def _generated(max_upload_bytes: int, part1_cap_seconds: float) -> tuple[BadAnswer, ...]:
    good = corpus.answer("ogg/opus", seconds=4.0)
    too_long = part1_cap_seconds + 5  # Part 1's limit, margin included
    return (
        BadAnswer("empty", b"", "audio_empty", 400),
        BadAnswer("random_bytes", _random_bytes(40_000, seed=7), "audio_unsupported_format", 415),
        BadAnswer(
            "garbage_after_header",
            corpus.garbage_after_header(good, corpus.header_length("ogg/opus", good)),
            "audio_corrupt",
            400,
        ),
        BadAnswer(
            "wav_header_then_noise",
            corpus.wav_bytes(_random_bytes(96_000, seed=5)),
            "audio_corrupt",
            400,
        ),
        BadAnswer(
            "too_large",
            b"RIFF" + bytes(max_upload_bytes),
            "audio_too_large",
            413,
        ),
        BadAnswer(
            "too_long", corpus.encode(corpus.silence(too_long), "wav"), "audio_too_long", 400
        ),
        BadAnswer(
            "too_short",
            corpus.encode(corpus.speech_like(1.2, seed=3), "wav"),
            "audio_too_short",
            400,
        ),
        BadAnswer("silent", corpus.encode(corpus.silence(3.0), "webm/live"), "audio_silent", 400),
        BadAnswer(
            "too_quiet",
            corpus.encode(corpus.speech_like(4.0, level_dbfs=-62.0), "wav"),
            "audio_too_quiet",
            400,
        ),
    )
