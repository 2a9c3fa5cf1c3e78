"""FakePublisher: an in-memory ports.EventPublisher that records what was published."""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared import errors

_TOPIC_ID = re.compile(r"(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}")


@dataclass(frozen=True)
class PublishedMessage:
    """One accepted message: the decoded payload is what a subscriber would parse."""

    topic: str
    payload: dict[str, Any]
    attributes: dict[str, str]
    message_id: str
    data: bytes


class FakePublisher:
    """Records messages like Pub/Sub would accept them.

    ``topics``: the topics that exist (None: every well-formed topic exists); publishing to
    or checking another raises DependencyUnavailable, like the real adapter. Set
    ``fail_with`` to make every call raise it.
    """

    def __init__(self, *, topics: Iterable[str] | None = None):
        self.topics = None if topics is None else set(topics)
        self.published: list[PublishedMessage] = []
        self.fail_with: BaseException | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def messages(self, topic: str) -> list[PublishedMessage]:
        """What was published to ``topic``, oldest first."""
        with self._lock:
            return [message for message in self.published if message.topic == topic]

    def _require(self, topic: str, operation: str) -> None:
        if not _TOPIC_ID.fullmatch(topic):
            raise ValueError(f"{topic!r} is not a topic id (a short id, not a full path)")
        if self.fail_with is not None:
            raise self.fail_with
        if self.topics is not None and topic not in self.topics:
            raise errors.DependencyUnavailable(
                details={
                    "dependency": "pubsub",
                    "operation": operation,
                    "reason": "topic_not_found",
                }
            )

    def publish(
        self, topic: str, payload: Mapping[str, Any], *, attributes: Mapping[str, str] | None = None
    ) -> str:
        if not _TOPIC_ID.fullmatch(topic):
            raise ValueError(f"{topic!r} is not a topic id (a short id, not a full path)")
        if not isinstance(payload, Mapping):
            raise TypeError("an event payload is a JSON object")
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        checked: dict[str, str] = {}
        for key, value in (attributes or {}).items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("event attributes map strings to strings")
            if not key or key.startswith("goog"):
                raise ValueError(f"{key!r} is not an attribute name")
            checked[key] = value
        self._require(topic, "publish")
        with self._lock:
            message_id = str(next(self._ids))
            self.published.append(
                PublishedMessage(
                    topic=topic,
                    payload=json.loads(data),
                    attributes=checked,
                    message_id=message_id,
                    data=data.encode(),
                )
            )
        return message_id

    def check(self, topic: str, timeout_seconds: float) -> None:
        self._require(topic, "check")
