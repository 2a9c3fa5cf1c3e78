"""``make demo``: a scripted learner takes a complete mock test over HTTP on the local stack.

    .venv/bin/python -m devstack.demo [--level 5|7] [--base-url URL] [--uid UID]

The learner answers every examiner move with speech made by flite (voice slt, 16 kHz mono
WAV) from ``demo_answers.toml``: the answer that fits the stage, the Part 1 topic or the cue
card's category, at the chosen band. It starts the long turn without using the preparation
minute (``--wait-preparation`` waits it out), stops speaking at the examiner's cap, and
prints the dialogue as it goes: the examiner's line, what the learner said, what the server
heard, the part and stage, and the server time of each turn.

Without ``--base-url`` it uses the stack of ``make run`` (ports from firebase.json) when one
answers, and otherwise starts one on free ports for the duration and stops it afterwards.

The flow is a function (``run_mock_test``) so that tests/e2e and bench/turns.py drive the same
client: ``Pace`` shortens answers or lengthens the long turn. The examiner's clock is the
length of the answers' audio (the server never trusts a client clock), so the length of
the synthesised speech is what moves a test through its parts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import wave
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import requests

from devstack.auth import mint_token
from devstack.config import REPO_ROOT, StackConfig, StackError, free_ports, read_ports
from devstack.demo_answers import (
    AnswerStage,
    DemoAnswer,
    DemoAnswers,
    Level,
    load_demo_answers,
    opening_words,
)
from devstack.state import read_state
from shared.config import LOCAL_PROJECT
from shared.exam.bank import QuestionBank, load_question_bank

SAMPLE_RATE_HZ: Final = 16000
LEARNER_VOICE: Final = "slt"
# Between answers glued together to make a long turn longer: a breath, not a pause that
# the examiner would take for the end of the answer.
_JOIN_PAUSE_SECONDS: Final = 0.4
# A turn waits for speech-to-text, which runs one answer at a time on the local stack: with
# 20 learners at once a turn can queue for minutes.
TURN_TIMEOUT_SECONDS: Final = 600.0
_RETRY_CODES: Final = frozenset({"transcription_unavailable", "dependency_unavailable"})
_RETRIES: Final = 3
_STAGE_PART: Final[Mapping[str, int]] = {
    "intro": 0,
    "part1": 1,
    "long_turn": 2,
    "rounding_off": 2,
    "part3": 3,
    "closed": 0,
}

Report = Callable[[str], None]


class DemoError(RuntimeError):
    """The demo could not go on; the message says what the server or the machine answered."""


class ApiError(DemoError):
    """The API refused a request: its HTTP status and the error code it gave."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code


def _quiet(_: str) -> None:
    pass


# --- the learner's voice ----------------------------------------------------------------------
class Voice(Protocol):
    def speak(self, text: str) -> bytes:
        """``text`` as 16 kHz mono s16le PCM."""
        ...


class LearnerVoice:
    """flite's ``slt`` voice as 16 kHz mono s16le PCM, each text synthesised once."""

    def __init__(self, binary: str = "flite", voice: str = LEARNER_VOICE) -> None:
        found = shutil.which(binary)
        if found is None:
            raise DemoError(f"{binary} was not found: install it with `apt-get install flite`")
        self._binary = found
        self._voice = voice
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def speak(self, text: str) -> bytes:
        with self._lock:
            cached = self._cache.get(text)
        if cached is not None:
            return cached
        pcm = self._synthesise(text)
        with self._lock:
            self._cache[text] = pcm
        return pcm

    def _synthesise(self, text: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="demo-voice-") as workdir:
            # Through a file: a long turn is too long to pass comfortably on a command line.
            text_file, wav_file = Path(workdir) / "answer.txt", Path(workdir) / "answer.wav"
            text_file.write_text(text + "\n", encoding="ascii", errors="ignore")
            command = [self._binary, "-voice", self._voice, "-f", str(text_file)]
            done = subprocess.run(
                [*command, "-o", str(wav_file)], capture_output=True, timeout=120, check=False
            )
            if done.returncode != 0:
                raise DemoError(f"flite failed ({done.returncode}): {done.stderr[-300:]!r}")
            with wave.open(str(wav_file), "rb") as audio:
                shape = (audio.getnchannels(), audio.getsampwidth(), audio.getframerate())
                if shape != (1, 2, SAMPLE_RATE_HZ):
                    raise DemoError(f"flite voice {self._voice} gave {shape}, not 16 kHz mono")
                return audio.readframes(audio.getnframes())


