"""FakeIdentityAdmin: a ports.IdentityAdmin over an in-memory user list.

Tied to a FakeTokenVerifier: revoking or deleting here makes that verifier refuse the
user's older tokens when revocation is checked, as Firebase Auth does. Users exist once
added (``add_user``) or once the tied verifier minted a token for them through
``FakeWorld.auth``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from shared import errors
from shared.models.identity import Role
from tests.fakes.auth import FakeTokenVerifier

_ROLES = ("student", "teacher", "admin")


class FakeIdentityAdmin:
    def __init__(self, tokens: FakeTokenVerifier | None = None):
        self.tokens = tokens
        self._users: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.fail_with: BaseException | None = None

    # --- helpers for tests ---------------------------------------------------------------
    def add_user(self, uid: str, claims: Mapping[str, Any] | None = None) -> None:
        """Create (or update the claims of) user ``uid``."""
        with self._lock:
            self._users[uid] = dict(claims or {})

    def _check_available(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    # --- IdentityAdmin -------------------------------------------------------------------
    def custom_claims(self, uid: str) -> dict[str, Any]:
        self._check_available()
        with self._lock:
            if uid not in self._users:
                raise errors.NotFound("There is no account with this uid.", details={"uid": uid})
            return dict(self._users[uid])

    def set_role(self, uid: str, role: Role) -> Role:
        self._check_available()
        with self._lock:
            if uid not in self._users:
                raise errors.NotFound("There is no account with this uid.", details={"uid": uid})
            previous = self._users[uid].get("role")
            self._users[uid] = {**self._users[uid], "role": role}
        return previous if previous in _ROLES else "student"

    def revoke_refresh_tokens(self, uid: str) -> None:
        self._check_available()
        with self._lock:
            known = uid in self._users
        if known and self.tokens is not None:
            self.tokens.revoke(uid)

    def delete_user(self, uid: str) -> bool:
        self._check_available()
        with self._lock:
            existed = self._users.pop(uid, None) is not None
        if existed and self.tokens is not None:
            self.tokens.delete(uid)
        return existed

    def user_exists(self, uid: str) -> bool:
        self._check_available()
        with self._lock:
            return uid in self._users
