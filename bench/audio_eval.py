"""Audio analyzers, measured on synthetic speech made here (never asserted in tests).

    .venv/bin/python -m bench.audio_eval [--sections pauses,pairs,timing]
        [--voices slt,kal,awb,rms] [--answers 0] [--espeak-voices en-us,en-us+f3,en-us+m3]

Sections:

- ``pauses``: one ~80 s answer per flite voice, built from phrases with silences of known
  length and hesitations at known times between them (sentence ends and points inside
  sentences). A hesitation is made as speakers make it: flite's own "uh", "er" or "um" with
  its durations stretched so that the sound is held for 0.3-0.6 s (flite says a word on its
  own with falling pitch). The embedded recogniser (pocketsphinx, filler probability
  ``--fillprob``, by default the product's) transcribes it; ``fluency`` finds silent pauses
  from the audio (energy detector) and from word timings alone, and filled pauses from the
  recogniser's fillers and from held sounds it took for words. Printed: expected vs found
  counts, precision (false positives count) and recall, edges' timing errors (median, p90,
  max) of matched ones, and how often mid-clause vs boundary was right. Silences are
  either at most 0.12 s (not a pause) or at least 0.35 s, so that the count does not hinge
  on 10 ms either side of the 0.25 s threshold. A second block does the same with "um".
- ``pairs``: sentences spoken by espeak-ng from phoneme input, once as espeak-ng would say
  them and once with one content word's stressed vowel or first consonant substituted
  (``[[...]]`` input). Each is force-aligned to the intended words; each word's relative fit
  is scored within the voice (``pronunciation.relative_fit_scores``). Printed: how often the
  altered word scores below the same word said correctly (pair win rate), the word-level AUC
  (altered words vs every other eligible word), and precision/recall at the listing
  threshold and at other z cut-offs (the basis of ``practice_confidence``).
- ``timing``: an 11-minute synthetic test (Part 1 twelve answers, Part 2 one long turn,
  Part 3 six answers; ~11 min of speech) with word timings from its construction: the time
  of phase 1 (``fluency_analysis`` + ``pronunciation_quick``) and of phase 2
  (``pronunciation_deep``: parselmouth prosody, forced alignment within its time budget).

``--answers`` picks which answers per voice: answer 0 is the one the hesitation detector
was tuned on (sentences and silences from seed 11 + voice), others change both the
sentences and the placements; 4-5 were never looked at while tuning.

Last run (2026-11-22, 2 vCPU), product fillprob:

- answers 4-5 (held out): silent pauses 136/136 (P 1.00), edges p90 18 ms; "uh"/"er" 59
  found of 56 placed (count +5%, P 0.88, R 0.93), edges median 11 ms, p90 30 ms, 98% within
  100 ms; "um" 54 of 55 (-2%, P 0.89, R 0.87), median 10 ms, p90 27 ms, 99% within 100 ms.
- answers 0-3: silent 268/268 (270 found), p90 18 ms; "uh"/"er" 128 of 129 (-1%, P 0.91,
  R 0.91), p90 32 ms, 99% within 100 ms; "um" 122 of 130 (-6%, P 0.92, R 0.86), p90 32 ms,
  98% within 100 ms.
- Before a held sound became one hesitation with its silences as edges whatever the
  recogniser heard in it (answer 0): "uh"/"er" count -8%, p90 140 ms (awb's "er" heard as
  "though er": the edge stopped at "though"); "um" p90 98 ms (the hum after a dip was left
  out; a word run on into the silence moved the start). Before held sounds were counted at
  all, the recogniser alone found 41% ("uh"/"er") and 20% ("um").

(b) 141 pairs: win rate 89.4%, AUC 0.845, precision 0.56 / recall 0.52 at z <= -2.5. (c)
phase 1 0.19 s for 11.6 minutes; parselmouth 1.9 s; alignment ~0.1 x real time (92% of
words in 60 s).

Placed hesitations are the vowel without the breath some voices add after it
(``_vocalisation``): rms and awb follow a stretched hesitation with 90-150 ms of silence and
a breath about 30 dB below the vowel, voiced in only 25-50% of its frames and unlike the
vowel in spectrum, which a listener hears as silence.
"""

from __future__ import annotations

import argparse
import functools
import io
import itertools
import logging
import re
import statistics
import subprocess
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import structlog