def pcm_seconds(pcm16: bytes) -> float:
    return len(pcm16) / 2 / SAMPLE_RATE_HZ


def cut_pcm(pcm16: bytes, seconds: float) -> bytes:
    return pcm16[: int(seconds * SAMPLE_RATE_HZ) * 2]


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * SAMPLE_RATE_HZ) * 2)


def wav_bytes(pcm16: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(SAMPLE_RATE_HZ)
        audio.writeframes(pcm16)
    return out.getvalue()


# --- the API ----------------------------------------------------------------------------------
def parse_server_timing(header: str | None) -> dict[str, float]:
    """``Server-Timing: stt;dur=812.4, policy;dur=0.6`` as {"stt": 812.4, ...} (milliseconds)."""
    timings: dict[str, float] = {}
    for metric in (header or "").split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        for param in params:
            key, _, value = param.partition("=")
            if name and key.strip() == "dur":
                with contextlib.suppress(ValueError):
                    timings[name] = timings.get(name, 0.0) + float(value.strip('"'))
    return timings


@dataclass(frozen=True)
class ApiResponse:
    """A successful response: its JSON, the round trip seen by the client, its Server-Timing."""

    body: dict[str, Any]
    client_seconds: float
    server_timing: dict[str, float]
    headers: Mapping[str, str]


class ApiClient:
    """The sessions and turns API as the PWA calls it, with a Firebase ID token."""

    def __init__(self, base_url: str, token: str, timeout: float = TURN_TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()
        self._http.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._http.close()

    def create_session(self, mode: str = "full", practice_id: str | None = None) -> ApiResponse:
        body: dict[str, Any] = {"mode": mode}
        if practice_id is not None:
            body["practice_id"] = practice_id
        return self._call("POST", "/sessions", json=body, headers={"Idempotency-Key": _key()})

    def post_turn(self, session_id: str, wav: bytes, key: str | None = None) -> ApiResponse:
        """One answer; retried with the same Idempotency-Key when the server asks for a retry
        (the answer is stored once however often it is sent)."""
        headers = {"Content-Type": "audio/wav", "Idempotency-Key": key or _key()}
        return self._call("POST", f"/sessions/{session_id}/turns", data=wav, headers=headers)

    def get_session(self, session_id: str) -> ApiResponse:
        return self._call("GET", f"/sessions/{session_id}")

    def finish_session(self, session_id: str) -> ApiResponse:
        return self._call("POST", f"/sessions/{session_id}/finish", json={})

    def _call(self, method: str, path: str, **kwargs: Any) -> ApiResponse:
        for attempt in range(_RETRIES + 1):
            started = time.perf_counter()
            try:
                response = self._http.request(
                    method, self.base_url + path, timeout=self.timeout, **kwargs
                )
            except requests.ConnectionError as error:
                if attempt == _RETRIES:
                    raise DemoError(
                        f"{method} {path}: no answer from {self.base_url}: {error}"
                    ) from None
                time.sleep(1.0 + attempt)
                continue
            except requests.Timeout:
                raise DemoError(f"{method} {path}: no answer within {self.timeout:.0f} s") from None
            elapsed = time.perf_counter() - started
            if response.ok:
                return ApiResponse(
                    body=_json(response),
                    client_seconds=elapsed,
                    server_timing=parse_server_timing(response.headers.get("Server-Timing")),
                    headers=dict(response.headers),
                )
            error_body = _json(response).get("error") or {}
            code = str(error_body.get("code", "unknown"))
            if code in _RETRY_CODES and attempt < _RETRIES:
                time.sleep(2.0 * (attempt + 1))  # the server said: retry with the same key
                continue
            wait = float(response.headers.get("Retry-After", "0") or 0)
            if code == "rate_limited" and attempt < _RETRIES and wait <= 60:
                # Faster than a person answers: wait as told (a minute's limit, never a
                # day's), then send the same request.
                time.sleep(wait)
                continue
            raise ApiError(response.status_code, code, str(error_body.get("message", "")))
        raise DemoError(f"{method} {path}: gave up after {_RETRIES} retries")


def _key() -> str:
    return uuid.uuid4().hex


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"error": {"code": "not_json", "message": response.text[:300]}}
    return body if isinstance(body, dict) else {"value": body}


# --- the learner ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pace:
    """How much the learner says: the test's clock, since examiner time is answer audio.

    words: per stage, answers shortened to their opening words (``opening_words``): one
      count for every answer, or one per answer in turn, the last repeating, e.g. long enough
      to be followed up first and brief after.
    long_turn_seconds: the long turn lengthened (with more of the learner's talk) or cut to
      about this many seconds of audio.
    talk_past_cap: keep talking after the examiner's limit (the server must stop the learner);
      by default the recording stops at the limit, as the app's recorder does.
    """

    words: Mapping[str, int | tuple[int, ...]] = field(default_factory=dict)
    long_turn_seconds: float | None = None
    talk_past_cap: bool = False


@dataclass(frozen=True)
class SpokenAnswer:
    """What the learner says to one examiner move."""

    answer_ids: tuple[str, ...]
    text: str
    pcm16: bytes = field(repr=False)
    stopped_at_seconds: float | None = None  # the recorder stopped at the examiner's limit

    @property
    def seconds(self) -> float:
        return pcm_seconds(self.pcm16)


class ScriptedLearner:
    """Chooses an answer for each examiner move and speaks it.

    The Part 1 topic is recognised from the question's wording in the bank, the long turn's
    category from the cue card. Within a pool the best fitting answer not yet given on this
    topic comes next, then the least used in the test, so an answer comes back only once the
    pool is used up (and never twice running on one topic while another is left).
    """

    def __init__(
        self,
        level: Level,
        voice: Voice,
        *,
        pace: Pace | None = None,
        answers: DemoAnswers | None = None,
        bank: QuestionBank | None = None,
    ) -> None:
        self.level = level
        self.voice = voice
        self.pace = pace or Pace()
        self.answers = answers or load_demo_answers()
        self.bank = bank or load_question_bank()
        self.used: dict[str, int] = {}
        self.used_here: dict[str, int] = {}  # on the current topic, card or stage
        self.answered: dict[str, int] = {}  # answers given per stage
        self.here = ""
        self.topic_tags: tuple[str, ...] = ()
        self.category: str | None = None
        self._part1 = sorted(
            (
                (q.text, topic.id, topic.tags)
                for topic in self.bank.part1_topics()
                for q in topic.questions
            ),
            key=lambda item: -len(item[0]),  # the longest wording first: no prefix mix-ups
        )

    def respond(self, stage: str, examiner: Mapping[str, Any]) -> SpokenAnswer:
        """The answer to ``examiner`` (the API's examiner view) when the test is at ``stage``."""
        if stage not in _STAGE_PART or stage == "closed":
            raise DemoError(f"no answer for stage {stage!r}")
        answer_stage: AnswerStage = stage  # type: ignore[assignment]
        self._follow(stage, examiner)
        fits: tuple[str, ...] = ()
        if stage == "part1":
            fits = self.topic_tags
        elif stage in ("long_turn", "part3") and self.category:
            fits = (self.category,)
        chosen = self._choose(self.answers.pool(self.level, answer_stage, fits))
        text = chosen.text
        text = self._shortened(stage, text)
        ids: tuple[str, ...] = (chosen.id,)
        pcm = self.voice.speak(text)
        if stage == "long_turn" and self.pace.long_turn_seconds is not None:
            pcm, text, ids = self._lengthen(pcm, text, ids, self.pace.long_turn_seconds)
        limit = examiner.get("max_answer_seconds")
        stopped: float | None = None
        if limit is not None and not self.pace.talk_past_cap and pcm_seconds(pcm) > limit:
            stopped = float(limit)
            pcm = cut_pcm(pcm, stopped)
        return SpokenAnswer(answer_ids=ids, text=text, pcm16=pcm, stopped_at_seconds=stopped)

    def _shortened(self, stage: str, text: str) -> str:
        words = self.pace.words.get(stage)
        if words is None:
            return text
        counts = (words,) if isinstance(words, int) else words
        said = self.answered.get(stage, 0)
        self.answered[stage] = said + 1
        return opening_words(text, counts[min(said, len(counts) - 1)])

    def _follow(self, stage: str, examiner: Mapping[str, Any]) -> None:
        """Note the topic or card the examiner has just moved to (re-prompts keep the last)."""
        here = stage
        card = examiner.get("cue_card")
        if isinstance(card, Mapping) and card.get("card_id"):
            self.category = self.bank.card(str(card["card_id"])).category
        if stage == "part1":
            said = str(examiner.get("text", ""))
            here = self.here
            for wording, topic_id, tags in self._part1:
                if wording in said:
                    self.topic_tags, here = tags, topic_id
                    break
        if here != self.here:
            self.here, self.used_here = here, {}

    def _choose(self, pool: Sequence[DemoAnswer]) -> DemoAnswer:
        if not pool:
            raise DemoError(f"demo_answers.toml has nothing for band {self.level} here")
        # min() keeps the first of equals, and the pool's order puts the best fitting first.
        chosen = min(
            pool, key=lambda answer: (self.used_here.get(answer.id, 0), self.used.get(answer.id, 0))
        )
        self.used[chosen.id] = self.used.get(chosen.id, 0) + 1
        self.used_here[chosen.id] = self.used_here.get(chosen.id, 0) + 1
        return chosen

    def _lengthen(
        self, pcm: bytes, text: str, ids: tuple[str, ...], seconds: float
    ) -> tuple[bytes, str, tuple[str, ...]]:
        """Keep talking (the level's other long turns) until ``seconds``, then stop there."""
        extra = [a for a in self.answers.of(self.level, "long_turn") if a.id not in ids]
        while pcm_seconds(pcm) < seconds and extra:
            more = extra.pop(0)
            pcm += silence(_JOIN_PAUSE_SECONDS) + self.voice.speak(more.text)
            text, ids = f"{text} {more.text}", (*ids, more.id)
        return cut_pcm(pcm, seconds), text, ids


# --- one mock test ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TurnRecord:
    """One answer and what came back."""

    index: int
    stage: str
    part: int
    examiner: Mapping[str, Any]  # the move this answers (the API's examiner view)
    answer: SpokenAnswer
    result: Mapping[str, Any]  # the turn's response (TurnResult)
    client_seconds: float
    server_timing: Mapping[str, float]

    @property
    def reply(self) -> Mapping[str, Any]:
        reply: Mapping[str, Any] = self.result["examiner"]
        return reply

    @property
    def verdict(self) -> Mapping[str, Any]:
        verdict: Mapping[str, Any] = self.result.get("verdict") or {}
        return verdict

    @property
    def transcript(self) -> str:
        return str((self.result.get("transcript") or {}).get("text", ""))

    @property
    def question_id(self) -> str | None:
        value = self.verdict.get("question_id")
        return str(value) if value else None


@dataclass
class MockTestRecord:
    """A whole session as the learner lived it."""

    session_id: str
    opening: Mapping[str, Any]
    turns: list[TurnRecord] = field(default_factory=list)
    final: Mapping[str, Any] | None = None  # GET /sessions/{id} once it ended
    dialogue: list[str] = field(default_factory=list)  # what was reported, for a failing test

    @property
    def status(self) -> str:
        if self.turns:
            return str(self.turns[-1].result.get("session_status", ""))
        return str(self.opening.get("status", ""))

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    def parts_visited(self) -> list[int]:
        """Test parts answered in, in the order first reached (the name check is no part)."""
        parts: list[int] = []
        for turn in self.turns:
            if turn.part and turn.part not in parts:
                parts.append(turn.part)
        return parts

    def audio_seconds(self) -> float:
        return sum(turn.answer.seconds for turn in self.turns)

    def server_seconds(self) -> float:
        return sum(turn.client_seconds for turn in self.turns)

    def question_ids(self) -> list[str]:
        """Bank ids the learner answered, in order, each once."""
        ids: list[str] = []
        for turn in self.turns:
            if turn.question_id and turn.question_id not in ids:
                ids.append(turn.question_id)
        return ids

    def actions(self) -> list[str]:
        """Every examiner action, from the opening to the closing, in order."""
        moves = [self.opening.get("examiner") or {}] + [turn.reply for turn in self.turns]
        return [str(action) for move in moves for action in move.get("actions", [])]


def _part_label(stage: str) -> str:
    part = _STAGE_PART.get(stage, 0)
    return f"Part {part} · {stage}" if part else stage


def _timing_text(timing: Mapping[str, float]) -> str:
    if not timing:
        return ""
    return "; server " + ", ".join(f"{name} {ms / 1000:.2f}" for name, ms in timing.items())


def run_mock_test(
    client: ApiClient,
    learner: ScriptedLearner,
    *,
    mode: str = "full",
    report: Report = _quiet,
    wait_preparation: bool = False,
    max_turns: int = 80,
) -> MockTestRecord:
    """Take one mock test from the opening to the examiner's closing line.

    Stops after ``max_turns`` answers (then finishes the session through the API) so that a
    policy that never closes cannot keep a test or a benchmark running for ever.
    """
    opened = client.create_session(mode)
    session = opened.body
    record = MockTestRecord(session_id=str(session["session_id"]), opening=session)

    def say(line: str) -> None:
        record.dialogue.append(line)
        report(line)

    say(f"Session {record.session_id} ({mode}, band-{learner.level} learner)")
    examiner: Mapping[str, Any] = session["examiner"]
    stage = str(session["stage"])
    while examiner.get("expects_answer") and stage != "closed":
        if len(record.turns) >= max_turns:
            say(f"Stopping after {max_turns} answers: finishing the session.")
            client.finish_session(record.session_id)
            break
        say(f"\n[{_part_label(stage)}] Examiner ({examiner.get('action')}): {examiner['text']}")
        _prepare(examiner, wait_preparation, say)
        answer = learner.respond(stage, examiner)
        stopped = answer.stopped_at_seconds
        cut = f", stopped at {stopped:.0f} s" if stopped is not None else ""
        say(f"  Learner ({', '.join(answer.answer_ids)}; {answer.seconds:.1f} s{cut}):")
        say(f"    {answer.text}")
        response = client.post_turn(record.session_id, wav_bytes(answer.pcm16))
        turn = TurnRecord(
            index=len(record.turns) + 1,
            stage=stage,
            part=_STAGE_PART.get(stage, 0),
            examiner=examiner,
            answer=answer,
            result=response.body,
            client_seconds=response.client_seconds,
            server_timing=response.server_timing,
        )
        record.turns.append(turn)
        verdict = turn.verdict
        notes = [name for name, on in (verdict.get("flags") or {}).items() if on]
        if verdict.get("cut_at_seconds") is not None:
            notes.append(f"cut at {verdict['cut_at_seconds']:.0f} s")
        if verdict.get("scored") is False:
            notes.append(f"not scored: {verdict.get('never_score_reason')}")
        say(f"  Heard: {turn.transcript}")
        say(
            f"  Turn {turn.index}: {turn.client_seconds:.2f} s round trip"
            f"{_timing_text(turn.server_timing)}" + (f"; {', '.join(notes)}" if notes else "")
        )
        examiner = turn.reply
        stage = str(response.body.get("stage", "closed"))
        if response.body.get("session_status") == "finished":
            break
    if examiner.get("text") and not examiner.get("expects_answer"):
        say(f"\n[closed] Examiner ({examiner.get('action')}): {examiner['text']}")
    record.final = client.get_session(record.session_id).body
    return record


def _prepare(examiner: Mapping[str, Any], wait: bool, report: Report) -> None:
    seconds = examiner.get("preparation_seconds")
    if not seconds:
        return
    card = examiner.get("cue_card") or {}
    report(f"  Cue card {card.get('card_id')}: {card.get('task')}")
    for prompt in card.get("prompts", []):
        report(f"    - {prompt}")
    report(f"    {card.get('closing')}")
    if wait:
        report(f"  (preparing for {seconds} s)")
        time.sleep(float(seconds))
    else:
        report(f"  (starts at once instead of using the {seconds} s of preparation)")
    if examiner.get("after_preparation_text"):
        report(f"  Examiner: {examiner['after_preparation_text']}")


def summary(record: MockTestRecord) -> str:
    parts = " → ".join(str(part) for part in record.parts_visited()) or "none"
    card = next((t.examiner.get("cue_card") for t in record.turns if t.stage == "long_turn"), None)
    lines = [
        f"Session {record.session_id}: {record.status}",
        f"  turns answered:     {len(record.turns)}",
        f"  parts visited:      {parts}",
        f"  cue card:           {card.get('card_id') if card else '-'}",
        f"  learner audio:      {record.audio_seconds():.1f} s",
        f"  round trips:        {record.server_seconds():.1f} s over all turns",
        f"  questions answered: {len(record.question_ids())}",
    ]
    stages: dict[str, float] = {}
    for turn in record.turns:
        for name, ms in turn.server_timing.items():
            stages[name] = stages.get(name, 0.0) + ms / 1000
    if stages:
        spent = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in stages.items())
        lines.append(f"  server stages:      {spent}")
    return "\n".join(lines)


