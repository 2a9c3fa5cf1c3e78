"""Rate limits over HTTP on the local stack: polls sent at once past the per-user limit get
429 with Retry-After, exactly the limit get through, and the limit holds per user.

The stack runs with the default Settings and is shared by the whole run, so each test uses
its own uid and its own client address (the last X-Forwarded-For entry, which Google's front
end writes in production and nothing rewrites locally): no other test's counters move.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests

from devstack.stack import Stack

THREADS = 6
RESENDS = 10  # a 503 (the emulator too busy) is sent again, as the app does


def _wait_for_a_fresh_minute(needed_seconds: int = 30) -> None:
    """Start where the whole burst fits in one fixed window (minutes are UTC-aligned)."""
    second = datetime.now(UTC).second
    if second > 60 - needed_seconds:
        time.sleep(61 - second)


def _poll(url: str, headers: dict[str, str]) -> requests.Response:
    for _ in range(RESENDS):
        response = requests.get(url, headers=headers, timeout=30)
        if response.status_code != 503:
            return response
        time.sleep(0.2)
    return response


def test_polls_at_once_past_the_limit_get_429_with_retry_after(local_stack: Stack) -> None:
    limit = local_stack.settings.rate_results_polls_per_minute_per_user
    uid = f"e2e-poller-{uuid.uuid4().hex[:10]}"
    headers = {
        "Authorization": f"Bearer {local_stack.mint_token(uid)}",
        "X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250 + 1}",
    }
    # A session that does not exist: a poll answered 404 counts as much as any other.
    url = f"{local_stack.base_url}/api/sessions/s_{uuid.uuid4().hex[:24]}/results"
    total = limit + limit // 2
    _wait_for_a_fresh_minute()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        responses = list(pool.map(lambda _: _poll(url, headers), range(total)))
    statuses = [response.status_code for response in responses]
    assert statuses.count(404) == limit, statuses
    assert statuses.count(429) == total - limit, statuses
    for response in responses:
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "rate_limited"
            retry_after = int(response.headers["Retry-After"])
            assert 1 <= retry_after <= 60
            assert response.json()["error"]["details"] == {"retry_after_seconds": retry_after}
    # Another learner is not held back by this one.
    other = {"Authorization": f"Bearer {local_stack.mint_token(uid + '-b')}"}
    assert _poll(url, other).status_code == 404
