"""The client's Idempotency-Key: checked, and turned into the turn's (or session's) id.

A turn's id is derived from the session and the key, never chosen by the server at random,
so a retried answer is stored under the same audio name and turn document as the first try.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from shared.sessions.session_errors import IdempotencyKeyInvalid, IdempotencyKeyRequired

__all__ = ["KEY_PATTERN", "body_sha256", "checked_key", "session_id_for", "turn_id_for"]

KEY_PATTERN: Final = r"[A-Za-z0-9_-]{8,128}"
_KEY = re.compile(KEY_PATTERN)


def checked_key(value: str | None) -> str:
    """The header's value if it is a valid key; raises the matching 400 otherwise."""
    if value is None or not value.strip():
        raise IdempotencyKeyRequired()
    if not _KEY.fullmatch(value):
        raise IdempotencyKeyInvalid(details={"length": len(value)})
    return value


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def turn_id_for(session_id: str, key: str) -> str:
    """``t_`` and 24 hex digits (96 bits) of SHA-256 over the session id and the key."""
    return "t_" + _digest("turn", session_id, key)[:24]


def session_id_for(uid: str, key: str) -> str:
    """A session id for a create request carrying a key: the same for the same learner and key."""
    return "s_" + _digest("session", uid, key)[:24]


def body_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
