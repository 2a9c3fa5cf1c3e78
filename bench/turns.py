"""Per-turn server time by stage, at 1 and at 20 concurrent learners, on the local stack.

    .venv/bin/python -m bench.turns [--learners 1,20] [--turns 8] [--level 7] [--base-url URL]

Each learner is the scripted learner of ``make demo`` (devstack.demo): it starts a full mock
test and answers up to ``--turns`` examiner moves with flite speech, all learners of a round
at once (they start their first answer together). The stage timings come from the server's
``Server-Timing`` header (store, decode, speech-to-text, policy, language model,
text-to-speech, Firestore), the Firestore reads and writes from the counts the turns service
reports; the client's round trip is printed beside them. p50 and p95 are nearest-rank
percentiles over every turn of the round.

Bounded: loopback addresses only, at most 50 learners and 40 turns each, and a time limit
per round (a learner stops answering when it passes; its session is finished either way).
The local functions server is one threaded process and pocketsphinx holds the GIL while it
decodes, so with 20 learners every stage waits for the CPU, not only speech-to-text: read
the 20-learner table as the contention of one instance, and the 1-learner one as the cost
of a turn. Other work on the machine shows in both; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from devstack.auth import mint_token
from devstack.config import StackError
from devstack.demo import (
    ApiClient,
    ApiResponse,
    DemoError,
    Endpoints,
    LearnerVoice,
    ScriptedLearner,
    local_stack,
    wav_bytes,
)
from devstack.demo_answers import Level, load_demo_answers
from shared.config import LOCAL_PROJECT

# Server-Timing metric names in the order of a turn; any other name the server sends is
# printed after these.
STAGES = ("store", "decode", "stt", "policy", "llm", "tts", "firestore")
STAGE_LABELS = {
    "store": "store audio",
    "decode": "decode",
    "stt": "speech-to-text",
    "policy": "policy",
    "llm": "language model",
    "tts": "text-to-speech",
    "firestore": "Firestore",
}
MAX_LEARNERS = 50
MAX_TURNS = 40
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class TurnSample:
    exam_stage: str
    audio_seconds: float
    client_ms: float
    timing: Mapping[str, float]
    reads: int | None
    writes: int | None


@dataclass
class LearnerRun:
    samples: list[TurnSample] = field(default_factory=list)
    error: str | None = None


def store_counts(response: ApiResponse) -> tuple[int | None, int | None]:
    """Firestore reads and writes of one turn (``X-Store-Reads`` / ``X-Store-Writes``: the
    turns service counts them through a counting store wrapper)."""
    reads = response.headers.get("X-Store-Reads")
    writes = response.headers.get("X-Store-Writes")
    return (int(reads) if reads is not None else None, int(writes) if writes is not None else None)


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` 0.5 for p50): always a value that was measured."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _learner(
    endpoints: Endpoints,
    uid: str,
    level: Level,
    turns: int,
    voice: LearnerVoice,
    start: threading.Barrier,
    deadline: float,
    run: LearnerRun,
) -> None:
    client: ApiClient | None = None
    session_id: str | None = None
    try:
        token = mint_token(endpoints.auth_url, LOCAL_PROJECT, uid, {"role": "student"})
        client = ApiClient(endpoints.base_url, token)
        learner = ScriptedLearner(level, voice)
        opened = client.create_session("full").body
        session_id = str(opened["session_id"])
        examiner: Mapping[str, Any] = opened["examiner"]
        stage = str(opened["stage"])
        start.wait()
        while len(run.samples) < turns and time.monotonic() < deadline:
            if not examiner.get("expects_answer"):
                break
            answer = learner.respond(stage, examiner)
            response = client.post_turn(session_id, wav_bytes(answer.pcm16))
            reads, writes = store_counts(response)
            run.samples.append(
                TurnSample(
                    exam_stage=stage,
                    audio_seconds=answer.seconds,
                    client_ms=response.client_seconds * 1000,
                    timing=response.server_timing,
                    reads=reads,
                    writes=writes,
                )
            )
            examiner, stage = response.body["examiner"], str(response.body["stage"])
    except (DemoError, StackError, threading.BrokenBarrierError) as error:
        run.error = f"{uid}: {error}"
        start.abort()  # the others must not wait for a learner that will never arrive
    finally:
        if client is not None:
            if session_id is not None:
                # Leave no test running; one the examiner closed refuses this, which is fine.
                with contextlib.suppress(DemoError):
                    client.finish_session(session_id)
            client.close()


def run_round(
    endpoints: Endpoints,
    learners: int,
    turns: int,
    level: Level,
    voice: LearnerVoice,
    time_limit: float,
    round_id: str,
) -> list[LearnerRun]:
    runs = [LearnerRun() for _ in range(learners)]
    start = threading.Barrier(learners, timeout=120)
    deadline = time.monotonic() + time_limit
    threads = [
        threading.Thread(
            target=_learner,
            args=(
                endpoints,
                f"bench-{round_id}-{learners}-{index}",
                level,
                turns,
                voice,
                start,
                deadline,
                runs[index],
            ),
            daemon=True,
        )
        for index in range(learners)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        # A turn in flight may take up to the client's timeout past the deadline.
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 660)
    return runs


def report(learners: int, runs: Sequence[LearnerRun], wall_seconds: float) -> None:
    samples = [sample for run in runs for sample in run.samples]
    print(
        f"\n{learners} concurrent learner(s): {len(samples)} turns in {wall_seconds:.0f} s, "
        f"{sum(s.audio_seconds for s in samples):.0f} s of answer audio"
    )
    for run in runs:
        if run.error:
            print(f"  ! {run.error}")
    if not samples:
        return
    names = [name for name in STAGES if any(name in s.timing for s in samples)]
    names += sorted({n for s in samples for n in s.timing} - set(names))
    rows: list[tuple[str, list[float]]] = [
        (STAGE_LABELS.get(name, name), [s.timing[name] for s in samples if name in s.timing])
        for name in names
    ]
    timed = [s for s in samples if s.timing]
    if timed:
        rows.append(("all stages", [sum(s.timing.values()) for s in timed]))
        # Routing, token check, reading the body, JSON: the part no stage accounts for.
        rows.append(("outside the stages", [s.client_ms - sum(s.timing.values()) for s in timed]))
    else:
        print("  (the server sent no Server-Timing header: no per-stage breakdown)")
    rows.append(("round trip (client)", [s.client_ms for s in samples]))
    print(f"  {'stage':<22}{'p50 ms':>10}{'p95 ms':>10}{'turns':>7}")
    for label, values in rows:
        print(
            f"  {label:<22}{percentile(values, 0.5):>10.0f}"
            f"{percentile(values, 0.95):>10.0f}{len(values):>7}"
        )
    stt = [s.timing["stt"] / s.audio_seconds for s in samples if "stt" in s.timing]
    if stt:
        print(f"  speech-to-text per second of audio: p50 {percentile(stt, 0.5):.0f} ms")
    reads = [s.reads for s in samples if s.reads is not None]
    writes = [s.writes for s in samples if s.writes is not None]
    if reads or writes:
        print(
            f"  Firestore per turn: reads p50 {percentile(reads, 0.5) if reads else '-'} "
            f"(max {max(reads) if reads else '-'}), writes p50 "
            f"{percentile(writes, 0.5) if writes else '-'} (max {max(writes) if writes else '-'})"
        )
    else:
        print("  Firestore per turn: the service reported no read/write counts")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--learners", default="1,20", help="comma-separated concurrency levels")
    parser.add_argument("--turns", type=int, default=8, help="answers per learner")
    parser.add_argument("--level", type=int, choices=(5, 7), default=7)
    parser.add_argument("--base-url", help="functions URL (default: the local stack)")
    parser.add_argument("--auth-url", help="Auth emulator URL (with --base-url)")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per round")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    levels = [int(n) for n in args.learners.split(",") if n.strip()]
    if not levels or any(not 1 <= n <= MAX_LEARNERS for n in levels):
        print(f"--learners: each between 1 and {MAX_LEARNERS}", file=sys.stderr)
        return 2
    if not 1 <= args.turns <= MAX_TURNS:
        print(f"--turns: between 1 and {MAX_TURNS}", file=sys.stderr)
        return 2
    level: Level = 7 if args.level == 7 else 5
    voice = LearnerVoice()
    # Synthesised before the clock starts: flite on the same cores would slow the server.
    for answer in load_demo_answers().answers:
        if answer.level == level:
            voice.speak(answer.text)
    round_id = f"{int(time.time())}"
    try:
        if args.base_url:
            if urlparse(args.base_url).hostname not in LOOPBACK:
                print("--base-url must be a loopback address (this is a local bench)")
                return 2
            stack: Any = contextlib.nullcontext(Endpoints(args.base_url, args.auth_url or ""))
        else:
            stack = local_stack(lambda line: print(line, flush=True))
        with stack as endpoints:
            print(f"Turns on {endpoints.base_url}, band-{level} learners, {args.turns} turns each")
            for learners in levels:
                began = time.monotonic()
                runs = run_round(
                    endpoints, learners, args.turns, level, voice, args.time_limit, round_id
                )
                report(learners, runs, time.monotonic() - began)
    except (DemoError, StackError) as error:
        print(f"The bench stopped: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
