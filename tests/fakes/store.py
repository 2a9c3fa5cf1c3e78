"""FakeStore: an in-memory ports.DocumentStore with Firestore's semantics.

What it shares with Firestore (checked by tests/contracts/store_contract.py against both):
- paths alternate collection/id; values are deep-copied in and out, tuples become lists,
  naive datetimes are refused and aware ones come back in UTC;
- ``create`` on an existing document returns False; ``set(merge=True)`` merges nested maps;
- queries: a filter or order on a field excludes documents without it; ``==``/``in`` compare
  numbers by value (1 == 1.0) but never a bool with a number; ranges only match values of
  the filter value's type; ``!=``/``not-in`` never match null; ``in`` never matches null;
  results are ordered by the explicit orders, then by the inequality fields, then by id;
  values of different types order as null < bool < number < datetime < str < bytes < list
  < map;
- transactions are optimistic: reads record the version they saw, writes are buffered, the
  commit fails and the work is re-run when a document read has changed since; a read after
  a write raises ReadAfterWriteError; a ``create`` that meets an existing document raises
  Conflict at commit.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from shared import errors
from shared.ports import (
    Document,
    OrderBy,
    Query,
    ReadAfterWriteError,
    Transaction,
    Where,
    split_collection_path,
    split_document_path,
    stored_value,
)

T = TypeVar("T")

_RANGE = {"<", "<=", ">", ">="}
_INEQUALITY = _RANGE | {"!=", "not-in"}
_OPERATORS = {"==", "!=", "<", "<=", ">", ">=", "in", "not-in", "array-contains"}
_MISSING = object()


def copy_out(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: copy_out(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_out(item) for item in value]
    return value


def sort_key(value: Any) -> tuple[Any, ...]:
    """Firestore's total order over values of every type."""
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return (2, 0, 0.0)  # NaN sorts before every other number
        return (2, 1, value)
    if isinstance(value, datetime):
        return (3, value)
    if isinstance(value, str):
        return (4, value)
    if isinstance(value, bytes):
        return (5, value)
    if isinstance(value, list):
        return (7, tuple(sort_key(item) for item in value))
    if isinstance(value, dict):
        return (8, tuple((key, sort_key(value[key])) for key in sorted(value)))
    raise TypeError(f"Firestore cannot store a {type(value).__name__}")


def _lookup(data: Mapping[str, Any], field_path: str) -> Any:
    current: Any = data
    for part in field_path.split("."):
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _validate(where: Where) -> None:
    if where.op not in _OPERATORS:
        raise ValueError(f"unknown operator {where.op!r}")
    if (where.value is None or _is_nan(where.value)) and where.op not in ("==", "!="):
        raise ValueError('Only equality ("==") or not-equal ("!=") filters can be used with None')
    if where.op in ("in", "not-in") and (
        not isinstance(where.value, list | tuple) or not where.value
    ):
        raise ValueError(f"{where.op!r} needs a non-empty list")


def _matches(data: Mapping[str, Any], where: Where) -> bool:
    actual = _lookup(data, where.field)
    if actual is _MISSING:
        return False
    wanted = stored_value(where.value)
    op = where.op
    if op == "==":
        if wanted is None:
            return actual is None
        if _is_nan(wanted):
            return _is_nan(actual)
        return sort_key(actual) == sort_key(wanted)
    if op == "!=":
        if actual is None:
            return False
        if _is_nan(wanted):
            return not _is_nan(actual)
        return wanted is None or sort_key(actual) != sort_key(wanted)
    if op == "in":
        return actual is not None and any(
            item is not None and sort_key(actual) == sort_key(item) for item in wanted
        )
    if op == "not-in":
        if actual is None or any(item is None for item in wanted):
            return False
        return all(sort_key(actual) != sort_key(item) for item in wanted)
    if op == "array-contains":
        return isinstance(actual, list) and any(
            sort_key(item) == sort_key(wanted) for item in actual
        )
    actual_key, wanted_key = sort_key(actual), sort_key(wanted)
    if actual_key[0] != wanted_key[0] or _is_nan(actual):
        return False  # range filters only match values of the same type
    return {
        "<": actual_key < wanted_key,
        "<=": actual_key <= wanted_key,
        ">": actual_key > wanted_key,
        ">=": actual_key >= wanted_key,
    }[op]


@dataclass
class _Stored:
    data: dict[str, Any]
    version: int


@dataclass
class _FakeTransaction:
    store: FakeStore
    reads: dict[str, int] = field(default_factory=dict)  # path -> version seen (0: absent)
    writes: list[tuple[str, str, dict[str, Any] | None, bool]] = field(default_factory=list)

    def get(self, path: str) -> Document | None:
        if self.writes:
            raise ReadAfterWriteError(f"read of {path!r} after a write in the same transaction")
        split_document_path(path)
        with self.store._lock:
            stored = self.store._docs.get(path)
            self.reads[path] = stored.version if stored else 0
            return Document(path, copy_out(stored.data)) if stored else None

    def create(self, path: str, data: Mapping[str, Any]) -> None:
        split_document_path(path)
        self.writes.append(("create", path, stored_value(data), False))

    def set(self, path: str, data: Mapping[str, Any], *, merge: bool = False) -> None:
        split_document_path(path)
        self.writes.append(("set", path, stored_value(data), merge))

    def delete(self, path: str) -> None:
        split_document_path(path)
        self.writes.append(("delete", path, None, False))


