"""Firestore reads and writes of a whole mock test, request by request, by stage.

    .venv/bin/python -m bench.turn_costs [--mode full] [--answer-seconds 4]

Runs the sessions and turns services in process on the in-memory store (it counts exactly
what Firestore would bill: reads per transaction attempt, writes once per commit) with
scripted speech, so the numbers are the code's, not the network's. ``bench.turns`` measures
time on the local stack; this prints cost.
"""

from __future__ import annotations

import argparse
import logging
import uuid
from collections import defaultdict

import structlog

from shared.bootstrap import Container
from shared.config import load_settings
from shared.models.exam import EXAM_MODES, ExamMode
from shared.models.identity import Caller
from shared.sessions import service, turns
from shared.sessions.models import CreateSession
from shared.sessions.store_counts import CountingStore, StoreCounts
from tests.fakes import FakeBlobs, FakePublisher, FakeStore, FakeTokenVerifier, FixedClock
from tests.fakes.speech import FakeTextToSpeech, ScriptedSpeechToText
from tests.unit import audio_corpus


def _quiet() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def run(mode: ExamMode, answer_seconds: float) -> None:
    settings = load_settings({})
    clock = FixedClock()
    store = CountingStore(FakeStore())
    container = Container(
        settings,
        store=store,
        blobs=FakeBlobs(clock=clock),
        events=FakePublisher(),
        token_verifier=FakeTokenVerifier(clock=clock),
        speech_to_text=ScriptedSpeechToText(),
        text_to_speech=FakeTextToSpeech(),
        clock=clock,
    )
    caller = Caller(uid="bench-learner")
    audio = audio_corpus.answer("wav", seconds=answer_seconds)

    before = store.counts
    _, view = service.create_session(container, caller, CreateSession(mode=mode))
    rows: list[tuple[str, StoreCounts]] = [("create session", store.counts - before)]
    stage = view.stage
    by_stage: dict[str, list[StoreCounts]] = defaultdict(list)
    while True:
        clock.advance(seconds=answer_seconds + 5)
        outcome = turns.post_turn(container, caller, view.session_id, uuid.uuid4().hex, audio)
        by_stage[stage].append(outcome.store_counts)
        stage = outcome.result.stage
        if outcome.result.session_status != "active":
            break
    before = store.counts
    service.get_session(container, caller, view.session_id)
    rows.append(("resume (GET)", store.counts - before))
    before = store.counts
    service.finish_session(container, caller, view.session_id)
    rows.append(("finish again", store.counts - before))

    print(f"mode {mode}: {sum(len(v) for v in by_stage.values())} turns")
    print(f"{'request':<28}{'n':>4}{'reads':>12}{'writes':>12}")
    for name, counts in by_stage.items():
        reads = sorted(c.reads for c in counts)
        writes = sorted(c.writes for c in counts)
        print(
            f"{'turn answering ' + name:<28}{len(counts):>4}{_span(reads):>12}{_span(writes):>12}"
        )
    for name, counts in rows:
        print(f"{name:<28}{1:>4}{counts.reads:>12}{counts.writes:>12}")
    every = [c for counts in by_stage.values() for c in counts]
    print(
        f"per turn: reads max {max(c.reads for c in every)}, "
        f"writes max {max(c.writes for c in every)} (budget 3 each)"
    )


def _span(values: list[int]) -> str:
    return f"{values[0]}" if values[0] == values[-1] else f"{values[0]}-{values[-1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=EXAM_MODES, default="full")
    parser.add_argument("--answer-seconds", type=float, default=4.0)
    args = parser.parse_args()
    _quiet()
    run(args.mode, args.answer_seconds)


if __name__ == "__main__":
    main()
