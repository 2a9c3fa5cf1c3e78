"""The audit log: append-only ``auditLog/{id}`` records of sensitive actions.

A record says who (actor uid and role), what (a stable action name), when, whom it concerns
(``subject_uids``), which resource (``target``: never a uid or other personal data) and the
request id. Its id is derived from the request id, the action and what it is about, and it
is written with ``create()``: a retried request writes one record, and nothing overwrites one.

The one exception to append-only is erasure: the records about an erased user keep the
action and the other party but replace the user's uid with a pseudonym (``pseudonym``), a
peppered SHA-256 that cannot be turned back into the uid.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.logging import get_logger
from shared.models.identity import Caller, Role
from shared.ports import Clock, DocumentStore, Query, Transaction, Where

__all__ = [
    "AUDIT_COLLECTION",
    "AuditAction",
    "AuditRecord",
    "build",
    "create_in",
    "pseudonym",
    "record",
    "records_about",
]

log = get_logger(__name__)

AUDIT_COLLECTION = "auditLog"

AuditAction = Literal[
    "data_exported",
    "account_erased",
    "role_changed",
    "teacher_link_created",
    "teacher_link_revoked",
    "admin_read",
    "regrade_requested",
]


class AuditRecord(BaseModel):
    """``auditLog/{audit_id}``."""

    audit_id: str
    action: AuditAction
    at: datetime
    request_id: str
    actor_uid: str = Field(description="Who acted (a pseudonym once that user is erased).")
    actor_role: Role
    subject_uids: list[str] = Field(
        default_factory=list, description="The users the action concerns."
    )
    target: str | None = Field(
        default=None, description="The resource acted on, holding no personal data."
    )
    details: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, description="Counts and role names; never personal data."
    )


def pseudonym(uid: str, pepper: str) -> str:
    """What stands for an erased user's uid: ``erased:`` and a peppered SHA-256 (HMAC)."""
    digest = hmac.new(pepper.encode(), uid.encode(), hashlib.sha256).hexdigest()
    return f"erased:{digest[:32]}"


def audit_id(request_id: str, action: str, about: str) -> str:
    """The same id for the same request, action and subject: a retry writes nothing new."""
    return "a_" + hashlib.sha256("\x1f".join((request_id, action, about)).encode()).hexdigest()[:32]


def build(
    clock: Clock,
    *,
    action: AuditAction,
    actor: Caller,
    request_id: str,
    subject_uids: list[str] | None = None,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    record_id: str | None = None,
) -> AuditRecord:
    """One record, not yet written (write it with ``record`` or in a transaction)."""
    subjects = sorted(set(subject_uids or []))
    about = "|".join([target or "", *subjects])
    return AuditRecord(
        audit_id=record_id or audit_id(request_id, action, about),
        action=action,
        at=clock.now(),
        request_id=request_id,
        actor_uid=actor.uid,
        actor_role=actor.role,
        subject_uids=subjects,
        target=target,
        details=details or {},
    )


def record_path(entry: AuditRecord) -> str:
    return f"{AUDIT_COLLECTION}/{entry.audit_id}"


def create_in(transaction: Transaction, entry: AuditRecord) -> None:
    """Append ``entry`` in a transaction, atomically with the change it records."""
    transaction.create(record_path(entry), entry.model_dump(mode="python"))


def record(store: DocumentStore, entry: AuditRecord) -> AuditRecord:
    """Append ``entry`` (create: an existing record with this id is kept as it is)."""
    created = store.create(record_path(entry), entry.model_dump(mode="python"))
    log.info("audit_recorded", action=entry.action, audit_id=entry.audit_id, replayed=not created)
    return entry


def records_about(store: DocumentStore, uid: str) -> list[AuditRecord]:
    """Every record where ``uid`` acted or was concerned, oldest first."""
    found = {
        document.path: document
        for query in (
            Query(AUDIT_COLLECTION, where=(Where("actor_uid", "==", uid),)),
            Query(AUDIT_COLLECTION, where=(Where("subject_uids", "array-contains", uid),)),
        )
        for document in store.query(query)
    }
    records = [AuditRecord.model_validate(document.data) for document in found.values()]
    return sorted(records, key=lambda entry: (entry.at, entry.audit_id))
