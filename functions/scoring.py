"""The scoring event functions: session-finished → phase 1, analysis-requested → phase 2.

Each turns the delivered CloudEvent into a ``PubSubEvent``, runs the service under
``EventHandling`` (markers per event id, age limit, retry on transient errors, poison to the
dead-letter topic) and returns. The analyzers and the scoring service are imported on the
first event, not when main.py loads: every function shares main.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.bootstrap import Container, get_container
from shared.events import EventHandling, PoisonMessage, PubSubEvent, from_cloud_event
from shared.logging import bound_context, get_logger, trace_fields

log = get_logger(__name__)


class ScoringMessage(BaseModel):
    """What session-finished and analysis-requested both carry (and more, ignored here)."""

    model_config = ConfigDict(extra="ignore")

    session_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    uid: str | None = None
    # Which grading of the session: absent in messages from before regrades, which are 1.
    generation: int = Field(default=1, ge=1, le=10_000)


def message_of(event: PubSubEvent) -> ScoringMessage:
    """What the message is about; PoisonMessage when it names no session, or disagrees with
    its attributes."""
    try:
        message = ScoringMessage.model_validate(event.json())
    except ValidationError:
        raise PoisonMessage("the message has no valid session_id or generation") from None
    attribute = event.attributes.get("session_id")
    if attribute is not None and attribute != message.session_id:
        raise PoisonMessage("the session_id attribute and body disagree")
    generation = event.attributes.get("generation")
    if generation is not None and generation != str(message.generation):
        raise PoisonMessage("the generation attribute and body disagree")
    return message


def session_id_of(event: PubSubEvent) -> str:
    """The session the message is about; PoisonMessage when it names none or two."""
    return message_of(event).session_id


Step = Callable[[Container, str, int], str]


def handle(
    handler: str,
    cloud_event: Any,
    step: Step,
    container: Container | None = None,
) -> str:
    """Run ``step`` for the CloudEvent's session under the at-least-once rules."""
    container = container or get_container()
    # Every line of this event carries the function (a label the metrics group by) and the
    # trace Eventarc started, so the event's lines join the request that published it.
    trace = trace_fields(container.settings.google_cloud_project, None, _traceparent(cloud_event))
    with bound_context(function=handler, **trace):
        return _handle(handler, cloud_event, step, container)


def _traceparent(cloud_event: Any) -> str | None:
    """The W3C traceparent Eventarc puts on the CloudEvent (an extension attribute)."""
    try:
        value = cloud_event.get("traceparent")
    except (AttributeError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _handle(
    handler: str,
    cloud_event: Any,
    step: Step,
    container: Container,
) -> str:
    handling = EventHandling(
        handler=handler,
        store=container.store,
        events=container.events,
        clock=container.clock,
        dead_letter_topic=container.settings.topic_dead_letter,
    )
    try:
        event = from_cloud_event(
            cloud_event["id"], cloud_event["source"], cloud_event.get("time"), cloud_event.data
        )
    except PoisonMessage as poison:
        # No message to forward: there is nothing but the envelope. Acknowledge and say so.
        log.error("event_unreadable", handler=handler, reason=poison.message)
        return "poison"

    def work(received: PubSubEvent) -> None:
        message = message_of(received)
        step(container, message.session_id, message.generation)

    outcome = handling.run(event, work)
    log.info("event_handled", handler=handler, event_id=event.event_id, outcome=outcome)
    return outcome


def score_session(cloud_event: Any, container: Container | None = None) -> str:
    from shared.scoring import service

    return handle("score_session", cloud_event, service.score_session, container)


def analyze_session(cloud_event: Any, container: Container | None = None) -> str:
    from shared.scoring import service

    return handle("analyze_session", cloud_event, service.analyze_session, container)
