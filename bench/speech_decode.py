"""Audio intake throughput: decode + normalise (to 16 kHz mono s16), measure, and the whole
``prepare_answer_audio``, as multiples of real time, on generated 60 s answers in every
accepted format.

    .venv/bin/python -m bench.speech_decode [--seconds 60] [--repeat 5]

Answers are synthesised speech-like signals (tests/unit/audio_corpus.py) encoded with PyAV;
each figure is the best of ``--repeat`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from shared.speech.decoding import decode_audio
from shared.speech.formats import identify
from shared.speech.intake import prepare_answer_audio
from shared.speech.measures import measure
from tests.unit import audio_corpus as corpus

# (label, corpus format, source rate, channels): what browsers and uploads send.
CASES = [
    ("webm/opus MediaRecorder 48k mono", "webm/live", 48000, 1),
    ("webm/opus 48k stereo", "webm/opus", 48000, 2),
    ("ogg/opus 48k mono", "ogg/opus", 48000, 1),
    ("ogg/vorbis 44.1k stereo", "ogg/vorbis", 44100, 2),
    ("mp4/aac 44.1k mono", "mp4/aac", 44100, 1),
    ("mp4/aac fragmented (Safari) 48k", "fmp4/aac", 48000, 1),
    ("wav s16 48k stereo", "wav", 48000, 2),
    ("wav s16 16k mono", "wav", 16000, 1),
    ("mp3 44.1k stereo", "mp3", 44100, 2),
    ("flac 48k mono", "flac", 48000, 1),
]


def best_of(repeat: int, work: Callable[[], object]) -> float:
    work()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    seconds = args.seconds
    limit = seconds + 30

    print(f"Audio intake on {seconds:g} s answers (best of {args.repeat}; x real time)")
    header = f"{'format':34} {'size KB':>8} {'decode+norm':>12} {'measure':>9} {'prepare':>9}"
    print(header)
    print("-" * len(header))
    for label, fmt, rate, channels in CASES:
        mono = corpus.speech_like(seconds, rate=rate, seed=3)
        signal = np.vstack([mono, mono * 0.8]) if channels == 2 else mono
        data = corpus.encode(signal, fmt, rate=rate)
        decode_s, measure_s, prepare_s = time_one(data, limit, args.repeat)
        print(
            f"{label:34} {len(data) / 1024:8.0f} {seconds / decode_s:11.0f}x "
            f"{seconds / measure_s:8.0f}x {seconds / prepare_s:8.0f}x"
        )


def time_one(data: bytes, limit: float, repeat: int) -> tuple[float, float, float]:
    """Seconds to decode+normalise, to measure, and to prepare ``data`` (best of ``repeat``)."""
    sniffed = identify(data)
    assert sniffed is not None
    decoded = decode_audio(data, sniffed, max_seconds=limit)
    decode_s = best_of(repeat, lambda: decode_audio(data, sniffed, max_seconds=limit))
    measure_s = best_of(repeat, lambda: measure(decoded.samples))
    prepare_s = best_of(
        repeat,
        lambda: prepare_answer_audio(
            data, max_bytes=64 * 1024 * 1024, max_seconds=limit, min_speech_seconds=1.0
        ),
    )
    return decode_s, measure_s, prepare_s


if __name__ == "__main__":
    main()
