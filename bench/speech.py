"""Speech engines, measured: accuracy and speed on synthetic speech (never asserted in tests).

    .venv/bin/python -m bench.speech [--voices slt,kal,awb,rms] [--sections stt,stt-long]

Sections (each a function in SECTIONS; add yours, e.g. text-to-speech, the same way):

- ``stt``: embedded speech-to-text (pocketsphinx) on the fixed sentence set
  (tests/speech_samples.py) spoken by each flite voice: word error rate and real-time factor
  (decode time / audio time; model load excluded and reported apart).
- ``stt-long``: the same on one ~110 s answer (the sentences with pauses between them),
  split at pauses into pieces as the engine does for long answers.
- ``tts``: embedded text-to-speech (flite) real-time factor per voice (bench/tts.py).
- ``decode``: decoding and normalising browser audio, x real time (bench/speech_decode.py).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Sequence

import structlog

from shared.speech.pocketsphinx_stt import PocketsphinxSpeechToText
from tests.speech_samples import (
    SENTENCES,
    VOICES,
    long_answer,
    seconds,
    synthesize,
    word_error_rate,
)

RATE = 16000


def stt(voices: Sequence[str]) -> None:
    engine = PocketsphinxSpeechToText()
    started = time.perf_counter()
    engine.preload()
    load = time.perf_counter() - started
    print(f"Embedded speech-to-text ({engine.model}); model load {load:.2f} s")
    print(f"{len(SENTENCES)} sentences per voice, flite voices at 16 kHz")
    print(f"{'voice':8} {'audio s':>8} {'WER':>7} {'RTF':>7}")
    for voice in voices:
        audio = [synthesize(sentence, voice) for sentence in SENTENCES]
        hypotheses = []
        decoding = 0.0
        for pcm in audio:
            started = time.perf_counter()
            hypotheses.append(engine.transcribe(pcm, RATE, language="en").text)
            decoding += time.perf_counter() - started
        total = sum(seconds(pcm) for pcm in audio)
        wer = word_error_rate(SENTENCES, hypotheses)
        print(f"{voice:8} {total:8.1f} {wer:7.3f} {decoding / total:7.3f}")


def stt_long(voices: Sequence[str]) -> None:
    engine = PocketsphinxSpeechToText()
    engine.preload()
    pauses = [0.6 + 0.35 * (index % 4) for index in range(len(SENTENCES) - 1)]
    reference = " ".join(SENTENCES)
    print("One long answer per voice, split at pauses (pieces of at most 30 s)")
    print(f"{'voice':8} {'audio s':>8} {'WER':>7} {'RTF':>7}")
    for voice in voices:
        answer = long_answer(SENTENCES, pauses, voice=voice)
        started = time.perf_counter()
        transcript = engine.transcribe(answer.pcm16, RATE, language="en")
        elapsed = time.perf_counter() - started
        wer = word_error_rate([reference], [transcript.text])
        print(f"{voice:8} {answer.duration:8.1f} {wer:7.3f} {elapsed / answer.duration:7.3f}")


def tts(_: Sequence[str]) -> None:
    from bench import tts as text_to_speech

    text_to_speech.main([])


def decode(_: Sequence[str]) -> None:
    from bench import speech_decode

    speech_decode.main([])


SECTIONS: dict[str, Callable[[Sequence[str]], None]] = {
    "stt": stt,
    "stt-long": stt_long,
    "tts": tts,
    "decode": decode,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default=",".join(VOICES))
    parser.add_argument("--sections", default=",".join(SECTIONS))
    args = parser.parse_args()
    # Per-answer log lines would drown the table.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    voices = [voice for voice in args.voices.split(",") if voice]
    for index, name in enumerate(name for name in args.sections.split(",") if name):
        if index:
            print()
        SECTIONS[name](voices)


if __name__ == "__main__":
    main()
