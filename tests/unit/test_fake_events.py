"""FakePublisher passes the EventPublisher contract and records what it accepted."""

from __future__ import annotations

import uuid

import pytest

from shared import errors
from tests.contracts.events_contract import EventPublisherContract, Receive, Received
from tests.fakes import FakePublisher


class TestFakePublisherContract(EventPublisherContract):
    @pytest.fixture
    def publisher(self) -> FakePublisher:
        return FakePublisher(topics=[])

    @pytest.fixture
    def topic(self, publisher: FakePublisher) -> str:
        name = f"contract-{uuid.uuid4().hex[:12]}"
        assert publisher.topics is not None
        publisher.topics.add(name)
        return name

    @pytest.fixture
    def receive(self, publisher: FakePublisher) -> Receive:
        delivered: dict[str, int] = {}

        def receive_(topic: str, count: int) -> list[Received]:
            start = delivered.get(topic, 0)
            messages = publisher.messages(topic)[start : start + count]
            delivered[topic] = start + len(messages)
            assert len(messages) == count, f"expected {count} messages, got {len(messages)}"
            return [Received(m.data, dict(m.attributes), m.message_id) for m in messages]

        return receive_


def test_messages_are_recorded_per_topic() -> None:
    publisher = FakePublisher()
    publisher.publish("session-finished", {"sessionId": "s1"}, attributes={"k": "v"})
    publisher.publish("analysis-requested", {"sessionId": "s1"})
    (message,) = publisher.messages("session-finished")
    assert (message.topic, message.payload, message.attributes) == (
        "session-finished",
        {"sessionId": "s1"},
        {"k": "v"},
    )
    assert [m.topic for m in publisher.published] == ["session-finished", "analysis-requested"]


def test_recorded_payloads_are_copies() -> None:
    publisher = FakePublisher()
    payload = {"list": [1]}
    publisher.publish("session-finished", payload)
    payload["list"].append(2)
    assert publisher.published[0].payload == {"list": [1]}


def test_fail_with_publishes_nothing() -> None:
    publisher = FakePublisher()
    publisher.fail_with = errors.DependencyUnavailable()
    with pytest.raises(errors.DependencyUnavailable):
        publisher.publish("session-finished", {})
    assert publisher.published == []
