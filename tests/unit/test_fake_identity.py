"""FakeIdentityAdmin passes the IdentityAdmin contract."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from tests.contracts.identity_contract import IdentityAdminContract
from tests.fakes import FakeIdentityAdmin, FakeTokenVerifier, FixedClock


class FakeAccounts:
    def __init__(self, identity: FakeIdentityAdmin, tokens: FakeTokenVerifier):
        self.identity = identity
        self.tokens = tokens

    def create(self, uid: str, claims: Mapping[str, Any] | None = None) -> None:
        self.identity.add_user(uid, claims)

    def older_token(self, uid: str) -> str:
        issued = self.tokens.clock.now() - timedelta(seconds=10)
        return self.tokens.mint(uid, issued_at=issued)


class TestFakeIdentityAdminContract(IdentityAdminContract):
    @pytest.fixture
    def verifier(self) -> FakeTokenVerifier:
        return FakeTokenVerifier(clock=FixedClock())

    @pytest.fixture
    def identity(self, verifier: FakeTokenVerifier) -> FakeIdentityAdmin:
        return FakeIdentityAdmin(verifier)

    @pytest.fixture
    def accounts(self, identity: FakeIdentityAdmin, verifier: FakeTokenVerifier) -> FakeAccounts:
        return FakeAccounts(identity, verifier)