# --- where the stack is -----------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoints:
    base_url: str
    auth_url: str


def _answers_health(base_url: str) -> bool:
    try:
        return requests.get(f"{base_url.rstrip('/')}/healthz", timeout=2).ok
    except requests.RequestException:
        return False


def running_stack(data_dir: Path = REPO_ROOT / ".local") -> Endpoints | None:
    """The stack of ``make run`` if one answers: its stack.json, else firebase.json's ports."""
    state = read_state(data_dir) or {}
    services = state.get("services", {})
    if "functions" in services and "auth" in services:
        found = Endpoints(str(services["functions"]["url"]), str(services["auth"]["url"]))
        if _answers_health(found.base_url):
            return found
    host, ports = read_ports(REPO_ROOT / "firebase.json")
    found = Endpoints(f"http://{host}:{ports['functions']}", f"http://{host}:{ports['auth']}")
    return found if _answers_health(found.base_url) else None


@contextlib.contextmanager
def local_stack(report: Report = _quiet) -> Iterator[Endpoints]:
    """The running local stack, or one started on free ports for the duration (then stopped)."""
    found = running_stack()
    if found is not None:
        report(f"Using the running local stack at {found.base_url}")
        yield found
        return
    from devstack.stack import Stack  # the supervisor is only needed when we start one

    report("No local stack answers: starting one for the demo (about 20 s)...")
    with tempfile.TemporaryDirectory(prefix="demo-stack-") as data_dir:
        stack = Stack(StackConfig(data_dir=Path(data_dir), ports=free_ports(), persist=False))
        try:
            stack.start()
            yield Endpoints(stack.base_url, stack.auth_url)
        finally:
            report("Stopping the demo's local stack...")
            stack.stop()


