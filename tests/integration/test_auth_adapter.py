"""FirebaseTokenVerifier: the TokenVerifier contract on the Auth emulator, and the production
path (signed RS256 tokens, certificates from a local server standing in for Google's)."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import firebase_admin
import google.auth
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from firebase_admin import _token_gen, auth
from google.auth import crypt
from google.auth import jwt as google_jwt
from google.auth.credentials import AnonymousCredentials

from shared import errors
from shared.adapters.firebase_auth import FirebaseTokenVerifier
from shared.config import ConfigurationError, Settings
from tests.contracts.auth_contract import ISSUER_PREFIX, TokenVerifierContract

pytestmark = pytest.mark.integration


def _segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def unsigned_token(claims: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> str:
    """A token like the Auth emulator's: ``alg: none`` and an empty signature."""
    return f"{_segment(header or {'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."


def id_token_claims(
    project: str, uid: str, *, issued_at: float, expires_at: float, **extra: Any
) -> dict[str, Any]:
    return {
        "iss": ISSUER_PREFIX + project,
        "aud": project,
        "auth_time": int(issued_at),
        "user_id": uid,
        "sub": uid,
        "iat": int(issued_at),
        "exp": int(expires_at),
        "firebase": {"identities": {}, "sign_in_provider": "custom"},
        **extra,
    }


# --- The contract on the Auth emulator --------------------------------------------------------
class EmulatorTokens:
    """The contract's TokenSource on the Auth emulator of the local stack."""

    def __init__(self, local_stack: Any):
        self.stack = local_stack
        self.project = local_stack.settings.google_cloud_project
        name = f"contract-auth-admin-{self.project}"
        try:
            self.app = firebase_admin.get_app(name)
        except ValueError:
            self.app = firebase_admin.initialize_app(options={"projectId": self.project}, name=name)

    def mint(self, uid: str, claims: Mapping[str, Any] | None = None) -> str:
        return str(self.stack.mint_token(uid, dict(claims) if claims else None))

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
        body = id_token_claims(
            self.project, uid, issued_at=issued_at, expires_at=expires_at, **dict(claims or {})
        )
        return unsigned_token({**body, "aud": audience, "iss": issuer})

    def revoke(self, uid: str) -> None:
        auth.revoke_refresh_tokens(uid, app=self.app)

    def disable(self, uid: str) -> None:
        auth.update_user(uid, disabled=True, app=self.app)

    def delete(self, uid: str) -> None:
        auth.delete_user(uid, app=self.app)


class TestFirebaseTokenVerifierContract(TokenVerifierContract):
    @pytest.fixture
    def verifier(self, local_stack: Any) -> FirebaseTokenVerifier:
        return FirebaseTokenVerifier(local_stack.settings)

    @pytest.fixture
    def tokens(self, local_stack: Any) -> EmulatorTokens:
        return EmulatorTokens(local_stack)


def test_an_emulator_token_carries_its_claims(local_stack: Any) -> None:
    verifier = FirebaseTokenVerifier(local_stack.settings)
    caller = verifier.verify(local_stack.mint_token("emu-user-1", {"role": "admin"}))
    assert (caller.uid, caller.role) == ("emu-user-1", "admin")


# --- Production mode: no emulator, real signature checks ------------------------------------
PROD_PROJECT = "coach-prod-check"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings of a deployed project, no emulator variable in the process, and anonymous
    credentials where Cloud Run's metadata server would give the function's own."""
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
    monkeypatch.setattr(google.auth, "default", lambda **_: (anonymous, PROD_PROJECT))
    return Settings(google_cloud_project=PROD_PROJECT)


def _verifier(settings: Settings) -> FirebaseTokenVerifier:
    # A fresh named app per test: the app caches the certificate URL it was built with.
    return FirebaseTokenVerifier(settings, app_name=f"test-{uuid.uuid4().hex}", timeout_seconds=3)


class _Signer:
    """An RSA key and its self-signed certificate, like one of Google's token signers."""

    def __init__(self, kid: str):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken")])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .sign(self.key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
            .decode()
        )
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._signer = crypt.RSASigner.from_string(pem, key_id=kid)  # type: ignore[no-untyped-call]

    def token(self, claims: Mapping[str, Any]) -> str:
        encoded: bytes = google_jwt.encode(self._signer, dict(claims))  # type: ignore[no-untyped-call]
        return encoded.decode()


