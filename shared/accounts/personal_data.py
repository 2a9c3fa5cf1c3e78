"""Where a user's data lives: the one registry that both export and erasure walk.

Add a location here when code starts storing something about a user; tests/unit/
test_personal_data.py scans shared/ for collection and blob paths and fails for any that is
neither registered here nor listed in ``NOT_PERSONAL`` with the reason it holds nothing
about a person.

Document locations are listed in erasure order: children before their parents (a retry
after a partial failure still finds the parent, and through it the children), the profile
after its subcollections, the audit log last (pseudonymised, not deleted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from shared.accounts.access import LINKS_COLLECTION
from shared.accounts.audit import AUDIT_COLLECTION
from shared.accounts.links import INVITES_COLLECTION
from shared.ports import Document, DocumentStore, Operator, Query, Where

__all__ = [
    "BLOB_LOCATIONS",
    "DOCUMENT_LOCATIONS",
    "NOT_PERSONAL",
    "BlobLocation",
    "DocumentLocation",
    "registered_collections",
]

Treatment = Literal["erase", "pseudonymise"]


@dataclass(frozen=True)
class DocumentLocation:
    """Documents about a user.

    ``collection`` is a collection path: ``{uid}`` stands for the user, ``{session_id}`` for
    each of their sessions. With ``field`` the collection is queried for documents whose
    field matches the uid (``op``); with ``document_id`` it is the one document
    ``collection/{uid}``; otherwise every document of the (sub)collection.
    """

    name: str
    collection: str
    field: str | None = None
    op: Operator = "=="
    document_id: bool = False
    treatment: Treatment = "erase"

    @property
    def collection_names(self) -> tuple[str, ...]:
        """The collection ids along the path (``sessions``, ``turns``)."""
        return tuple(self.collection.split("/")[0::2])

    def find(self, store: DocumentStore, uid: str, session_ids: Iterable[str]) -> list[Document]:
        if "{session_id}" in self.collection:
            return [
                document
                for session_id in session_ids
                for document in store.query(Query(self.collection.format(session_id=session_id)))
            ]
        collection = self.collection.format(uid=uid)
        if self.document_id:
            found = store.get(f"{collection}/{uid}")
            return [found] if found is not None else []
        if self.field is not None:
            return store.query(Query(collection, where=(Where(self.field, self.op, uid),)))
        return store.query(Query(collection))


@dataclass(frozen=True)
class BlobLocation:
    """Objects about a user: every name under ``prefix`` in the bucket a Settings field names."""

    name: str
    bucket_setting: Literal["audio_bucket", "reports_bucket"]
    prefix: str

    def prefix_for(self, uid: str) -> str:
        return self.prefix.format(uid=uid)


SESSIONS: Final = DocumentLocation("sessions", "sessions", field="uid")

DOCUMENT_LOCATIONS: Final[tuple[DocumentLocation, ...]] = (
    DocumentLocation("turns", "sessions/{session_id}/turns"),
    # The visible results and every generation's own (summary__gN, deep__gN: regrades).
    DocumentLocation("analysis", "sessions/{session_id}/analysis"),
    SESSIONS,
    DocumentLocation("question_memory", "users/{uid}/questionMemory"),
    DocumentLocation("profile", "users", document_id=True),
    DocumentLocation("links_as_teacher", LINKS_COLLECTION, field="teacher_uid"),
    DocumentLocation("links_as_student", LINKS_COLLECTION, field="student_uid"),
    DocumentLocation("invites_made", INVITES_COLLECTION, field="teacher_uid"),
    DocumentLocation("invites_accepted", INVITES_COLLECTION, field="used_by"),
    DocumentLocation(
        "audit_as_actor", AUDIT_COLLECTION, field="actor_uid", treatment="pseudonymise"
    ),
    DocumentLocation(
        "audit_as_subject",
        AUDIT_COLLECTION,
        field="subject_uids",
        op="array-contains",
        treatment="pseudonymise",
    ),
)

BLOB_LOCATIONS: Final[tuple[BlobLocation, ...]] = (
    BlobLocation("answer_audio", "audio_bucket", "audio/{uid}/"),
    BlobLocation("reports", "reports_bucket", "reports/{uid}/"),
)

# Collection and blob path roots used in shared/ that hold nothing about a person, and why.
NOT_PERSONAL: Final[dict[str, str]] = {
    "processedEvents": "event markers: handler, status and time, keyed by the event id",
    "rateLimits": "counters keyed by a SHA-256 of limit, subject and window; no uid (TTL)",
    "examiner-audio": "examiner lines, the same for every learner (voice cache)",
    "flite": "voice-cache key of the embedded engine, not a stored path",
    "google": "voice-cache and model keys of Google engines, not stored paths",
    "projects": "Google API resource names (topics, recognizers, traces)",
    "locations": "Google API resource names",
    "recognizers": "Google API resource names",
    "topics": "Google API resource names",
    "traces": "Google API resource names",
}


def registered_collections() -> set[str]:
    """Every collection id and blob prefix root the registry covers."""
    names = {name for location in DOCUMENT_LOCATIONS for name in location.collection_names}
    names |= {location.prefix.split("/", 1)[0] for location in BLOB_LOCATIONS}
    return names
