"""The ports: what the domain needs from the outside world, as Protocols.

Adapters implement them on Google Cloud client libraries (``shared.adapters``), on embedded
engines for the local stack, and as in-memory fakes for unit tests (``tests.fakes``). Domain
code depends only on these Protocols and on ``shared.models``, never on ``google.cloud`` or
``firebase_admin``.

Conventions shared by every adapter:
- Document paths are slash-separated, alternating collection and id: ``users/u1/drills/d7``.
- Stored values are JSON-like (str, int, float, bool, None, list, dict) plus timezone-aware
  ``datetime``; the domain passes times from ``Clock`` rather than server timestamps, so a
  write is deterministic and safe to repeat.
- A dependency that does not answer (timeout, unavailable) raises
  ``shared.errors.DependencyUnavailable``; nothing else is retried by callers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from shared.models.identity import Caller, Role
from shared.models.language import Generation, GenerationRequest
from shared.models.speech import SynthesizedSpeech, Transcript

T = TypeVar("T")

Data = dict[str, Any]
Operator = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not-in", "array-contains"]


@dataclass(frozen=True)
class Document:
    """A stored document: its full path, its id (last path segment) and its data."""

    path: str
    data: Data

    @property
    def id(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Where:
    """One query filter: ``Where("status", "==", "finished")``."""

    field: str
    op: Operator
    value: Any


@dataclass(frozen=True)
class OrderBy:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    """A query over one collection (``sessions``) or one subcollection (``users/u1/drills``)."""

    collection: str
    where: Sequence[Where] = field(default_factory=tuple)
    order_by: Sequence[OrderBy] = field(default_factory=tuple)
    limit: int | None = None


class ReadAfterWriteError(RuntimeError):
    """A transaction read a document after it had written one (a bug in the caller).

    Firestore requires every read of a transaction to come before its first write; both the
    real store and the fake raise this instead of silently reading stale data.
    """


class Transaction(Protocol):
    """Reads first, then writes; the store retries the whole function on contention."""

    def get(self, path: str) -> Document | None:
        """Read inside the transaction; raises ReadAfterWriteError after any write."""
        ...

    def create(self, path: str, data: Mapping[str, Any]) -> None:
        """Write a new document; the transaction fails with Conflict if it exists."""
        ...

    def set(self, path: str, data: Mapping[str, Any], *, merge: bool = False) -> None: ...

    def delete(self, path: str) -> None: ...


class DocumentStore(Protocol):
    """Firestore, or an in-memory fake with the same semantics."""

    def get(self, path: str) -> Document | None: ...

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        """Create the document unless it exists. Returns False (and writes nothing) if it did."""
        ...

    def set(self, path: str, data: Mapping[str, Any], *, merge: bool = False) -> None: ...

    def delete(self, path: str) -> None:
        """Delete the document; deleting a missing document is not an error."""
        ...

    def query(self, query: Query) -> list[Document]:
        """Documents directly in ``query.collection``, with Firestore's semantics: a filter or
        order on a field skips documents without it; ``!=`` and ``not-in`` never match null;
        range filters match only values of the filter value's type; results are ordered by
        the given orders, then the inequality fields, then the document id."""
        ...

    def run_transaction(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` atomically; it may run more than once, so it must not have side effects
        outside the transaction. Raises shared.errors.Conflict when a ``create`` meets an
        existing document, DependencyUnavailable when contention outlasts every attempt."""
        ...

    def check(self, timeout_seconds: float) -> None:
        """Raise DependencyUnavailable unless the store answers within the timeout."""
        ...