@pytest.fixture(scope="module")
def google_signer() -> _Signer:
    return _Signer("key-1")


@pytest.fixture
def certificate_server(google_signer: _Signer, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Serve {kid: certificate} where firebase-admin fetches Google's certificates."""
    body = json.dumps({google_signer.kid: google_signer.certificate}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=60")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/certs"
    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", url)
    yield url
    server.shutdown()
    server.server_close()


def _claims(uid: str = "prod-user", **extra: Any) -> dict[str, Any]:
    now = time.time()
    return id_token_claims(PROD_PROJECT, uid, issued_at=now - 10, expires_at=now + 3600, **extra)


def test_a_forged_unsigned_token_is_refused_without_the_network(production: Settings) -> None:
    """``alg: none`` outside emulator mode: refused before any certificate is fetched."""
    verifier = _verifier(production)
    with pytest.raises(errors.TokenInvalid):
        verifier.verify(unsigned_token(_claims(role="admin")))
    with pytest.raises(errors.TokenInvalid):
        verifier.verify(unsigned_token(_claims(), header={"alg": "none", "kid": "key-1"}))
    other = {**_claims(), "aud": "other-project", "iss": ISSUER_PREFIX + "other-project"}
    with pytest.raises(errors.TokenWrongProject):
        verifier.verify(unsigned_token(other))


def test_a_signed_token_names_its_caller(
    production: Settings, google_signer: _Signer, certificate_server: str
) -> None:
    token = google_signer.token(_claims(role="teacher", email_verified=True))
    caller = _verifier(production).verify(token)
    assert (caller.uid, caller.role, caller.email_verified, caller.sign_in_provider) == (
        "prod-user",
        "teacher",
        True,
        "custom",
    )


def test_signed_but_expired_wrong_project_or_by_another_key(
    production: Settings, google_signer: _Signer, certificate_server: str
) -> None:
    verifier = _verifier(production)
    now = time.time()
    expired = {**_claims(), "iat": int(now - 7200), "exp": int(now - 3600)}
    with pytest.raises(errors.TokenExpired):
        verifier.verify(google_signer.token(expired))
    other = {**_claims(), "aud": "other-project", "iss": ISSUER_PREFIX + "other-project"}
    with pytest.raises(errors.TokenWrongProject):
        verifier.verify(google_signer.token(other))
    impostor = _Signer(google_signer.kid)  # same key id, different key
    with pytest.raises(errors.TokenInvalid):
        verifier.verify(impostor.token(_claims()))
    unknown_key = _Signer("key-unknown")
    with pytest.raises(errors.TokenInvalid):
        verifier.verify(unknown_key.token(_claims()))


def test_unreachable_certificates_are_a_dependency_failure(
    production: Settings, google_signer: _Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_token_gen, "ID_TOKEN_CERT_URI", "http://127.0.0.1:9/certs")
    with pytest.raises(errors.DependencyUnavailable) as raised:
        _verifier(production).verify(google_signer.token(_claims()))
    assert raised.value.details["dependency"] == "firebase_auth"


def test_a_stray_emulator_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """firebase-admin would skip signatures: a verifier for production must not run so."""
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    verifier = _verifier(Settings(google_cloud_project=PROD_PROJECT))
    with pytest.raises(ConfigurationError, match="unsigned"):
        verifier.verify(unsigned_token(_claims()))


def test_emulator_settings_export_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "")  # so teardown restores the original
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    settings = Settings(firebase_auth_emulator_host="127.0.0.1:9099")
    caller = _verifier(settings).verify(
        unsigned_token(
            id_token_claims(
                settings.google_cloud_project,
                "local-user",
                issued_at=time.time(),
                expires_at=time.time() + 60,
            )
        )
    )
    assert caller.uid == "local-user"
    assert os.environ["FIREBASE_AUTH_EMULATOR_HOST"] == "127.0.0.1:9099"
