"""IdentityAdmin contract: what FakeIdentityAdmin and FirebaseIdentityAdmin (on the Auth
emulator) must both do.

Subclass ``IdentityAdminContract`` as ``Test...`` and provide fixtures ``identity`` (the
IdentityAdmin under test), ``accounts`` (an ``AccountSource`` for the same users) and
``verifier`` (the TokenVerifier that sees the same accounts).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import pytest

from shared import errors
from shared.ports import IdentityAdmin, TokenVerifier


class AccountSource(Protocol):
    def create(self, uid: str, claims: Mapping[str, Any] | None = None) -> None:
        """Create user ``uid`` with these custom claims."""
        ...

    def older_token(self, uid: str) -> str:
        """A valid ID token of existing user ``uid``, issued 10 s ago."""
        ...


def new_uid() -> str:
    return f"id{uuid.uuid4().hex[:16]}"


class IdentityAdminContract:
    def test_setting_a_role_keeps_the_other_claims(
        self, identity: IdentityAdmin, accounts: AccountSource
    ) -> None:
        uid = new_uid()
        accounts.create(uid, {"school": "north", "beta": True})
        assert identity.set_role(uid, "teacher") == "student"
        assert identity.custom_claims(uid) == {"school": "north", "beta": True, "role": "teacher"}
        assert identity.set_role(uid, "admin") == "teacher"
        assert identity.custom_claims(uid)["role"] == "admin"

    def test_a_user_without_claims(self, identity: IdentityAdmin, accounts: AccountSource) -> None:
        uid = new_uid()
        accounts.create(uid)
        assert identity.custom_claims(uid) == {}
        assert identity.user_exists(uid)

    def test_an_unknown_user(self, identity: IdentityAdmin) -> None:
        uid = new_uid()
        assert not identity.user_exists(uid)
        with pytest.raises(errors.NotFound):
            identity.set_role(uid, "teacher")
        with pytest.raises(errors.NotFound):
            identity.custom_claims(uid)

    def test_deleting_is_idempotent(self, identity: IdentityAdmin, accounts: AccountSource) -> None:
        uid = new_uid()
        accounts.create(uid)
        assert identity.delete_user(uid) is True
        assert not identity.user_exists(uid)
        assert identity.delete_user(uid) is False
        identity.revoke_refresh_tokens(uid)  # a retried erasure after the delete: no error

    def test_revoking_refuses_older_tokens_where_revocation_is_checked(
        self, identity: IdentityAdmin, accounts: AccountSource, verifier: TokenVerifier
    ) -> None:
        uid = new_uid()
        accounts.create(uid)
        token = accounts.older_token(uid)
        assert verifier.verify(token, check_revoked=True).uid == uid
        identity.revoke_refresh_tokens(uid)
        assert verifier.verify(token).uid == uid  # revocation is only seen when checked
        with pytest.raises(errors.TokenRevoked):
            verifier.verify(token, check_revoked=True)

    def test_a_deleted_users_tokens_are_refused(
        self, identity: IdentityAdmin, accounts: AccountSource, verifier: TokenVerifier
    ) -> None:
        uid = new_uid()
        accounts.create(uid)
        token = accounts.older_token(uid)
        identity.delete_user(uid)
        with pytest.raises(errors.TokenRevoked):
            verifier.verify(token, check_revoked=True)
