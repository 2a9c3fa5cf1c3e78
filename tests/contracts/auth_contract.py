"""TokenVerifier contract: what every verifier (FakeTokenVerifier, FirebaseTokenVerifier on
the Auth emulator) must do with the tokens a client can send.

Subclass ``TokenVerifierContract`` as ``Test...`` and provide fixtures ``verifier`` (the
TokenVerifier under test) and ``tokens`` (a ``TokenSource`` for the same project).
Signatures are not part of the contract: the Auth emulator accepts unsigned tokens; the
production path is tested in tests/integration/test_auth_adapter.py.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import pytest

from shared import errors
from shared.models.identity import Caller
from shared.ports import TokenVerifier

ISSUER_PREFIX = "https://securetoken.google.com/"


class TokenSource(Protocol):
    project: str

    def mint(self, uid: str, claims: Mapping[str, Any] | None = None) -> str:
        """A genuine ID token of user ``uid`` (created if needed) with custom ``claims``."""
        ...

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
        """A token of existing user ``uid`` with exactly these registered claims."""
        ...

    def revoke(self, uid: str) -> None: ...

    def disable(self, uid: str) -> None: ...

    def delete(self, uid: str) -> None: ...


def _segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def new_uid() -> str:
    return f"u{uuid.uuid4().hex[:16]}"


class TokenVerifierContract:
    def forge(self, tokens: TokenSource, uid: str, **overrides: Any) -> str:
        now = time.time()
        claims: dict[str, Any] = {
            "issued_at": now - 10,
            "expires_at": now + 3600,
            "audience": tokens.project,
            "issuer": ISSUER_PREFIX + tokens.project,
        }
        claims.update(overrides)
        return tokens.forge(uid, **claims)

    def test_a_genuine_token_names_its_caller(
        self, verifier: TokenVerifier, tokens: TokenSource
    ) -> None:
        uid = new_uid()
        caller = verifier.verify(tokens.mint(uid, {"role": "teacher"}))
        assert isinstance(caller, Caller)
        assert caller.uid == uid
        assert caller.role == "teacher"
        assert caller.email_verified is False
        assert isinstance(caller.sign_in_provider, str)
        assert caller.sign_in_provider

    @pytest.mark.parametrize(
        ("claims", "role"),
        [({}, "student"), ({"role": "admin"}, "admin"), ({"role": "superuser"}, "student")],
    )
    def test_roles_come_from_the_role_claim(
        self, verifier: TokenVerifier, tokens: TokenSource, claims: dict[str, str], role: str
    ) -> None:
        assert verifier.verify(tokens.mint(new_uid(), claims)).role == role

    def test_a_fresh_token_passes_the_revocation_check(
        self, verifier: TokenVerifier, tokens: TokenSource
    ) -> None:
        uid = new_uid()
        assert verifier.verify(tokens.mint(uid), check_revoked=True).uid == uid

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "garbage",
            "a.b",
            "a.b.c.d",
            "!!!.###.$$$",
            "bm90LWpzb24.e30.",  # header is not JSON
            "W10.e30.",  # header is a JSON array, not an object
            _segment({"alg": "RS256"}) + ".bm90LWpzb24.sig",  # claims are not JSON
            ".e30.sig",
            "eyJhbGciOiJub25lIn0=.e30.",  # base64url in a JWT has no padding
            "Bearer " + _segment({"alg": "none"}) + "." + _segment({}) + ".",
            _segment({"alg": "none"}) + "." + _segment({"pad": "x" * 20_000}) + ".",  # too long
        ],
    )
    def test_garbage_is_malformed(self, verifier: TokenVerifier, token: str) -> None:
        with pytest.raises(errors.TokenMalformed):
            verifier.verify(token)

    @pytest.mark.parametrize(
        ("audience", "issuer"),
        [
            ("another-project", ISSUER_PREFIX + "another-project"),
            ("another-project", None),
            (None, ISSUER_PREFIX + "another-project"),
        ],
    )
    def test_a_token_of_another_project(
        self,
        verifier: TokenVerifier,
        tokens: TokenSource,
        audience: str | None,
        issuer: str | None,
    ) -> None:
        uid = new_uid()
        tokens.mint(uid)
        overrides = {"audience": audience, "issuer": issuer}
        token = self.forge(tokens, uid, **{k: v for k, v in overrides.items() if v})
        with pytest.raises(errors.TokenWrongProject):
            verifier.verify(token)

    def test_an_expired_token(self, verifier: TokenVerifier, tokens: TokenSource) -> None:
        uid = new_uid()
        tokens.mint(uid)
        now = time.time()
        token = self.forge(tokens, uid, issued_at=now - 3700, expires_at=now - 100)
        with pytest.raises(errors.TokenExpired):
            verifier.verify(token)

    def test_a_forged_token_with_correct_claims_names_its_caller(
        self, verifier: TokenVerifier, tokens: TokenSource
    ) -> None:
        """Sanity check of the forging helper the other tests rely on."""
        uid = new_uid()
        tokens.mint(uid)
        assert verifier.verify(self.forge(tokens, uid, claims={"role": "admin"})).role == "admin"

    def test_revoked_tokens_fail_only_when_revocation_is_checked(
        self, verifier: TokenVerifier, tokens: TokenSource
    ) -> None:
        uid = new_uid()
        tokens.mint(uid)
        token = self.forge(tokens, uid)  # issued 10 s ago
        tokens.revoke(uid)
        assert verifier.verify(token).uid == uid
        with pytest.raises(errors.TokenRevoked):
            verifier.verify(token, check_revoked=True)

    def test_a_disabled_account(self, verifier: TokenVerifier, tokens: TokenSource) -> None:
        uid = new_uid()
        token = tokens.mint(uid)
        tokens.disable(uid)
        with pytest.raises(errors.TokenRevoked):
            verifier.verify(token, check_revoked=True)

    def test_a_deleted_account(self, verifier: TokenVerifier, tokens: TokenSource) -> None:
        uid = new_uid()
        token = tokens.mint(uid)
        tokens.delete(uid)
        with pytest.raises(errors.TokenRevoked):
            verifier.verify(token, check_revoked=True)
