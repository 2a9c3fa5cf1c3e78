"""EventPublisher on Cloud Pub/Sub, or on the Pub/Sub emulator locally.

One PublisherClient per instance, created on first use (it owns batching threads and a gRPC
channel). ``publish`` waits for the service to accept the message, so a returned message id
means the event is stored; delivery to subscribers is at least once.

Errors: a Pub/Sub that does not answer, or a topic that does not exist (an incomplete
deployment), raises ``DependencyUnavailable``; a payload that is not JSON raises TypeError or
ValueError before anything is sent; a malformed topic id raises ValueError.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry, if_exception_type
from google.auth import exceptions as auth_exc
from google.cloud.pubsub_v1 import PublisherClient

from shared.adapters._emulator import ensure_emulator_env
from shared.adapters.failures import dependency_unavailable
from shared.config import Settings

DEPENDENCY = "pubsub"
EMULATOR_ENV = "PUBSUB_EMULATOR_HOST"
# Pub/Sub's rule for topic ids (the emulator enforces the same minimum length).
TOPIC_ID = re.compile(r"(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}")

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.ResourceExhausted,
    gexc.InternalServerError,
    gexc.Aborted,
    gexc.Unknown,
    gexc.RetryError,
    concurrent.futures.TimeoutError,
    auth_exc.TransportError,
)


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; TypeError for values JSON cannot hold, ValueError for NaN."""
    if not isinstance(payload, Mapping):
        raise TypeError("an event payload is a JSON object")
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def validate_attributes(attributes: Mapping[str, str] | None) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in (attributes or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("event attributes map strings to strings")
        if not key or key.startswith("goog"):
            raise ValueError(f"{key!r} is not an attribute name")
        checked[key] = value
    return checked


def validate_topic(topic: str) -> None:
    if not TOPIC_ID.fullmatch(topic):
        raise ValueError(f"{topic!r} is not a topic id (a short id, not a full path)")


class PubSubPublisher:
    """ports.EventPublisher on Pub/Sub.

    Each publish retries transient errors and waits at most ``timeout_seconds`` for the
    service to accept the message.
    """

    def __init__(self, settings: Settings, *, timeout_seconds: float = 30.0):
        self._settings = settings
        self._timeout = timeout_seconds
        self._retry = Retry(
            predicate=if_exception_type(
                gexc.ServiceUnavailable,
                gexc.DeadlineExceeded,
                gexc.ResourceExhausted,
                gexc.InternalServerError,
                gexc.Aborted,
                gexc.Unknown,
            ),
            initial=0.1,
            maximum=5.0,
            multiplier=2.0,
            timeout=timeout_seconds,
        )
        self._client: PublisherClient | None = None
        self._lock = threading.Lock()

    def _publisher(self) -> PublisherClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    ensure_emulator_env(EMULATOR_ENV, self._settings.pubsub_emulator_host)
                    self._client = PublisherClient()
        return self._client

    def _topic_path(self, topic: str) -> str:
        validate_topic(topic)
        return f"projects/{self._settings.google_cloud_project}/topics/{topic}"

    @contextmanager
    def _answering(self, operation: str) -> Iterator[None]:
        try:
            yield
        except _UNAVAILABLE as error:
            self._unavailable(operation, error)
        except (gexc.NotFound, gexc.PermissionDenied) as error:
            reason = "topic_not_found" if isinstance(error, gexc.NotFound) else "forbidden"
            self._unavailable(operation, error, reason=reason)

    def _unavailable(self, operation: str, error: BaseException, reason: str = "") -> NoReturn:
        dependency_unavailable(DEPENDENCY, operation, error, reason)

    def publish(
        self, topic: str, payload: Mapping[str, Any], *, attributes: Mapping[str, str] | None = None
    ) -> str:
        """Publish and wait until Pub/Sub has stored the message; returns its id."""
        path = self._topic_path(topic)
        data = encode_payload(payload)
        attrs = validate_attributes(attributes)
        client = self._publisher()
        with self._answering("publish"):
            future = client.publish(path, data, retry=self._retry, timeout=self._timeout, **attrs)
            message_id: str = future.result(timeout=self._timeout)
        return message_id

    def check(self, topic: str, timeout_seconds: float) -> None:
        """Look the topic up without retries (needs pubsub.topics.get, e.g. pubsub.viewer)."""
        path = self._topic_path(topic)
        client = self._publisher()
        with self._answering("check"):
            client.get_topic(request={"topic": path}, timeout=timeout_seconds, retry=None)
