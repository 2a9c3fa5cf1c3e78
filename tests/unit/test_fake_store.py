"""FakeStore passes the DocumentStore contract, plus the fake's own test hooks."""

from __future__ import annotations

import pytest

from shared import errors
from shared.ports import Transaction
from tests.contracts.store_contract import DocumentStoreContract
from tests.fakes import FakeStore


class TestFakeStoreContract(DocumentStoreContract):
    @pytest.fixture
    def store(self) -> FakeStore:
        return FakeStore()


def test_fail_with_makes_every_call_raise() -> None:
    store = FakeStore()
    store.fail_with = errors.DependencyUnavailable(details={"dependency": "firestore"})
    with pytest.raises(errors.DependencyUnavailable):
        store.get("users/u1")
    with pytest.raises(errors.DependencyUnavailable):
        store.check(1.0)
    store.fail_with = None
    assert store.get("users/u1") is None


def test_endless_contention_gives_up_as_unavailable() -> None:
    store = FakeStore(max_attempts=3)
    store.set("c/doc", {"n": 0})
    runs = []

    def work(tx: Transaction) -> None:
        runs.append(1)
        tx.get("c/doc")
        store.set("c/doc", {"n": len(runs)})  # someone else writes between read and commit

    with pytest.raises(errors.DependencyUnavailable):
        store.run_transaction(work)
    assert len(runs) == 3


def test_paths_lists_what_is_stored() -> None:
    store = FakeStore()
    store.set("b/1", {})
    store.set("a/1/c/2", {})
    assert store.paths() == ["a/1/c/2", "b/1"]
