"""Rate limits and quotas shared by every instance: fixed windows counted in Firestore.

``shared.http`` calls ``enforce_route_limits`` for every authenticated request, after the
token is verified and before the handler runs. The route's limits (``policy.ROUTE_LIMITS``)
are counted per user and per client IP (``client_ip``) in ``rateLimits/{hash}`` documents
(``counters``); a request past any of them gets 429 ``rate_limited`` with ``Retry-After``
(the seconds until the refusing window ends), and is not counted. A store that does not
answer gives a retryable 503 ``dependency_unavailable``: never an unlimited pass, never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING

from shared.limits.client_ip import HeaderLookup, client_ip
from shared.limits.counters import Counter, FixedWindowLimiter
from shared.limits.policy import LIMITS, ROUTE_LIMITS
from shared.logging import get_logger
from shared.models.identity import Caller

if TYPE_CHECKING:
    from shared.bootstrap import Container

__all__ = ["counters_for", "enforce_route_limits"]

log = get_logger(__name__)


def counters_for(
    container: Container, method: str, template: str, uid: str, address: str
) -> list[Counter]:
    """The counters a request on this route is subject to (none for an unlimited route)."""
    policy = ROUTE_LIMITS.get((method.upper(), template))
    if policy is None:
        return []
    settings = container.settings
    user = keyed_subject(settings.privacy_pepper, "user", uid)
    ip = keyed_subject(settings.privacy_pepper, "ip", address)
    counters: list[Counter] = []
    for name in policy.limits:
        spec = LIMITS[name]
        counters.append(Counter(name, "user", user, spec.per_user(settings), spec.window_seconds))
        counters.append(Counter(name, "ip", ip, spec.per_ip(settings), spec.window_seconds))
    return counters


def keyed_subject(pepper: str, kind: str, value: str) -> str:
    """The subject a counter is kept under: an HMAC with the deployment's secret pepper, so a
    counter's id cannot be matched to an address or a uid by hashing every candidate (there
    are only 2^32 IPv4 addresses)."""
    return hmac.new(pepper.encode(), f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()


def enforce_route_limits(
    container: Container,
    method: str,
    template: str,
    caller: Caller,
    *,
    path_params: Mapping[str, str],
    headers: HeaderLookup,
    remote_addr: str | None,
) -> None:
    """Count this request against its route's limits, or raise RateLimited (429).

    A repeat of a request already admitted (same ``Idempotency-Key``, its document found and
    owned by the caller; see ``shared.limits.policy``) is not counted. Raises
    DependencyUnavailable (503) when the store cannot count.
    """
    policy = ROUTE_LIMITS.get((method.upper(), template))
    if policy is None:
        return
    store = container.store
    if policy.replay is not None:
        first = policy.replay(caller.uid, path_params, headers.get("Idempotency-Key"))
        found = store.get(first) if first is not None else None
        if found is not None and found.data.get("uid") == caller.uid:
            log.info("rate_limit_skipped_replay", limits=list(policy.limits), route=template)
            return
    address = client_ip(headers, remote_addr, container.settings.client_ip_forwarded_position)
    counters = counters_for(container, method, template, caller.uid, address)
    FixedWindowLimiter(store, container.clock).admit(counters, route=template)
