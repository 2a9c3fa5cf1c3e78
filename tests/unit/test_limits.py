"""Rate limits (shared/limits): fixed windows, Retry-After, users and IPs counted apart,
replays free, nothing personal stored, a store failure refused with a 503, and the policy
table naming real routes. On fakes; the concurrency on the real store is in
tests/integration/test_rate_limits.py."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import flask.testing
import pytest

from functions.catalog import HTTP_FUNCTIONS
from shared import bootstrap, errors
from shared.bootstrap import Container
from shared.config import ConfigurationError, Settings, load_settings
from shared.limits import counters_for, enforce_route_limits
from shared.limits.client_ip import UNKNOWN, client_ip, normalised_address
from shared.limits.counters import (
    COLLECTION,
    EXPIRY_MARGIN,
    Counter,
    CounterLocks,
    FixedWindowLimiter,
    counter_path,
    window_at,
)
from shared.limits.policy import LIMITS, ROUTE_LIMITS
from shared.models.identity import Caller
from shared.ports import Transaction
from shared.sessions.idempotency import session_id_for, turn_id_for
from tests.fakes import FakeStore, FixedClock
from tests.unit.conftest import FakeWorld
from tests.unit.session_support import install_examiner

T = TypeVar("T")
Client = Callable[[str], flask.testing.FlaskClient]

RESULTS = ("GET", "/sessions/{session_id}/results")
TURNS = ("POST", "/sessions/{session_id}/turns")
CREATE = ("POST", "/sessions")


def _counter(allowed: int = 3, seconds: int = 60, subject: str = "learner-1") -> Counter:
    return Counter("turns_per_minute", "user", subject, allowed, seconds)


def _stored_count(store: FakeStore, counter: Counter, now: datetime) -> int:
    found = store.get(counter_path(counter, window_at(now, counter.window_seconds)))
    return int(found.data["count"]) if found else 0


# --- windows and Retry-After ------------------------------------------------------------------
def test_a_minute_allows_its_limit_then_refuses_until_the_next_minute() -> None:
    store, clock = FakeStore(), FixedClock(datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC))
    limiter, counter = FixedWindowLimiter(store, clock), _counter(allowed=3)
    for _ in range(3):
        limiter.admit([counter])
    clock.advance(seconds=15.2)
    with pytest.raises(errors.RateLimited) as refused:
        limiter.admit([counter])
    assert refused.value.retry_after_seconds == 45  # 44.8 s to 09:01, rounded up
    assert refused.value.details == {"retry_after_seconds": 45}
    assert _stored_count(store, counter, clock.now()) == 3  # the refusal counted nothing
    clock.advance(seconds=44.8)  # 09:01:00: a new window
    limiter.admit([counter])
    assert _stored_count(store, counter, clock.now()) == 1


def test_the_last_instant_of_a_window_waits_one_second_not_zero() -> None:
    clock = FixedClock(datetime(2026, 1, 5, 9, 0, 59, 999000, tzinfo=UTC))
    limiter, counter = FixedWindowLimiter(FakeStore(), clock), _counter(allowed=1)
    limiter.admit([counter])
    with pytest.raises(errors.RateLimited) as refused:
        limiter.admit([counter])
    assert refused.value.retry_after_seconds == 1


def test_a_day_window_ends_at_utc_midnight() -> None:
    clock = FixedClock(datetime(2026, 1, 5, 22, 30, tzinfo=UTC))
    day = Counter("sessions_per_day", "user", "learner-1", 2, 24 * 3600)
    limiter = FixedWindowLimiter(FakeStore(), clock)
    limiter.admit([day])
    clock.advance(hours=1)
    limiter.admit([day])
    with pytest.raises(errors.RateLimited) as refused:
        limiter.admit([day])
    assert refused.value.retry_after_seconds == 30 * 60
    clock.advance(minutes=30)  # 00:00 UTC
    limiter.admit([day])


def test_windows_are_aligned_on_utc() -> None:
    moment = datetime(2026, 1, 5, 9, 17, 42, 500000, tzinfo=UTC)
    assert window_at(moment, 60).start == datetime(2026, 1, 5, 9, 17, tzinfo=UTC)
    assert window_at(moment, 86400).start == datetime(2026, 1, 5, tzinfo=UTC)
    assert window_at(moment, 60).end == datetime(2026, 1, 5, 9, 18, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        window_at(datetime(2026, 1, 5, 9, 0), 60)


def test_retry_after_is_the_longest_wait_among_the_refusing_counters() -> None:
    clock = FixedClock(datetime(2026, 1, 5, 23, 59, 0, tzinfo=UTC))
    minute = _counter(allowed=1)
    day = Counter("sessions_per_day", "ip", "203.0.113.9", 1, 24 * 3600)
    limiter = FixedWindowLimiter(FakeStore(), clock)
    limiter.admit([minute, day])
    clock.advance(seconds=30)
    with pytest.raises(errors.RateLimited) as refused:
        limiter.admit([minute, day])
    assert refused.value.retry_after_seconds == 30  # both end at midnight, 30 s away


def test_one_refusing_counter_counts_nothing_on_the_others() -> None:
    store, clock = FakeStore(), FixedClock()
    user, address = _counter(allowed=1), Counter("turns_per_minute", "ip", "198.51.100.7", 5, 60)
    limiter = FixedWindowLimiter(store, clock)
    limiter.admit([user, address])
    with pytest.raises(errors.RateLimited):
        limiter.admit([user, address])
    assert _stored_count(store, address, clock.now()) == 1


# --- what is stored ---------------------------------------------------------------------------
def test_counters_hold_no_uid_or_address_and_expire_after_their_window() -> None:
    store, clock = FakeStore(), FixedClock(datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC))
    uid, address = "learner-private-uid", "203.0.113.200"
    counters = [
        Counter("turns_per_minute", "user", uid, 5, 60),
        Counter("turns_per_minute", "ip", address, 5, 60),
    ]
    FixedWindowLimiter(store, clock).admit(counters)
    paths = store.paths()
    assert len(paths) == 2
    assert all(path.startswith(f"{COLLECTION}/") for path in paths)
    for path in paths:
        data = store.get(path).data  # type: ignore[union-attr]
        assert uid not in repr(data)
        assert address not in repr(data)
        assert uid not in path
        assert data["count"] == 1
        assert data["limit"] == "turns_per_minute"
        assert data["subject_kind"] in {"user", "ip"}
        assert data["window_start"] == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        assert data["expire_at"] == datetime(2026, 1, 5, 9, 1, tzinfo=UTC) + EXPIRY_MARGIN


def test_counter_subjects_are_keyed_by_the_deployment_pepper() -> None:
    """Without the pepper, hashing every IPv4 address would find which one a counter counts."""
    store, clock = FakeStore(), FixedClock(datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC))
    window = window_at(clock.now(), 60)

    def paths(pepper: str) -> set[str]:
        container = _container(store, clock, PRIVACY_PEPPER=pepper)
        found = counters_for(container, *RESULTS, "learner-1", "203.0.113.7")
        assert {c.subject_kind for c in found} == {"user", "ip"}
        assert all(c.subject not in {"learner-1", "203.0.113.7"} for c in found)
        return {counter_path(counter, window) for counter in found}

    first = paths("pepper-of-deployment-one")
    assert first == paths("pepper-of-deployment-one")
    assert first.isdisjoint(paths("pepper-of-deployment-two"))


def test_each_limit_subject_and_window_has_its_own_document() -> None:
    window = window_at(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), 60)
    later = window_at(datetime(2026, 1, 5, 9, 1, tzinfo=UTC), 60)
    base = Counter("turns_per_minute", "user", "a", 5, 60)
    paths = {
        counter_path(base, window),
        counter_path(base, later),
        counter_path(Counter("turns_per_minute", "user", "b", 5, 60), window),
        counter_path(Counter("turns_per_minute", "ip", "a", 5, 60), window),
        counter_path(Counter("results_polls_per_minute", "user", "a", 5, 60), window),
    }
    assert len(paths) == 5


# --- concurrency and failures of the store ------------------------------------------------------
@pytest.mark.parametrize("instances", [1, 30])
def test_concurrent_requests_admit_exactly_the_limit(instances: int) -> None:
    """30 requests at once on one instance (they queue on its counter locks) or on 30
    instances (they meet in the store's transaction only)."""
    store, clock = FakeStore(max_attempts=200), FixedClock()
    limiters = [FixedWindowLimiter(store, clock, locks=CounterLocks()) for _ in range(instances)]
    counter = _counter(allowed=10)
    outcomes: list[str] = []
    lock, start = threading.Lock(), threading.Barrier(30)

    def hit(index: int) -> None:
        start.wait()
        try:
            limiters[index % instances].admit([counter])
            outcome = "admitted"
        except errors.RateLimited:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=hit, args=(index,)) for index in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (outcomes.count("admitted"), outcomes.count("refused")) == (10, 20)
    assert _stored_count(store, counter, clock.now()) == 10


