"""Do answers written at band 5 and band 7 get bands a band apart? (printed, never asserted)

    .venv/bin/python -m bench.band_levels [--sessions 5] [--voice slt]

For each level, builds ``--sessions`` short tests from the versioned demo answers
(devstack/demo_answers.toml: one Part 2 long turn, one Part 1 and one Part 3 answer each,
all different), speaks every answer with flite, transcribes it with the embedded recogniser
(the local stack's real path, word timings included) and runs phase 1 of scoring on the
transcripts and the audio.

Synthesis is one procedure for every answer, whatever its level, driven only by the text's
markup (devstack/demo_answers.toml): the words between "[pause S]" markers are spoken by
flite, each stretch cut to its sound (flite's own padding removed), and S seconds of
silence are put between stretches; a text without markers is one stretch. Hesitations
written into a text ("um", "er", words said twice, restarts) are spoken as written.

Prints each test's criterion bands and Speaking band, the mean
per level and the difference of the means (target: at least 1.0). Then, per level, the means
of what made the bands, to show which measures separate the levels and which do not: the
fluency measures (speech and articulation rate, mean length of run, silent pauses a minute
inside clauses and at boundaries, filled pauses per 100 words, repetitions and
self-corrections per 100 words), each fluency component's band, and the sub-scores before
rounding (fluency, text coherence, the Fluency and Coherence blend, lexis, grammar,
pronunciation).

Last run (2026-11-22, demo answers 2026.11.3, audio_v1.1, text_v1.1): voice slt, band 5
mean 5.30 (FC 5.0, LR 5.6, GRA 5.2, P 5.0), band 7 mean 6.70 (FC 8.0, LR 7.0, GRA 6.4,
P 4.8), difference +1.40; voice kal 5.30 / 7.00, +1.70. Before (audio_v1, text_v1, demo
answers 2026.11.2, slt): 5.80 / 6.40, +0.60, band-5 FC 6.8 (fast speech and runs of 19
words outweighed 6 mid-clause pauses a minute).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Sequence

import numpy as np
import structlog

from devstack.demo_answers import DemoAnswer, load_demo_answers
from shared.models.assessment import CRITERIA, AnalyzerResult, AnswerText, TimedWord
from shared.scoring.inputs import SessionInputs
from shared.scoring.phase1 import Phase1, summarise
from shared.sessions.documents import SessionDocument
from shared.speech.pocketsphinx_stt import PocketsphinxSpeechToText
from tests.speech_samples import synthesize

RATE = 16000
SHORT = {
    "fluency_coherence": "FC",
    "lexical_resource": "LR",
    "grammar": "GRA",
    "pronunciation": "P",
}
# Fluency measures shown per level: (metric, label). "per 100 words" of repairs is derived.
FLUENCY_SHOWN = (
    ("speech_rate_wpm", "speech rate (words/min)"),
    ("articulation_rate_wpm", "articulation rate (words/min)"),
    ("mean_length_of_run", "mean length of run (words)"),
    ("silent_pauses_per_minute", "silent pauses/min"),
    ("mid_clause_pauses_per_minute", "  mid-clause/min"),
    ("boundary_pauses_per_minute", "  at boundaries/min"),
    ("mean_pause_seconds", "mean pause (s)"),
    ("filled_pauses_per_100_words", "filled pauses/100 words"),
    ("repetitions_per_100_words", "repetitions/100 words"),
    ("self_corrections_per_100_words", "self-corrections/100 words"),
    ("short_answer_penalty", "short-answer penalty (bands)"),
)


def _tests(level: int, count: int) -> list[list[tuple[int, DemoAnswer]]]:
    answers = load_demo_answers()
    long_turns = answers.of(level, "long_turn")  # type: ignore[arg-type]
    part1 = answers.of(level, "part1")  # type: ignore[arg-type]
    part3 = answers.of(level, "part3")  # type: ignore[arg-type]
    return [
        [
            (1, part1[index % len(part1)]),
            (2, long_turns[index % len(long_turns)]),
            (3, part3[index % len(part3)]),
        ]
        for index in range(count)
    ]


def _trimmed(pcm16: bytes) -> bytes:
    """A clip cut to its sound: 10 ms frames within 35 dB of its loudest, plus one frame."""
    x = np.frombuffer(pcm16, dtype="<i2")
    frames = len(x) // 160
    rms = np.sqrt(np.mean(x[: frames * 160].astype(np.float64).reshape(frames, 160) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-35 / 20))
    return bytes(x[max(0, (loud[0] - 1) * 160) : (loud[-1] + 2) * 160].tobytes())


def speak(parts: Sequence[str | float], voice: str) -> bytes:
    """An answer's spoken parts (``DemoAnswer.parts``) as audio: the same for every level."""
    if len(parts) == 1 and isinstance(parts[0], str):
        return synthesize(parts[0], voice)
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(_trimmed(synthesize(part, voice)))
        else:
            pieces.append(bytes(2 * round(part * RATE)))
    return b"".join(pieces)


def _answer(
    engine: PocketsphinxSpeechToText,
    turn_id: str,
    part: int,
    parts: Sequence[str | float],
    voice: str,
) -> tuple[AnswerText, bytes]:
    pcm = speak(parts, voice)
    transcript = engine.transcribe(pcm, RATE, language="en")
    words = tuple(
        TimedWord(
            text=word.text,
            start=word.start,
            end=word.end,
            confidence=word.confidence,
            filled_pause=word.filled_pause,
        )
        for word in transcript.words
    )
    answer = AnswerText(
        turn_id=turn_id,
        part=part,  # type: ignore[arg-type]
        text=transcript.text,
        words=words,
        duration_seconds=transcript.duration_seconds,
    )
    return answer, pcm


