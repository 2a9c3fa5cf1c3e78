"""Timeouts, retries and a circuit breaker for every call to an external service.

Every Google adapter wraps its client calls the same way:

    resilience = Resilience(
        name="speech-to-text",
        timeout_seconds=30,
        attempts=3,
        transient=(ServiceUnavailable, TooManyRequests, DeadlineExceeded),
        answered=(GoogleAPICallError,),
        breaker=CircuitBreaker("speech-to-text"),
    )
    response = resilience.call(lambda timeout: client.recognize(request=r, timeout=timeout))

- The timeout is handed to the client call (``fn(timeout)``); no thread is ever used to
  abandon a call, so nothing keeps running in the background after we give up.
- Only ``transient`` errors are retried, with exponential backoff and full jitter (the delay
  before retry n is uniform in ``[0, min(max_backoff, initial_backoff * multiplier**n)]``).
  Anything else propagates unchanged at once.
- When the attempts (or the optional overall ``deadline_seconds``) run out on transient
  errors, ``shared.errors.DependencyUnavailable`` is raised from the last error.
- The ``CircuitBreaker`` (one per adapter instance) counts consecutive transient failures;
  after ``failure_threshold`` it opens and calls fail at once with DependencyUnavailable for
  ``reset_timeout_seconds``; then one trial call is let through (half-open): success closes
  it, a transient failure opens it again.

Sleep, randomness and the clock are injectable, so tests run on a fake clock.
"""

from __future__ import annotations

import random as _random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from shared.errors import DependencyUnavailable
from shared.logging import get_logger

T = TypeVar("T")

