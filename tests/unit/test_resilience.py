"""Timeouts, retries with backoff and jitter, and the circuit breaker, on a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from shared.errors import DependencyUnavailable
from shared.resilience import (
    Backoff,
    BreakerState,
    CircuitBreaker,
    Resilience,
    call_with_resilience,
)


class Transient(Exception):
    """Stands for a 503 or a deadline."""


class Rejected(Exception):
    """Stands for a 400: the dependency answered, no."""


class LocalBug(Exception):
    """An error of our own code, before the dependency was reached."""


@dataclass
class FakeClock:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Script:
    """A fake external call: raises or returns what it is told, in order; records timeouts."""

    outcomes: list[BaseException | str]
    clock: FakeClock | None = None
    takes_seconds: float = 0.0
    timeouts: list[float] = field(default_factory=list)

    def __call__(self, timeout: float) -> str:
        self.timeouts.append(timeout)
        if self.clock is not None:
            self.clock.now += self.takes_seconds
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def call(
    script: Callable[[float], str],
    clock: FakeClock,
    *,
    attempts: int = 3,
    breaker: CircuitBreaker | None = None,
    random: Callable[[], float] = lambda: 0.5,
    deadline_seconds: float | None = None,
    backoff: Backoff | None = None,
) -> str:
    return call_with_resilience(
        script,
        name="speech-to-text",
        timeout_seconds=10.0,
        attempts=attempts,
        transient=(Transient,),
        answered=(Rejected,),
        breaker=breaker,
        backoff=backoff or Backoff(initial_seconds=0.25, max_seconds=8.0, multiplier=2.0),
        deadline_seconds=deadline_seconds,
        sleep=clock.sleep,
        random=random,
        clock=clock,
    )


def test_a_successful_call_gets_the_timeout_and_is_not_retried() -> None:
    clock = FakeClock()
    script = Script(["ok"])

    assert call(script, clock) == "ok"
    assert script.timeouts == [10.0]
    assert clock.sleeps == []


def test_transient_errors_are_retried_with_exponential_backoff_and_full_jitter() -> None:
    clock = FakeClock()
    script = Script([Transient(), Transient(), "ok"])

    assert call(script, clock, random=lambda: 0.5) == "ok"
    # Ceilings 0.25 then 0.5, each scaled by the uniform draw (0.5).
    assert clock.sleeps == [pytest.approx(0.125), pytest.approx(0.25)]
    assert script.timeouts == [10.0, 10.0, 10.0]


def test_jitter_draws_anywhere_below_a_capped_ceiling() -> None:
    backoff = Backoff(initial_seconds=1.0, max_seconds=3.0, multiplier=2.0)

    assert backoff.delay(0, 0.0) == 0.0
    assert backoff.delay(0, 0.999) == pytest.approx(0.999)
    assert backoff.delay(1, 0.999) == pytest.approx(1.998)
    assert backoff.delay(5, 0.999) == pytest.approx(2.997)  # 32 s capped at 3 s


def test_a_non_transient_error_propagates_at_once() -> None:
    clock = FakeClock()
    script = Script([Rejected("bad request"), "never"])

    with pytest.raises(Rejected):
        call(script, clock)
    assert len(script.timeouts) == 1
    assert clock.sleeps == []


def test_running_out_of_attempts_raises_dependency_unavailable_from_the_last_error() -> None:
    clock = FakeClock()
    last = Transient("third")
    script = Script([Transient("first"), Transient("second"), last])

    with pytest.raises(DependencyUnavailable) as caught:
        call(script, clock, attempts=3)

    assert caught.value.__cause__ is last
    assert caught.value.details == {"dependency": "speech-to-text", "attempts": 3}
    assert caught.value.retryable
    assert len(clock.sleeps) == 2  # no pointless wait after the last attempt


def test_the_deadline_shrinks_the_timeout_and_stops_retrying() -> None:
    clock = FakeClock()
    script = Script([Transient(), Transient(), "too late"], clock=clock, takes_seconds=7.0)

    with pytest.raises(DependencyUnavailable) as caught:
        call(script, clock, attempts=3, deadline_seconds=12.0, random=lambda: 0.0)

    # First attempt gets the full 10 s; the second only the 5 s left of the 12 s budget.
    assert script.timeouts == [10.0, 5.0]
    assert caught.value.details["attempts"] == 2


def test_a_wait_that_would_overrun_the_deadline_is_not_taken() -> None:
    clock = FakeClock()
    script = Script([Transient(), "ok"], clock=clock, takes_seconds=1.0)

    with pytest.raises(DependencyUnavailable):
        call(
            script,
            clock,
            deadline_seconds=2.0,
            random=lambda: 0.99,
            backoff=Backoff(initial_seconds=5.0),
        )
    assert clock.sleeps == []


def test_the_breaker_opens_after_consecutive_failures_and_fails_fast() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("stt", failure_threshold=3, reset_timeout_seconds=30, clock=clock)
    script = Script([Transient(), Transient(), Transient(), "unreached"])

    with pytest.raises(DependencyUnavailable):
        call(script, clock, attempts=3, breaker=breaker)
    assert breaker.state is BreakerState.OPEN

    with pytest.raises(DependencyUnavailable) as caught:
        call(script, clock, attempts=3, breaker=breaker)
    assert len(script.timeouts) == 3  # the fourth call never reached the dependency
    assert caught.value.details["circuit"] == "open"
    assert 1 <= caught.value.details["retry_after_seconds"] <= 30


def test_after_the_cool_down_one_trial_closes_the_breaker_on_success() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("stt", failure_threshold=2, reset_timeout_seconds=30, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN

    clock.now += 29.9
    assert breaker.state is BreakerState.OPEN
    clock.now += 0.2
    assert breaker.state is BreakerState.HALF_OPEN

    assert call(Script(["ok"]), clock, breaker=breaker) == "ok"
    assert breaker.state is BreakerState.CLOSED


def test_a_failed_trial_opens_the_breaker_for_another_cool_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("stt", failure_threshold=2, reset_timeout_seconds=30, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 31
    script = Script([Transient(), "unreached"])

    with pytest.raises(DependencyUnavailable):
        call(script, clock, attempts=3, breaker=breaker)

    # One trial only: the failed trial reopened the breaker, so the retry was refused.
    assert len(script.timeouts) == 1
    assert breaker.state is BreakerState.OPEN
    clock.now += 29
    assert breaker.state is BreakerState.OPEN
    clock.now += 2
    assert breaker.state is BreakerState.HALF_OPEN


def test_half_open_admits_a_single_trial_at_a_time() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("stt", failure_threshold=1, reset_timeout_seconds=5, clock=clock)
    breaker.record_failure()
    clock.now += 5

    breaker.before_call()  # the trial
    with pytest.raises(DependencyUnavailable):
        breaker.before_call()  # a concurrent caller
    breaker.record_success()
    breaker.before_call()  # closed again: everyone is admitted
    breaker.before_call()


def test_an_answer_that_is_an_error_resets_the_failure_count() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("stt", failure_threshold=3, reset_timeout_seconds=30, clock=clock)
    breaker.record_failure()
    breaker.record_failure()

    with pytest.raises(Rejected):
        call(Script([Rejected()]), clock, breaker=breaker)
    breaker.record_failure()
    breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED  # 2 failures since the answer, not 4


def test_a_local_error_during_the_trial_frees_the_trial_without_a_verdict() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("stt", failure_threshold=1, reset_timeout_seconds=5, clock=clock)
    breaker.record_failure()
    clock.now += 5

    with pytest.raises(LocalBug):
        call(Script([LocalBug()]), clock, breaker=breaker)

    assert breaker.state is BreakerState.HALF_OPEN
    assert call(Script(["ok"]), clock, breaker=breaker) == "ok"


def test_resilience_applies_its_policy() -> None:
    clock = FakeClock()
    resilience = Resilience(
        name="tts",
        timeout_seconds=4.0,
        attempts=2,
        transient=(Transient,),
        breaker=CircuitBreaker("tts", clock=clock),
        sleep=clock.sleep,
        random=lambda: 1.0,
        clock=clock,
    )
    script = Script([Transient(), "ok"])

    assert resilience.call(script) == "ok"
    assert script.timeouts == [4.0, 4.0]
    assert clock.sleeps == [0.25]


@pytest.mark.parametrize(
    ("attempts", "timeout"),
    [(0, 1.0), (1, 0.0)],
)
def test_nonsense_policies_are_refused(attempts: int, timeout: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        call_with_resilience(
            lambda _: "x", name="x", timeout_seconds=timeout, attempts=attempts, transient=()
        )