class _FlakyStore:
    """A FakeStore whose first ``failures`` transactions meet contention (503)."""

    def __init__(self, failures: int) -> None:
        self.inner = FakeStore()
        self.failures = failures
        self.calls = 0

    def run_transaction(self, work: Callable[[Transaction], T]) -> T:
        self.calls += 1
        if self.calls <= self.failures:
            raise errors.DependencyUnavailable("The data is busy right now; try again shortly.")
        return self.inner.run_transaction(work)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_contention_is_tried_again_a_bounded_number_of_times() -> None:
    flaky = _FlakyStore(failures=2)
    FixedWindowLimiter(flaky, FixedClock(), attempts=3, pause_seconds=0).admit([_counter()])  # type: ignore[arg-type]
    assert flaky.calls == 3
    down = _FlakyStore(failures=100)
    with pytest.raises(errors.DependencyUnavailable):
        FixedWindowLimiter(down, FixedClock(), attempts=3, pause_seconds=0).admit([_counter()])  # type: ignore[arg-type]
    assert down.calls == 3


def test_after_contention_a_full_window_refuses_without_another_transaction() -> None:
    flaky, clock = _FlakyStore(failures=1), FixedClock()
    counter = _counter(allowed=2)
    FixedWindowLimiter(flaky.inner, clock).admit([counter])
    FixedWindowLimiter(flaky.inner, clock).admit([counter])  # others filled the window
    with pytest.raises(errors.RateLimited):
        FixedWindowLimiter(flaky, clock, pause_seconds=0).admit([counter])  # type: ignore[arg-type]
    assert flaky.calls == 1
    assert _stored_count(flaky.inner, counter, clock.now()) == 2


