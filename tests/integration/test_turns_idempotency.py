"""Turns on the real Firestore (emulator) and Cloud Storage (emulator): one answer posted five
times at once is one turn, two answers at once are two turns in order, a retry writes
nothing, and a turn stays within its read and write budget.

Speech is faked (scripted transcripts, instant synthesis) to keep the tests about storage.
"""

from __future__ import annotations

import itertools
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared import errors
from shared.adapters.firestore_store import FirestoreStore
from shared.adapters.gcs_blobs import CloudStorageBlobs
from shared.bootstrap import Container, SystemClock
from shared.models.exam import ExamMode
from shared.models.identity import Caller
from shared.ports import Query
from shared.sessions import service, turns
from shared.sessions.models import CreateSession
from shared.sessions.store_counts import CountingStore
from tests.fakes import FakePublisher, FakeTokenVerifier
from tests.fakes.speech import FakeTextToSpeech, MeetingSpeechToText
from tests.unit import audio_corpus

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def firestore(local_stack: Any) -> FirestoreStore:
    # The emulator settles each clash with a 2 s lock timeout and no priority for retried
    # transactions, so contended turns need more attempts than production's default.
    return FirestoreStore(local_stack.settings, max_attempts=25)


@pytest.fixture(scope="module")
def blobs(local_stack: Any) -> CloudStorageBlobs:
    return CloudStorageBlobs(local_stack.settings)


class Emulated:
    """The services on the emulators, for one learner."""

    def __init__(self, settings: Any, firestore: FirestoreStore, blobs: CloudStorageBlobs):
        self.store = CountingStore(firestore)
        self.firestore = firestore
        self.blobs = blobs
        self.stt = MeetingSpeechToText()
        self.container = Container(
            settings,
            store=self.store,
            blobs=blobs,
            events=FakePublisher(),
            token_verifier=FakeTokenVerifier(),
            speech_to_text=self.stt,
            text_to_speech=FakeTextToSpeech(),
            clock=SystemClock(),
        )
        self.caller = Caller(uid=f"it-{uuid.uuid4().hex[:12]}")

    def start(self, mode: ExamMode = "full") -> str:
        _, view = service.create_session(self.container, self.caller, CreateSession(mode=mode))
        return view.session_id

    def answer(self, session_id: str, key: str, audio: bytes | None = None) -> turns.TurnOutcome:
        body = audio if audio is not None else audio_corpus.answer("wav", seconds=3.0)
        return turns.post_turn(self.container, self.caller, session_id, key, body)

    def at_once(self, session_id: str, keys: list[str]) -> list[turns.TurnOutcome]:
        """Post the answers together; any that the store found too busy (503, retryable) is
        retried afterwards with its key, as the app does."""
        self.stt.arm(len(keys))

        def post(key: str) -> turns.TurnOutcome | errors.DependencyUnavailable:
            try:
                return self.answer(session_id, key)
            except errors.DependencyUnavailable as busy:
                # The emulator settles clashes by lock timeouts, without production's priority
                # for retried transactions: under load a racer can run out of attempts.
                return busy

        try:
            with ThreadPoolExecutor(max_workers=len(keys)) as pool:
                results = list(pool.map(post, keys))
        finally:
            self.stt.meeting = None
        return [
            result if isinstance(result, turns.TurnOutcome) else self.answer(session_id, key)
            for key, result in zip(keys, results, strict=True)
        ]

    def session(self, session_id: str) -> dict[str, Any]:
        found = self.firestore.get(f"sessions/{session_id}")
        assert found is not None
        return found.data

    def turns(self, session_id: str) -> list[dict[str, Any]]:
        found = self.firestore.query(Query(f"sessions/{session_id}/turns"))
        return sorted((document.data for document in found), key=lambda turn: turn["index"])

    def audio(self, session_id: str) -> list[str]:
        settings = self.container.settings
        return self.blobs.list_names(
            settings.audio_bucket, f"audio/{self.caller.uid}/{session_id}/"
        )


