"""Fixed-window counters in the document store, exact across every instance.

One document per (limit, subject kind, subject, window): ``rateLimits/{key}``, where the key
is a SHA-256 of those four, so neither the document nor its id holds a uid or an IP address
in clear (erasing a user need not look for them; the documents expire on their own). Its
fields: ``limit``, ``subject_kind`` (``user`` or ``ip``), ``count``, ``window_start``,
``window_seconds`` and ``expire_at`` (the window's end plus a margin; a Firestore TTL policy
on ``rateLimits.expire_at`` deletes it). A new window is a new document, so nothing is ever
reset and a late TTL deletion changes no answer.

``count`` is the number of requests admitted in the window: a request reads every counter
it is subject to and, only if all are below their limits, increments all of them, in one
transaction, so concurrent instances can never admit more than the limit nor lose an
increment. A refused request writes nothing (an attacker past the limit costs reads only).

Windows are aligned on UTC (minutes, days from midnight), so a client may get up to twice a
limit across a window boundary; that is the price of one document per window instead of a
log of timestamps, and acceptable for limits meant to stop abuse, not to meter usage.

Contention: a burst on one counter would make transactions fight over one document's lock
(on the emulator each clash costs a 2 s lock timeout and a backed-off retry; 6 requests at
once took 6 to 32 s each before this was added). So requests of one instance queue on a
per-document lock (``CounterLocks``) and only instances meet in Firestore; a request that
met contention anyway first re-reads the counters outside a transaction and is refused at
once if they are full. Known trade-off: a subject's counter is one document, written once
per admitted request; a per-IP counter shared by a large classroom behind one address is the
hottest (Firestore sustains about one write per second per document). Sharding that counter
is the next step if it shows.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from shared import errors
from shared.logging import get_logger
from shared.ports import Clock, Document, DocumentStore, Transaction

__all__ = [
    "COLLECTION",
    "INSTANCE_LOCKS",
    "Counter",
    "CounterLocks",
    "FixedWindowLimiter",
    "Window",
    "counter_path",
    "window_at",
]

log = get_logger(__name__)

COLLECTION = "rateLimits"
# Kept a while past the window's end: a document is never read after its window anyway.
EXPIRY_MARGIN = timedelta(hours=1)

SubjectKind = Literal["user", "ip"]


@dataclass(frozen=True)
class Window:
    start: datetime
    seconds: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)


def window_at(now: datetime, seconds: int) -> Window:
    """The fixed window of ``seconds`` holding ``now``, aligned on the UTC epoch (so minute
    windows start on the minute and day windows at UTC midnight)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    epoch = math.floor(now.timestamp())
    return Window(datetime.fromtimestamp(epoch - epoch % seconds, UTC), seconds)


@dataclass(frozen=True)
class Counter:
    """One limit on one subject: at most ``allowed`` requests per ``window_seconds``."""

    limit: str
    subject_kind: SubjectKind
    subject: str
    allowed: int
    window_seconds: int

    def window(self, now: datetime) -> Window:
        return window_at(now, self.window_seconds)


def counter_path(counter: Counter, window: Window) -> str:
    """``rateLimits/{sha256 of limit, subject kind, subject, window start}``."""
    material = "\x1f".join(
        (counter.limit, counter.subject_kind, counter.subject, window.start.isoformat())
    )
    return f"{COLLECTION}/{hashlib.sha256(material.encode()).hexdigest()[:40]}"


@dataclass(frozen=True)
class _Refused:
    counters: tuple[tuple[Counter, Window], ...]


