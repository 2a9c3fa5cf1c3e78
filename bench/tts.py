"""Examiner voice speed: flite's real-time factor (seconds of work per second of audio) per
voice on typical examiner lines, and the cost of the Google adapter's own work (SSML, cutting
long lines, joining MP3) without the network.

    .venv/bin/python -m bench.tts [--repeat 5]

A real-time factor of 0.05 means a 4 s line is ready in 0.2 s. Each figure is the best of
``--repeat`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from shared.adapters.google_text_to_speech import concatenate_mp3, mp3_duration_seconds
from shared.logging import configure_logging
from shared.speech.examiner_voice import FLITE_VOICES, request_inputs
from shared.speech.flite_tts import FliteTextToSpeech
from tests.wire.tts_server import mp3_tone

LINES = {
    "opening": (
        "Good evening. My name is Sarah, and I will be your examiner today. "
        "Can you tell me your full name, please?"
    ),
    "part 1 question": "Let's talk about your hometown. What do you like most about living there?",
    "cue card": (
        "Now I'm going to give you a topic, and I'd like you to talk about it for one to two "
        "minutes. You have one minute to think about what you are going to say. "
        "Describe a place you visited that you liked.\n"
        "You should say:\n- where it is\n- when you went there\n- what you did there\n"
        "and explain why you liked it."
    ),
    "part 3 question": (
        "You mentioned that tourism has changed your town. Some people say that tourism "
        "does more harm than good to local communities. To what extent do you agree?"
    ),
    "closing": "Thank you. That is the end of the speaking test.",
}


def best_of(repeat: int, work: Callable[[], object]) -> float:
    work()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # one log line per synthesis would bury the table

    flite = FliteTextToSpeech()
    print(f"flite real-time factor (best of {args.repeat}; lower is faster)")
    print(f"{'line':18}" + "".join(f"{f'{v} ({f})':>22}" for v, f in FLITE_VOICES.items()))
    totals = dict.fromkeys(FLITE_VOICES, (0.0, 0.0))
    for label, text in LINES.items():
        cells = []
        for voice in FLITE_VOICES:
            audio_seconds = flite.synthesize(text, voice=voice).duration_seconds
            work = best_of(args.repeat, lambda t=text, v=voice: flite.synthesize(t, voice=v))
            spent, heard = totals[voice]
            totals[voice] = (spent + work, heard + audio_seconds)
            cells.append(f"{work / audio_seconds:>8.3f} ({audio_seconds:4.1f} s audio)")
        print(f"{label:18}" + "".join(f"{cell:>22}" for cell in cells))
    print(f"{'all lines':18}" + "".join(f"{s / h:>22.3f}" for s, h in totals.values()))

    long_line = " ".join(LINES.values()).replace("\n", " ") * 12
    inputs = request_inputs(long_line, ssml=True)
    cut = best_of(args.repeat, lambda: request_inputs(long_line, ssml=True))
    parts = [mp3_tone(20.0) for _ in inputs]
    joined = concatenate_mp3(parts)
    join = best_of(args.repeat, lambda: mp3_duration_seconds(concatenate_mp3(parts)))
    print()
    print("Google adapter's own work (no network)")
    print(
        f"SSML + cut {len(long_line.encode()):,} bytes into {len(inputs)} requests: "
        f"{cut * 1000:.2f} ms"
    )
    print(
        f"join {len(parts)} MP3 parts ({mp3_duration_seconds(joined):.0f} s) and count frames: "
        f"{join * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
