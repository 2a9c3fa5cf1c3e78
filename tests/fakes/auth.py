"""FakeTokenVerifier: a ports.TokenVerifier over tokens it minted itself.

Tokens are JWT-shaped (so malformed input is told apart as in production) and carry their
claims; an HMAC with a per-instance key stands in for Google's signature, so a token this
fake did not mint, or one whose claims were edited, is token_invalid. The checks and their
order follow FirebaseTokenVerifier: malformed, signature, project (aud/iss), expiry
(``clock``), then with ``check_revoked`` the account (deleted, disabled, revoked).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared import errors
from shared.models.identity import Caller
from shared.ports import Clock

ISSUER_PREFIX = "https://securetoken.google.com/"
DEFAULT_PROJECT = "demo-speaking-coach"
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_ROLES = ("student", "teacher", "admin")


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError) as error:
        raise errors.TokenMalformed() from error
    if not isinstance(value, dict):
        raise errors.TokenMalformed()
    return value


class FakeTokenVerifier:
    """Mint tokens with ``mint`` (or ``token_for(caller)``), then verify them."""

    def __init__(self, *, project: str = DEFAULT_PROJECT, clock: Clock | None = None):
        self.project = project
        self.clock: Clock = clock or _SystemClock()
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._valid_after: dict[str, int] = {}  # uid -> tokens issued before are revoked
        self._disabled: set[str] = set()
        self._deleted: set[str] = set()

    # --- minting ---------------------------------------------------------------------------
    def mint(
        self,
        uid: str,
        claims: Mapping[str, Any] | None = None,
        *,
        email_verified: bool = False,
        sign_in_provider: str = "password",
        expires_in: int = 3600,
        issued_at: datetime | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> str:
        """A token for ``uid`` with custom ``claims``; the keyword arguments forge the rest."""
        issued = int((issued_at or self.clock.now()).timestamp())
        payload = {
            "iss": issuer if issuer is not None else ISSUER_PREFIX + self.project,
            "aud": audience if audience is not None else self.project,
            "auth_time": issued,
            "user_id": uid,
            "sub": uid,
            "iat": issued,
            "exp": issued + expires_in,
            "email_verified": email_verified,
            "firebase": {"identities": {}, "sign_in_provider": sign_in_provider},
            **dict(claims or {}),
        }
        with self._lock:
            self._deleted.discard(uid)
        header = _b64(json.dumps({"alg": "HS256", "kid": "fake", "typ": "JWT"}).encode())
        body = _b64(json.dumps(payload).encode())
        return f"{header}.{body}.{self._sign(header, body)}"

    def token_for(self, caller: Caller, *, expires_in: int = 3600) -> str:
        """A token that verifies to exactly ``caller``."""
        return self.mint(
            caller.uid,
            {"role": caller.role},
            email_verified=caller.email_verified,
            sign_in_provider=caller.sign_in_provider or "password",
            expires_in=expires_in,
        )

    def _sign(self, header: str, body: str) -> str:
        return _b64(hmac.new(self._key, f"{header}.{body}".encode(), hashlib.sha256).digest())

    # --- account changes -------------------------------------------------------------------
    def revoke(self, uid: str) -> None:
        """Revoke every token issued before this second (like revoke_refresh_tokens)."""
        with self._lock:
            self._valid_after[uid] = math.floor(self.clock.now().timestamp())

    def disable(self, uid: str) -> None:
        with self._lock:
            self._disabled.add(uid)

    def delete(self, uid: str) -> None:
        with self._lock:
            self._deleted.add(uid)

    # --- TokenVerifier ---------------------------------------------------------------------
    def verify(self, token: str, *, check_revoked: bool = False) -> Caller:
        if not isinstance(token, str) or not token or len(token) > 16 * 1024:
            raise errors.TokenMalformed()
        parts = token.split(".")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise errors.TokenMalformed()
        if not all(_SEGMENT.fullmatch(part) for part in parts):
            raise errors.TokenMalformed()
        _decode(parts[0])
        claims = _decode(parts[1])
        project_ok = (
            claims.get("aud") == self.project and claims.get("iss") == ISSUER_PREFIX + self.project
        )
        if not hmac.compare_digest(self._sign(parts[0], parts[1]), parts[2]):
            raise errors.TokenWrongProject() if not project_ok else errors.TokenInvalid()
        if not project_ok:
            raise errors.TokenWrongProject()
        uid = claims.get("sub")
        if not isinstance(uid, str) or not uid or len(uid) > 128:
            raise errors.TokenInvalid()
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires <= self.clock.now().timestamp():
            raise errors.TokenExpired()
        if check_revoked:
            with self._lock:
                gone = uid in self._deleted or uid in self._disabled
                valid_after = self._valid_after.get(uid)
            if gone or (valid_after is not None and claims.get("iat", 0) < valid_after):
                raise errors.TokenRevoked()
        role = claims.get("role")
        provider = (claims.get("firebase") or {}).get("sign_in_provider")
        return Caller(
            uid=uid,
            role=role if role in _ROLES else "student",
            email_verified=claims.get("email_verified") is True,
            sign_in_provider=provider if isinstance(provider, str) else None,
        )
