"""The small parts of the sessions package: keys and ids, question memory, store counts, and
the rule that it never imports a Google client."""

from __future__ import annotations

import ast
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.ports import Document, Query, Transaction
from shared.sessions.idempotency import checked_key, session_id_for, turn_id_for
from shared.sessions.question_memory import asked_questions, remembered
from shared.sessions.session_errors import IdempotencyKeyInvalid, IdempotencyKeyRequired
from shared.sessions.store_counts import CountingStore, StoreCounts, counted_calls
from tests.fakes import FakeStore

SESSIONS = Path(__file__).resolve().parents[2] / "shared" / "sessions"
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("key", ["abcdefgh", "0b9e4f0e-5e8f-4c7e-9d3a-2f1b6c7d8e9f", "a_" * 64])
def test_good_keys_pass(key: str) -> None:
    assert checked_key(key) == key


@pytest.mark.parametrize("key", ["short", "x" * 129, "with space", "dots.are.out", "é" * 10])
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(IdempotencyKeyInvalid):
        checked_key(key)


@pytest.mark.parametrize("key", [None, "", "   "])
def test_a_missing_key_is_required(key: str | None) -> None:
    with pytest.raises(IdempotencyKeyRequired):
        checked_key(key)


def test_turn_ids_follow_from_the_session_and_the_key() -> None:
    first = turn_id_for("s_1", "key-000001")
    assert first == turn_id_for("s_1", "key-000001")
    assert first != turn_id_for("s_2", "key-000001")
    assert first != turn_id_for("s_1", "key-000002")
    assert len(first) == 26
    assert first.startswith("t_")
    assert session_id_for("learner-1", "key-000001") != session_id_for("learner-2", "key-000001")


def test_the_memory_counts_each_question_and_keeps_the_last_time() -> None:
    once = remembered(None, ["p1.work.q1", "p2.card"], NOW)
    later = NOW + timedelta(days=3)
    twice = remembered(Document("users/u/questionMemory/summary", once), ["p1.work.q1"], later)
    memory = asked_questions(Document("users/u/questionMemory/summary", twice))
    assert memory["p1.work.q1"].count == 2
    assert memory["p1.work.q1"].last_asked_at == later
    assert memory["p2.card"].count == 1
    assert memory["p2.card"].last_asked_at == NOW
    assert asked_questions(None) == {}


def test_counting_store_counts_like_firestore_bills() -> None:
    store = CountingStore(FakeStore())
    store.set("a/1", {"n": 0})
    store.get("a/1")
    store.query(Query("a"))
    store.query(Query("empty"))  # an empty result still costs a read

    def bump(transaction: Transaction) -> None:
        found = transaction.get("a/1")
        assert found is not None
        transaction.set("a/1", {"n": found.data["n"] + 1})
        transaction.set("a/2", {"n": 1})

    store.run_transaction(bump)
    assert store.counts == StoreCounts(reads=4, writes=3, transactions=1, attempts=1)


def test_a_retried_transaction_reads_again_but_writes_once() -> None:
    inner = FakeStore()
    store = CountingStore(inner)
    inner.set("a/1", {"n": 0})
    meddled = threading.Event()

    def bump(transaction: Transaction) -> None:
        found = transaction.get("a/1")
        assert found is not None
        if not meddled.is_set():
            meddled.set()
            inner.set("a/1", {"n": 10})  # someone else writes in between: a retry follows
        transaction.set("a/1", {"n": found.data["n"] + 1})

    store.run_transaction(bump)
    assert store.counts == StoreCounts(reads=2, writes=1, transactions=1, attempts=2)
    assert inner.get("a/1").data == {"n": 11}  # type: ignore[union-attr]


def test_a_tally_counts_only_its_own_threads_calls() -> None:
    store = CountingStore(FakeStore())
    other_started = threading.Event()
    stop = threading.Event()

    def busy_elsewhere() -> None:
        other_started.set()
        while not stop.is_set():
            store.get("b/1")

    thread = threading.Thread(target=busy_elsewhere)
    thread.start()
    other_started.wait()
    with counted_calls() as tally:
        store.get("a/1")
        store.set("a/1", {"n": 1})
    stop.set()
    thread.join()
    assert tally.counts == StoreCounts(reads=1, writes=1)


def test_the_sessions_package_never_imports_a_google_client() -> None:
    forbidden = ("google", "firebase_admin")
    for path in SESSIONS.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"
