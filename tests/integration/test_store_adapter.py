"""FirestoreStore on the Firestore emulator: the DocumentStore contract, and failure mapping."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from shared import errors
from shared.adapters.firestore_store import FirestoreStore
from shared.config import ConfigurationError, Settings
from shared.ports import Transaction
from tests.contracts.store_contract import DocumentStoreContract, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def firestore_store(local_stack: Any) -> FirestoreStore:
    # The emulator breaks each clash by a 2 s lock timeout that aborts the first committer,
    # with no priority for retried transactions (production has it): one of two busy threads
    # can lose 5 times running, so the emulator needs more attempts than the SDK's default 5.
    return FirestoreStore(local_stack.settings, max_attempts=25)


class TestFirestoreStoreContract(DocumentStoreContract):
    # Each clash costs the emulator's 2 s lock timeout: 2 x 3 rounds take 4 to 12 s.
    contention_rounds = 3

    @pytest.fixture
    def store(self, firestore_store: FirestoreStore) -> FirestoreStore:
        return firestore_store


def test_contention_beyond_the_attempts_is_unavailable(local_stack: Any) -> None:
    store = FirestoreStore(local_stack.settings, max_attempts=1)
    path = f"{unique('clash')}/counter"
    store.set(path, {"n": 0})
    both_read = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def work(tx: Transaction) -> None:
        current = tx.get(path)
        assert current is not None
        both_read.wait()
        tx.set(path, {"n": current.data["n"] + 1})

    def run() -> None:
        try:
            store.run_transaction(work)
            outcomes.append("committed")
        except errors.DependencyUnavailable as error:
            outcomes.append(f"unavailable:{error.details['operation']}")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert "unavailable:transaction" in outcomes
    document = store.get(path)
    assert document is not None
    assert document.data["n"] == outcomes.count("committed")


def _dead_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"  # closed again when the block ends


def test_a_store_that_does_not_answer_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = _dead_address()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", dead)
    store = FirestoreStore(
        Settings(firestore_emulator_host=dead), timeout_seconds=0.5, retry_seconds=1.0
    )
    started = time.monotonic()
    with pytest.raises(errors.DependencyUnavailable) as raised:
        store.check(timeout_seconds=1.0)
    assert raised.value.details == {"dependency": "firestore", "operation": "check"}
    with pytest.raises(errors.DependencyUnavailable):
        store.get("users/u1")
    with pytest.raises(errors.DependencyUnavailable):
        store.set("users/u1", {"a": 1})
    assert time.monotonic() - started < 30  # bounded by the timeouts, not hanging


def test_settings_and_environment_must_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
    store = FirestoreStore(Settings(firestore_emulator_host="127.0.0.1:2"))
    with pytest.raises(ConfigurationError, match="FIRESTORE_EMULATOR_HOST"):
        store.get("users/u1")


def test_the_client_is_created_once(firestore_store: FirestoreStore) -> None:
    firestore_store.get("users/nobody")
    client = firestore_store._client
    firestore_store.get("users/nobody")
    assert client is not None
    assert firestore_store._client is client
