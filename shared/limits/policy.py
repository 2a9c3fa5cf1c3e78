"""Which limits guard which routes, and how many requests each allows: one table.

Every limit is counted twice, per user (the verified uid) and per client IP, with its own
value for each in Settings (a classroom shares one address, so per-IP values are higher).
A route absent from ``ROUTE_LIMITS`` is not limited; unauthenticated routes (health) never
are. ``tests/unit/test_limits_policy.py`` checks that every key names a registered route.

What is not counted: a request that repeats one already admitted, recognised by the
client's ``Idempotency-Key`` and the document its first attempt created (``replay_path``).
A turn retried with the same key (after a timeout, or a 503 ``transcription_unavailable``
that asked for the retry) is answered from storage, or transcribed again from the audio
already stored: refusing it would break the retry contract, and counting it would charge a
learner twice for one answer. The check is one read of a document whose path follows from
the key, made before the counting transaction, so it costs nothing but that read. A retry of
a request that failed before writing anything (a refused recording, a dropped connection) is
counted again: such a request did nothing that a replay could return.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from shared.config import Settings

__all__ = [
    "LIMITS",
    "ROUTE_LIMITS",
    "LimitName",
    "LimitSpec",
    "ReplayProbe",
    "RouteLimits",
]

LimitName = Literal["sessions_per_day", "turns_per_minute", "results_polls_per_minute"]

MINUTE = 60
DAY = 24 * 3600


@dataclass(frozen=True)
class LimitSpec:
    """A fixed-window limit: ``window_seconds`` long, aligned on UTC (minutes, midnight)."""

    window_seconds: int
    per_user_setting: str
    per_ip_setting: str

    def per_user(self, settings: Settings) -> int:
        return int(getattr(settings, self.per_user_setting))

    def per_ip(self, settings: Settings) -> int:
        return int(getattr(settings, self.per_ip_setting))


LIMITS: Mapping[LimitName, LimitSpec] = {
    "sessions_per_day": LimitSpec(
        DAY, "rate_sessions_per_day_per_user", "rate_sessions_per_day_per_ip"
    ),
    "turns_per_minute": LimitSpec(
        MINUTE, "rate_turns_per_minute_per_user", "rate_turns_per_minute_per_ip"
    ),
    "results_polls_per_minute": LimitSpec(
        MINUTE, "rate_results_polls_per_minute_per_user", "rate_results_polls_per_minute_per_ip"
    ),
}

# (uid, path parameters, Idempotency-Key) -> the path of the document the first attempt of
# this request created, or None when the request cannot be a replay.
ReplayProbe = Callable[[str, Mapping[str, str], str | None], str | None]


def _valid_key(key: str | None) -> str | None:
    from shared.sessions.idempotency import KEY_PATTERN

    return key if key is not None and re.fullmatch(KEY_PATTERN, key) else None


def turn_replay_path(uid: str, params: Mapping[str, str], key: str | None) -> str | None:
    """The turn document this key makes in this session (any status: recorded, or waiting
    for transcription)."""
    from shared.sessions.idempotency import turn_id_for
    from shared.sessions.repository import turn_path

    session_id, valid = params.get("session_id"), _valid_key(key)
    if session_id is None or valid is None:
        return None
    return turn_path(session_id, turn_id_for(session_id, valid))


def session_replay_path(uid: str, params: Mapping[str, str], key: str | None) -> str | None:
    """The session a create with this key made for this learner."""
    from shared.sessions.idempotency import session_id_for
    from shared.sessions.repository import session_path

    valid = _valid_key(key)
    return session_path(session_id_for(uid, valid)) if valid is not None else None


@dataclass(frozen=True)
class RouteLimits:
    limits: tuple[LimitName, ...]
    replay: ReplayProbe | None = None


ROUTE_LIMITS: Mapping[tuple[str, str], RouteLimits] = {
    ("POST", "/sessions"): RouteLimits(("sessions_per_day",), session_replay_path),
    ("POST", "/sessions/{session_id}/turns"): RouteLimits(("turns_per_minute",), turn_replay_path),
    # A long answer goes through an upload URL and then a post: it counts twice, which the
    # per-minute value allows for; an unlimited URL route would let anyone fill the bucket.
    ("POST", "/sessions/{session_id}/turns/upload-url"): RouteLimits(
        ("turns_per_minute",), turn_replay_path
    ),
    # Counted whatever the answer, 404 included: otherwise probing ids would be free.
    ("GET", "/sessions/{session_id}/results"): RouteLimits(("results_polls_per_minute",)),
}
