"""Pub/Sub events as the event functions receive them, handled safely under at-least-once
delivery.

Eventarc delivers each Pub/Sub message as a CloudEvent of type
``google.cloud.pubsub.topic.v1.messagePublished`` (the local stack does the same). A handler
wrapped by ``EventHandling.run``:

- drops events older than the age limit (a message stuck in retries must not rewrite today's
  results with yesterday's work);
- skips an event whose id it has already processed (a marker document per event id);
- raises on transient failures, so Pub/Sub retries with backoff;
- records permanent failures on the marker and acknowledges them (no retry can help);
- forwards poison messages (not JSON, wrong shape) to the dead-letter topic and acknowledges.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared import errors
from shared.logging import get_logger
from shared.ports import Clock, DocumentStore, EventPublisher

log = get_logger(__name__)

MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


class PoisonMessage(errors.AppError):
    """The message can never be processed: it is forwarded to the dead-letter topic."""

    code = "poison_message"
    http_status = 400
    default_message = "The event's message is not what this function expects."


class PermanentFailure(errors.AppError):
    """Processing failed for a reason a retry cannot cure; recorded, then acknowledged."""

    code = "permanent_failure"
    http_status = 422
    default_message = "The event could not be processed."


@dataclass(frozen=True)
class PubSubEvent:
    """One delivered message."""

    event_id: str
    source: str
    published_at: datetime | None
    data: bytes
    attributes: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        """The message body as a JSON object; PoisonMessage when it is not one."""
        try:
            value = json.loads(self.data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise PoisonMessage(f"message body is not JSON: {error}") from None
        if not isinstance(value, dict):
            raise PoisonMessage("message body is not a JSON object")
        return value


def from_cloud_event(
    event_id: str, source: str, time: str | None, data: Mapping[str, Any] | None
) -> PubSubEvent:
    """Read a messagePublished CloudEvent's parts (id, source, time, data)."""
    message = (data or {}).get("message")
    if not isinstance(message, Mapping):
        raise PoisonMessage("the CloudEvent carries no Pub/Sub message")
    try:
        body = base64.b64decode(str(message.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        raise PoisonMessage("the message data is not base64") from None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise PoisonMessage("message attributes are not a map")
    return PubSubEvent(
        event_id=event_id or str(message.get("messageId", "")),
        source=source,
        published_at=_parse_time(time or message.get("publishTime")),
        data=body,
        attributes={str(key): str(value) for key, value in attributes.items()},
    )


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class EventHandling:
    """The safety rules around one event function's work."""

    handler: str
    store: DocumentStore
    events: EventPublisher
    clock: Clock
    dead_letter_topic: str
    max_age: timedelta = timedelta(hours=6)
    marker_ttl: timedelta = timedelta(days=7)

    def marker_path(self, event_id: str) -> str:
        safe = "".join(char if char.isalnum() or char in "-_" else "_" for char in event_id)
        return f"processedEvents/{self.handler}__{safe[:200]}"

    def run(self, event: PubSubEvent, work: Callable[[PubSubEvent], None]) -> str:
        """Process ``event`` once; returns what happened (for logs and tests).

        Raises:
            DependencyUnavailable (or any retryable AppError): so the event is retried.
        """
        now = self.clock.now()
        if event.published_at is not None and now - event.published_at > self.max_age:
            log.warning("event_dropped_too_old", handler=self.handler, event_id=event.event_id)
            return "dropped_too_old"
        marker = self.marker_path(event.event_id)
        if self.store.get(marker) is not None:
            log.info("event_already_processed", handler=self.handler, event_id=event.event_id)
            return "duplicate"
        try:
            work(event)
        except PoisonMessage as poison:
            self._dead_letter(event, poison)
            self._mark(marker, "poison", poison.message)
            return "poison"
        except PermanentFailure as failure:
            log.error(
                "event_failed_permanently",
                handler=self.handler,
                event_id=event.event_id,
                error_code=failure.code,
            )
            self._mark(marker, "failed", failure.message)
            return "failed"
        self._mark(marker, "done", None)
        return "done"

    def _mark(self, path: str, status: str, reason: str | None) -> None:
        now = self.clock.now()
        self.store.set(
            path,
            {
                "handler": self.handler,
                "status": status,
                "reason": reason,
                "processed_at": now,
                "expire_at": now + self.marker_ttl,  # a TTL policy deletes old markers
            },
        )

    def _dead_letter(self, event: PubSubEvent, poison: PoisonMessage) -> None:
        log.error(
            "event_poison_forwarded",
            handler=self.handler,
            event_id=event.event_id,
            topic=self.dead_letter_topic,
        )
        self.events.publish(
            self.dead_letter_topic,
            {
                "handler": self.handler,
                "event_id": event.event_id,
                "source": event.source,
                "reason": poison.message,
                "data_base64": base64.b64encode(event.data).decode("ascii"),
                "attributes": dict(event.attributes),
            },
            attributes={"handler": self.handler, "original_event_id": event.event_id},
        )
