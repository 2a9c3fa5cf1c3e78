"""An admin's regrade of a finished session: a new generation of its results, audited.

``request_regrade`` runs one transaction on the session: it checks the session is finished
and has visible results, takes the next generation (``scoring.generation`` + 1), resets the
scoring status to ``scoring`` for it, keeps the request under ``scoring.regrades`` keyed by a
hash of the Idempotency-Key, and appends the ``regrade_requested`` audit record, all or
nothing. Then it publishes ``session-finished`` carrying the generation, and records that it
did. A retry with the same key finds its regrade and answers it again (publishing only if
the first attempt did not get that far); it never starts a second one.

The results the learner sees stay as they are until the new generation is complete (see
``shared.scoring.documents.promote``). A newer regrade supersedes one still running.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared import errors
from shared.accounts import audit
from shared.accounts.admin import require_admin
from shared.bootstrap import Container
from shared.logging import get_logger
from shared.models.identity import Caller
from shared.ports import Transaction
from shared.scoring.documents import (
    RegradeRecord,
    live,
    requested_generation,
    scoring_state,
    summary_path,
)
from shared.scoring.scoring_errors import RegradeNoResults, RegradeSessionNotFinished
from shared.sessions.lifecycle import finished_event
from shared.sessions.repository import session_from, session_path

__all__ = ["RegradeReason", "RegradeRequest", "RegradeStarted", "regrade_id_for", "request_regrade"]

log = get_logger(__name__)

RegradeReason = Literal["calibration_update", "rules_update", "learner_dispute", "scoring_fault"]

AUDIT_ACTION: Final = "regrade_requested"


class RegradeRequest(BaseModel):
    """``POST /admin/sessions/{session_id}/regrade``: why, as a code (no free text: the audit
    log holds no personal data)."""

    model_config = ConfigDict(extra="forbid")

    reason: RegradeReason | None = Field(
        default=None,
        description="calibration_update, rules_update (scoring changed), learner_dispute, "
        "scoring_fault (this result looks wrong).",
    )


class RegradeStarted(BaseModel):
    """The regrade as started (or as the first try of this Idempotency-Key started it)."""

    session_id: str
    regrade_id: str
    generation: int = Field(description="The grading being computed.")
    reason: RegradeReason | None
    requested_at: datetime
    replayed: bool = Field(description="True when this key had already started this regrade.")


def regrade_id_for(session_id: str, key: str) -> str:
    """``r_`` and 24 hex digits of SHA-256 over the session and the Idempotency-Key."""
    digest = hashlib.sha256("\x1f".join(("regrade", session_id, key)).encode()).hexdigest()
    return "r_" + digest[:24]


def request_regrade(
    container: Container,
    caller: Caller,
    session_id: str,
    key: str,
    reason: RegradeReason | None,
    *,
    request_id: str,
) -> RegradeStarted:
    """Start (once per key) a new generation of ``session_id``'s results.

    Raises:
        AdminRoleRequired: the caller is not an admin.
        NotFound: no such session.
        RegradeSessionNotFinished, RegradeNoResults: nothing that can be regraded yet.
        DependencyUnavailable: Pub/Sub did not take the event (retry with the same key).
    """
    require_admin(caller)
    store = container.store
    path = session_path(session_id)
    regrade_id = regrade_id_for(session_id, key)
    now = container.clock.now()

    def start(transaction: Transaction) -> tuple[RegradeStarted, bool]:
        found = transaction.get(path)
        if found is None:
            raise errors.NotFound("No mock test has this id.", details={"session_id": session_id})
        visible = transaction.get(summary_path(session_id))
        session = session_from(found)
        state = scoring_state(found.data)
        prior = state.regrades.get(regrade_id) if state is not None else None
        if prior is not None:
            replay = RegradeStarted(
                session_id=session_id,
                regrade_id=regrade_id,
                generation=prior.generation,
                reason=_reason(prior.reason),
                requested_at=prior.requested_at,
                replayed=True,
            )
            return replay, not prior.published
        if session.status != "finished":
            raise RegradeSessionNotFinished(details={"status": session.status})
        if visible is None:
            raise RegradeNoResults(details={"scoring_status": state.status if state else None})
        generation = requested_generation(found.data) + 1
        record = RegradeRecord(generation=generation, reason=reason, requested_at=now)
        transaction.set(
            path,
            {
                "scoring": {
                    "status": "scoring",
                    "reason": None,
                    "updated_at": now,
                    "completed_published": False,
                    "generation": generation,
                    "regrades": {regrade_id: record.model_dump(mode="python")},
                }
            },
            merge=True,
        )
        audit.create_in(
            transaction,
            audit.build(
                container.clock,
                action=AUDIT_ACTION,
                actor=caller,
                request_id=request_id,
                subject_uids=[session.uid],
                target=f"session:{session_id}",
                details={"reason": reason, "generation": generation, "regrade_id": regrade_id},
                # One record per regrade, whichever request (or retry) made it.
                record_id=audit.audit_id(regrade_id, AUDIT_ACTION, session_id),
            ),
        )
        started = RegradeStarted(
            session_id=session_id,
            regrade_id=regrade_id,
            generation=generation,
            reason=reason,
            requested_at=now,
            replayed=False,
        )
        return started, True

    started, publish = store.run_transaction(start)
    if publish:
        _publish(container, session_id, started)
    log.info(
        "regrade_requested",
        generation=started.generation,
        reason=started.reason,
        replayed=started.replayed,
        published=publish,
    )
    return started


def _reason(stored: str | None) -> RegradeReason | None:
    return RegradeRequest.model_validate({"reason": stored}).reason


def _publish(container: Container, session_id: str, started: RegradeStarted) -> None:
    """``session-finished`` for the new generation, then ``published`` on its record. A failed
    publish leaves ``published`` false, so the admin's retry (same key) publishes."""
    store = container.store
    path = session_path(session_id)
    found = store.get(path)
    if found is None or not live(found):  # erased since the transaction: nothing to grade
        return
    payload, attributes = finished_event(session_from(found))
    payload["generation"] = started.generation
    attributes["generation"] = str(started.generation)
    container.events.publish(
        container.settings.topic_session_finished, payload, attributes=attributes
    )

    def mark(transaction: Transaction) -> None:
        if live(transaction.get(path)):  # never brings back a session erased meanwhile
            transaction.set(
                path,
                {"scoring": {"regrades": {started.regrade_id: {"published": True}}}},
                merge=True,
            )

    with contextlib.suppress(errors.DependencyUnavailable):
        # Lost: a retry publishes again, which scoring takes as a duplicate of this generation.
        store.run_transaction(mark)
