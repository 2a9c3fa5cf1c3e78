"""Event handling under at-least-once delivery: duplicates, age, poison, permanent failures."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from shared import errors
from shared.events import (
    EventHandling,
    PermanentFailure,
    PoisonMessage,
    PubSubEvent,
    from_cloud_event,
)
from tests.fakes import FakePublisher, FakeStore, FixedClock


def _cloud_event_data(body: object, **attributes: str) -> dict[str, object]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {
        "message": {
            "data": base64.b64encode(raw).decode(),
            "attributes": attributes,
            "messageId": "m-1",
            "publishTime": "2026-01-05T09:00:00Z",
        },
        "subscription": "projects/p/subscriptions/s",
    }


@pytest.fixture
def handling() -> EventHandling:
    return EventHandling(
        handler="score_session",
        store=FakeStore(),
        events=FakePublisher(),
        clock=FixedClock(),
        dead_letter_topic="speaking-coach-dead-letter",
    )


def _event(handling: EventHandling, body: object = None, event_id: str = "e-1") -> PubSubEvent:
    return from_cloud_event(
        event_id,
        "//pubsub.googleapis.com/projects/p/topics/session-finished",
        handling.clock.now().isoformat(),
        _cloud_event_data(body if body is not None else {"session_id": "s1"}, session_id="s1"),
    )


def test_a_cloud_event_is_read_with_data_and_attributes(handling: EventHandling) -> None:
    event = _event(handling)
    assert event.event_id == "e-1"
    assert event.json() == {"session_id": "s1"}
    assert event.attributes == {"session_id": "s1"}


def test_a_duplicate_delivery_does_the_work_once(handling: EventHandling) -> None:
    calls: list[str] = []
    outcomes = [
        handling.run(_event(handling), lambda e: calls.append(e.event_id)) for _ in range(3)
    ]
    assert outcomes == ["done", "duplicate", "duplicate"]
    assert calls == ["e-1"]


def test_a_transient_failure_raises_so_pubsub_retries(handling: EventHandling) -> None:
    def flaky(_: PubSubEvent) -> None:
        raise errors.DependencyUnavailable("firestore busy")

    with pytest.raises(errors.DependencyUnavailable):
        handling.run(_event(handling), flaky)
    # Nothing was marked: the retry does the work.
    assert handling.run(_event(handling), lambda _: None) == "done"


def test_a_permanent_failure_is_recorded_and_acknowledged(handling: EventHandling) -> None:
    def hopeless(_: PubSubEvent) -> None:
        raise PermanentFailure("session s1 does not exist")

    assert handling.run(_event(handling), hopeless) == "failed"
    marker = handling.store.get(handling.marker_path("e-1"))
    assert marker is not None
    assert marker.data["status"] == "failed"
    assert "does not exist" in marker.data["reason"]
    assert handling.run(_event(handling), hopeless) == "duplicate"


def test_a_poison_message_goes_to_the_dead_letter_topic(handling: EventHandling) -> None:
    event = from_cloud_event(
        "e-9", "src", handling.clock.now().isoformat(), _cloud_event_data(b"\xff not json")
    )
    assert handling.run(event, lambda e: e.json() and None) == "poison"
    (sent,) = handling.events.published  # type: ignore[attr-defined]
    assert sent.topic == "speaking-coach-dead-letter"
    assert sent.payload["event_id"] == "e-9"
    assert base64.b64decode(sent.payload["data_base64"]) == b"\xff not json"


def test_an_event_older_than_the_limit_is_dropped(handling: EventHandling) -> None:
    event = _event(handling)
    handling.clock.advance(handling.max_age + timedelta(minutes=1))  # type: ignore[attr-defined]
    calls: list[str] = []
    assert handling.run(event, lambda e: calls.append(e.event_id)) == "dropped_too_old"
    assert calls == []


@pytest.mark.parametrize(
    "data",
    [None, {}, {"message": "nope"}, {"message": {"data": "%%%"}}, {"message": {"attributes": 3}}],
)
def test_malformed_cloud_events_are_poison(data: dict[str, object] | None) -> None:
    with pytest.raises(PoisonMessage):
        from_cloud_event("e", "src", None, data)


def test_marker_ids_cannot_escape_their_collection(handling: EventHandling) -> None:
    assert handling.marker_path("../../users/x") == "processedEvents/score_session________users_x"
