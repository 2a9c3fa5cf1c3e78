"""Scoring speed: phase 1 (the fast summary) and phase 2 (the deep analysis, offline judge) for
a full 14-minute mock test, transcription excluded.

    .venv/bin/python -m bench.scoring [--repeat 3] [--no-flite] [--deep-budget 120]

The learner: 13 scored answers (seven in Part 1, the long turn, five in Part 3), about
1,800 words over about 11 minutes of speech, spoken by flite (voice slt) with pauses between
sentences; word timings are spread over each sentence's audio as a recogniser would give
them. ``--no-flite`` uses a speech-like tone instead (no pronunciation realism, same sizes).
Phase 1 target: at most 3 s in total. Phase-1 figures are the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from shared.logging import configure_logging
from shared.models.assessment import AnswerText, TimedWord
from shared.scoring.inputs import SessionInputs
from shared.scoring.phase1 import speech_totals, summarise
from shared.scoring.phase2 import analyse
from shared.sessions.documents import SessionDocument

RATE = 16000
PAUSE_SECONDS = 0.45
SENTENCES = (
    "I think living in a big city has many advantages because there are more opportunities.",
    "However the traffic is terrible and people is always in a hurry in the mornings.",
    "When I was a child I usually spent my summers with my grandparents in the countryside.",
    "We used to walk to the river and catch small fish, which was really exciting for me.",
    "Nowadays I work as a nurse, so I do not have much free time during the week.",
    "In my opinion governments should invest more money in public transport and clean energy.",
    "On the other hand some people believe that technology will solve most of these problems.",
    "For example online shopping make it easier for older people to get what they need.",
    "What I remember most about that trip is the silence at night in the mountains.",
    "If I had more time I would definitely learn to play the piano or the guitar.",
)
# (part, seconds of speech wanted): seven Part 1 answers, the long turn, five Part 3 answers.
PLAN = [(1, 25.0)] * 7 + [(2, 110.0)] + [(3, 70.0)] * 5


def _speech_like(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 140 + 25 * np.sin(2 * np.pi * 0.7 * t)
    envelope = (np.sin(2 * np.pi * 3.5 * t) > -0.2).astype(np.float64)
    wave = np.sin(2 * np.pi * np.cumsum(f0) / RATE) * envelope
    wave += 0.01 * rng.standard_normal(len(t))
    return (wave * 8000).astype(np.int16)


def _sentence_audio(text: str, use_flite: bool, seed: int) -> np.ndarray:
    if use_flite:
        from tests.speech_samples import synthesize

        return np.frombuffer(synthesize(text), dtype="<i2")
    return _speech_like(len(text.split()) / 2.9, seed)  # about 175 words a minute


def build_test(use_flite: bool) -> SessionInputs:
    answers: list[AnswerText] = []
    pcm: dict[str, bytes] = {}
    sentence = 0
    for number, (part, wanted) in enumerate(PLAN):
        turn_id = f"turn-{number:02d}"
        chunks: list[np.ndarray] = []
        words: list[TimedWord] = []
        texts: list[str] = []
        cursor = 0.0
        while cursor < wanted:
            text = SENTENCES[sentence % len(SENTENCES)]
            sentence += 1
            audio = _sentence_audio(text, use_flite, sentence)
            length = len(audio) / RATE
            tokens = text.split()
            step = length / len(tokens)
            words += [
                TimedWord(
                    text=token,
                    start=round(cursor + i * step, 3),
                    end=round(cursor + (i + 0.85) * step, 3),
                    confidence=0.9,
                )
                for i, token in enumerate(tokens)
            ]
            texts.append(text)
            chunks += [audio, np.zeros(int(PAUSE_SECONDS * RATE), dtype=np.int16)]
            cursor += length + PAUSE_SECONDS
        answers.append(
            AnswerText(
                turn_id=turn_id,
                part=1 if part == 1 else 2 if part == 2 else 3,
                text=" ".join(texts),
                words=tuple(words),
                duration_seconds=round(cursor, 2),
            )
        )
        pcm[turn_id] = np.concatenate(chunks).astype("<i2").tobytes()
    session = SessionDocument.model_construct(
        session_id="bench", uid="bench", finished_at=None, first_language=None
    )
    return SessionInputs(session=session, answers=tuple(answers), pcm_by_turn=pcm)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scoring", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-flite", action="store_true")
    parser.add_argument("--deep-budget", type=float, default=None, help="seconds of alignment")
    args = parser.parse_args()
    configure_logging("WARNING")

    inputs = build_test(not args.no_flite)
    seconds, words = speech_totals(inputs.answers)
    print(f"Mock test: {len(inputs.answers)} scored answers, {words} words, {seconds:.0f} s")
    runs: list[dict[str, float]] = []
    summary = None
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        phase1 = summarise(inputs, "published")
        runs.append({**phase1.run.timings, "total": time.perf_counter() - started})
        summary = phase1.summary
    assert summary is not None
    # The first run includes loading data files and models, as a cold instance would.
    print(f"Phase 1: {'first run':>10} {'best of ' + str(len(runs)):>10}   (target: total <= 3 s)")
    for name in runs[0]:
        best = min(run[name] for run in runs)
        print(f"  {name:20} {runs[0][name]:8.3f} s {best:8.3f} s")
    bands = {c: s.band for c, s in summary.criteria.items()}
    print(f"  bands {bands}, Speaking band {summary.speaking_band}")

    started = time.perf_counter()
    phase2 = analyse(inputs, summary, None, "published", deep_time_budget_seconds=args.deep_budget)
    total = time.perf_counter() - started
    print("Phase 2 (offline judge, once):")
    for name, value in phase2.timings.items():
        print(f"  {name:22} {value:7.3f} s")
    print(f"  {'total':22} {total:7.3f} s")
    words_offered = len(phase2.analysis.pronunciation.words_to_practise)
    print(
        f"  grammar errors {len(phase2.analysis.grammar_errors)}, phrases to check "
        f"{len(phase2.analysis.grammar_checks)}, words to practise {words_offered}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
