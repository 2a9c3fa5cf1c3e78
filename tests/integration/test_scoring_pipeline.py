"""Scoring on the emulators: a mock test taken over HTTP (flite speech, pocketsphinx on the
stack) is finished, and the real Pub/Sub push delivery runs phase 1 and phase 2 until the
results say ``analysis_ready``; then hundreds of duplicate and reordered deliveries of the
two events, handled in process on the real Firestore, leave one summary and one analysis
per session, each written once; and with a regrade in the middle, shuffled duplicate
deliveries of generations 1 and 2 leave one result per generation, generation 2 visible.
"""

from __future__ import annotations

import io
import random
import time
import uuid
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from functions import scoring
from shared import errors
from shared.adapters.firestore_store import FirestoreStore
from shared.adapters.gcs_blobs import CloudStorageBlobs
from shared.bootstrap import Container
from shared.models.identity import Caller
from shared.ports import Query
from shared.scoring import phase2
from shared.scoring.documents import deep_path, summary_path
from shared.scoring.regrade import request_regrade
from tests.fakes import FakePublisher
from tests.speech_samples import synthesize
from tests.unit.scoring_support import ANSWERS, pubsub_event

pytestmark = pytest.mark.integration

SESSIONS = 5
DELIVERIES = 200


def _wav(pcm16: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(pcm16)
    return buffer.getvalue()


def _wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def finished_over_http(local_stack: Any) -> tuple[str, str]:
    """(uid, session_id) of a mock test answered with flite speech and finished."""
    uid = f"scoring-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {local_stack.mint_token(uid)}"}
    base = local_stack.base_url
    created = requests.post(f"{base}/sessions", json={"mode": "full"}, headers=headers, timeout=60)
    assert created.status_code == 201, created.text
    session_id = created.json()["session_id"]
    for index, text in enumerate(ANSWERS):
        response = requests.post(
            f"{base}/sessions/{session_id}/turns",
            data=_wav(synthesize(text)),
            headers={**headers, "Content-Type": "audio/wav", "Idempotency-Key": f"k-{index:08d}"},
            timeout=120,
        )
        assert response.status_code == 200, response.text
    finish = requests.post(f"{base}/sessions/{session_id}/finish", headers=headers, timeout=60)
    assert finish.status_code == 200, finish.text
    return uid, session_id


def test_a_finished_test_reaches_analysis_ready_through_push_delivery(
    local_stack: Any, finished_over_http: tuple[str, str]
) -> None:
    uid, session_id = finished_over_http
    headers = {"Authorization": f"Bearer {local_stack.mint_token(uid)}"}
    url = f"{local_stack.base_url}/sessions/{session_id}/results"

    def analysed() -> dict[str, Any] | None:
        body: dict[str, Any] = requests.get(url, headers=headers, timeout=30).json()
        return body if body.get("status") == "analysis_ready" else None

    body = _wait_for(analysed, 240, "the results to reach analysis_ready")
    summary, deep = body["summary"], body["deep"]
    assert summary["answers_scored"] >= 4
    assert summary["criteria"]["pronunciation"]["scored"], summary["criteria"]["pronunciation"]
    assert deep["judge"] == "offline"  # no language model on the local stack
    assert body["rounding_note"]
    other = {"Authorization": f"Bearer {local_stack.mint_token('someone-else')}"}
    assert requests.get(url, headers=other, timeout=30).status_code == 404


def _copy_session(store: FirestoreStore, source: str, target: str) -> None:
    """The session and its turns again under another id, written directly (audio shared)."""
    found = store.get(f"sessions/{source}")
    assert found is not None
    data = {k: v for k, v in found.data.items() if k != "scoring"}
    store.set(f"sessions/{target}", {**data, "session_id": target})
    for turn in store.query(Query(f"sessions/{source}/turns")):
        store.set(f"sessions/{target}/turns/{turn.id}", {**turn.data, "session_id": target})


def test_hundreds_of_duplicate_and_reordered_deliveries_make_one_result_per_session(
    local_stack: Any, finished_over_http: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Alignment is phase 2's slow part; its cost is bench/scoring.py's business, not this test's.
    monkeypatch.setattr(phase2, "DEEP_TIME_BUDGET_SECONDS", 3.0)
    settings = local_stack.settings
    store = FirestoreStore(settings, max_attempts=25)
    events = FakePublisher()
    container = Container(
        settings, store=store, blobs=CloudStorageBlobs(settings), events=events, language_model=None
    )
    _, source = finished_over_http
    sessions = [f"scoring-copy-{uuid.uuid4().hex[:10]}" for _ in range(SESSIONS)]
    for session_id in sessions:
        _copy_session(store, source, session_id)
    now = container.clock.now().isoformat()
    deliveries: list[tuple[Callable[..., str], Any]] = []
    rng = random.Random(20261122)
    while len(deliveries) < DELIVERIES:
        session_id = rng.choice(sessions)
        phase_one = rng.random() < 0.5
        topic = settings.topic_session_finished if phase_one else settings.topic_analysis_requested
        event = pubsub_event(
            topic, {"session_id": session_id}, attributes={"session_id": session_id}, time=now
        )
        handler = scoring.score_session if phase_one else scoring.analyze_session
        deliveries += [(handler, event)] * rng.choice((1, 1, 2, 3))  # some ids delivered again
    rng.shuffle(deliveries)

    def deliver(item: tuple[Callable[..., str], Any]) -> str:
        handler, event = item
        for _ in range(5):  # as Pub/Sub would: a transient failure is delivered again
            try:
                return handler(event, container)
            except errors.DependencyUnavailable:
                continue
        raise AssertionError("still failing after five deliveries")

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(deliver, deliveries[:DELIVERIES]))
    assert set(outcomes) <= {"done", "duplicate"}
    for session_id in sessions:
        analysis = store.query(Query(f"sessions/{session_id}/analysis"))
        assert sorted(doc.id for doc in analysis) == ["deep", "deep__g1", "summary", "summary__g1"]
        session = store.get(f"sessions/{session_id}")
        assert session is not None
        assert session.data["scoring"]["status"] == "analysis_ready"
        completed = [
            m
            for m in events.messages(settings.topic_analysis_completed)
            if m.payload["session_id"] == session_id
        ]
        assert len(completed) == 1
    # Every copy has the same turns and audio: the same summary, word for word.
    summaries = [store.get(summary_path(s)) for s in sessions]
    deeps = [store.get(deep_path(s)) for s in sessions]
    assert all(doc is not None for doc in summaries + deeps)
    shared_summary = [
        {k: v for k, v in doc.data.items() if k != "session_id"} for doc in summaries if doc
    ]
    assert all(summary == shared_summary[0] for summary in shared_summary)


