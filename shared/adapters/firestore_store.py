"""DocumentStore on Cloud Firestore (native mode), or on the Firestore emulator locally.

The client is created on first use and reused for the life of the instance. With
``FIRESTORE_EMULATOR_HOST`` set (from Settings or the environment) the client library talks
to the emulator over an insecure channel with anonymous credentials.

Errors: a Firestore that does not answer (unavailable, deadline, resource exhausted, retries
exhausted, transaction contention that outlasts every attempt) raises
``shared.errors.DependencyUnavailable``; ``Transaction.create`` of an existing document
raises ``shared.errors.Conflict``; malformed paths and naive datetimes raise ``ValueError``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry, if_exception_type
from google.auth import exceptions as auth_exc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from shared import errors
from shared.adapters._emulator import ensure_emulator_env
from shared.adapters.failures import dependency_unavailable
from shared.config import Settings
from shared.ports import (
    Document,
    Query,
    ReadAfterWriteError,
    Transaction,
    split_collection_path,
    split_document_path,
    stored_value,
)

T = TypeVar("T")

DEPENDENCY = "firestore"
EMULATOR_ENV = "FIRESTORE_EMULATOR_HOST"

# Errors after which the service did not (or could not) do the work: safe to surface as 503.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    gexc.Aborted,  # a transactional read that lost a lock; the decorator retries only commits
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.ResourceExhausted,
    gexc.InternalServerError,
    gexc.RetryError,
    auth_exc.TransportError,
)


# The Python client spells one operator differently from the other SDKs (and shared.ports).
_OPERATORS = {"array-contains": "array_contains"}


def _read_retry(total_seconds: float) -> Retry:
    """Reads are idempotent: retry every transient status."""
    return Retry(
        predicate=if_exception_type(
            gexc.ServiceUnavailable,
            gexc.DeadlineExceeded,
            gexc.InternalServerError,
            gexc.ResourceExhausted,
        ),
        initial=0.1,
        maximum=2.0,
        multiplier=2.0,
        timeout=total_seconds,
    )


def _write_retry(total_seconds: float) -> Retry:
    """Writes retry only when the request was certainly not applied (not on DEADLINE_EXCEEDED,
    whose outcome is unknown: a retried create would then report its own write as a clash)."""
    return Retry(
        predicate=if_exception_type(gexc.ServiceUnavailable, gexc.ResourceExhausted),
        initial=0.1,
        maximum=2.0,
        multiplier=2.0,
        timeout=total_seconds,
    )


def from_firestore(value: Any) -> Any:
    """Plain Python values: Firestore's DatetimeWithNanoseconds become aware UTC datetimes."""
    if isinstance(value, dict):
        return {key: from_firestore(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_firestore(item) for item in value]
    if isinstance(value, datetime):
        aware = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)
        return datetime(
            aware.year,
            aware.month,
            aware.day,
            aware.hour,
            aware.minute,
            aware.second,
            aware.microsecond,
            tzinfo=UTC,
        )
    return value


class _FirestoreTransaction:
    """The ports.Transaction view of one attempt of a Firestore transaction."""

    def __init__(self, store: FirestoreStore, transaction: firestore.Transaction):
        self._store = store
        self._transaction = transaction
        self._wrote = False

    def get(self, path: str) -> Document | None:
        if self._wrote:
            raise ReadAfterWriteError(f"read of {path!r} after a write in the same transaction")
        snapshot = self._store._ref(path).get(
            transaction=self._transaction,
            timeout=self._store.timeout_seconds,
            retry=self._store._read_retry,
        )
        return self._store._document(path, snapshot)

    def create(self, path: str, data: Mapping[str, Any]) -> None:
        self._transaction.create(self._store._ref(path), stored_value(data))
        self._wrote = True

    def set(self, path: str, data: Mapping[str, Any], *, merge: bool = False) -> None:
        self._transaction.set(self._store._ref(path), stored_value(data), merge=merge)
        self._wrote = True

    def delete(self, path: str) -> None:
        self._transaction.delete(self._store._ref(path))
        self._wrote = True


