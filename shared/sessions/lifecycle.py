"""How a session ends: abandoned when the learner went away, finished with one event.

Idle: a session with no turn for ``Settings.session_idle_minutes`` becomes ``abandoned`` the
next time anyone touches it (a GET or a turn); it takes no more turns and publishes nothing.

Finished: ``session-finished`` is published once per session. The request that finishes the
session (the learner's finish, or the turn whose move closes the test) claims the
publication in the same write that sets ``finished``, publishes, then records
``finish_published``. If the publish fails, the claim is released and any later finish or
GET of the session publishes it; a claim left by a crashed instance expires after
``PUBLISH_CLAIM_SECONDS``. The only duplicate left is a publish whose acknowledgement was
lost before ``finish_published`` was written: consumers dedupe on the ``session_id``
attribute (Pub/Sub is at-least-once anyway).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any, Final

from shared import errors
from shared.bootstrap import Container
from shared.logging import get_logger
from shared.ports import DocumentStore, Transaction
from shared.sessions.documents import SessionDocument
from shared.sessions.models import SessionFinished
from shared.sessions.repository import session_from, session_path
from shared.sessions.store_counts import store_of

__all__ = [
    "EVENT_TYPE_FINISHED",
    "PUBLISH_CLAIM_SECONDS",
    "abandon_if_idle",
    "finished_event",
    "publish_claimed",
    "publish_if_pending",
]

log = get_logger(__name__)

EVENT_TYPE_FINISHED: Final = "session-finished"
# Longer than a publish can take (the adapter gives up well before), short enough that a
# crashed instance's claim does not hold the learner's results back for long.
PUBLISH_CLAIM_SECONDS: Final = 60


# --- idle -------------------------------------------------------------------------------------
def abandon_if_idle(
    store: DocumentStore, session: SessionDocument, now: datetime, idle_minutes: int
) -> SessionDocument:
    """The session, marked ``abandoned`` first if it is active and idle past the limit."""
    if session.status != "active" or not session.idle_since(now, idle_minutes):
        return session
    path = session_path(session.session_id)

    def mark(transaction: Transaction) -> SessionDocument:
        found = transaction.get(path)
        if found is None:
            return session
        fresh = session_from(found)
        if fresh.status != "active" or not fresh.idle_since(now, idle_minutes):
            return fresh  # a turn got in first, or someone else marked it
        update = {"status": "abandoned", "abandoned_at": now, "updated_at": now}
        transaction.set(path, update, merge=True)
        return fresh.model_copy(update=update)

    marked = store.run_transaction(mark)
    if marked.status == "abandoned":
        log.info(
            "session_abandoned",
            session_id=session.session_id,
            idle_minutes=idle_minutes,
            turn_count=marked.turn_count,
        )
    return marked


# --- finished ---------------------------------------------------------------------------------
def finished_event(session: SessionDocument) -> tuple[dict[str, Any], dict[str, str]]:
    """The payload and attributes of ``session-finished``."""
    if session.finished_at is None:
        raise ValueError(f"session {session.session_id} is not finished")
    payload = SessionFinished(
        session_id=session.session_id,
        uid=session.uid,
        mode=session.mode,
        finished_at=session.finished_at,
        turn_count=session.turn_count,
    ).model_dump(mode="json")
    return payload, {"session_id": session.session_id, "event_type": EVENT_TYPE_FINISHED}


def _claim_free(session: SessionDocument, now: datetime) -> bool:
    claimed = session.finish_claimed_at
    return claimed is None or now - claimed >= timedelta(seconds=PUBLISH_CLAIM_SECONDS)


def publish_claimed(container: Container, session: SessionDocument) -> SessionDocument:
    """Publish for a session whose publication this request has claimed.

    Raises DependencyUnavailable when Pub/Sub does not take it (the claim is released first,
    so the next finish or GET publishes).
    """
    store = store_of(container)
    path = session_path(session.session_id)
    payload, attributes = finished_event(session)
    try:
        message_id = container.events.publish(
            container.settings.topic_session_finished, payload, attributes=attributes
        )
    except errors.DependencyUnavailable:
        log.warning("session_finished_publish_failed", session_id=session.session_id)
        # If even this fails, the claim simply expires after PUBLISH_CLAIM_SECONDS.
        with contextlib.suppress(errors.DependencyUnavailable):
            store.set(path, {"finish_claimed_at": None}, merge=True)
        raise
    update = {"finish_published": True, "finish_message_id": message_id}
    store.set(path, update, merge=True)
    log.info(
        "session_finished_published",
        session_id=session.session_id,
        message_id=message_id,
        turn_count=session.turn_count,
    )
    return session.model_copy(update=update)


def publish_if_pending(container: Container, session: SessionDocument) -> SessionDocument:
    """For a finished session whose event is not out yet (an earlier publish failed or its
    instance died): claim it, then publish. Otherwise the session as it is."""
    if session.status != "finished" or session.finish_published:
        return session
    now = container.clock.now()
    if not _claim_free(session, now):
        return session  # another request is publishing right now
    path = session_path(session.session_id)

    def claim(transaction: Transaction) -> SessionDocument | None:
        found = transaction.get(path)
        if found is None:
            return None
        fresh = session_from(found)
        if fresh.finish_published or not _claim_free(fresh, now):
            return None
        transaction.set(path, {"finish_claimed_at": now}, merge=True)
        return fresh.model_copy(update={"finish_claimed_at": now})

    claimed = store_of(container).run_transaction(claim)
    if claimed is None:
        return session
    return publish_claimed(container, claimed)