def test_a_regrade_amid_shuffled_duplicates_of_two_generations_shows_generation_two(
    local_stack: Any, finished_over_http: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(phase2, "DEEP_TIME_BUDGET_SECONDS", 3.0)
    settings = local_stack.settings
    store = FirestoreStore(settings, max_attempts=25)
    events = FakePublisher()
    container = Container(
        settings, store=store, blobs=CloudStorageBlobs(settings), events=events, language_model=None
    )
    _, source = finished_over_http
    session_id = f"regrade-copy-{uuid.uuid4().hex[:10]}"
    _copy_session(store, source, session_id)
    now = container.clock.now().isoformat()
    rng = random.Random(20261123)

    def deliveries(generation: int) -> list[tuple[Callable[..., str], Any]]:
        """Four messages per topic of ``generation``, each delivered one to three times."""
        body: dict[str, Any] = {"session_id": session_id}
        attributes = {"session_id": session_id}
        if generation > 1:  # generation 1 as the finish sends it: without the field
            body["generation"] = generation
            attributes["generation"] = str(generation)
        found: list[tuple[Callable[..., str], Any]] = []
        for _ in range(4):
            for topic, handler in (
                (settings.topic_session_finished, scoring.score_session),
                (settings.topic_analysis_requested, scoring.analyze_session),
            ):
                event = pubsub_event(topic, body, attributes=attributes, time=now)
                found += [(handler, event)] * rng.choice((1, 2, 3))
        return found

    def deliver(item: tuple[Callable[..., str], Any]) -> str:
        handler, event = item
        for _ in range(5):
            try:
                return handler(event, container)
            except errors.DependencyUnavailable:
                continue
        raise AssertionError("still failing after five deliveries")

    # Generation 1's summary first (a regrade needs a result), then a few more of its events.
    first = deliveries(1)
    assert deliver((scoring.score_session, first[0][1])) == "done"
    rng.shuffle(first)
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert set(pool.map(deliver, first[:3])) <= {"done", "duplicate"}
    visible_before = store.get(summary_path(session_id))
    assert visible_before is not None

    admin = Caller(uid="integration-admin", role="admin")
    started = request_regrade(
        container, admin, session_id, "regrade-key-0001", "calibration_update", request_id="r-1"
    )
    again = request_regrade(
        container, admin, session_id, "regrade-key-0001", "calibration_update", request_id="r-2"
    )
    assert (started.generation, again.generation, again.replayed) == (2, 2, True)
    published = [
        m
        for m in events.messages(settings.topic_session_finished)
        if m.payload.get("generation") == 2
    ]
    assert len(published) == 1

    rest = first[3:] + deliveries(2)
    rng.shuffle(rest)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(deliver, rest))
    assert set(outcomes) <= {"done", "duplicate"}

    ids = sorted(doc.id for doc in store.query(Query(f"sessions/{session_id}/analysis")))
    # One record per generation (generation 1's deep analysis only if it ran before the
    # regrade superseded it) and the visible pair.
    assert {"deep", "summary", "summary__g1", "summary__g2", "deep__g2"} <= set(ids)
    assert set(ids) <= {"deep", "summary", "summary__g1", "deep__g1", "summary__g2", "deep__g2"}
    shown_summary, shown_deep = (
        store.get(summary_path(session_id)),
        store.get(deep_path(session_id)),
    )
    record_summary = store.get(summary_path(session_id, 2))
    record_deep = store.get(deep_path(session_id, 2))
    assert shown_summary is not None
    assert shown_deep is not None
    assert record_summary is not None
    assert record_deep is not None
    assert shown_deep.data == record_deep.data
    assert shown_summary.data == record_summary.data
    assert shown_deep.data["generation"] == 2
    assert shown_deep.data["versions"]["scoring"] == shown_deep.data["version"]
    session = store.get(f"sessions/{session_id}")
    assert session is not None
    assert session.data["scoring"]["generation"] == 2
    assert session.data["scoring"]["status"] == "analysis_ready"
    completed = [
        m.payload["generation"]
        for m in events.messages(settings.topic_analysis_completed)
        if m.payload["session_id"] == session_id
    ]
    assert completed.count(2) == 1
    assert completed.count(1) <= 1
    audit = [
        doc.data
        for doc in store.query(Query("auditLog"))
        if doc.data.get("target") == f"session:{session_id}"
    ]
    assert len(audit) == 1
    assert audit[0]["action"] == "regrade_requested"
    assert audit[0]["actor_uid"] == "integration-admin"
    assert audit[0]["details"]["reason"] == "calibration_update"