from shared.assessment.alignment import AlignedWord, ForcedAligner
from shared.assessment.fluency import (
    CLAUSE_OPENERS,
    fluency_analysis,
    fluency_profile,
    normalise,
)
from shared.assessment.pronunciation import (
    _FUNCTION_WORDS,
    _MIN_PHONES,
    deep_pronunciation,
    praat_track,
    pronunciation_quick,
    quick_track,
    relative_fit_scores,
)
from shared.models.assessment import AnswerText, TimedWord
from shared.speech.decoding import decode_audio
from shared.speech.formats import identify
from shared.speech.pocketsphinx_stt import PocketsphinxSpeechToText
from tests.speech_samples import SENTENCES, VOICES, normalise_words, synthesize

RATE = 16000
ESPEAK = "/usr/bin/espeak-ng"
FLITE = "/usr/bin/flite"
ESPEAK_VOICES = ("en-us", "en-us+f3", "en-us+m3")

# More sentences of the same kind (written for this benchmark), so that the pair test has
# 48 sentences per voice.
MORE_SENTENCES: tuple[str, ...] = (
    "My grandmother taught me how to bake bread when I was young.",
    "The library near my house is a quiet place to study.",
    "I usually listen to music on the bus to college.",
    "Our teacher asked us to write a short story about the sea.",
    "People in big cities often feel lonely despite the crowds.",
    "I bought a second hand bicycle from a neighbour last summer.",
    "Football is the most popular sport among my classmates.",
    "We planted some trees in the garden behind our school.",
    "The weather was so cold that the lake froze completely.",
    "My brother works as an engineer for a large company.",
    "Reading the news every morning keeps me well informed.",
    "I believe that children should spend more time outdoors.",
    "The museum in the centre of town has a famous painting.",
    "Fresh vegetables from the market taste much better.",
    "I would rather stay at home than go to a noisy party.",
    "Our journey to the mountains took nearly six hours.",
    "She always wears a bright yellow coat in the winter.",
    "Good teachers make difficult subjects seem simple.",
    "Many families now have two cars instead of one.",
    "The concert last night was louder than I expected.",
    "I keep a small notebook to write down new words.",
    "Social media can make people compare their lives with others.",
    "My father drinks a cup of strong coffee before work.",
    "Travelling abroad taught me to be more patient.",
)
ALL_SENTENCES = SENTENCES + MORE_SENTENCES


def _trimmed(pcm16: bytes) -> np.ndarray:
    """A clip cut to its sound (10 ms frames louder than 35 dB below its loudest), +10 ms.

    flite pads clips with ~0.2 s of silence, and some voices start a hesitation with a
    breath 35-40 dB down: both are silence to a listener, so the placed silences are exact.
    """
    x = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    loud = np.flatnonzero(_frame_levels(x) > _frame_levels(x).max() * 10 ** (-35 / 20))
    return x[max(0, (loud[0] - 1) * 160) : (loud[-1] + 2) * 160]


def _frame_levels(x: np.ndarray) -> np.ndarray:
    frames = len(x) // 160
    levels: np.ndarray = np.sqrt(np.mean(x[: frames * 160].reshape(frames, 160) ** 2, axis=1))
    return levels


# Some flite voices (rms, awb) follow a stretched hesitation with 90-150 ms of silence and a
# breath about 30 dB below the vowel, and start the longer ones with a breath too. A listener
# hears the held vowel as the hesitation and the breath as silence, so the placed hesitation
# is the one continuous sound around the loudest frame (gaps under 50 ms do not split it).
HESITATION_GAP_FRAMES = 5


def _vocalisation(x: np.ndarray) -> np.ndarray:
    """The continuous stretch of sound (35 dB floor) that holds the clip's loudest frame."""
    levels = _frame_levels(x)
    loud = levels > levels.max() * 10 ** (-35 / 20)
    peak = int(np.argmax(levels))
    start = end = peak
    quiet = 0
    while start > 0 and quiet < HESITATION_GAP_FRAMES:
        start -= 1
        quiet = 0 if loud[start] else quiet + 1
    start += quiet
    quiet = 0
    while end < len(levels) - 1 and quiet < HESITATION_GAP_FRAMES:
        end += 1
        quiet = 0 if loud[end] else quiet + 1
    end -= quiet
    return x[max(0, (start - 1) * 160) : (end + 2) * 160]