class BlobStore(Protocol):
    """Cloud Storage, or an in-memory fake."""

    def put(
        self,
        bucket: str,
        name: str,
        data: bytes,
        *,
        content_type: str,
        if_absent: bool = False,
    ) -> bool:
        """Store the object. With ``if_absent``, an existing object is kept and False returned."""
        ...

    def get(self, bucket: str, name: str) -> bytes:
        """The object's bytes; raises shared.errors.NotFound when it does not exist."""
        ...

    def exists(self, bucket: str, name: str) -> bool: ...

    def delete(self, bucket: str, name: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        ...

    def list_names(self, bucket: str, prefix: str) -> list[str]: ...

    def signed_url(
        self,
        bucket: str,
        name: str,
        *,
        method: Literal["GET", "PUT"] = "GET",
        expires_seconds: int = 900,
        content_type: str | None = None,
    ) -> str:
        """A short-lived V4 signed URL to read (GET) or upload (PUT) one object."""
        ...

    def check(self, bucket: str, timeout_seconds: float) -> None:
        """Raise DependencyUnavailable unless the bucket exists and answers in time."""
        ...


class EventPublisher(Protocol):
    """Pub/Sub, or an in-memory fake that records what was published."""

    def publish(
        self, topic: str, payload: Mapping[str, Any], *, attributes: Mapping[str, str] | None = None
    ) -> str:
        """Publish JSON ``payload`` to ``topic`` (a short id, not a full path); returns the
        message id once the service has accepted it."""
        ...

    def check(self, topic: str, timeout_seconds: float) -> None:
        """Raise DependencyUnavailable unless the topic exists and answers in time."""
        ...


class TokenVerifier(Protocol):
    """Firebase Auth ID token verification."""

    def verify(self, token: str, *, check_revoked: bool = False) -> Caller:
        """The caller behind a valid token; raises a subclass of shared.errors.Unauthenticated
        (token_malformed, token_expired, token_revoked, token_wrong_project, token_invalid)."""
        ...


class IdentityAdmin(Protocol):
    """Firebase Auth user management: roles in custom claims, revocation, deletion."""

    def custom_claims(self, uid: str) -> dict[str, Any]:
        """The user's custom claims ({} when none); raises shared.errors.NotFound without
        such a user."""
        ...

    def set_role(self, uid: str, role: Role) -> Role:
        """Set the ``role`` custom claim, keeping every other claim; returns the role held
        before (student when none). Raises shared.errors.NotFound without such a user."""
        ...

    def revoke_refresh_tokens(self, uid: str) -> None:
        """Tokens issued before now fail revocation checks; nothing happens for a missing
        user (an erasure retried after the account was deleted)."""
        ...

    def delete_user(self, uid: str) -> bool:
        """Delete the account; True if it existed, False if it was already gone."""
        ...

    def user_exists(self, uid: str) -> bool: ...


class SpeechToText(Protocol):
    def transcribe(self, pcm16: bytes, sample_rate_hz: int, *, language: str) -> Transcript:
        """Transcribe 16-bit little-endian mono PCM, keeping word timings and filled pauses."""
        ...


class TextToSpeech(Protocol):
    def synthesize(
        self, text: str, *, voice: str, speaking_rate: float = 1.0
    ) -> SynthesizedSpeech: ...


class LanguageModel(Protocol):
    def generate(self, request: GenerationRequest) -> Generation: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


# --- The conventions above, enforced the same way by every DocumentStore -----------------------
def split_document_path(path: str) -> list[str]:
    """Segments of a document path (``users/u1/drills/d7``); ValueError unless well formed."""
    segments = path.split("/")
    if not path or any(not segment for segment in segments) or len(segments) % 2:
        raise ValueError(f"{path!r} is not a document path (collection/id[/collection/id...])")
    return segments


def split_collection_path(path: str) -> list[str]:
    """Segments of a collection path (``sessions``, ``users/u1/drills``)."""
    segments = path.split("/")
    if not path or any(not segment for segment in segments) or not len(segments) % 2:
        raise ValueError(f"{path!r} is not a collection path (collection[/id/collection...])")
    return segments


def stored_value(value: Any) -> Any:
    """A deep copy of ``value`` as a DocumentStore stores it: mappings with string keys,
    tuples as lists, datetimes in UTC; naive datetimes are refused."""
    if isinstance(value, Mapping):
        return {str(key): stored_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [stored_value(item) for item in value]
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("datetimes stored in Firestore must be timezone-aware")
        return value.astimezone(UTC)
    return value
