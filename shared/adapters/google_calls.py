"""How every adapter of a Google API calls it: which failures are transient, and the
resilience policy (timeouts, retries with backoff and jitter, a circuit breaker)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Protocol

import requests
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exc

from shared.resilience import CircuitBreaker, Resilience

# Worth another attempt: the service was busy, failed inside, or never answered.
TRANSIENT: Final[tuple[type[BaseException], ...]] = (
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.ServiceUnavailable,
    gexc.GatewayTimeout,
    gexc.DeadlineExceeded,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    auth_exc.TransportError,
)


class CallPolicy(Protocol):
    """The resilience fields every Google adapter's config carries."""

    @property
    def timeout_seconds(self) -> float: ...
    @property
    def attempts(self) -> int: ...
    @property
    def deadline_seconds(self) -> float: ...
    @property
    def breaker_failures(self) -> int: ...
    @property
    def breaker_reset_seconds(self) -> float: ...


def google_resilience(
    dependency: str,
    policy: CallPolicy,
    *,
    transient: tuple[type[BaseException], ...] = TRANSIENT,
    answered: tuple[type[BaseException], ...] = (gexc.GoogleAPICallError,),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Resilience:
    """The call policy of one Google API adapter (one breaker per adapter instance).

    ``answered`` failures prove the service answered (a refusal: 400, 403...), so they do
    not count towards opening the breaker.
    """
    return Resilience(
        name=dependency,
        timeout_seconds=policy.timeout_seconds,
        attempts=policy.attempts,
        deadline_seconds=policy.deadline_seconds,
        transient=transient,
        answered=answered,
        breaker=CircuitBreaker(
            dependency,
            failure_threshold=policy.breaker_failures,
            reset_timeout_seconds=policy.breaker_reset_seconds,
            clock=clock,
        ),
        sleep=sleep,
        clock=clock,
    )
