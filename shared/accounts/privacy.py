"""A user's right to their data: export everything, or erase everything.

Both walk ``shared.accounts.personal_data``: what export shows is exactly what erasure
removes. Erasure order: each session is marked ``erasing`` (scoring, which may still be
running on it, writes nothing more once it sees the mark: ``shared.scoring.documents``),
then blobs, then documents (children before parents), then the audit
records about the user get a pseudonym instead of the uid, then the one erasure record is
written, then refresh tokens are revoked and the account deleted. Every step is idempotent and
finds its work from the uid alone, so a retry after a partial failure finishes the job, and a
repeat after the account is gone (``already_erased``) sweeps anything written since.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Final

from shared import errors
from shared.accounts import audit
from shared.accounts.models import BlobLink, DataExport, ErasureResult
from shared.accounts.personal_data import (
    BLOB_LOCATIONS,
    DOCUMENT_LOCATIONS,
    SESSIONS,
    DocumentLocation,
)
from shared.bootstrap import Container
from shared.logging import get_logger
from shared.models.identity import Caller
from shared.ports import Document, DocumentStore, Transaction
from shared.scoring.documents import ERASING

__all__ = ["account_still_exists", "erase_account", "export_account"]

log = get_logger(__name__)

_USAGE_SOURCE: Final = "sessions"


def _session_ids(store: DocumentStore, uid: str) -> list[str]:
    return [document.id for document in SESSIONS.find(store, uid, ())]


def export_account(container: Container, caller: Caller, *, request_id: str) -> DataExport:
    """Every document and blob of the caller (blobs as signed GET links); audited first, so
    the export shows its own record."""
    store, settings = container.store, container.settings
    audit.record(
        store,
        audit.build(
            container.clock,
            action="data_exported",
            actor=caller,
            request_id=request_id,
            subject_uids=[caller.uid],
        ),
    )
    session_ids = _session_ids(store, caller.uid)
    documents: dict[str, list[dict[str, Any]]] = {}
    usage: dict[str, float] = defaultdict(float)
    for location in DOCUMENT_LOCATIONS:
        found = location.find(store, caller.uid, session_ids)
        documents[location.name] = [{"path": doc.path, "data": doc.data} for doc in found]
        if location.name == _USAGE_SOURCE:
            for document in found:
                for name, value in (document.data.get("usage") or {}).items():
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        usage[name] += value
    blobs = []
    for blob_location in BLOB_LOCATIONS:
        bucket = getattr(settings, blob_location.bucket_setting)
        for name in container.blobs.list_names(bucket, blob_location.prefix_for(caller.uid)):
            url = container.blobs.signed_url(
                bucket, name, method="GET", expires_seconds=settings.signed_url_seconds
            )
            blobs.append(BlobLink(bucket=bucket, name=name, url=url))
    log.info(
        "data_exported",
        documents=sum(len(found) for found in documents.values()),
        blobs=len(blobs),
    )
    return DataExport(
        uid=caller.uid,
        exported_at=container.clock.now(),
        links_expire_in_seconds=settings.signed_url_seconds,
        documents=documents,
        usage={name: round(value, 3) for name, value in sorted(usage.items())},
        blobs=blobs,
    )


def account_still_exists(container: Container, token: str, caller: Caller) -> bool:
    """The revocation check of an erasure request. True: the account exists and the token
    was not revoked. False: the account is already deleted (a repeated erasure, which may
    only sweep what is left). A revoked token of an existing account is TokenRevoked."""
    try:
        container.token_verifier.verify(token, check_revoked=True)
    except errors.TokenRevoked:
        if container.identity_admin.user_exists(caller.uid):
            raise
        return False
    return True


def _mark_erasing(store: DocumentStore, session_id: str) -> None:
    """Mark the session ``erasing`` (in a transaction: a session deleted meanwhile stays
    deleted, never comes back as a document holding only the mark)."""
    path = f"sessions/{session_id}"

    def mark(transaction: Transaction) -> None:
        if transaction.get(path) is not None:
            transaction.set(path, {ERASING: True}, merge=True)

    store.run_transaction(mark)


def _pseudonymise(store: DocumentStore, document: Document, uid: str, alias: str) -> bool:
    data = document.data
    update: dict[str, Any] = {}
    if data.get("actor_uid") == uid:
        update["actor_uid"] = alias
    subjects = data.get("subject_uids") or []
    if uid in subjects:
        update["subject_uids"] = sorted({alias if s == uid else s for s in subjects})
    if not update:
        return False
    store.set(document.path, update, merge=True)
    return True


def _erase_documents(
    store: DocumentStore, location: DocumentLocation, uid: str, session_ids: list[str], alias: str
) -> int:
    found = location.find(store, uid, session_ids)
    if location.treatment == "pseudonymise":
        return sum(_pseudonymise(store, document, uid, alias) for document in found)
    for document in found:
        store.delete(document.path)
    return len(found)


def erase_account(
    container: Container, caller: Caller, *, request_id: str, account_exists: bool
) -> ErasureResult:
    """Erase every document and blob of the caller, then their account (see module doc)."""
    store, settings = container.store, container.settings
    uid = caller.uid
    alias = audit.pseudonym(uid, settings.privacy_pepper)
    deleted: dict[str, int] = {}
    session_ids = _session_ids(store, uid)
    for session_id in session_ids:
        _mark_erasing(store, session_id)
    for blob_location in BLOB_LOCATIONS:
        bucket = getattr(settings, blob_location.bucket_setting)
        names = container.blobs.list_names(bucket, blob_location.prefix_for(uid))
        for name in names:
            container.blobs.delete(bucket, name)
        deleted[blob_location.name] = len(names)
    pseudonymised = 0
    for location in DOCUMENT_LOCATIONS:
        count = _erase_documents(store, location, uid, session_ids, alias)
        if location.treatment == "pseudonymise":
            pseudonymised += count
        else:
            deleted[location.name] = count
    # One erasure record per user whatever the number of requests: the first completion's.
    audit.record(
        store,
        audit.build(
            container.clock,
            action="account_erased",
            actor=caller.model_copy(update={"uid": alias}),
            request_id=request_id,
            subject_uids=[alias],
            details={**deleted, "audit_records_pseudonymised": pseudonymised},
            record_id=audit.audit_id("account_erased", "account_erased", alias),
        ),
    )
    identity = container.identity_admin
    identity.revoke_refresh_tokens(uid)
    account_deleted = identity.delete_user(uid)
    log.info(
        "account_erased",
        deleted=deleted,
        audit_records_pseudonymised=pseudonymised,
        account_deleted=account_deleted,
        repeat=not account_exists,
    )
    return ErasureResult(
        status="erased" if account_exists else "already_erased",
        deleted=deleted,
        audit_records_pseudonymised=pseudonymised,
        account_deleted=account_deleted,
    )
