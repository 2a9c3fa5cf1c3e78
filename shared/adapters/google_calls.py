"""How every adapter of a Google API calls it: which failures are transient, and the
resilience policy (timeouts, retries with backoff and jitter, a circuit breaker)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

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


def google_resilience(
    dependency: str,
    *,
    timeout_seconds: float,
    attempts: int,
    deadline_seconds: float,
    breaker_failures: int,
    breaker_reset_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Resilience:
    """The call policy of one Google API adapter (one breaker per adapter instance)."""
    return Resilience(
        name=dependency,
        timeout_seconds=timeout_seconds,
        attempts=attempts,
        deadline_seconds=deadline_seconds,
        transient=TRANSIENT,
        # A refusal (400, 403...) proves the service answered: it does not open the breaker.
        answered=(gexc.GoogleAPICallError,),
        breaker=CircuitBreaker(
            dependency,
            failure_threshold=breaker_failures,
            reset_timeout_seconds=breaker_reset_seconds,
            clock=clock,
        ),
        sleep=sleep,
        clock=clock,
    )
