"""EventPublisher contract: what every publisher (FakePublisher, PubSubPublisher) must do.

Subclass ``EventPublisherContract`` as ``Test...`` and provide fixtures:
- ``publisher``: the EventPublisher under test;
- ``topic``: a fresh, existing topic id that a subscriber is listening to;
- ``receive``: ``(topic, count) -> list[Received]``, the next ``count`` messages a
  subscriber of ``topic`` gets (waiting for them a few seconds).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import errors
from shared.ports import EventPublisher


@dataclass(frozen=True)
class Received:
    data: bytes
    attributes: dict[str, str]
    message_id: str

    @property
    def payload(self) -> Any:
        return json.loads(self.data)


Receive = Callable[[str, int], list[Received]]


class EventPublisherContract:
    def test_a_published_event_arrives_with_its_attributes(
        self, publisher: EventPublisher, topic: str, receive: Receive
    ) -> None:
        payload = {"sessionId": "s1", "uid": "u1", "bands": [6.5, 7], "note": "café ✓"}
        message_id = publisher.publish(
            topic, payload, attributes={"eventType": "session-finished", "schema": "1"}
        )
        assert isinstance(message_id, str)
        assert message_id
        (received,) = receive(topic, 1)
        assert received.message_id == message_id
        assert received.payload == payload
        assert received.attributes == {"eventType": "session-finished", "schema": "1"}
        # Compact UTF-8 JSON: what the event functions parse.
        assert received.data == json.dumps(
            payload, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")

    def test_events_without_attributes_get_distinct_ids(
        self, publisher: EventPublisher, topic: str, receive: Receive
    ) -> None:
        first = publisher.publish(topic, {"n": 1})
        second = publisher.publish(topic, {"n": 2})
        assert first != second
        received = receive(topic, 2)
        assert sorted(message.payload["n"] for message in received) == [1, 2]
        assert all(message.attributes == {} for message in received)

    @pytest.mark.parametrize(
        ("payload", "error"),
        [
            ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, TypeError),
            ({"tags": {"a", "b"}}, TypeError),
            ({"score": math.nan}, ValueError),
        ],
    )
    def test_a_payload_json_cannot_hold_is_refused_before_sending(
        self,
        publisher: EventPublisher,
        topic: str,
        receive: Receive,
        payload: dict[str, Any],
        error: type[Exception],
    ) -> None:
        with pytest.raises(error):
            publisher.publish(topic, payload)
        publisher.publish(topic, {"after": True})
        assert [message.payload for message in receive(topic, 1)] == [{"after": True}]

    def test_attributes_are_strings(self, publisher: EventPublisher, topic: str) -> None:
        with pytest.raises(TypeError):
            publisher.publish(topic, {}, attributes={"attempt": 1})  # type: ignore[dict-item]

    @pytest.mark.parametrize("bad", ["projects/p/topics/session-finished", "ab", "", "1abc"])
    def test_topics_are_short_ids(self, publisher: EventPublisher, bad: str) -> None:
        with pytest.raises(ValueError, match="topic id"):
            publisher.publish(bad, {})

    def test_check(self, publisher: EventPublisher, topic: str) -> None:
        publisher.check(topic, timeout_seconds=5)

    def test_a_missing_topic_is_a_deployment_problem(self, publisher: EventPublisher) -> None:
        missing = f"missing-{uuid.uuid4().hex[:12]}"
        with pytest.raises(errors.DependencyUnavailable) as raised:
            publisher.publish(missing, {"n": 1})
        assert raised.value.details["reason"] == "topic_not_found"
        with pytest.raises(errors.DependencyUnavailable):
            publisher.check(missing, timeout_seconds=5)