class CounterLocks:
    """Per-document locks within one instance: its concurrent requests on one counter queue
    here (a few milliseconds each) instead of fighting over the document's lock in Firestore,
    where each clash costs a lock timeout and a backed-off retry. Instances still meet in the
    transaction, which keeps the count exact across them."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[str, threading.Lock] = (
            weakref.WeakValueDictionary()
        )

    @contextmanager
    def holding(self, paths: Sequence[str]) -> Iterator[None]:
        with self._guard:
            locks = [self._locks.setdefault(path, threading.Lock()) for path in sorted(set(paths))]
        with ExitStack() as held:
            for lock in locks:  # always in path order: no two requests wait on each other
                held.enter_context(lock)
            yield


# One per process: every request of this instance goes through it.
INSTANCE_LOCKS = CounterLocks()


class FixedWindowLimiter:
    """Admits a request against several counters at once, or raises RateLimited.

    ``attempts``: how many times a transaction that met too much contention (the store's own
    retries exhausted, DependencyUnavailable) is tried again after a short random pause. A
    store that still does not answer raises DependencyUnavailable: the request is refused
    with a retryable 503 rather than served unlimited (fail closed; the limits protect the
    paid services behind these routes, and the client retries as it does for any 503).
    """

    def __init__(
        self,
        store: DocumentStore,
        clock: Clock,
        *,
        attempts: int = 3,
        pause_seconds: float = 0.05,
        locks: CounterLocks = INSTANCE_LOCKS,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._locks = locks
        self._store = store
        self._clock = clock
        self._attempts = attempts
        self._pause = pause_seconds

    def admit(self, counters: Sequence[Counter], *, route: str = "") -> None:
        """Count one request against every counter, or raise RateLimited (nothing counted)
        with the seconds until the refusing windows end."""
        if not counters:
            return
        now = self._clock.now()
        placed = tuple((counter, counter.window(now)) for counter in counters)
        refused = self._run(placed, now)
        if refused is None:
            return
        retry_after = max(
            max(1, math.ceil((window.end - now).total_seconds())) for _, window in refused.counters
        )
        for counter, _ in refused.counters:
            # Never the uid or the address: the limit and the kind of subject say enough.
            log.warning(
                "rate_limited",
                limit=counter.limit,
                subject_kind=counter.subject_kind,
                allowed=counter.allowed,
                window_seconds=counter.window_seconds,
                retry_after_seconds=retry_after,
                route=route or None,
            )
        names = sorted({counter.limit for counter, _ in refused.counters})
        raise errors.RateLimited(
            retry_after,
            f"Too many requests ({', '.join(names)}): try again in {retry_after} s.",
        )

    def _run(self, placed: tuple[tuple[Counter, Window], ...], now: datetime) -> _Refused | None:
        for attempt in range(self._attempts):
            if attempt:
                # After contention, a burst has often filled the window meanwhile: a count
                # only grows within its window, so one read outside a transaction that is at
                # the limit already refuses, without taking a lock (cheap for the losers of
                # a burst and for a client hammering past its limit).
                time.sleep(random.uniform(0, self._pause * attempt))
                full = self._already_full(placed)
                if full is not None:
                    return full
            try:
                with self._locks.holding([counter_path(c, w) for c, w in placed]):
                    return self._store.run_transaction(self._work(placed, now))
            except errors.DependencyUnavailable:
                if attempt + 1 == self._attempts:
                    log.warning("rate_limit_store_unavailable", attempts=self._attempts)
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _already_full(self, placed: tuple[tuple[Counter, Window], ...]) -> _Refused | None:
        over = tuple(
            (counter, window)
            for counter, window in placed
            if _count_of(self._store.get(counter_path(counter, window))) >= counter.allowed
        )
        return _Refused(over) if over else None

    @staticmethod
    def _work(
        placed: tuple[tuple[Counter, Window], ...], now: datetime
    ) -> Callable[[Transaction], _Refused | None]:
        def count(transaction: Transaction) -> _Refused | None:
            seen: list[tuple[Counter, Window, str, int]] = []
            for counter, window in placed:  # every read before the first write
                path = counter_path(counter, window)
                seen.append((counter, window, path, _count_of(transaction.get(path))))
            over = tuple((c, w) for c, w, _, n in seen if n >= c.allowed)
            if over:
                return _Refused(over)
            for counter, window, path, stored in seen:
                transaction.set(
                    path,
                    {
                        "limit": counter.limit,
                        "subject_kind": counter.subject_kind,
                        "count": stored + 1,
                        "window_start": window.start,
                        "window_seconds": window.seconds,
                        "expire_at": window.end + EXPIRY_MARGIN,
                        "updated_at": now,
                    },
                )
            return None

        return count


def _count_of(found: Document | None) -> int:
    stored = found.data.get("count", 0) if found is not None else 0
    return stored if isinstance(stored, int) else 0
