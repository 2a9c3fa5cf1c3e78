"""Synthetic speech for speech-to-text tests and benchmarks: flite voices, 16 kHz mono s16 PCM.

``SENTENCES`` is the fixed evaluation set: ordinary IELTS-answer-like sentences, written for
this project (nothing about the recogniser was tuned on their words). ``word_error_rate``
scores hypotheses after the usual normalisation (case, punctuation, hyphens, and British and
American spellings counted as the same word: the embedded model spells the American way).

Synthesis is cached per process, so a test session pays for each sentence once.
"""

from __future__ import annotations

import functools
import io
import re
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE_HZ = 16000
FLITE = "/usr/bin/flite"

# flite's "kal" is an 8 kHz diphone voice; "kal16" is the same voice built at 16 kHz.
VOICES = ("slt", "kal", "awb", "rms")
_FLITE_VOICE = {"kal": "kal16"}

SENTENCES: tuple[str, ...] = (
    "I usually walk to work because it is close to my flat.",
    "My hometown is a small city in the north of the country.",
    "In my free time I like reading novels and going for long walks.",
    "I think young people should learn to cook at home.",
    "The most important thing for me is spending time with my family.",
    "I have been studying English for about five years now.",
    "When I was a child I wanted to become a doctor.",
    "Public transport in my city is cheap but it is often crowded.",
    "I prefer to travel by train because I can relax and look out of the window.",
    "My favourite season is autumn because the weather is cool.",
    "Technology has changed the way people communicate with each other.",
    "I would like to visit Japan one day to see the old temples.",
    "Many students work part-time to pay for their studies.",
    "The government should spend more money on schools and hospitals.",
    "I remember a birthday party that my friends organised for me.",
    "Watching television every evening is not very good for children.",
    "It is important to protect the environment for future generations.",
    "I enjoy cooking dinner for my friends at the weekend.",
    "Living in a big city can be exciting but also stressful.",
    "Most people in my country eat rice every day.",
    "I think online shopping will become even more popular in the future.",
    "My best friend is very kind and always ready to help.",
    "We usually celebrate the new year with a big meal at home.",
    "Learning a foreign language helps you understand other cultures.",
)

# American spelling → British, applied to reference and hypothesis alike before scoring.
_SPELLINGS = {
    "favorite": "favourite",
    "favorites": "favourites",
    "organized": "organised",
    "organize": "organise",
    "color": "colour",
    "colors": "colours",
    "center": "centre",
    "neighbor": "neighbour",
    "neighbors": "neighbours",
    "traveling": "travelling",
    "theater": "theatre",
    "realize": "realise",
    "realized": "realised",
}


@functools.lru_cache(maxsize=512)
def synthesize(text: str, voice: str = "slt") -> bytes:
    """``text`` spoken by a flite voice, as 16 kHz mono s16le PCM."""
    flite_voice = _FLITE_VOICE.get(voice, voice)
    wav = subprocess.run(
        [FLITE, "-voice", flite_voice, "-t", text, "-o", "/dev/stdout"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        if reader.getframerate() != SAMPLE_RATE_HZ or reader.getnchannels() != 1:
            raise ValueError(f"flite voice {flite_voice} did not give 16 kHz mono")
        return reader.readframes(reader.getnframes())


def seconds(pcm16: bytes) -> float:
    return len(pcm16) / 2 / SAMPLE_RATE_HZ


def speech_onset(pcm16: bytes) -> float:
    """Seconds to the first 10 ms frame louder than 1/30 of the clip's loudest frame."""
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    frame = SAMPLE_RATE_HZ // 100
    usable = len(samples) // frame * frame
    rms = np.sqrt(np.mean(samples[:usable].reshape(-1, frame) ** 2, axis=1))
    loud = np.nonzero(rms > rms.max() / 30)[0]
    return float(loud[0]) * frame / SAMPLE_RATE_HZ if len(loud) else 0.0


@dataclass(frozen=True)
class LongAnswer:
    pcm16: bytes
    sentences: tuple[str, ...]
    clip_starts: tuple[float, ...]  # where each sentence's audio was placed
    speech_starts: tuple[float, ...]  # where each sentence's speech actually begins
    pauses: tuple[tuple[float, float], ...]  # (start, end) of each silence placed between

    @property
    def duration(self) -> float:
        return seconds(self.pcm16)


def long_answer(
    sentences: Sequence[str],
    pauses_seconds: Sequence[float],
    *,
    voice: str = "slt",
    noise_dbfs: float = -60.0,
    seed: int = 7,
) -> LongAnswer:
    """Sentences joined by the given silences (one fewer than sentences), with faint noise.

    The noise keeps the "silence" realistic (a microphone never gives digital zeros).
    """
    if len(pauses_seconds) != len(sentences) - 1:
        raise ValueError("one pause between each pair of sentences")
    parts: list[np.ndarray] = []
    clip_starts: list[float] = []
    speech_starts: list[float] = []
    pauses: list[tuple[float, float]] = []
    cursor = 0
    for index, sentence in enumerate(sentences):
        clip = synthesize(sentence, voice)
        clip_starts.append(cursor / SAMPLE_RATE_HZ)
        speech_starts.append(cursor / SAMPLE_RATE_HZ + speech_onset(clip))
        parts.append(np.frombuffer(clip, dtype="<i2").astype(np.float64))
        cursor += len(clip) // 2
        if index < len(pauses_seconds):
            gap = round(pauses_seconds[index] * SAMPLE_RATE_HZ)
            pauses.append((cursor / SAMPLE_RATE_HZ, (cursor + gap) / SAMPLE_RATE_HZ))
            parts.append(np.zeros(gap))
            cursor += gap
    signal = np.concatenate(parts)
    rng = np.random.default_rng(seed)
    signal += rng.normal(0.0, 32767 * 10 ** (noise_dbfs / 20), size=len(signal))
    pcm = np.clip(np.round(signal), -32768, 32767).astype("<i2").tobytes()
    return LongAnswer(
        pcm16=pcm,
        sentences=tuple(sentences),
        clip_starts=tuple(clip_starts),
        speech_starts=tuple(speech_starts),
        pauses=tuple(pauses),
    )


def normalise_words(text: str) -> list[str]:
    """Lower case, no punctuation, hyphens split, British spelling."""
    words = re.sub(r"[^a-z' ]", " ", text.lower().replace("-", " ")).split()
    return [_SPELLINGS.get(word, word) for word in words]


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, 1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (ref_word != hyp_word),
            )
        previous = current
    return previous[-1]


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: total word errors over total reference words."""
    if len(references) != len(hypotheses):
        raise ValueError("one hypothesis per reference")
    errors = words = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref = normalise_words(reference)
        errors += edit_distance(ref, normalise_words(hypothesis))
        words += len(ref)
    return errors / words if words else 0.0