class FakeStore:
    """In-memory ports.DocumentStore; thread-safe. ``fail_with`` makes every call raise."""

    def __init__(self, *, max_attempts: int = 5):
        self._docs: dict[str, _Stored] = {}
        self._lock = threading.RLock()
        self._versions = 0
        self.max_attempts = max_attempts
        self.transaction_attempts = 0
        self.fail_with: BaseException | None = None

    # --- helpers for tests ---------------------------------------------------------------
    def paths(self) -> list[str]:
        """Every stored document path, sorted."""
        with self._lock:
            return sorted(self._docs)

    def _check_available(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def _write(self, path: str, data: dict[str, Any] | None, merge: bool) -> None:
        if data is None:
            self._docs.pop(path, None)
            return
        self._versions += 1
        stored = self._docs.get(path)
        if merge and stored is not None:
            data = _merge(stored.data, data)
        self._docs[path] = _Stored(data=data, version=self._versions)

    # --- DocumentStore -----------------------------------------------------------------------
    def get(self, path: str) -> Document | None:
        split_document_path(path)
        self._check_available()
        with self._lock:
            stored = self._docs.get(path)
            return Document(path, copy_out(stored.data)) if stored else None

    def create(self, path: str, data: Mapping[str, Any]) -> bool:
        split_document_path(path)
        payload = stored_value(data)
        self._check_available()
        with self._lock:
            if path in self._docs:
                return False
            self._write(path, payload, merge=False)
            return True

    def set(self, path: str, data: Mapping[str, Any], *, merge: bool = False) -> None:
        split_document_path(path)
        payload = stored_value(data)
        self._check_available()
        with self._lock:
            self._write(path, payload, merge)

    def delete(self, path: str) -> None:
        split_document_path(path)
        self._check_available()
        with self._lock:
            self._write(path, None, merge=False)

    def query(self, query: Query) -> list[Document]:
        depth = len(split_collection_path(query.collection)) + 1
        for where in query.where:
            _validate(where)
        if query.limit is not None and query.limit < 0:
            raise ValueError("limit must not be negative")
        self._check_available()
        prefix = query.collection + "/"
        with self._lock:
            candidates = [
                (path, copy_out(stored.data))
                for path, stored in self._docs.items()
                if path.startswith(prefix) and path.count("/") + 1 == depth
            ]
        ordering = _ordering(query)
        found = [
            (path, data)
            for path, data in candidates
            if all(_matches(data, where) for where in query.where)
            and all(_lookup(data, order.field) is not _MISSING for order in ordering)
        ]
        # Stable sorts from the last key to the first give a lexicographic order.
        last_descending = ordering[-1].descending if ordering else False
        found.sort(key=lambda item: item[0].rsplit("/", 1)[-1], reverse=last_descending)
        for order in reversed(ordering):
            found.sort(
                key=lambda item: sort_key(_lookup(item[1], order.field)), reverse=order.descending
            )
        if query.limit is not None:
            found = found[: query.limit]
        return [Document(path, data) for path, data in found]

    def run_transaction(self, work: Callable[[Transaction], T]) -> T:
        self._check_available()
        for attempt in range(self.max_attempts):
            transaction = _FakeTransaction(self)
            with self._lock:
                self.transaction_attempts += 1
            result = work(transaction)
            with self._lock:
                unchanged = all(
                    (self._docs[path].version if path in self._docs else 0) == version
                    for path, version in transaction.reads.items()
                )
                if unchanged:
                    for kind, path, _data, _merge_flag in transaction.writes:
                        if kind == "create" and path in self._docs:
                            raise errors.Conflict("The document already exists.")
                    for _kind, path, data, merge in transaction.writes:
                        self._write(path, data, merge)
                    return result
            # Like Firestore's retries: back off a little so the winner can move on.
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise errors.DependencyUnavailable(
            "The data is busy right now; try again shortly.",
            details={"dependency": "firestore", "operation": "transaction"},
        )

    def check(self, timeout_seconds: float) -> None:
        self._check_available()


def _ordering(query: Query) -> list[OrderBy]:
    explicit = list(query.order_by)
    named = {order.field for order in explicit}
    implicit = sorted({where.field for where in query.where if where.op in _INEQUALITY} - named)
    # Implicit orders (like the final order by id) follow the direction of the last explicit one.
    descending = explicit[-1].descending if explicit else False
    return explicit + [OrderBy(name, descending) for name in implicit]


def _merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
