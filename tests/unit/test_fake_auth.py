"""FakeTokenVerifier passes the TokenVerifier contract and refuses tokens it did not mint."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import errors
from shared.models.identity import Caller
from tests.contracts.auth_contract import TokenVerifierContract
from tests.fakes import FakeTokenVerifier, FixedClock


class FakeTokens:
    """The contract's TokenSource over a FakeTokenVerifier."""

    def __init__(self, fake: FakeTokenVerifier):
        self.fake = fake
        self.project = fake.project

    def mint(self, uid: str, claims: Mapping[str, Any] | None = None) -> str:
        return self.fake.mint(uid, claims)

    def forge(
        self,
        uid: str,
        *,
        issued_at: float,
        expires_at: float,
        audience: str,
        issuer: str,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        return self.fake.mint(
            uid,
            claims,
            issued_at=datetime.fromtimestamp(issued_at, UTC),
            expires_in=int(expires_at - int(issued_at)),
            audience=audience,
            issuer=issuer,
        )

    def revoke(self, uid: str) -> None:
        self.fake.revoke(uid)

    def disable(self, uid: str) -> None:
        self.fake.disable(uid)

    def delete(self, uid: str) -> None:
        self.fake.delete(uid)


class TestFakeTokenVerifierContract(TokenVerifierContract):
    @pytest.fixture
    def verifier(self) -> FakeTokenVerifier:
        return FakeTokenVerifier()

    @pytest.fixture
    def tokens(self, verifier: FakeTokenVerifier) -> FakeTokens:
        return FakeTokens(verifier)


def _edit_claims(token: str, **changes: Any) -> str:
    header, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{edited}.{signature}"


def test_token_for_round_trips_a_caller() -> None:
    fake = FakeTokenVerifier()
    caller = Caller(uid="t1", role="teacher", email_verified=True, sign_in_provider="google.com")
    assert fake.verify(fake.token_for(caller)) == caller


def test_edited_or_foreign_tokens_are_invalid() -> None:
    fake = FakeTokenVerifier()
    token = fake.mint("u1")
    with pytest.raises(errors.TokenInvalid):
        fake.verify(_edit_claims(token, role="admin"))
    with pytest.raises(errors.TokenInvalid):
        FakeTokenVerifier().verify(token)


def test_expiry_follows_the_clock() -> None:
    clock = FixedClock()
    fake = FakeTokenVerifier(clock=clock)
    token = fake.mint("u1", expires_in=60)
    clock.advance(seconds=59)
    assert fake.verify(token).uid == "u1"
    clock.advance(seconds=1)
    with pytest.raises(errors.TokenExpired):
        fake.verify(token)


def test_revocation_spares_tokens_issued_later() -> None:
    clock = FixedClock()
    fake = FakeTokenVerifier(clock=clock)
    old = fake.mint("u1")
    clock.advance(seconds=1)
    fake.revoke("u1")
    new = fake.mint("u1")
    with pytest.raises(errors.TokenRevoked):
        fake.verify(old, check_revoked=True)
    assert fake.verify(new, check_revoked=True).uid == "u1"
