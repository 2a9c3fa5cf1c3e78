"""Readiness: can this instance reach Firestore, Cloud Storage and Pub/Sub right now?"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from shared import errors
from shared.bootstrap import Container
from shared.models.health import DependencyStatus, Readiness

# Checks run in parallel, so /readyz takes as long as the slowest one, not the sum.
_pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="readyz")


def check_readiness(container: Container) -> Readiness:
    """Probe every dependency with the configured timeout; never raises for a failed probe."""
    settings = container.settings
    timeout = settings.readiness_timeout_seconds
    probes: dict[str, Callable[[], None]] = {
        "firestore": lambda: container.store.check(timeout),
        "storage": lambda: container.blobs.check(settings.audio_bucket, timeout),
        "pubsub": lambda: container.events.check(settings.topic_session_finished, timeout),
    }
    futures = {name: _pool.submit(_timed, probe) for name, probe in probes.items()}
    wait(futures.values(), timeout=timeout + 0.5)
    results: dict[str, DependencyStatus] = {}
    for name, future in futures.items():
        if not future.done():
            results[name] = DependencyStatus(
                ok=False, latency_ms=(timeout + 0.5) * 1000, problem=f"no answer in {timeout} s"
            )
        else:
            results[name] = future.result()
    ready = all(status.ok for status in results.values())
    return Readiness(status="ready" if ready else "not_ready", dependencies=results)


def _timed(probe: Callable[[], None]) -> DependencyStatus:
    started = time.perf_counter()
    try:
        probe()
    except errors.DependencyUnavailable as error:
        return DependencyStatus(ok=False, latency_ms=_since(started), problem=error.message[:300])
    return DependencyStatus(ok=True, latency_ms=_since(started))


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