# --- client IP --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("forwarded", "position", "remote", "expected"),
    [
        (None, 1, "127.0.0.1", "127.0.0.1"),
        ("203.0.113.5", 1, "10.0.0.1", "203.0.113.5"),
        # Entries the client wrote come first and are never trusted.
        ("1.1.1.1, 8.8.8.8, 203.0.113.5", 1, "10.0.0.1", "203.0.113.5"),
        # Behind a load balancer: client, then the balancer's own address.
        ("1.1.1.1, 203.0.113.5, 34.120.0.9", 2, "10.0.0.1", "203.0.113.5"),
        ("203.0.113.5", 2, "10.0.0.1", "10.0.0.1"),  # too few entries: the peer
        ("not-an-address", 1, "10.0.0.1", "10.0.0.1"),
        ("203.0.113.5:4711", 1, None, "203.0.113.5"),
        ("[2001:db8:1:2:aaaa::1]:443", 1, None, "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", 1, None, "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.5", 1, None, "203.0.113.5"),
        ("garbage", 1, None, UNKNOWN),
        (None, 1, None, UNKNOWN),
    ],
)
def test_the_client_ip_is_the_entry_googles_front_end_appended(
    forwarded: str | None, position: int, remote: str | None, expected: str
) -> None:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    assert client_ip(headers, remote, position) == expected


def test_one_ipv6_subscriber_is_one_subject() -> None:
    first = normalised_address("2001:db8:abcd:12::1")
    assert first == normalised_address("2001:db8:abcd:12:ffff::9")
    assert first != normalised_address("2001:db8:abcd:13::1")


# --- the policy per route ---------------------------------------------------------------------
def _registered_routes() -> set[tuple[str, str]]:
    routes: set[tuple[str, str]] = set()
    for function in HTTP_FUNCTIONS:
        module = importlib.import_module(f"functions.{function.name}")
        routes.update(module.api.templates)
    return routes