class FirestoreStore:
    """ports.DocumentStore on Cloud Firestore.

    ``timeout_seconds`` bounds each RPC; transient failures are retried within
    ``retry_seconds``; a transaction is attempted at most ``max_attempts`` times.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        timeout_seconds: float = 10.0,
        retry_seconds: float = 20.0,
        max_attempts: int = 5,
    ):
        self._settings = settings
        self.timeout_seconds = timeout_seconds
        self._read_retry = _read_retry(retry_seconds)
        self._write_retry = _write_retry(retry_seconds)
        self._max_attempts = max_attempts
        self._client: firestore.Client | None = None
        self._lock = threading.Lock()

    # --- client ----------------------------------------------------------------------------
    def _db(self) -> firestore.Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    ensure_emulator_env(EMULATOR_ENV, self._settings.firestore_emulator_host)
                    self._client = firestore.Client(project=self._settings.google_cloud_project)
        return self._client

    def _ref(self, path: str) -> firestore.DocumentReference:
        return self._db().document(*split_document_path(path))

    @staticmethod
    def _document(path: str, snapshot: Any) -> Document | None:
        if not snapshot.exists:
            return None
        return Document(path=path, data=from_firestore(snapshot.to_dict() or {}))

    @contextmanager
    def _answering(self, operation: str) -> Iterator[None]:
        try:
            yield
        except _UNAVAILABLE as error:
            dependency_unavailable(DEPENDENCY, operation, error)

    # --- DocumentStore ---------------------------------------------------------------------
    def get(self, path: str) -> Document | None:
        ref = self._ref(path)
        with self._answering("get"):
            snapshot = ref.get(timeout=self.timeout_seconds, retry=self._read_retry)
        return self._document(path, snapshot)

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        ref = self._ref(path)
        payload = stored_value(data)
        with self._answering("create"):
            try:
                ref.create(payload, timeout=self.timeout_seconds, retry=self._write_retry)
            except gexc.AlreadyExists:
                return False
        return True

    def set(self, path: str, data: Mapping[str, Any], *, merge: bool = False) -> None:
        ref = self._ref(path)
        payload = stored_value(data)
        with self._answering("set"):
            ref.set(payload, merge=merge, timeout=self.timeout_seconds, retry=self._write_retry)

    def delete(self, path: str) -> None:
        ref = self._ref(path)
        with self._answering("delete"):
            ref.delete(timeout=self.timeout_seconds, retry=self._write_retry)

    def query(self, query: Query) -> list[Document]:
        db = self._db()
        ref: Any = db.collection(*split_collection_path(query.collection))
        for where in query.where:
            ref = ref.where(
                filter=FieldFilter(
                    where.field, _OPERATORS.get(where.op, where.op), stored_value(where.value)
                )
            )
        for order in query.order_by:
            direction = (
                firestore.Query.DESCENDING if order.descending else firestore.Query.ASCENDING
            )
            ref = ref.order_by(order.field, direction=direction)
        if query.limit is not None:
            ref = ref.limit(query.limit)
        with self._answering("query"):
            snapshots = ref.get(timeout=self.timeout_seconds, retry=self._read_retry)
        prefix = query.collection + "/"
        return [
            Document(path=prefix + snapshot.id, data=from_firestore(snapshot.to_dict() or {}))
            for snapshot in snapshots
        ]

    def run_transaction(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in a Firestore transaction, retried on contention (ABORTED).

        Raises Conflict if a ``create`` met an existing document, DependencyUnavailable if
        contention outlasted every attempt, and whatever ``work`` raises.
        """
        db = self._db()

        @firestore.transactional
        def attempt(transaction: firestore.Transaction) -> T:
            return work(_FirestoreTransaction(self, transaction))

        with self._answering("transaction"):
            try:
                result: T = attempt(db.transaction(max_attempts=self._max_attempts))
            except gexc.AlreadyExists as error:
                raise errors.Conflict("The document already exists.") from error
            except ValueError as error:
                # The decorator turns ABORTED on its last attempt into a bare ValueError.
                if isinstance(error.__cause__, gexc.Aborted):
                    raise errors.DependencyUnavailable(
                        "The data is busy right now; try again shortly.",
                        details={"dependency": DEPENDENCY, "operation": "transaction"},
                    ) from error
                raise
        return result

    def check(self, timeout_seconds: float) -> None:
        """One cheap read of a document that need not exist, without retries."""
        ref = self._db().document("_health", "ping")
        with self._answering("check"):
            ref.get(timeout=timeout_seconds, retry=None)