@functools.lru_cache(maxsize=256)
def _flite_stretched(text: str, voice: str, stretch: float) -> bytes:
    """``text`` spoken by a flite voice with its durations multiplied by ``stretch``."""
    flite_voice = {"kal": "kal16"}.get(voice, voice)
    command = [FLITE, "-voice", flite_voice, "--setf", f"duration_stretch={stretch:.3f}"]
    wav = subprocess.run(
        [*command, "-t", text, "-o", "/dev/stdout"], capture_output=True, check=True, timeout=60
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        return reader.readframes(reader.getnframes())


def hesitation(word: str, voice: str, seconds: float) -> np.ndarray:
    """A hesitation ("uh", "um", "er") as speakers make it: the vowel held for about
    ``seconds`` (flite's own word, its durations stretched to that length), falling in pitch
    as flite says a word on its own. Returned trimmed to its sound."""
    base = len(_vocalisation(_trimmed(_flite_stretched(word, voice, 1.0)))) / RATE
    stretch = round(max(1.0, seconds / max(0.05, base)), 2)
    return _vocalisation(_trimmed(_flite_stretched(word, voice, stretch)))


def _pcm(signal: np.ndarray, noise_dbfs: float, seed: int) -> bytes:
    noise = np.random.default_rng(seed).normal(0, 32767 * 10 ** (noise_dbfs / 20), len(signal))
    return bytes(np.clip(np.round(signal + noise), -32768, 32767).astype("<i2").tobytes())


# ----------------------------------------------------------------------------- (a) pauses


@dataclass
class Built:
    pcm16: bytes
    pauses: list[tuple[float, float, str]]  # start, end, "boundary" | "mid_clause"
    fillers: list[tuple[float, float]]


def build_answer(
    voice: str, sentences: Sequence[str], filler_words: Sequence[str], seed: int
) -> Built:
    """Phrases joined by silences and hesitations at known places (see the module doc)."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    cursor = 0
    pauses: list[tuple[float, float, str]] = []
    fillers: list[tuple[float, float]] = []

    def silence(seconds: float, location: str) -> None:
        nonlocal cursor
        samples = round(seconds * RATE)
        if seconds >= 0.25:
            pauses.append((cursor / RATE, (cursor + samples) / RATE, location))
        parts.append(np.zeros(samples))
        cursor += samples

    def clip(text: str, held: float | None = None) -> tuple[float, float]:
        nonlocal cursor
        audio = _trimmed(synthesize(text, voice)) if held is None else hesitation(text, voice, held)
        start = cursor / RATE
        parts.append(audio)
        cursor += len(audio)
        return start, cursor / RATE

    def short() -> float:
        return float(rng.uniform(0.03, 0.12))

    def long(low: float = 0.35, high: float = 1.5) -> float:
        return float(rng.uniform(low, high))

    for sentence in sentences:
        words = sentence.rstrip(".").split()
        cuts = sorted(
            rng.choice(np.arange(2, len(words) - 1), size=rng.integers(1, 3), replace=False)
        )
        pieces = [words[a:b] for a, b in zip([0, *cuts], [*cuts, len(words)], strict=True)]
        for index, piece in enumerate(pieces):
            clip(" ".join(piece))
            last = index == len(pieces) - 1
            following = pieces[index + 1][0] if not last else ""
            location = (
                "boundary" if last or normalise(following) in CLAUSE_OPENERS else "mid_clause"
            )
            event = rng.choice(["none", "pause", "filler"], p=[0.15, 0.5, 0.35])
            if event == "none":
                silence(short(), location)
            elif event == "pause":
                silence(long(), location)
            else:
                silence(long(0.35, 0.8) if rng.random() < 0.6 else short(), location)
                word = str(rng.choice(list(filler_words)))
                fillers.append(clip(word, held=float(rng.uniform(0.3, 0.6))))
                silence(long(0.3, 0.6) if rng.random() < 0.5 else short(), location)
    # The answer ends on speech: trailing silence is not a pause.
    while parts and not np.any(parts[-1]):
        parts.pop()
        if pauses and abs(pauses[-1][1] - cursor / RATE) < 1e-9:
            pauses.pop()
    signal = np.concatenate(parts)
    return Built(_pcm(signal, -60.0, seed), pauses, fillers)


def _match(
    truth: Sequence[tuple[float, float]], found: Sequence[tuple[float, float]]
) -> list[tuple[int, int]]:
    """Pairs (truth, found) that overlap, greedily by largest overlap, one-to-one."""
    candidates = []
    for i, (a0, a1) in enumerate(truth):
        for j, (b0, b1) in enumerate(found):
            overlap = min(a1, b1) - max(a0, b0)
            if overlap > 0:
                candidates.append((overlap, i, j))
    used_t: set[int] = set()
    used_f: set[int] = set()
    matched = []
    for _, i, j in sorted(candidates, reverse=True):
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
            matched.append((i, j))
    return matched


def _errors_ms(
    truth: Sequence[tuple[float, float]],
    found: Sequence[tuple[float, float]],
    matched: Sequence[tuple[int, int]],
) -> list[float]:
    return [
        1000 * abs(edge_t - edge_f)
        for i, j in matched
        for edge_t, edge_f in zip(truth[i][:2], found[j][:2], strict=True)
    ]


def _summary(errors: Sequence[float]) -> str:
    if not errors:
        return "      -      -      -      -"
    ordered = sorted(errors)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    within = sum(error <= 100 for error in errors) / len(errors)
    return f"{statistics.median(errors):6.0f} {p90:6.0f} {max(errors):6.0f} {within:6.0%}"


def _precision_recall_text(expected: int, found: int, matched: int) -> str:
    """Precision (matched / found: false positives count) and recall (matched / expected)."""
    precision = f"{matched / found:5.2f}" if found else "    -"
    recall = f"{matched / expected:5.2f}" if expected else "    -"
    return f"{precision} {recall}"


def section_pauses(
    voices: Sequence[str], fillprob: float, answers: Sequence[int] = (0,), **_: object
) -> None:
    options = {"fillprob": fillprob} if fillprob else {}
    engine = PocketsphinxSpeechToText(decoder_options=options)
    engine.preload()
    print(f"(a) Pauses and filled pauses: flite voices, pocketsphinx words (fillprob={fillprob})")
    print("    silences placed: <= 0.12 s (not a pause) or 0.35-1.5 s; -60 dBFS noise")
    header = (
        f"{'voice':6} {'what':22} {'expect':>6} {'found':>6} {'match':>6} {'count':>7} "
        f"{'P':>5} {'R':>5} {'med ms':>6} {'p90 ms':>6} {'max ms':>6} {'<100ms':>6}"
    )
    totals: dict[str, list[float]] = {}
    for filler_words, label in ((("uh", "er"), "uh/er"), (("um",), "um")):
        print(header if label == "uh/er" else f"-- the same with '{label}' as the hesitation --")
        for (index, voice), answer_number in itertools.product(enumerate(voices), answers):
            # Answer 0 of each voice is the one the detectors were tuned on; others differ in
            # sentences (another voice's) and in where and how long the silences are.
            first = (index + answer_number) % (len(ALL_SENTENCES) // 8) * 8
            sentences = ALL_SENTENCES[first : first + 8]
            seed = 11 + index + 97 * answer_number
            built = build_answer(voice, sentences, filler_words, seed=seed)
            transcript = engine.transcribe(built.pcm16, RATE, language="en")
            answer = AnswerText(
                turn_id=f"{voice}-{label}",
                part=2,
                text=transcript.text,
                words=tuple(
                    TimedWord(text=w.text, start=w.start, end=w.end, filled_pause=w.filled_pause)
                    for w in transcript.words
                ),
                duration_seconds=transcript.duration_seconds,
            )
            rows: list[tuple[str, list[tuple[float, float]], list[tuple[float, float]]]] = []
            truth_pauses = [(a, b) for a, b, _ in built.pauses]
            with_audio = fluency_profile([answer], {answer.turn_id: built.pcm16}).answers[0]
            words_only = fluency_profile([answer]).answers[0]
            if label == "uh/er":
                rows.append(
                    (
                        "silent (audio+words)",
                        truth_pauses,
                        [(p.start, p.end) for p in with_audio.pauses],
                    )
                )
                rows.append(
                    (
                        "silent (words only)",
                        truth_pauses,
                        [(p.start, p.end) for p in words_only.pauses],
                    )
                )
            rows.append((f"filled ({label})", built.fillers, list(with_audio.filled_pauses)))
            for what, truth, found in rows:
                matched = _match(truth, found)
                errors = _errors_ms(truth, found, matched)
                count_error = (len(found) - len(truth)) / len(truth) if truth else 0.0
                key = what
                totals.setdefault(key + ":t", []).append(len(truth))
                totals.setdefault(key + ":f", []).append(len(found))
                totals.setdefault(key + ":m", []).append(len(matched))
                totals.setdefault(key + ":e", []).extend(errors)
                print(
                    f"{voice:6} {what:22} {len(truth):6d} {len(found):6d} {len(matched):6d} "
                    f"{count_error:+7.0%} "
                    f"{_precision_recall_text(len(truth), len(found), len(matched))} "
                    f"{_summary(errors)}"
                )
            if label == "uh/er":
                found_pauses = with_audio.pauses
                matched = _match(truth_pauses, [(p.start, p.end) for p in found_pauses])
                right = sum(built.pauses[i][2] == found_pauses[j].location for i, j in matched)
                totals.setdefault("location:right", []).append(right)
                totals.setdefault("location:all", []).append(len(matched))
        for key in sorted({k.rsplit(":", 1)[0] for k in totals if not k.startswith("loc")}):
            if (label == "um") != key.endswith("(um)"):
                continue
            t, f, m = (int(sum(totals[f"{key}:{x}"])) for x in "tfm")
            count_error = (f - t) / t if t else 0.0
            print(
                f"{'all':6} {key:22} {t:6d} {f:6d} {m:6d} {count_error:+7.0%} "
                f"{_precision_recall_text(t, f, m)} {_summary(totals[key + ':e'])}"
            )
    right, every = sum(totals["location:right"]), sum(totals["location:all"])
    print(
        f"pause location (mid-clause vs boundary) right for {right}/{int(every)} matched "
        f"pauses ({right / max(1, every):.0%}); count error = (found - expected) / expected"
    )


# ----------------------------------------------------------------------------- (b) pairs

# Substitutions (espeak-ng phoneme mnemonics): a stressed vowel for a distant one, or a first
# consonant for another place or manner of articulation.
_VOWEL_SWAP = {
    "i:": "A:",
    "I": "u:",
    "E": "u:",
    "a": "i:",
    "A:": "i:",
    "V": "i:",
    "O:": "i:",
    "U": "i:",
    "u:": "a",
    "3:": "a",
    "@": "i:",
    "eI": "u:",
    "aI": "u:",
    "oU": "i:",
    "aU": "i:",
    "OI": "i:",
    "A@": "i:",
    "e@": "u:",
    "i@": "O:",
    "O@": "i:",
    "U@": "a",
    "0": "i:",
    "aI@": "u:",
    "3": "i:",
}
_CONSONANT_SWAP = {
    "p": "k",
    "b": "g",
    "t": "p",
    "d": "b",
    "k": "t",
    "g": "d",
    "f": "S",
    "v": "z",
    "T": "f",
    "D": "v",
    "s": "f",
    "z": "v",
    "S": "s",
    "m": "n",
    "n": "m",
    "l": "r",
    "r": "l",
    "w": "j",
}
_VOWELS_LONGEST_FIRST = sorted(_VOWEL_SWAP, key=len, reverse=True)


def _espeak_phonemes(text: str, voice: str) -> list[str]:
    out = subprocess.run(
        [ESPEAK, "-v", voice, "-q", "-x", text], capture_output=True, text=True, check=True
    ).stdout
    return out.split()


def _espeak_audio(phonemes: str, voice: str) -> bytes:
    wav = subprocess.run(
        [ESPEAK, "-v", voice, "--stdout", f"[[{phonemes}]]"], capture_output=True, check=True
    ).stdout
    sniffed = identify(wav)
    if sniffed is None:
        raise RuntimeError("espeak-ng did not write a wav")
    return bytes(decode_audio(wav, sniffed, max_seconds=60).samples.astype("<i2").tobytes())


def _altered(token: str, kind: str) -> str | None:
    if kind == "vowel":
        stress = token.find("'")
        for position in range(stress + 1 if stress >= 0 else 0, len(token)):
            for vowel in _VOWELS_LONGEST_FIRST:
                if token.startswith(vowel, position):
                    return token[:position] + _VOWEL_SWAP[vowel] + token[position + len(vowel) :]
        return None
    for position, char in enumerate(token):
        if char in _CONSONANT_SWAP:
            return token[:position] + _CONSONANT_SWAP[char] + token[position + 1 :]
    return None


def _bare(token: str) -> str:
    return re.sub(r"_:|[',#]", "", token)


@dataclass
class Pair:
    voice: str
    sentence: str
    target: int  # word index
    kind: str
    correct: tuple[AlignedWord, ...]
    altered: tuple[AlignedWord, ...]


def _make_pairs(voice: str, aligner: ForcedAligner, counters: dict[str, float]) -> list[Pair]:
    made = []
    for number, sentence in enumerate(ALL_SENTENCES):
        words = normalise_words(sentence)
        tokens = _espeak_phonemes(sentence, voice)
        candidates = [
            i for i, word in enumerate(words) if len(word) >= 4 and word not in _FUNCTION_WORDS
        ]
        rotated = candidates[number % len(candidates) :] + candidates[: number % len(candidates)]
        chosen: tuple[int, int] | None = None
        for index in rotated:
            alone = _espeak_phonemes(words[index], voice)
            if len(alone) != 1:
                continue
            places = [j for j, token in enumerate(tokens) if _bare(token) == _bare(alone[0])]
            if len(places) == 1:
                chosen = (index, places[0])
                break
        if chosen is None:
            counters["skipped"] += 1
            continue
        index, place = chosen
        kind = "vowel" if number % 2 == 0 else "consonant"
        changed = _altered(tokens[place], kind)
        if changed is None:
            kind = "consonant" if kind == "vowel" else "vowel"
            changed = _altered(tokens[place], kind)
        if changed is None:
            counters["skipped"] += 1
            continue
        versions = []
        for phonemes in (tokens, [changed if j == place else t for j, t in enumerate(tokens)]):
            pcm = _espeak_audio(" ".join(phonemes), voice)
            seconds = len(pcm) / 2 / RATE
            # No transcript timings here: spread the words evenly, one chunk per sentence.
            timed = [
                TimedWord(
                    text=w, start=seconds * i / len(words), end=seconds * (i + 1) / len(words)
                )
                for i, w in enumerate(words)
            ]
            started = time.perf_counter()
            alignment = aligner.align(pcm, timed)
            counters["align_seconds"] += time.perf_counter() - started
            counters["audio_seconds"] += seconds
            counters["utterances"] += 1
            counters["failed"] += alignment.failed_chunks
            counters["word_only"] += alignment.word_only_chunks
            versions.append(alignment.words)
        made.append(Pair(voice, sentence, index, kind, versions[0], versions[1]))
    return made


def _auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Probability that an altered word scores below an unaltered one (ties count half)."""
    pos = np.asarray(positives)[:, None]
    neg = np.asarray(negatives)[None, :]
    return float(((pos < neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))


def section_pairs(espeak_voices: Sequence[str], **_: object) -> None:
    aligner = ForcedAligner()
    aligner.preload()
    counters: dict[str, float] = {
        "skipped": 0,
        "align_seconds": 0.0,
        "audio_seconds": 0.0,
        "utterances": 0,
        "failed": 0,
        "word_only": 0,
    }
    print("(b) Altered words vs the same words said correctly (espeak-ng phoneme input)")
    print(f"{'voice':10} {'pairs':>5} {'win':>6} {'AUC':>6} {'P@-2.5':>7} {'R@-2.5':>7}")
    every_pos: list[float] = []
    every_neg: list[float] = []
    wins = total = 0
    for voice in espeak_voices:
        voice_pairs = _make_pairs(voice, aligner, counters)
        # Relative scores within the speaker: every word this voice said, in both versions.
        pooled = [w for p in voice_pairs for w in (*p.correct, *p.altered)]
        scores = relative_fit_scores(pooled)
        score_of: dict[tuple[int, str, int], float] = {}
        cursor = 0
        for number, pair in enumerate(voice_pairs):
            for version, words in (("correct", pair.correct), ("altered", pair.altered)):
                for word in words:
                    value = scores[cursor]
                    cursor += 1
                    eligible = normalise(word.text) not in _FUNCTION_WORDS and (
                        not word.phones or len(word.phones) >= _MIN_PHONES
                    )
                    if value is not None and eligible:
                        score_of[(number, version, word.index)] = value
        positives: list[float] = []
        negatives: list[float] = []
        voice_wins = voice_total = 0
        for number, pair in enumerate(voice_pairs):
            bad = score_of.get((number, "altered", pair.target))
            good = score_of.get((number, "correct", pair.target))
            if bad is None or good is None:
                continue  # the sentence failed to align: no score to compare
            voice_total += 1
            voice_wins += bad < good
            positives.append(bad)
            negatives.extend(
                value
                for (n, version, index), value in score_of.items()
                if n == number and not (version == "altered" and index == pair.target)
            )
        precision, recall = _precision_recall(positives, negatives, -2.5)
        print(
            f"{voice:10} {voice_total:5d} {voice_wins / max(1, voice_total):6.1%} "
            f"{_auc(positives, negatives):6.3f} {precision:7.2f} {recall:7.2f}"
        )
        every_pos.extend(positives)
        every_neg.extend(negatives)
        wins += voice_wins
        total += voice_total
    print(f"{'all':10} {total:5d} {wins / max(1, total):6.1%} {_auc(every_pos, every_neg):6.3f}")
    print("precision / recall by threshold (all voices; an altered word is listed when z <= t):")
    print(f"{'t':>6} {'listed':>7} {'P':>6} {'R':>6} {'false alarms':>13}")
    for threshold in (-1.5, -2.0, -2.5, -3.0, -4.0, -5.0, -6.0):
        precision, recall = _precision_recall(every_pos, every_neg, threshold)
        listed = sum(v <= threshold for v in every_pos) + sum(v <= threshold for v in every_neg)
        false_alarm = sum(v <= threshold for v in every_neg) / max(1, len(every_neg))
        print(f"{threshold:6.1f} {listed:7d} {precision:6.2f} {recall:6.2f} {false_alarm:13.1%}")
    cut = float(np.percentile(every_neg, 5))
    precision, recall = _precision_recall(every_pos, every_neg, cut)
    print(
        f"at a 5% false-alarm rate (z <= {cut:.2f}): precision {precision:.2f}, recall {recall:.2f}"
    )
    print(
        f"eligible words: {len(every_pos)} altered, {len(every_neg)} others; "
        f"skipped sentences {int(counters['skipped'])}; chunks failed {int(counters['failed'])}"
        f", phone pass failed (word scores used) {int(counters['word_only'])} of "
        f"{int(counters['utterances'])} utterances; alignment "
        f"{counters['align_seconds'] / max(1e-9, counters['audio_seconds']):.3f} x real time"
    )


def _precision_recall(
    positives: Sequence[float], negatives: Sequence[float], threshold: float
) -> tuple[float, float]:
    hits = sum(value <= threshold for value in positives)
    false = sum(value <= threshold for value in negatives)
    precision = hits / (hits + false) if hits + false else 0.0
    recall = hits / len(positives) if positives else 0.0
    return precision, recall


# ----------------------------------------------------------------------------- (c) timing


def synthetic_test(minutes: float = 11.0) -> tuple[list[AnswerText], dict[str, bytes]]:
    """Answers made of flite sentences and pauses, with word timings from the construction
    (each clip's words spread over its speech by length): no recogniser needed."""
    rng = np.random.default_rng(5)
    plan = [(1, 25.0)] * 12 + [(2, 110.0)] + [(3, 45.0)] * 6
    scale = minutes * 60 / sum(seconds for _, seconds in plan)
    answers: list[AnswerText] = []
    audio: dict[str, bytes] = {}
    sentence = 0
    for number, (part, target) in enumerate(plan):
        parts: list[np.ndarray] = []
        words: list[TimedWord] = []
        cursor = 0.0
        voice = VOICES[number % len(VOICES)]
        while cursor < target * scale:
            text = ALL_SENTENCES[sentence % len(ALL_SENTENCES)]
            sentence += 1
            clip = _trimmed(synthesize(text, voice))
            tokens = text.rstrip(".").split()
            weights = np.asarray([len(token) + 2 for token in tokens], dtype=float)
            edges = np.concatenate([[0], np.cumsum(weights)]) / weights.sum()
            seconds = len(clip) / RATE
            for token, a, b in zip(tokens, edges[:-1], edges[1:], strict=True):
                words.append(
                    TimedWord(text=token, start=cursor + a * seconds, end=cursor + b * seconds)
                )
            parts.append(clip)
            gap = float(rng.choice([0.08, 0.4, 0.7, 1.1]))
            parts.append(np.zeros(round(gap * RATE)))
            cursor += seconds + round(gap * RATE) / RATE
        turn = f"turn-{number:02d}"
        audio[turn] = _pcm(np.concatenate(parts), -60.0, number)
        answers.append(
            AnswerText(
                turn_id=turn,
                part=part,
                text=" ".join(word.text for word in words),
                words=tuple(words),
                duration_seconds=cursor,
            )
        )
    return answers, audio


def section_timing(budget: float, **_: object) -> None:
    answers, audio = synthetic_test()
    total = sum(len(pcm) / 2 / RATE for pcm in audio.values())
    words = sum(len(answer.words) for answer in answers)
    print(
        f"(c) Timing on a synthetic test: {len(answers)} answers, {total / 60:.1f} min of "
        f"audio, {words} words"
    )
    fluency_analysis(answers[:1], {answers[0].turn_id: audio[answers[0].turn_id]})  # imports
    pronunciation_quick(answers[:1], {answers[0].turn_id: audio[answers[0].turn_id]})
    runs: dict[str, list[float]] = {"fluency": [], "quick": []}
    for _ in range(3):
        started = time.perf_counter()
        fluency = fluency_analysis(answers, audio)
        runs["fluency"].append(time.perf_counter() - started)
        started = time.perf_counter()
        quick = pronunciation_quick(answers, audio)
        runs["quick"].append(time.perf_counter() - started)
    phase1 = min(runs["fluency"]) + min(runs["quick"])
    print(
        f"phase 1: fluency_analysis {min(runs['fluency']):.3f} s (with audio pauses), "
        f"pronunciation_quick {min(runs['quick']):.3f} s; together {phase1:.3f} s (best of 3)"
    )
    print(f"  fluency sub-score {fluency.sub_score}, pronunciation (quick) {quick.sub_score}")
    started = time.perf_counter()
    for pcm in audio.values():
        quick_track(pcm)
    print(f"  of which the numpy pitch tracker: {time.perf_counter() - started:.3f} s")
    started = time.perf_counter()
    for pcm in audio.values():
        praat_track(pcm)
    praat = time.perf_counter() - started
    print(
        f"phase 2: parselmouth pitch + intensity alone {praat:.2f} s "
        f"({1000 * praat / total:.1f} ms per second of audio)"
    )
    aligner = ForcedAligner()
    aligner.preload()
    started = time.perf_counter()
    deep = deep_pronunciation(answers, audio, aligner=aligner, time_budget_seconds=budget)
    elapsed = time.perf_counter() - started
    metrics = deep.result.metrics
    print(
        f"  pronunciation_deep {elapsed:.1f} s with a {budget:.0f} s budget: aligned word share "
        f"{metrics.get('aligned_word_share', 0.0):.0%}, sub-score {deep.result.sub_score}, "
        f"{len(deep.practice_words)} words to practise"
    )


SECTIONS: dict[str, Callable[..., None]] = {
    "pauses": section_pauses,
    "pairs": section_pairs,
    "timing": section_timing,
}


def _numbers(text: str) -> list[int]:
    """ "0", "1-4" or "0,2,5" as a list of numbers."""
    numbers: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        numbers.extend(range(int(low), int(high or low) + 1))
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--voices", default=",".join(VOICES), help="flite voices for (a)")
    parser.add_argument("--espeak-voices", default=",".join(ESPEAK_VOICES), help="for (b)")
    parser.add_argument(
        "--fillprob",
        type=float,
        default=0.0,
        help="pocketsphinx filler probability for (a); 0 keeps the engine's default (1e-8), "
        "the product's setting",
    )
    parser.add_argument(
        "--answers",
        default="0",
        help="for (a): which answers per voice, e.g. 0 (the one tuned on) or 1-4 (held out)",
    )
    parser.add_argument("--budget", type=float, default=60.0, help="phase-2 time budget, s")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    for index, name in enumerate(name for name in args.sections.split(",") if name):
        if index:
            print()
        SECTIONS[name](
            voices=[v for v in args.voices.split(",") if v],
            espeak_voices=[v for v in args.espeak_voices.split(",") if v],
            fillprob=args.fillprob,
            answers=_numbers(args.answers),
            budget=args.budget,
        )


if __name__ == "__main__":
    main()