def _score(
    engine: PocketsphinxSpeechToText,
    level: int,
    index: int,
    test: Sequence[tuple[int, DemoAnswer]],
    voice: str,
) -> Phase1:
    answers: list[AnswerText] = []
    pcm_by_turn: dict[str, bytes] = {}
    for number, (part, demo) in enumerate(test):
        turn_id = f"b{level}-{index}-{number}"
        answer, pcm = _answer(engine, turn_id, part, demo.parts, voice)
        answers.append(answer)
        pcm_by_turn[turn_id] = pcm
    session = SessionDocument.model_construct(
        session_id=f"band-{level}-{index}", uid="bench", finished_at=None, first_language=None
    )
    return summarise(
        SessionInputs(session=session, answers=tuple(answers), pcm_by_turn=pcm_by_turn),
        "published",
    )


def _diagnostics(phase1: Phase1) -> dict[str, float]:
    """What made the bands: fluency measures, component bands and sub-scores before rounding."""
    found: dict[str, float] = {}
    run = phase1.run
    if run.fluency is not None:
        metrics = run.fluency.metrics
        found.update(metrics)
        words = metrics.get("words", 0.0)
        minutes = metrics.get("speaking_seconds", 0.0) / 60
        if minutes > 0:
            boundary = metrics.get("silent_pauses", 0.0) - metrics.get("mid_clause_pauses", 0.0)
            found["boundary_pauses_per_minute"] = boundary / minutes
        if words:
            found["repetitions_per_100_words"] = 100 * metrics.get("repetitions", 0.0) / words
            found["self_corrections_per_100_words"] = (
                100 * metrics.get("self_corrections", 0.0) / words
            )
    results: dict[str, AnalyzerResult | None] = {
        "fluency": run.fluency,
        "coherence (text)": run.coherence,
        "lexis": run.lexis,
        "grammar (complexity)": run.complexity,
        "pronunciation": run.pronunciation,
    }
    for name, result in results.items():
        if result is not None and result.sub_score is not None:
            found[f"sub:{name}"] = result.sub_score
    for criterion, score in phase1.summary.criteria.items():
        if score.sub_score is not None:
            found[f"criterion:{SHORT[criterion]}"] = score.sub_score
    return found


def _print_diagnostics(by_level: dict[int, list[dict[str, float]]]) -> None:
    levels = sorted(by_level)

    def row(label: str, key: str, digits: int = 2) -> None:
        cells = []
        for level in levels:
            values = [d[key] for d in by_level[level] if key in d]
            cells.append(f"{statistics.fmean(values):>9.{digits}f}" if values else f"{'-':>9}")
        print(f"  {label:34}" + "".join(cells))

    print("\nmeans per level" + " " * 21 + "".join(f"{'band ' + str(lv):>9}" for lv in levels))
    print(" fluency measures")
    for key, label in FLUENCY_SHOWN:
        row(label, key)
    components = sorted({k for d in by_level[levels[0]] for k in d if k.startswith("band_")})
    if components:
        print(" fluency component bands")
        for key in components:
            row(key.removeprefix("band_"), key)
    print(" sub-scores before rounding")
    for key in sorted({k for d in by_level[levels[0]] for k in d if k.startswith("sub:")}):
        row(key.removeprefix("sub:"), key)
    for criterion in CRITERIA:
        row(f"criterion {SHORT[criterion]}", f"criterion:{SHORT[criterion]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5, help="tests per level")
    parser.add_argument("--voice", default="slt")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    engine = PocketsphinxSpeechToText()
    engine.preload()
    started = time.perf_counter()
    means: dict[int, float] = {}
    diagnostics: dict[int, list[dict[str, float]]] = {}
    print(f"{'test':10} " + " ".join(f"{SHORT[c]:>4}" for c in CRITERIA) + "  Speaking")
    for level in (5, 7):
        overall: list[float] = []
        per_criterion: dict[str, list[int]] = {c: [] for c in CRITERIA}
        tests = _tests(level, args.sessions)
        diagnostics[level] = []
        for index, test in enumerate(tests):
            phase1 = _score(engine, level, index, test, args.voice)
            summary = phase1.summary
            bands = {c.criterion: (c.band if c.scored else None) for c in summary.criteria.values()}
            speaking = summary.speaking_band
            diagnostics[level].append(_diagnostics(phase1))
            for criterion, band in bands.items():
                if band is not None:
                    per_criterion[criterion].append(band)
            cells = " ".join(f"{'-' if bands.get(c) is None else bands[c]:>4}" for c in CRITERIA)
            print(f"band {level} #{index:<2} {cells}  {speaking if speaking is not None else '-'}")
            if speaking is not None:
                overall.append(speaking)
        answers_used = {demo.id for test in tests for _, demo in test}
        if overall:
            means[level] = statistics.fmean(overall)
            print(
                f"  band-{level} answers: {len(answers_used)} distinct; mean Speaking band "
                f"{means[level]:.2f} over {len(overall)} tests; means "
                + ", ".join(
                    f"{SHORT[c]} {statistics.fmean(v):.1f}" for c, v in per_criterion.items() if v
                )
            )
    _print_diagnostics(diagnostics)
    if len(means) == 2:
        print(f"difference of the means (7 - 5): {means[7] - means[5]:+.2f} (target >= 1.0)")
    print(f"({time.perf_counter() - started:.0f} s, flite voice {args.voice}, pocketsphinx)")


if __name__ == "__main__":
    main()