@pytest.fixture
def stack(local_stack: Any, firestore: FirestoreStore, blobs: CloudStorageBlobs) -> Emulated:
    return Emulated(local_stack.settings, firestore, blobs)


def test_five_posts_of_one_answer_at_once_make_exactly_one_turn(stack: Emulated) -> None:
    session_id = stack.start()
    outcomes = stack.at_once(session_id, ["same-answer-key"] * 5)
    assert len({outcome.result.turn_id for outcome in outcomes}) == 1
    assert [outcome.replayed for outcome in outcomes].count(False) == 1
    assert len(stack.turns(session_id)) == 1
    session = stack.session(session_id)
    assert session["turn_count"] == 1
    assert session["state"]["turns"] == 1
    assert len(stack.audio(session_id)) == 1


def test_two_answers_at_once_are_two_turns_on_a_consistent_cursor(stack: Emulated) -> None:
    session_id = stack.start()
    stack.answer(session_id, "the-name-check")
    outcomes = stack.at_once(session_id, ["racing-answer-a", "racing-answer-b"])
    assert sorted(outcome.result.index for outcome in outcomes) == [2, 3]
    recorded = stack.turns(session_id)
    assert [turn["index"] for turn in recorded] == [1, 2, 3]
    # Each answer was judged against the question the previous reply asked.
    for before, after in itertools.pairwise(recorded):
        assert after["question_id"] == before["reply"]["question_id"]
    session = stack.session(session_id)
    assert session["turn_count"] == 3
    assert session["state"]["turns"] == 3
    assert session["move"]["text"] == recorded[-1]["reply"]["text"]
    keys = [recent["key"] for recent in session["recent_keys"]]
    assert sorted(keys[1:]) == ["racing-answer-a", "racing-answer-b"]


def test_a_retry_writes_nothing_and_other_audio_under_the_key_is_refused(stack: Emulated) -> None:
    session_id = stack.start()
    first = stack.answer(session_id, "retried-answer")
    session_before, turns_before = stack.session(session_id), stack.turns(session_id)
    stack.store.reset()
    again = stack.answer(session_id, "retried-answer")
    assert again.replayed is True
    assert again.result.turn_id == first.result.turn_id
    assert again.result.examiner.text == first.result.examiner.text
    assert stack.store.counts.writes == 0
    other = audio_corpus.answer("wav", seconds=3.0, seed=11)
    with pytest.raises(errors.IdempotencyKeyReused):
        stack.answer(session_id, "retried-answer", audio=other)
    assert stack.session(session_id) == session_before
    assert stack.turns(session_id) == turns_before
    assert len(stack.audio(session_id)) == 1


def test_a_turn_on_firestore_stays_within_three_reads_and_three_writes(stack: Emulated) -> None:
    session_id = stack.start()
    for index in range(4):
        outcome = stack.answer(session_id, f"budget-answer-{index}")
        assert outcome.store_counts.reads <= 3, outcome.store_counts
        assert outcome.store_counts.writes <= 3, outcome.store_counts
        assert outcome.store_counts.attempts == 1


def test_speech_to_text_down_then_back_on_the_emulators(stack: Emulated) -> None:
    session_id = stack.start()
    stack.stt.fail_next = 1
    with pytest.raises(errors.DependencyUnavailable) as failed:
        stack.answer(session_id, "stt-was-down")
    assert failed.value.code == "transcription_unavailable"
    [pending] = stack.firestore.query(Query(f"sessions/{session_id}/turns"))
    assert pending.data["status"] == "pending_transcription"
    outcome = stack.answer(session_id, "stt-was-down")
    assert outcome.result.index == 1
    assert [turn["status"] for turn in stack.turns(session_id)] == ["recorded"]
    assert len(stack.audio(session_id)) == 1
