"""Rate limits on the real Firestore (emulator): requests sent at once past a limit are
admitted exactly up to it, and the stored counts equal the requests admitted.

The emulator settles each clash of transactions with a 2 s lock timeout and no priority for
retried ones, so a request that still met contention after the limiter's own retries gets
a retryable 503; it is sent again, as the app does. The clock is fixed so that no minute
boundary falls inside a test.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import errors
from shared.adapters.firestore_store import FirestoreStore
from shared.bootstrap import Container
from shared.limits import enforce_route_limits
from shared.limits.counters import (
    Counter,
    CounterLocks,
    FixedWindowLimiter,
    counter_path,
    window_at,
)
from shared.models.identity import Caller
from shared.sessions.idempotency import turn_id_for
from tests.fakes import FixedClock

pytestmark = pytest.mark.integration

LIMIT = 5
ATTEMPTS = 3 * LIMIT
THREADS = 6
RESENDS = 10  # a request answered 503 is sent again, at most this many times
NOW = datetime(2026, 1, 5, 9, 0, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def firestore(local_stack: Any) -> FirestoreStore:
    return FirestoreStore(local_stack.settings)


def _send(limiter: FixedWindowLimiter, counters: list[Counter]) -> str:
    for _ in range(RESENDS):
        try:
            limiter.admit(counters)
        except errors.RateLimited:
            return "refused"
        except errors.DependencyUnavailable:
            continue  # too busy: retryable, sent again
        return "admitted"
    return "unavailable"


def _count(store: FirestoreStore, counter: Counter) -> int:
    found = store.get(counter_path(counter, window_at(NOW, counter.window_seconds)))
    return int(found.data["count"]) if found else 0


def test_requests_at_once_past_a_limit_admit_exactly_the_limit(firestore: FirestoreStore) -> None:
    subject = f"it-{uuid.uuid4().hex[:12]}"
    counters = [
        Counter("results_polls_per_minute", "user", subject, LIMIT, 60),
        Counter("results_polls_per_minute", "ip", f"{subject}-ip", LIMIT * 10, 60),
    ]
    # Three instances, each with its own counter locks: they meet in Firestore's transaction.
    instances = [
        FixedWindowLimiter(firestore, FixedClock(NOW), locks=CounterLocks()) for _ in range(3)
    ]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = list(
            pool.map(lambda index: _send(instances[index % 3], counters), range(ATTEMPTS))
        )
    assert outcomes.count("unavailable") == 0, outcomes
    assert outcomes.count("admitted") == LIMIT, outcomes
    assert outcomes.count("refused") == ATTEMPTS - LIMIT
    # The counts are the requests admitted: refusals write nothing, no increment is lost.
    assert _count(firestore, counters[0]) == LIMIT
    assert _count(firestore, counters[1]) == LIMIT


def test_the_counter_document_carries_its_expiry_and_no_subject(firestore: FirestoreStore) -> None:
    subject = f"it-{uuid.uuid4().hex[:12]}"
    counter = Counter("turns_per_minute", "user", subject, LIMIT, 60)
    FixedWindowLimiter(firestore, FixedClock(NOW)).admit([counter])
    found = firestore.get(counter_path(counter, window_at(NOW, 60)))
    assert found is not None
    assert found.data["expire_at"] > datetime(2026, 1, 5, 9, 1, tzinfo=UTC)
    assert found.data["window_start"] == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert subject not in repr(found.data)
    assert subject not in found.path


def test_retries_of_a_recorded_answer_pass_at_the_limit(
    local_stack: Any, firestore: FirestoreStore
) -> None:
    uid = f"it-{uuid.uuid4().hex[:12]}"
    container = Container(local_stack.settings, store=firestore, clock=FixedClock(NOW))
    session_id, key = f"s_{uuid.uuid4().hex[:24]}", "answer-key-0001"

    def post(idempotency_key: str) -> None:
        enforce_route_limits(
            container,
            "POST",
            "/sessions/{session_id}/turns",
            Caller(uid=uid),
            path_params={"session_id": session_id},
            headers={"Idempotency-Key": idempotency_key, "X-Forwarded-For": "192.0.2.44"},
            remote_addr="127.0.0.1",
        )

    allowed = local_stack.settings.rate_turns_per_minute_per_user
    post(key)
    firestore.set(
        f"sessions/{session_id}/turns/{turn_id_for(session_id, key)}",
        {"uid": uid, "status": "recorded"},
    )
    for index in range(allowed - 1):
        post(f"answer-key-{index + 2:04d}")
    with pytest.raises(errors.RateLimited):
        post("one-answer-too-many")
    post(key)  # the recorded answer's retry is still answered