# --- the command ------------------------------------------------------------------------------
def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack.demo", description=__doc__)
    parser.add_argument("--level", type=int, choices=(5, 7), default=7, help="band to answer at")
    parser.add_argument("--base-url", help="functions URL (default: the local stack)")
    parser.add_argument("--auth-url", help="Auth emulator URL (default: firebase.json's)")
    parser.add_argument("--uid", help="the learner's uid (default: demo-learner-<level>)")
    parser.add_argument("--mode", default="full", help="full, part1, part2 or part2_3")
    parser.add_argument(
        "--wait-preparation", action="store_true", help="use the whole preparation minute"
    )
    return parser.parse_args(argv)


def _print(line: str) -> None:
    print(line, flush=True)


def _explicit(args: argparse.Namespace) -> Endpoints:
    host, ports = read_ports(REPO_ROOT / "firebase.json")
    return Endpoints(str(args.base_url), args.auth_url or f"http://{host}:{ports['auth']}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    level: Level = 7 if args.level == 7 else 5
    uid = args.uid or f"demo-learner-{level}"
    say = _print
    try:
        voice = LearnerVoice()
        stack = contextlib.nullcontext(_explicit(args)) if args.base_url else local_stack(say)
        with stack as endpoints:
            token = mint_token(endpoints.auth_url, LOCAL_PROJECT, uid, {"role": "student"})
            client = ApiClient(endpoints.base_url, token)
            try:
                learner = ScriptedLearner(level, voice)
                record = run_mock_test(
                    client,
                    learner,
                    mode=args.mode,
                    report=say,
                    wait_preparation=args.wait_preparation,
                )
            finally:
                client.close()
            print("\n" + summary(record), flush=True)
            return 0 if record.finished else 1
    except (DemoError, StackError) as error:
        print(f"\nThe demo stopped: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