_log = get_logger(__name__)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed → open after N consecutive failures → half-open after a cool-down (one trial).

    Thread-safe; one instance per adapter instance (a function instance's own view of the
    dependency: instances do not share state, which is fine for a breaker).
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_timeout_seconds <= 0:
            raise ValueError("reset_timeout_seconds must be positive")
        self.name = name
        self._threshold = failure_threshold
        self._reset_timeout = reset_timeout_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            if self._state is BreakerState.OPEN and self._cooled_down():
                return BreakerState.HALF_OPEN
            return self._state

    def before_call(self) -> None:
        """Admit a call, or raise DependencyUnavailable while open (or while a trial runs)."""
        with self._lock:
            if self._state is BreakerState.OPEN:
                if not self._cooled_down():
                    raise self._unavailable(self._reset_timeout - self._since_open())
                self._state = BreakerState.HALF_OPEN
                self._trial_in_flight = False
                _log.info("circuit_half_open", dependency=self.name)
            if self._state is BreakerState.HALF_OPEN:
                if self._trial_in_flight:
                    raise self._unavailable(0.0)
                self._trial_in_flight = True

    def record_success(self) -> None:
        """The dependency answered: close the breaker and forget earlier failures."""
        with self._lock:
            if self._state is not BreakerState.CLOSED:
                _log.info("circuit_closed", dependency=self.name)
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """The dependency failed transiently: count it; open at the threshold."""
        with self._lock:
            self._trial_in_flight = False
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
                if self._state is not BreakerState.OPEN:
                    _log.warning(
                        "circuit_opened",
                        dependency=self.name,
                        consecutive_failures=self._failures,
                        cool_down_seconds=self._reset_timeout,
                    )
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()

    def release(self) -> None:
        """The call ended without telling us anything about the dependency (a local error)."""
        with self._lock:
            self._trial_in_flight = False

    def _since_open(self) -> float:
        return self._clock() - self._opened_at

    def _cooled_down(self) -> bool:
        return self._since_open() >= self._reset_timeout

    def _unavailable(self, retry_after: float) -> DependencyUnavailable:
        return DependencyUnavailable(
            f"{self.name} is failing; calls are paused for a moment.",
            details={
                "dependency": self.name,
                "circuit": "open",
                "retry_after_seconds": max(1, round(retry_after)),
            },
        )


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter."""

    initial_seconds: float = 0.25
    max_seconds: float = 8.0
    multiplier: float = 2.0

    def delay(self, retry: int, unit_random: float) -> float:
        """The wait before retry number ``retry`` (0-based), given a uniform draw in [0, 1)."""
        ceiling = min(self.max_seconds, self.initial_seconds * self.multiplier**retry)
        return ceiling * unit_random


def call_with_resilience(
    fn: Callable[[float], T],
    *,
    name: str,
    timeout_seconds: float,
    attempts: int,
    transient: tuple[type[BaseException], ...],
    breaker: CircuitBreaker | None = None,
    answered: tuple[type[BaseException], ...] = (),
    backoff: Backoff = Backoff(),
    deadline_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    random: Callable[[], float] = _random.random,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``fn(timeout)`` with a timeout, retries of transient errors and a breaker.

    Args:
        fn: the external call; it receives the timeout in seconds for this attempt and must
            pass it to the client call.
        name: the dependency, for logs and error details.
        timeout_seconds: the timeout of each attempt.
        attempts: how many attempts at most (1 = no retry).
        transient: errors worth retrying (the dependency may answer next time); they also
            count as failures for the breaker.
        breaker: the adapter's circuit breaker, if any.
        answered: non-transient errors that prove the dependency answered (e.g. a 400), which
            count as a success for the breaker; other errors leave it unchanged.
        deadline_seconds: an overall budget for all attempts and waits; attempts get
            ``min(timeout_seconds, what is left)``.

    Raises:
        DependencyUnavailable: the breaker is open, or every attempt failed transiently.
        Any non-transient error of ``fn``, unchanged.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    if timeout_seconds <= 0:
        raise ValueError("timeout_seconds must be positive")
    started = clock()
    last_error: BaseException | None = None
    made = 0
    for attempt in range(attempts):
        timeout = timeout_seconds
        if deadline_seconds is not None:
            timeout = min(timeout, deadline_seconds - (clock() - started))
            if timeout <= 0:
                break
        if breaker is not None:
            try:
                breaker.before_call()
            except DependencyUnavailable as exc:
                if last_error is not None:
                    raise exc from last_error
                raise
        made += 1
        try:
            result = fn(timeout)
        except transient as exc:
            if breaker is not None:
                breaker.record_failure()
            last_error = exc
        except answered:
            if breaker is not None:
                breaker.record_success()
            raise
        except BaseException:
            if breaker is not None:
                breaker.release()
            raise
        else:
            if breaker is not None:
                breaker.record_success()
            return result
        if attempt + 1 >= attempts:
            break
        delay = backoff.delay(attempt, random())
        if deadline_seconds is not None and clock() - started + delay >= deadline_seconds:
            break
        _log.warning(
            "dependency_retry",
            dependency=name,
            attempt=attempt + 1,
            error=type(last_error).__name__,
            delay_seconds=round(delay, 3),
        )
        sleep(delay)
    _log.error(
        "dependency_unavailable",
        dependency=name,
        attempts=made,
        error=type(last_error).__name__ if last_error else "deadline",
    )
    error = DependencyUnavailable(
        f"{name} did not answer; try again shortly.",
        details={"dependency": name, "attempts": made},
    )
    if last_error is not None:
        raise error from last_error
    raise error


@dataclass
class Resilience:
    """One adapter's policy: a timeout, retries of transient errors and its own breaker."""

    name: str
    timeout_seconds: float
    attempts: int
    transient: tuple[type[BaseException], ...]
    answered: tuple[type[BaseException], ...] = ()
    breaker: CircuitBreaker | None = None
    backoff: Backoff = field(default_factory=Backoff)
    deadline_seconds: float | None = None
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = _random.random
    clock: Callable[[], float] = time.monotonic

    def call(self, fn: Callable[[float], T]) -> T:
        """``call_with_resilience`` with this policy."""
        return call_with_resilience(
            fn,
            name=self.name,
            timeout_seconds=self.timeout_seconds,
            attempts=self.attempts,
            transient=self.transient,
            breaker=self.breaker,
            answered=self.answered,
            backoff=self.backoff,
            deadline_seconds=self.deadline_seconds,
            sleep=self.sleep,
            random=self.random,
            clock=self.clock,
        )