def test_every_limited_route_is_a_registered_route() -> None:
    registered = _registered_routes()
    assert set(ROUTE_LIMITS) <= registered, set(ROUTE_LIMITS) - registered
    assert {CREATE, TURNS, RESULTS} <= set(ROUTE_LIMITS)


def test_every_limit_reads_two_positive_settings() -> None:
    settings = load_settings({})
    for name, spec in LIMITS.items():
        assert spec.per_user(settings) >= 1, name
        assert spec.per_ip(settings) >= spec.per_user(settings), name  # a classroom shares an IP
    used = {name for route in ROUTE_LIMITS.values() for name in route.limits}
    assert used == set(LIMITS)


@pytest.mark.parametrize("value", ["0", "-3", "many", "1.5"])
@pytest.mark.parametrize(
    "variable",
    [
        "RATE_SESSIONS_PER_DAY_PER_USER",
        "RATE_TURNS_PER_MINUTE_PER_IP",
        "RATE_RESULTS_POLLS_PER_MINUTE_PER_USER",
        "CLIENT_IP_FORWARDED_POSITION",
    ],
)
def test_limits_must_be_positive_whole_numbers(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        load_settings({variable: value})


def test_the_defaults_leave_room_for_a_learner() -> None:
    settings = load_settings({})
    # A whole test has about 30 answers, one every 10 s or more; polling every 2 s or more.
    assert settings.rate_turns_per_minute_per_user >= 6
    assert settings.rate_results_polls_per_minute_per_user >= 30
    assert settings.rate_sessions_per_day_per_user >= 5


# --- enforce_route_limits: users and IPs, replays ---------------------------------------------
def _container(store: FakeStore, clock: FixedClock, **environ: str) -> Container:
    return Container(load_settings(environ), store=store, clock=clock)


def _enforce(
    container: Container,
    route: tuple[str, str],
    uid: str,
    address: str,
    *,
    params: Mapping[str, str] | None = None,
    key: str | None = None,
) -> None:
    headers = {"X-Forwarded-For": address}
    if key is not None:
        headers["Idempotency-Key"] = key
    enforce_route_limits(
        container,
        route[0],
        route[1],
        Caller(uid=uid),
        path_params=params or {"session_id": "s_missing"},
        headers=headers,
        remote_addr="127.0.0.1",
    )


def test_users_and_addresses_are_counted_apart() -> None:
    container = _container(
        FakeStore(),
        FixedClock(),
        RATE_RESULTS_POLLS_PER_MINUTE_PER_USER="2",
        RATE_RESULTS_POLLS_PER_MINUTE_PER_IP="3",
    )
    school, home = "198.51.100.1", "203.0.113.77"
    _enforce(container, RESULTS, "ana", school)
    _enforce(container, RESULTS, "ana", school)
    with pytest.raises(errors.RateLimited):  # ana's own limit
        _enforce(container, RESULTS, "ana", home)
    _enforce(container, RESULTS, "ben", school)  # the school's third
    with pytest.raises(errors.RateLimited):  # the school's limit, though carl has sent none
        _enforce(container, RESULTS, "carl", school)
    _enforce(container, RESULTS, "carl", home)  # from home carl is fine


def test_routes_without_limits_count_nothing() -> None:
    store = FakeStore()
    container = _container(store, FixedClock())
    for _ in range(5):
        _enforce(container, ("GET", "/users/me"), "ana", "198.51.100.1")
    assert store.paths() == []


def test_a_replayed_turn_is_not_counted_but_only_for_its_owner() -> None:
    store, clock = FakeStore(), FixedClock()
    container = _container(store, clock, RATE_TURNS_PER_MINUTE_PER_USER="1")
    params, key = {"session_id": "s_abc"}, "answer-key-0001"
    turn = f"sessions/s_abc/turns/{turn_id_for('s_abc', key)}"
    _enforce(container, TURNS, "ana", "198.51.100.1", params=params, key=key)
    store.set(turn, {"uid": "ana", "status": "recorded"})
    for _ in range(3):  # retries of the recorded answer: answered from storage, free
        _enforce(container, TURNS, "ana", "198.51.100.1", params=params, key=key)
    with pytest.raises(errors.RateLimited):  # a new answer is one too many
        _enforce(container, TURNS, "ana", "198.51.100.1", params=params, key="answer-key-0002")
    _enforce(container, TURNS, "ben", "198.51.100.2", params=params, key="ben-key-0001")
    with pytest.raises(errors.RateLimited):  # someone else's turn is no free pass
        _enforce(container, TURNS, "ben", "198.51.100.2", params=params, key=key)


def test_a_repeated_create_is_not_counted() -> None:
    store = FakeStore()
    container = _container(store, FixedClock(), RATE_SESSIONS_PER_DAY_PER_USER="1")
    key = "create-key-0001"
    _enforce(container, CREATE, "ana", "198.51.100.1", params={}, key=key)
    store.set(f"sessions/{session_id_for('ana', key)}", {"uid": "ana"})
    _enforce(container, CREATE, "ana", "198.51.100.1", params={}, key=key)
    with pytest.raises(errors.RateLimited):
        _enforce(container, CREATE, "ana", "198.51.100.1", params={}, key="create-key-0002")


def test_a_store_that_does_not_answer_refuses_with_a_503() -> None:
    store = FakeStore()
    store.fail_with = errors.DependencyUnavailable(details={"dependency": "firestore"})
    with pytest.raises(errors.DependencyUnavailable):
        _enforce(_container(store, FixedClock()), RESULTS, "ana", "198.51.100.1")


# --- over HTTP ----------------------------------------------------------------------------------
def _install(world: FakeWorld, settings: Settings) -> None:
    bootstrap.install(
        Container(
            settings,
            store=world.store,
            blobs=world.blobs,
            events=world.events,
            token_verifier=world.tokens,
            clock=world.clock,
        )
    )


def test_polls_past_the_limit_get_429_with_retry_after(
    world: FakeWorld, client_for: Client
) -> None:
    results = client_for("results")
    limit = world.settings.rate_results_polls_per_minute_per_user
    world.clock.set(datetime(2026, 1, 5, 9, 0, 20, tzinfo=UTC))
    headers = {**world.auth("poller"), "X-Forwarded-For": "192.0.2.10"}
    statuses = [results.get("/sessions/s_nope/results", headers=headers) for _ in range(limit)]
    assert {response.status_code for response in statuses} == {404}  # a 404 still counts
    refused = results.get("/sessions/s_nope/results", headers=headers)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "40"
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert refused.get_json()["error"]["details"] == {"retry_after_seconds": 40}
    other = results.get("/sessions/s_nope/results", headers=world.auth("someone-else"))
    assert other.status_code == 404
    world.clock.advance(seconds=40)
    assert results.get("/sessions/s_nope/results", headers=headers).status_code == 404


def test_health_is_never_limited(world: FakeWorld, client_for: Client) -> None:
    health = client_for("health")
    for _ in range(50):
        assert health.get("/healthz").status_code == 200
    assert world.store.paths() == []


def test_retries_of_one_answer_are_never_refused(world: FakeWorld, client_for: Client) -> None:
    world.settings = load_settings({"RATE_TURNS_PER_MINUTE_PER_USER": "5"})
    examiner = install_examiner(world, client_for)
    session_id = examiner.start("full")["session_id"]
    examiner.answered(session_id, key="the-one-answer-01")
    limit = examiner.settings.rate_turns_per_minute_per_user
    for _ in range(limit + 5):
        response = examiner.answer(session_id, key="the-one-answer-01")
        assert response.status_code == 200, response.get_json()
        assert response.headers["Idempotent-Replayed"] == "true"
    for _ in range(limit - 1):
        examiner.answered(session_id)  # the rest of the minute's answers
    refused = examiner.answer(session_id)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"


def test_a_lower_limit_from_settings_applies(world: FakeWorld, client_for: Client) -> None:
    _install(world, load_settings({"RATE_SESSIONS_PER_DAY_PER_USER": "2"}))
    sessions = client_for("sessions")
    made = [
        sessions.post("/sessions", json={"mode": "part1"}, headers=world.auth()).status_code
        for _ in range(3)
    ]
    assert made[:2] == [201, 201]
    assert made[2] == 429
    world.clock.advance(timedelta(days=1))
    again = sessions.post("/sessions", json={"mode": "part1"}, headers=world.auth())
    assert again.status_code == 201


@pytest.fixture(autouse=True)
def _reset_container() -> Iterator[None]:
    yield
    bootstrap.install(None)
