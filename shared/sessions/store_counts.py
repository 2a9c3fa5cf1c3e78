"""Count the document reads and writes a piece of work costs (Firestore bills per operation).

    counting = CountingStore(container.store)
    ... run a turn against a container using ``counting`` ...
    counting.counts  # StoreCounts(reads=2, writes=2, transactions=1, attempts=1)

As Firestore bills them: a transaction's reads count on every attempt (a re-run under
contention reads again), its writes once, when it commits; a query counts one read per
document returned (at least one).
Per request: the sessions services reach the store through ``store_of(container)``, a
CountingStore kept per container, and ``counted_calls()`` tallies what the calls made inside
it cost, so a turn's response and log line can say how many reads and writes it took.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.bootstrap import Container
from shared.ports import Document, DocumentStore, Query, Transaction

__all__ = ["CountingStore", "StoreCounts", "Tally", "counted_calls", "store_of"]

T = TypeVar("T")


@dataclass(frozen=True)
class StoreCounts:
    reads: int = 0
    writes: int = 0
    transactions: int = 0
    attempts: int = 0

    def __sub__(self, other: StoreCounts) -> StoreCounts:
        return StoreCounts(
            self.reads - other.reads,
            self.writes - other.writes,
            self.transactions - other.transactions,
            self.attempts - other.attempts,
        )


class Tally:
    """The counts of the calls made inside one ``counted_calls()`` block."""

    def __init__(self) -> None:
        self.counts = StoreCounts()


_tally: ContextVar[Tally | None] = ContextVar("store_tally", default=None)


@contextmanager
def counted_calls() -> Iterator[Tally]:
    """Tally the store calls this thread makes (through a CountingStore) inside the block."""
    tally = Tally()
    token = _tally.set(tally)
    try:
        yield tally
    finally:
        _tally.reset(token)


def _plus(
    counts: StoreCounts, reads: int, writes: int, transactions: int, attempts: int
) -> StoreCounts:
    return StoreCounts(
        counts.reads + reads,
        counts.writes + writes,
        counts.transactions + transactions,
        counts.attempts + attempts,
    )


class _CountingTransaction:
    def __init__(self, inner: Transaction, owner: CountingStore) -> None:
        self._inner = inner
        self._owner = owner
        self.writes = 0  # billed only if this attempt commits

    def get(self, path: str) -> Document | None:
        self._owner._add(reads=1)
        return self._inner.get(path)

    def create(self, path: str, data: Mapping[str, Any]) -> None:
        self.writes += 1
        self._inner.create(path, data)

    def set(self, path: str, data: Mapping[str, Any], *, merge: bool = False) -> None:
        self.writes += 1
        self._inner.set(path, data, merge=merge)

    def delete(self, path: str) -> None:
        self.writes += 1
        self._inner.delete(path)


class CountingStore:
    """A DocumentStore that passes every call through and counts it."""

    def __init__(self, inner: DocumentStore) -> None:
        self.inner = inner
        self._inner = inner
        self._lock = threading.Lock()
        self._counts = StoreCounts()

    @property
    def counts(self) -> StoreCounts:
        with self._lock:
            return self._counts

    def reset(self) -> None:
        with self._lock:
            self._counts = StoreCounts()

    def _add(
        self, *, reads: int = 0, writes: int = 0, transactions: int = 0, attempts: int = 0
    ) -> None:
        with self._lock:
            self._counts = _plus(self._counts, reads, writes, transactions, attempts)
        tally = _tally.get()
        if tally is not None:  # only this thread's calls: a request's own cost
            tally.counts = _plus(tally.counts, reads, writes, transactions, attempts)

    def get(self, path: str) -> Document | None:
        self._add(reads=1)
        return self._inner.get(path)

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        self._add(writes=1)
        return self._inner.create(path, data)

    def set(self, path: str, data: Mapping[str, Any], *, merge: bool = False) -> None:
        self._add(writes=1)
        self._inner.set(path, data, merge=merge)

    def delete(self, path: str) -> None:
        self._add(writes=1)
        self._inner.delete(path)

    def query(self, query: Query) -> list[Document]:
        found = self._inner.query(query)
        self._add(reads=max(1, len(found)))
        return found

    def run_transaction(self, work: Callable[[Transaction], T]) -> T:
        self._add(transactions=1)
        attempts: list[_CountingTransaction] = []

        def counted(transaction: Transaction) -> T:
            self._add(attempts=1)
            attempt = _CountingTransaction(transaction, self)
            attempts.append(attempt)
            return work(attempt)

        result = self._inner.run_transaction(counted)
        self._add(writes=attempts[-1].writes if attempts else 0)  # the attempt that committed
        return result

    def check(self, timeout_seconds: float) -> None:
        self._inner.check(timeout_seconds)


_wrapped: weakref.WeakKeyDictionary[Container, CountingStore] = weakref.WeakKeyDictionary()
_wrapped_lock = threading.Lock()


def store_of(container: Container) -> DocumentStore:
    """The container's store, counted (one CountingStore per container, for its lifetime)."""
    store = container.store
    if isinstance(store, CountingStore):
        return store
    with _wrapped_lock:
        counting = _wrapped.get(container)
        if counting is None or counting.inner is not store:
            counting = CountingStore(store)
            _wrapped[container] = counting
        return counting
