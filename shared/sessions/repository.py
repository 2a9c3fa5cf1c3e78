"""Where sessions and turns live in the document store, and how they are read back.

Paths: ``sessions/{session_id}`` and ``sessions/{session_id}/turns/{turn_id}`` (see
``shared.sessions.documents`` for their fields). Only the owner ever sees a session: for
anyone else it does not exist (404, never 403, so ids cannot be probed); a teacher the owner
linked may read it (``check_viewer``, ``viewable_session``).
"""

from __future__ import annotations

from typing import Any

from shared import errors
from shared.accounts.access import can_view_learner
from shared.models.identity import Caller
from shared.ports import Document, DocumentStore, OrderBy, Query, Where
from shared.sessions.documents import SessionDocument, to_data

__all__ = [
    "LIST_LIMIT",
    "check_owner",
    "check_viewer",
    "list_sessions",
    "owned_session",
    "rewritten",
    "session_from",
    "session_path",
    "turn_path",
    "turns_collection",
    "viewable_session",
]

LIST_LIMIT = 20


def session_path(session_id: str) -> str:
    return f"sessions/{session_id}"


def turns_collection(session_id: str) -> str:
    return f"sessions/{session_id}/turns"


def turn_path(session_id: str, turn_id: str) -> str:
    return f"{turns_collection(session_id)}/{turn_id}"


def session_from(document: Document) -> SessionDocument:
    return SessionDocument.model_validate(document.data)


def rewritten(found: Document, session: SessionDocument) -> dict[str, Any]:
    """The whole session document after a change: our fields replaced, and fields other
    functions keep on it (results, summaries) left as they were. Written in a transaction
    that read ``found``, a whole-document set cannot lose someone else's update."""
    return {**found.data, **to_data(session)}


def _not_found(session_id: str) -> errors.NotFound:
    return errors.NotFound(
        "There is no such mock test among yours.", details={"session_id": session_id}
    )


def owned_session(store: DocumentStore, session_id: str, uid: str) -> SessionDocument:
    """The caller's session, or NotFound (also when it is someone else's)."""
    found = store.get(session_path(session_id))
    if found is None:
        raise _not_found(session_id)
    session = session_from(found)
    if session.uid != uid:
        raise _not_found(session_id)
    return session


def check_owner(session: SessionDocument | None, session_id: str, uid: str) -> SessionDocument:
    """``session`` if it exists and is the caller's; NotFound otherwise."""
    if session is None or session.uid != uid:
        raise _not_found(session_id)
    return session


def check_viewer(
    store: DocumentStore, session: SessionDocument | None, session_id: str, caller: Caller
) -> SessionDocument:
    """``session`` if the caller may read it (its owner, or a teacher the owner linked);
    NotFound otherwise."""
    if session is None or not can_view_learner(store, caller, session.uid):
        raise _not_found(session_id)
    return session


def viewable_session(store: DocumentStore, session_id: str, caller: Caller) -> SessionDocument:
    """The session if the caller may read it (see ``check_viewer``), or NotFound."""
    found = store.get(session_path(session_id))
    return check_viewer(store, session_from(found) if found else None, session_id, caller)


def list_sessions(store: DocumentStore, uid: str, limit: int = LIST_LIMIT) -> list[SessionDocument]:
    """The learner's sessions, most recent first (Firestore needs the uid + created_at index)."""
    found = store.query(
        Query(
            "sessions",
            where=(Where("uid", "==", uid),),
            order_by=(OrderBy("created_at", descending=True),),
            limit=limit,
        )
    )
    return [session_from(document) for document in found]
