"""The scoring event functions under at-least-once delivery: duplicates, reordering, poison."""

from __future__ import annotations

import random

import pytest

from functions import scoring
from shared.bootstrap import get_container
from shared.scoring import phase2
from shared.scoring.documents import deep_path, summary_path
from tests.unit.conftest import FakeWorld
from tests.unit.scoring_support import finish_a_test, pubsub_event
from tests.unit.session_support import Client, Examiner, install_examiner


@pytest.fixture
def examiner(world: FakeWorld, client_for: Client, monkeypatch: pytest.MonkeyPatch) -> Examiner:
    monkeypatch.setattr(phase2, "DEEP_TIME_BUDGET_SECONDS", 0.0)
    return install_examiner(world, client_for)


def _now(examiner: Examiner) -> str:
    return examiner.world.clock.now().isoformat()


def _finished(examiner: Examiner, session_id: str) -> object:
    topic = examiner.settings.topic_session_finished
    return pubsub_event(
        topic,
        {"session_id": session_id, "uid": "learner-1"},
        attributes={"session_id": session_id},
        time=_now(examiner),
    )


def _requested(examiner: Examiner, session_id: str) -> object:
    topic = examiner.settings.topic_analysis_requested
    return pubsub_event(
        topic,
        {"session_id": session_id},
        attributes={"session_id": session_id},
        time=_now(examiner),
    )


def test_the_same_event_twice_is_processed_once(examiner: Examiner) -> None:
    session_id = finish_a_test(examiner, seconds=20.0)
    event = _finished(examiner, session_id)
    assert scoring.score_session(event) == "done"
    assert scoring.score_session(event) == "duplicate"
    assert len(examiner.world.events.messages(examiner.settings.topic_analysis_requested)) == 1


def test_duplicates_in_any_order_make_one_summary_one_analysis_one_completion(
    examiner: Examiner,
) -> None:
    session_id = finish_a_test(examiner, seconds=20.0)
    events = [(scoring.score_session, _finished(examiner, session_id)) for _ in range(4)]
    events += [(scoring.analyze_session, _requested(examiner, session_id)) for _ in range(4)]
    events += events[:3]  # the same ids again
    random.Random(7).shuffle(events)
    snapshots = []
    for function, event in events:
        function(event)
        found = examiner.world.store.get(deep_path(session_id))
        if found is not None:
            snapshots.append(found.data)
    store = examiner.world.store
    analysis = [p for p in store.paths() if p.startswith(f"sessions/{session_id}/analysis/")]
    assert sorted(analysis) == sorted(
        [
            summary_path(session_id),
            deep_path(session_id),
            summary_path(session_id, 1),
            deep_path(session_id, 1),
        ]
    )
    assert all(snapshot == snapshots[0] for snapshot in snapshots)
    # The visible copy is generation 1's record, word for word.
    shown, record = store.get(deep_path(session_id)), store.get(deep_path(session_id, 1))
    assert shown is not None
    assert record is not None
    assert shown.data == record.data
    assert examiner.session_document(session_id)["scoring"]["status"] == "analysis_ready"
    completed = examiner.world.events.messages(examiner.settings.topic_analysis_completed)
    assert len(completed) == 1
    assert completed[0].payload == {"session_id": session_id, "judge": "offline", "generation": 1}


def test_analysis_before_the_summary_computes_the_summary_first(examiner: Examiner) -> None:
    session_id = finish_a_test(examiner, seconds=20.0)
    assert scoring.analyze_session(_requested(examiner, session_id)) == "done"
    store = examiner.world.store
    assert store.get(summary_path(session_id)) is not None
    assert store.get(deep_path(session_id)) is not None
    assert examiner.session_document(session_id)["scoring"]["status"] == "analysis_ready"
    # The late session-finished changes nothing and asks for no second analysis.
    summary = store.get(summary_path(session_id))
    assert scoring.score_session(_finished(examiner, session_id)) == "done"
    assert store.get(summary_path(session_id)) == summary
    assert examiner.session_document(session_id)["scoring"]["status"] == "analysis_ready"
    assert examiner.world.events.messages(examiner.settings.topic_analysis_requested) == []


@pytest.mark.parametrize(
    ("body", "attributes"),
    [
        (b"\xff not json", {}),
        (b'{"uid": "learner-1"}', {}),
        (b'{"session_id": "../../users/x"}', {}),
        (b'{"session_id": "s-1"}', {"session_id": "s-2"}),
    ],
)
def test_poison_goes_to_the_dead_letter_topic(
    examiner: Examiner, body: bytes, attributes: dict[str, str]
) -> None:
    topic = examiner.settings.topic_session_finished
    event = pubsub_event(topic, None, raw=body, attributes=attributes, time=_now(examiner))
    assert scoring.score_session(event) == "poison"
    [dead] = examiner.world.events.messages(examiner.settings.topic_dead_letter)
    assert dead.payload["handler"] == "score_session"
    assert dead.payload["event_id"] == event["id"]
    assert examiner.world.events.messages(examiner.settings.topic_analysis_requested) == []


def test_a_missing_session_is_recorded_as_failed_and_acknowledged(examiner: Examiner) -> None:
    event = _finished(examiner, "no-such-session")
    assert scoring.score_session(event) == "failed"
    marker = examiner.world.store.get(f"processedEvents/score_session__{event['id']}")
    assert marker is not None
    assert marker.data["status"] == "failed"


def test_a_store_outage_raises_so_the_event_is_retried(examiner: Examiner) -> None:
    from shared import errors

    session_id = finish_a_test(examiner, seconds=20.0)
    container = get_container()
    original = container.blobs.get

    def unavailable(bucket: str, name: str) -> bytes:
        raise errors.DependencyUnavailable()

    container.blobs.get = unavailable  # type: ignore[method-assign]
    event = _finished(examiner, session_id)
    with pytest.raises(errors.DependencyUnavailable):
        scoring.score_session(event)
    container.blobs.get = original  # type: ignore[method-assign]
    assert scoring.score_session(event) == "done"  # no marker was left: the retry runs


def test_a_lost_completion_announcement_is_made_by_the_retry(examiner: Examiner) -> None:
    from shared import errors

    session_id = finish_a_test(examiner, seconds=20.0)
    event = _requested(examiner, session_id)
    examiner.world.events.fail_with = errors.DependencyUnavailable()
    with pytest.raises(errors.DependencyUnavailable):
        scoring.analyze_session(event)
    examiner.world.events.fail_with = None
    assert scoring.analyze_session(event) == "done"
    assert scoring.analyze_session(_requested(examiner, session_id)) == "done"
    completed = examiner.world.events.messages(examiner.settings.topic_analysis_completed)
    assert len(completed) == 1
