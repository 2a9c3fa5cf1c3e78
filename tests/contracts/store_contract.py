"""DocumentStore contract: what every store (FakeStore, FirestoreStore) must do.

Subclass ``DocumentStoreContract`` as ``Test...`` and provide a fixture ``store`` returning
the DocumentStore under test. ``contention_rounds`` sets how many increments each of two
threads makes in the contention test (the Firestore emulator resolves each clash by a 2 s
lock timeout, so its suite uses fewer rounds than the fake's).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest

from shared import errors
from shared.ports import (
    Document,
    DocumentStore,
    OrderBy,
    Query,
    ReadAfterWriteError,
    Transaction,
    Where,
)

# One collection of documents with values of every type the queries must tell apart.
QUERY_DOCS: dict[str, dict[str, Any]] = {
    "a": {"x": 1, "tags": ["red", "blue"], "meta": {"level": 2}, "y": 5},
    "b": {"x": 2.5, "tags": ["blue"], "meta": {"level": 1}, "y": 1},
    "c": {"x": "text", "tags": [], "y": 3},
    "d": {"x": None, "y": 2},
    "e": {"y": 4},
    "f": {"x": True, "tags": ["red"], "y": 5},
    "g": {"x": 1.0, "y": 0},
    "h": {"x": datetime(2026, 1, 1, tzinfo=UTC), "y": 9},
    "i": {"x": [1, 2], "y": 7},
    "j": {"x": {"k": 1}, "y": 8},
    "k": {"x": -3, "y": 6},
}


def unique(prefix: str) -> str:
    """A collection name no other test (or earlier run on the same emulator) uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class DocumentStoreContract:
    contention_rounds: ClassVar[int] = 20

    @pytest.fixture
    def col(self) -> str:
        return unique("contract")

    @pytest.fixture
    def query_col(self, store: DocumentStore) -> str:
        name = unique("query")
        for doc_id, data in QUERY_DOCS.items():
            store.set(f"{name}/{doc_id}", data)
        return name

    @staticmethod
    def ids(
        store: DocumentStore,
        col: str,
        *where: tuple[str, Any, Any],
        order: tuple[tuple[str, bool], ...] = (),
        limit: int | None = None,
    ) -> list[str]:
        query = Query(
            collection=col,
            where=tuple(Where(name, op, value) for name, op, value in where),
            order_by=tuple(OrderBy(name, descending) for name, descending in order),
            limit=limit,
        )
        return [document.id for document in store.query(query)]

    # --- documents -----------------------------------------------------------------------
    def test_a_missing_document_is_none(self, store: DocumentStore, col: str) -> None:
        assert store.get(f"{col}/nobody") is None

    def test_values_round_trip(self, store: DocumentStore, col: str) -> None:
        local = timezone(timedelta(hours=2))
        data = {
            "text": "naïve café – 東京",
            "int": 7,
            "big": 2**53 + 1,
            "float": 6.5,
            "bool": False,
            "none": None,
            "list": [1, "two", {"three": 3}],
            "tuple": (1, 2),
            "nested": {"deeper": {"deepest": [True]}},
            "when": datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=local),
        }
        store.set(f"{col}/doc", data)
        document = store.get(f"{col}/doc")
        assert document == Document(
            path=f"{col}/doc",
            data={
                **data,
                "tuple": [1, 2],
                "when": datetime(2026, 3, 4, 3, 6, 7, 123456, tzinfo=UTC),
            },
        )
        assert document.id == "doc"
        when = document.data["when"]
        assert type(when) is datetime
        assert when.utcoffset() == timedelta(0)

    def test_naive_datetimes_are_refused(self, store: DocumentStore, col: str) -> None:
        with pytest.raises(ValueError, match="timezone"):
            store.set(f"{col}/doc", {"when": datetime(2026, 1, 1)})
        assert store.get(f"{col}/doc") is None

    def test_callers_cannot_change_stored_data(self, store: DocumentStore, col: str) -> None:
        data: dict[str, Any] = {"list": [1], "map": {"a": 1}}
        store.set(f"{col}/doc", data)
        data["list"].append(2)
        data["map"]["a"] = 99
        first = store.get(f"{col}/doc")
        assert first is not None
        first.data["list"].append(3)
        first.data["map"]["b"] = 2
        again = store.get(f"{col}/doc")
        assert again is not None
        assert again.data == {"list": [1], "map": {"a": 1}}

    def test_create_writes_once(self, store: DocumentStore, col: str) -> None:
        assert store.create(f"{col}/once", {"n": 1}) is True
        assert store.create(f"{col}/once", {"n": 2}) is False
        assert store.get(f"{col}/once") == Document(f"{col}/once", {"n": 1})

    def test_set_replaces_and_merge_merges_nested_maps(
        self, store: DocumentStore, col: str
    ) -> None:
        path = f"{col}/doc"
        store.set(path, {"a": {"b": 1, "c": 2}, "z": 1})
        store.set(path, {"a": {"b": 5}, "new": True}, merge=True)
        assert store.get(path) == Document(path, {"a": {"b": 5, "c": 2}, "z": 1, "new": True})
        store.set(path, {"only": 1})
        assert store.get(path) == Document(path, {"only": 1})

    def test_merge_into_a_missing_document_creates_it(self, store: DocumentStore, col: str) -> None:
        store.set(f"{col}/doc", {"a": 1}, merge=True)
        assert store.get(f"{col}/doc") == Document(f"{col}/doc", {"a": 1})

    def test_delete_is_idempotent(self, store: DocumentStore, col: str) -> None:
        store.set(f"{col}/doc", {"a": 1})
        store.delete(f"{col}/doc")
        assert store.get(f"{col}/doc") is None
        store.delete(f"{col}/doc")
        store.delete(f"{col}/never-existed")

    @pytest.mark.parametrize("path", ["", "users", "users/", "/users/u1", "a//b/c", "a/b/c"])
    def test_malformed_document_paths_are_refused(self, store: DocumentStore, path: str) -> None:
        with pytest.raises(ValueError, match="document path"):
            store.get(path)
        with pytest.raises(ValueError, match="document path"):
            store.set(path, {"a": 1})
        with pytest.raises(ValueError, match="document path"):
            store.create(path, {"a": 1})
        with pytest.raises(ValueError, match="document path"):
            store.delete(path)

    def test_check_answers(self, store: DocumentStore) -> None:
        store.check(timeout_seconds=5)

    # --- queries --------------------------------------------------------------------------
    def test_a_query_sees_only_its_own_collection(self, store: DocumentStore, col: str) -> None:
        store.set(f"{col}/u1", {"n": 1})
        store.set(f"{col}/u2", {"n": 2})
        store.set(f"{col}/u1/drills/d1", {"n": 3})
        store.set(f"{col}/u1/drills/d2", {"n": 4})
        store.set(f"{col}/u2/drills/d9", {"n": 5})
        assert self.ids(store, col) == ["u1", "u2"]
        drills = store.query(Query(collection=f"{col}/u1/drills"))
        assert [(doc.path, doc.data) for doc in drills] == [
            (f"{col}/u1/drills/d1", {"n": 3}),
            (f"{col}/u1/drills/d2", {"n": 4}),
        ]
        assert self.ids(store, unique("empty")) == []

    def test_a_document_path_is_not_a_collection(self, store: DocumentStore, col: str) -> None:
        with pytest.raises(ValueError, match="collection path"):
            store.query(Query(collection=f"{col}/u1"))

    def test_equality_compares_numbers_by_value_but_not_bools(
        self, store: DocumentStore, query_col: str
    ) -> None:
        assert self.ids(store, query_col, ("x", "==", 1)) == ["a", "g"]
        assert self.ids(store, query_col, ("x", "==", True)) == ["f"]
        assert self.ids(store, query_col, ("x", "==", None)) == ["d"]
        assert self.ids(store, query_col, ("x", "==", [1, 2])) == ["i"]
        assert self.ids(store, query_col, ("x", "==", {"k": 1})) == ["j"]
        assert self.ids(store, query_col, ("meta.level", "==", 1)) == ["b"]

    def test_not_equal_skips_missing_and_null_and_orders_by_the_field(
        self, store: DocumentStore, query_col: str
    ) -> None:
        # null < bool < numbers < datetimes < strings < lists < maps, then by id.
        assert self.ids(store, query_col, ("x", "!=", 1)) == ["f", "k", "b", "h", "c", "i", "j"]
        assert self.ids(store, query_col, ("x", "!=", None)) == [
            "f", "k", "a", "g", "b", "h", "c", "i", "j",
        ]  # fmt: skip

    def test_ranges_only_match_values_of_the_same_type(
        self, store: DocumentStore, query_col: str
    ) -> None:
        assert self.ids(store, query_col, ("x", ">", 0)) == ["a", "g", "b"]
        assert self.ids(store, query_col, ("x", "<=", 1)) == ["k", "a", "g"]
        assert self.ids(store, query_col, ("x", ">=", "")) == ["c"]
        assert self.ids(store, query_col, ("x", "<", datetime(2027, 1, 1, tzinfo=UTC))) == ["h"]
        assert self.ids(store, query_col, ("x", ">", 0), ("x", "<", 2)) == ["a", "g"]

    def test_in_and_not_in(self, store: DocumentStore, query_col: str) -> None:
        assert self.ids(store, query_col, ("x", "in", [1, "text", None])) == ["a", "c", "g"]
        assert self.ids(store, query_col, ("x", "not-in", [1, "text"])) == [
            "f", "k", "b", "h", "i", "j",
        ]  # fmt: skip

    def test_array_contains(self, store: DocumentStore, query_col: str) -> None:
        assert self.ids(store, query_col, ("tags", "array-contains", "red")) == ["a", "f"]
        assert self.ids(store, query_col, ("tags", "array-contains", "green")) == []

    def test_filters_combine(self, store: DocumentStore, query_col: str) -> None:
        assert self.ids(store, query_col, ("tags", "array-contains", "blue"), ("y", ">", 2)) == [
            "a"
        ]
        assert self.ids(store, query_col, ("x", "in", [1, 2.5]), ("y", "<", 5)) == ["g", "b"]

    def test_none_only_works_with_equality(self, store: DocumentStore, query_col: str) -> None:
        with pytest.raises(ValueError, match="None"):
            self.ids(store, query_col, ("x", "<", None))

    def test_order_limit_and_ties(self, store: DocumentStore, query_col: str) -> None:
        assert self.ids(store, query_col, order=(("y", False),)) == [
            "g", "b", "d", "c", "e", "a", "f", "k", "i", "j", "h",
        ]  # fmt: skip
        # Ties (a and f share y=5) follow the direction of the last order.
        assert self.ids(store, query_col, order=(("y", True),), limit=4) == ["h", "j", "i", "k"]
        assert self.ids(store, query_col, order=(("y", True),))[4:6] == ["f", "a"]
        assert self.ids(store, query_col, limit=3) == ["a", "b", "c"]
        assert self.ids(store, query_col, limit=0) == []

    def test_ordering_skips_documents_without_the_field(
        self, store: DocumentStore, query_col: str
    ) -> None:
        assert self.ids(store, query_col, order=(("meta.level", False),)) == ["b", "a"]
        assert self.ids(store, query_col, order=(("x", False),), limit=3) == ["d", "f", "k"]

    def test_inequality_then_explicit_order(self, store: DocumentStore, query_col: str) -> None:
        assert self.ids(store, query_col, ("x", ">", 0), order=(("y", True),)) == ["a", "b", "g"]

    def test_implicit_orders_follow_the_last_direction(
        self, store: DocumentStore, col: str
    ) -> None:
        docs = {"p": (1, 1), "q": (3, 1), "r": (2, 1), "s": (2, 1), "t": (2, 2)}
        for doc_id, (x, y) in docs.items():
            store.set(f"{col}/{doc_id}", {"x": x, "y": y})
        assert self.ids(store, col, ("x", ">", 0), order=(("y", True),)) == [
            "t", "q", "s", "r", "p",
        ]  # fmt: skip
        assert self.ids(store, col, ("x", "!=", 5), order=(("y", False),)) == [
            "p", "r", "s", "q", "t",
        ]  # fmt: skip
        assert self.ids(store, col, order=(("x", True),)) == ["q", "t", "s", "r", "p"]

    def test_due_items_by_time(self, store: DocumentStore, col: str) -> None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for day in range(5):
            store.set(f"{col}/d{day}", {"due": start + timedelta(days=day), "owner": "u1"})
        store.set(f"{col}/other", {"due": start, "owner": "u2"})
        due = self.ids(
            store,
            col,
            ("owner", "==", "u1"),
            ("due", "<=", start + timedelta(days=2)),
            order=(("due", False),),
            limit=2,
        )
        assert due == ["d0", "d1"]

    # --- transactions ---------------------------------------------------------------------
    def test_transaction_reads_then_writes(self, store: DocumentStore, col: str) -> None:
        store.set(f"{col}/counter", {"n": 1})

        def work(tx: Transaction) -> int:
            current = tx.get(f"{col}/counter")
            assert current is not None
            assert tx.get(f"{col}/absent") is None
            tx.set(f"{col}/counter", {"n": current.data["n"] + 1})
            tx.create(f"{col}/log", {"from": current.data["n"]})
            return int(current.data["n"])

        assert store.run_transaction(work) == 1
        assert store.get(f"{col}/counter") == Document(f"{col}/counter", {"n": 2})
        assert store.get(f"{col}/log") == Document(f"{col}/log", {"from": 1})

    def test_transaction_merge_and_delete(self, store: DocumentStore, col: str) -> None:
        store.set(f"{col}/a", {"keep": 1, "map": {"x": 1}})
        store.set(f"{col}/b", {"gone": True})

        def work(tx: Transaction) -> None:
            tx.set(f"{col}/a", {"map": {"y": 2}}, merge=True)
            tx.delete(f"{col}/b")

        store.run_transaction(work)
        assert store.get(f"{col}/a") == Document(f"{col}/a", {"keep": 1, "map": {"x": 1, "y": 2}})
        assert store.get(f"{col}/b") is None

    def test_a_failing_transaction_writes_nothing(self, store: DocumentStore, col: str) -> None:
        class Boom(RuntimeError):
            pass

        def work(tx: Transaction) -> None:
            tx.set(f"{col}/a", {"written": True})
            raise Boom

        with pytest.raises(Boom):
            store.run_transaction(work)
        assert store.get(f"{col}/a") is None

    def test_a_read_after_a_write_is_refused(self, store: DocumentStore, col: str) -> None:
        def work(tx: Transaction) -> None:
            tx.set(f"{col}/a", {"n": 1})
            tx.get(f"{col}/b")

        with pytest.raises(ReadAfterWriteError):
            store.run_transaction(work)
        assert store.get(f"{col}/a") is None

    def test_create_in_a_transaction_conflicts_with_an_existing_document(
        self, store: DocumentStore, col: str
    ) -> None:
        store.set(f"{col}/taken", {"owner": "first"})

        def work(tx: Transaction) -> None:
            tx.create(f"{col}/new", {"n": 1})
            tx.create(f"{col}/taken", {"owner": "second"})

        with pytest.raises(errors.Conflict):
            store.run_transaction(work)
        assert store.get(f"{col}/taken") == Document(f"{col}/taken", {"owner": "first"})
        assert store.get(f"{col}/new") is None

    def test_clashing_transactions_are_retried(self, store: DocumentStore, col: str) -> None:
        """Both read before either writes, so one must be re-run on fresh data."""
        path = f"{col}/counter"
        store.set(path, {"n": 0})
        both_read = threading.Barrier(2, timeout=30)
        runs: list[str] = []
        runs_lock = threading.Lock()

        def increment(name: str) -> Callable[[Transaction], None]:
            def work(tx: Transaction) -> None:
                with runs_lock:
                    runs.append(name)
                    first_run = runs.count(name) == 1
                current = tx.get(path)
                assert current is not None
                if first_run:
                    both_read.wait()
                tx.set(path, {"n": current.data["n"] + 1})

            return work

        failures = _run_in_threads(
            [
                lambda: store.run_transaction(increment("t1")),
                lambda: store.run_transaction(increment("t2")),
            ]
        )
        assert failures == []
        assert store.get(path) == Document(path, {"n": 2})
        assert len(runs) >= 3

    def test_concurrent_increments_are_never_lost(self, store: DocumentStore, col: str) -> None:
        path = f"{col}/counter"
        store.set(path, {"n": 0})
        rounds = self.contention_rounds

        def increment(tx: Transaction) -> None:
            current = tx.get(path)
            assert current is not None
            tx.set(path, {"n": current.data["n"] + 1})

        def worker() -> None:
            for _ in range(rounds):
                store.run_transaction(increment)

        failures = _run_in_threads([worker, worker])
        assert failures == [], [repr(f.__cause__ or f) for f in failures]
        assert store.get(path) == Document(path, {"n": 2 * rounds})


def _run_in_threads(targets: list[Callable[[], object]]) -> list[BaseException]:
    failures: list[BaseException] = []

    def guarded(target: Callable[[], object]) -> None:
        try:
            target()
        except BaseException as error:  # noqa: BLE001  # reported to the test thread
            failures.append(error)

    threads = [threading.Thread(target=guarded, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return failures
