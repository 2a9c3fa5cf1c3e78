"""PubSubPublisher on the Pub/Sub emulator: the EventPublisher contract, and failures."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

from shared import errors
from shared.adapters.pubsub_events import PubSubPublisher
from shared.config import Settings
from tests.contracts.events_contract import EventPublisherContract, Receive, Received

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pubsub_publisher(local_stack: Any) -> PubSubPublisher:
    return PubSubPublisher(local_stack.settings)


@pytest.fixture(scope="module")
def admin(local_stack: Any) -> Iterator[tuple[PublisherClient, SubscriberClient]]:
    publisher, subscriber = PublisherClient(), SubscriberClient()  # emulator: env from the stack
    yield publisher, subscriber
    subscriber.close()


class TestPubSubPublisherContract(EventPublisherContract):
    @pytest.fixture
    def publisher(self, pubsub_publisher: PubSubPublisher) -> PubSubPublisher:
        return pubsub_publisher

    @pytest.fixture
    def topic(self, local_stack: Any, admin: tuple[PublisherClient, SubscriberClient]) -> str:
        project = local_stack.settings.google_cloud_project
        publisher, subscriber = admin
        topic_id = f"contract-{uuid.uuid4().hex[:12]}"
        topic_path = publisher.topic_path(project, topic_id)
        publisher.create_topic(request={"name": topic_path})
        subscriber.create_subscription(
            request={
                "name": subscriber.subscription_path(project, topic_id + "-sub"),
                "topic": topic_path,
            }
        )
        return topic_id

    @pytest.fixture
    def receive(self, local_stack: Any, admin: tuple[PublisherClient, SubscriberClient]) -> Receive:
        subscriber = admin[1]
        project = local_stack.settings.google_cloud_project

        def receive_(topic: str, count: int) -> list[Received]:
            path = subscriber.subscription_path(project, topic + "-sub")
            received: list[Received] = []
            deadline = time.monotonic() + 15
            while len(received) < count and time.monotonic() < deadline:
                response = subscriber.pull(
                    request={"subscription": path, "max_messages": count - len(received)},
                    timeout=5,
                )
                for item in response.received_messages:
                    message = item.message
                    received.append(
                        Received(bytes(message.data), dict(message.attributes), message.message_id)
                    )
                if response.received_messages:
                    subscriber.acknowledge(
                        request={
                            "subscription": path,
                            "ack_ids": [item.ack_id for item in response.received_messages],
                        }
                    )
            assert len(received) == count, f"expected {count} messages, got {len(received)}"
            return received

        return receive_


def test_the_publisher_client_is_created_once(pubsub_publisher: PubSubPublisher) -> None:
    with pytest.raises(errors.DependencyUnavailable):
        pubsub_publisher.check("no-such-topic", timeout_seconds=5)
    client = pubsub_publisher._client
    with pytest.raises(errors.DependencyUnavailable):
        pubsub_publisher.check("no-such-topic", timeout_seconds=5)
    assert client is not None
    assert pubsub_publisher._client is client


def test_a_pubsub_that_does_not_answer_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", dead)
    publisher = PubSubPublisher(Settings(pubsub_emulator_host=dead), timeout_seconds=2.0)
    started = time.monotonic()
    with pytest.raises(errors.DependencyUnavailable) as raised:
        publisher.publish("session-finished", {"sessionId": "s1"})
    assert raised.value.details == {"dependency": "pubsub", "operation": "publish"}
    with pytest.raises(errors.DependencyUnavailable):
        publisher.check("session-finished", timeout_seconds=1.0)
    assert time.monotonic() - started < 30  # bounded by the timeouts, not hanging
