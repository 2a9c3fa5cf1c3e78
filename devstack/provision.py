"""Buckets, topics and push subscriptions the functions expect, created in the emulators.

Through the emulators' REST APIs (plain HTTP, no gRPC client threads in the supervisor);
tests check the result with the real client libraries. Every call is idempotent, so a
restarted emulator is provisioned again by the same code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests

from devstack.config import StackConfig, StackError
from shared.config import Settings

# Locally a failing event is retried quickly so the developer sees it dead-lettered soon;
# Terraform sets the production backoff.
_MAX_DELIVERY_ATTEMPTS = 5
_RETRY_POLICY = {"minimumBackoff": "1s", "maximumBackoff": "10s"}
# A push waits this long for the function to answer before Pub/Sub redelivers (Cloud Run's
# longest request for an event function is 10 minutes).
_ACK_DEADLINE_SECONDS = 600


@dataclass(frozen=True)
class Bucket:
    name: str
    lifecycle_delete_after_days: int | None = None


@dataclass(frozen=True)
class Subscription:
    name: str
    topic: str
    push_endpoint: str | None  # None: a pull subscription
    dead_letter_topic: str | None = None


@dataclass(frozen=True)
class Plan:
    buckets: tuple[Bucket, ...]
    topics: tuple[str, ...]
    subscriptions: tuple[Subscription, ...]


def topic_fields(settings: Settings) -> dict[str, str]:
    """Every ``topic_*`` field of Settings (the dead-letter topic included) and its value."""
    return {
        name: str(getattr(settings, name))
        for name in type(settings).model_fields
        if name.startswith("topic_")
    }


def make_plan(settings: Settings, pushes: Iterable[tuple[str, str, str]]) -> Plan:
    """The resources for ``settings``; ``pushes`` are (function, topic, push endpoint)."""
    pushes = list(pushes)
    topics = dict.fromkeys([*topic_fields(settings).values(), *(t for _, t, _ in pushes)])
    dead_letter = settings.topic_dead_letter
    subscriptions = [
        Subscription(f"devstack-{function}", topic, endpoint, dead_letter)
        for function, topic, endpoint in pushes
    ]
    # Dead letters stay inspectable: pull them with `gcloud pubsub subscriptions pull`.
    subscriptions.append(Subscription(f"{dead_letter}-inspect", dead_letter, None))
    return Plan(
        buckets=(
            Bucket(settings.audio_bucket, settings.audio_retention_days),
            Bucket(settings.reports_bucket),
        ),
        topics=tuple(topics),
        subscriptions=tuple(subscriptions),
    )


def provision_storage(config: StackConfig, plan: Plan) -> None:
    base = f"{config.url('storage')}/storage/v1/b"
    for bucket in plan.buckets:
        response = _call(
            "POST", base, params={"project": config.project}, json={"name": bucket.name}
        )
        _check(response, f"create bucket {bucket.name}", allow_conflict=True)
        if bucket.lifecycle_delete_after_days is not None:
            # A separate PATCH: the emulator ignores everything but the name on insert.
            rule = {
                "action": {"type": "Delete"},
                "condition": {"age": bucket.lifecycle_delete_after_days},
            }
            response = _call("PATCH", f"{base}/{bucket.name}", json={"lifecycle": {"rule": [rule]}})
            _check(response, f"set the lifecycle of bucket {bucket.name}")


def provision_pubsub(config: StackConfig, plan: Plan) -> None:
    project = f"projects/{config.project}"
    base = f"{config.url('pubsub')}/v1/{project}"
    for topic in plan.topics:
        _check(_call("PUT", f"{base}/topics/{topic}"), f"create topic {topic}", allow_conflict=True)
    for sub in plan.subscriptions:
        body: dict[str, Any] = {
            "topic": f"{project}/topics/{sub.topic}",
            "ackDeadlineSeconds": _ACK_DEADLINE_SECONDS,
        }
        push_config = {"pushEndpoint": sub.push_endpoint} if sub.push_endpoint else {}
        if sub.push_endpoint:
            body["pushConfig"] = push_config
            body["retryPolicy"] = _RETRY_POLICY
        if sub.dead_letter_topic:
            body["deadLetterPolicy"] = {
                "deadLetterTopic": f"{project}/topics/{sub.dead_letter_topic}",
                "maxDeliveryAttempts": _MAX_DELIVERY_ATTEMPTS,
            }
        url = f"{base}/subscriptions/{sub.name}"
        response = _call("PUT", url, json=body)
        if response.status_code == 409:
            # It survived from an earlier start: point it at today's endpoint.
            response = _call("POST", f"{url}:modifyPushConfig", json={"pushConfig": push_config})
        _check(response, f"create subscription {sub.name}")


def _call(method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        return requests.request(method, url, timeout=10, **kwargs)
    except requests.RequestException as error:
        raise StackError(f"{method} {url} failed: {error}") from None


def _check(response: requests.Response, what: str, *, allow_conflict: bool = False) -> None:
    if response.ok or (allow_conflict and response.status_code == 409):
        return
    raise StackError(f"could not {what}: HTTP {response.status_code} {response.text[:300]}")
