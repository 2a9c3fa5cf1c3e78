"""Hostile input over HTTP on the local stack: every answer a clean 4xx, never a 5xx.

Oversized bodies (declared and chunked), unicode edge cases, path traversal in ids, another
learner's session ids (404, exactly as for an id that does not exist), tampered, expired and
``alg: none`` tokens outside emulator mode, and an Idempotency-Key replayed with another body.
Each answer is the JSON error envelope with the security headers.
"""

from __future__ import annotations

import http.client
import io
import json
import threading
import time
import uuid
import wave
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from devstack.stack import Stack
from shared.http import SECURITY_HEADERS
from tests.speech_samples import SAMPLE_RATE_HZ, synthesize

TURN_TIMEOUT = 120


def assert_refused(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """A clean refusal: the status, the JSON envelope, the security headers."""
    status_code = getattr(response, "status_code", None) or response.status
    body = response.json() if hasattr(response, "json") else json.loads(response.read())
    headers = response.headers
    assert status_code == status, body
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
    assert "json" in headers["Content-Type"]
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, name
    return dict(body["error"])


def raw_request(
    base_url: str, method: str, target: str, headers: dict[str, str], body: bytes | None = None
) -> http.client.HTTPResponse:
    """A request sent exactly as written: no client normalises its path or its headers."""
    parsed = urlparse(base_url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    connection.putrequest(method, target, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders(body)
    return connection.getresponse()


@pytest.fixture(scope="module")
def learner(local_stack: Stack) -> dict[str, str]:
    uid = f"hostile-{uuid.uuid4().hex[:10]}"
    return {"Authorization": f"Bearer {local_stack.mint_token(uid)}"}


@pytest.fixture(scope="module")
def session_id(local_stack: Stack, learner: dict[str, str]) -> str:
    response = requests.post(
        f"{local_stack.base_url}/sessions", json={"mode": "full"}, headers=learner, timeout=60
    )
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


# --- oversized bodies ---------------------------------------------------------------------------
def test_a_declared_oversized_json_body_is_refused_before_it_is_sent(
    local_stack: Stack, learner: dict[str, str]
) -> None:
    limit = local_stack.settings.max_json_body_bytes
    # Only the headers go out: the server must answer without waiting for the body.
    response = raw_request(
        local_stack.base_url,
        "PATCH",
        "/users/me",
        {**learner, "Content-Type": "application/json", "Content-Length": str(limit * 100)},
    )
    error = assert_refused(response, 413, "payload_too_large")
    assert error["details"] == {"limit_bytes": limit}


def test_a_declared_oversized_answer_is_refused_before_it_is_sent(
    local_stack: Stack, learner: dict[str, str], session_id: str
) -> None:
    limit = local_stack.settings.max_audio_upload_bytes
    response = raw_request(
        local_stack.base_url,
        "POST",
        f"/sessions/{session_id}/turns",
        {
            **learner,
            "Content-Type": "audio/webm",
            "Content-Length": str(limit + 1),
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    assert_refused(response, 413, "audio_too_large")


def test_a_chunked_body_without_a_length_is_cut_at_the_limit(
    local_stack: Stack, learner: dict[str, str]
) -> None:
    limit = local_stack.settings.max_json_body_bytes
    chunk = b'{"display_name": "' + b"x" * 1024

    def chunks() -> Iterator[bytes]:  # a generator body goes out chunked, with no length
        yield chunk
        for _ in range(limit // 1024 + 2):
            yield b"x" * 1024

    response = requests.patch(
        f"{local_stack.base_url}/users/me",
        data=chunks(),
        headers={**learner, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert_refused(response, 413, "payload_too_large")


# --- unicode ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw_json", "status"),
    [
        ('{"display_name": "Ana\\u0000"}', 400),  # NUL
        ('{"display_name": "\\ud800"}', 400),  # a lone surrogate: not text Firestore can store
        ('{"display_name": "Ana\\udc00Lee"}', 400),
        ('{"display_name": "\\u202egnp.exe"}', 400),  # right-to-left override
        ('{"display_name": "\\u200b"}', 400),  # nothing visible
        ('{"display_name": "' + "x" * 10_000 + '"}', 400),  # 10k characters
        ('{"display_name\\u0000": "Ana"}', 400),  # NUL in a field name
        ('{"display_name": "Zoe\\u0308 Nguye\\u0302\\u0303n"}', 200),  # combining marks
        ('{"display_name": "Ana \\ud83e\\udd8a"}', 200),  # emoji as a surrogate pair
        ('{"display_name": "Ana 🦊👩🏽‍🏫"}', 200),  # emoji, ZWJ sequence, raw UTF-8
    ],
)
def test_unicode_in_a_display_name(
    local_stack: Stack, learner: dict[str, str], raw_json: str, status: int
) -> None:
    response = requests.patch(
        f"{local_stack.base_url}/users/me",
        data=raw_json.encode("utf-8"),
        headers={**learner, "Content-Type": "application/json"},
        timeout=30,
    )
    if status != 200:
        error = assert_refused(response, status)
        assert error["code"] in {"validation_failed", "invalid_json"}
        return
    assert response.status_code == 200, response.text
    stored = requests.get(f"{local_stack.base_url}/users/me", headers=learner, timeout=30)
    expected = json.loads(raw_json)["display_name"]
    assert stored.json()["preferences"]["display_name"] == expected


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe{\x00}\x00",  # UTF-16 with a byte-order mark
        b'{"mode": "full"',  # cut short
        b'{"mode": "full", "mode": "part1"}',  # a duplicated key: the last one wins, still valid
        '{"mode": "' + "p" * 10_000 + '"}',
        b"[]",
        b"null",
        b'{"mode": "full", "practice_id": "p1.\\u0000"}',
    ],
)
def test_odd_json_when_starting_a_session(
    local_stack: Stack, learner: dict[str, str], body: bytes | str
) -> None:
    response = requests.post(
        f"{local_stack.base_url}/sessions",
        data=body.encode() if isinstance(body, str) else body,
        headers={**learner, "Content-Type": "application/json"},
        timeout=30,
    )
    if body == b'{"mode": "full", "mode": "part1"}':
        assert response.status_code in (201, 429), response.text  # valid JSON, valid mode
        return
    error = assert_refused(response, 400)
    assert error["code"] in {"validation_failed", "invalid_json"}


# --- path traversal and odd ids -----------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        "/sessions/..",
        "/sessions/../users/me",
        "/sessions/%2e%2e",
        "/sessions/%2e%2e%2f",
        "/sessions/%2e%2e%2fusers%2fme",
        "/sessions/..%2f..%2fetc%2fpasswd/results",
        "/api/sessions/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/sessions/%00",
        "/sessions/abc%00def/results",
        "/sessions/%0a/finish",
        "/sessions/s_1%20OR%201=1",
        "/sessions/" + "a" * 4096,
        "/sessions/" + "%2e" * 500 + "/turns",
        "/users/me/..%2f..%2fsessions",
    ],
)
def test_traversal_and_odd_ids_are_not_found(
    local_stack: Stack, learner: dict[str, str], target: str
) -> None:
    for method in ("GET", "POST"):
        headers = {**learner, "Idempotency-Key": uuid.uuid4().hex}
        response = raw_request(local_stack.base_url, method, target, headers, b"")
        error = assert_refused(response, response.status)
        assert response.status in (404, 405), error
        assert error["code"] in {"not_found", "method_not_allowed"}


# --- another learner's ids ----------------------------------------------------------------------
def test_another_learners_session_is_not_found_exactly_like_a_missing_one(
    local_stack: Stack, session_id: str
) -> None:
    intruder = {
        "Authorization": f"Bearer {local_stack.mint_token(f'intruder-{uuid.uuid4().hex[:8]}')}"
    }
    missing = "s_" + uuid.uuid4().hex
    for method, template in (
        ("GET", "/sessions/{}"),
        ("POST", "/sessions/{}/finish"),
        ("GET", "/sessions/{}/results"),
        ("POST", "/sessions/{}/turns/upload-url"),
        ("POST", "/sessions/{}/turns"),
    ):
        answers = []
        for target in (session_id, missing):
            response = requests.request(
                method,
                local_stack.base_url + template.format(target),
                data=b"RIFF....WAVE",
                headers={
                    **intruder,
                    "Content-Type": "audio/wav",
                    "Idempotency-Key": uuid.uuid4().hex,
                },
                timeout=30,
            )
            error = assert_refused(response, 404, "not_found")
            answers.append(json.dumps(error).replace(target, "<id>"))
        assert answers[0] == answers[1], (method, template)
    listed = requests.get(f"{local_stack.base_url}/sessions", headers=intruder, timeout=30)
    assert session_id not in listed.text


# --- an Idempotency-Key replayed with another body ----------------------------------------------
def _wav(text: str) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(SAMPLE_RATE_HZ)
        audio.writeframes(synthesize(text))
    return out.getvalue()


def test_an_idempotency_key_replayed_with_another_body_is_409(
    local_stack: Stack, learner: dict[str, str], session_id: str
) -> None:
    key = f"hostile-{uuid.uuid4().hex}"
    url = f"{local_stack.base_url}/sessions/{session_id}/turns"
    headers = {**learner, "Content-Type": "audio/wav", "Idempotency-Key": key}
    first_answer = _wav("My name is Anna and I come from a small town near the sea.")
    first = requests.post(url, data=first_answer, headers=headers, timeout=TURN_TIMEOUT)
    assert first.status_code == 200, first.text
    other = _wav("I would rather talk about something else entirely, if you do not mind.")
    replayed = requests.post(url, data=other, headers=headers, timeout=TURN_TIMEOUT)
    assert_refused(replayed, 409, "idempotency_key_reused")
    same = requests.post(url, data=first_answer, headers=headers, timeout=TURN_TIMEOUT)
    assert same.status_code == 200, same.text  # the honest retry is still answered
    assert same.headers.get("Idempotent-Replayed") == "true"
    assert same.json()["turn_id"] == first.json()["turn_id"]


# --- tokens outside emulator mode ---------------------------------------------------------------
@pytest.fixture
def production_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """The results function served over HTTP on loopback with the real FirebaseTokenVerifier
    and no Auth emulator (firebase-admin then checks RS256 signatures against the
    certificates it fetches); a local server stands in for Google's certificate endpoint."""
    import flask
    import google.auth
    from firebase_admin import _token_gen
    from google.auth.credentials import AnonymousCredentials
    from werkzeug.serving import make_server

    from functions.results import api
    from shared import bootstrap
    from shared.adapters.firebase_auth import FirebaseTokenVerifier
    from shared.config import Settings
    from tests.integration.test_auth_adapter import PROD_PROJECT, _Signer

    signer = _Signer("hostile-key")
    certificates = json.dumps({signer.kid: signer.certificate}).encode()
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
    monkeypatch.setattr(google.auth, "default", lambda **_: (anonymous, PROD_PROJECT))

    certs_app = flask.Flask("certs")
    certs_app.add_url_rule(
        "/certs",
        view_func=lambda: flask.Response(
            certificates, mimetype="application/json", headers={"Cache-Control": "max-age=60"}
        ),
    )
    app = flask.Flask("results-production")
    app.add_url_rule("/<path:_>", view_func=lambda _: api(flask.request), methods=["GET", "POST"])
    servers = [make_server("127.0.0.1", 0, certs_app), make_server("127.0.0.1", 0, app)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    # firebase-admin's own setting for where Google's token certificates live.
    monkeypatch.setattr(
        _token_gen, "ID_TOKEN_CERT_URI", f"http://127.0.0.1:{servers[0].server_port}/certs"
    )
    settings = Settings(google_cloud_project=PROD_PROJECT)
    verifier = FirebaseTokenVerifier(
        settings, app_name=f"hostile-{uuid.uuid4().hex}", timeout_seconds=3
    )
    bootstrap.install(bootstrap.Container(settings, token_verifier=verifier))
    try:
        yield f"http://127.0.0.1:{servers[1].server_port}", signer
    finally:
        bootstrap.install(None)
        for server in servers:
            server.shutdown()


def test_tampered_expired_and_unsigned_tokens_outside_emulator_mode(
    production_api: tuple[str, Any],
) -> None:
    import base64

    from tests.integration.test_auth_adapter import (
        PROD_PROJECT,
        _Signer,
        id_token_claims,
        unsigned_token,
    )

    base_url, signer = production_api
    now = time.time()
    claims = id_token_claims(PROD_PROJECT, "prod-learner", issued_at=now - 60, expires_at=now + 600)

    def call(token: str) -> requests.Response:
        return requests.get(
            f"{base_url}/sessions/-/results/scale",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    valid = signer.token(claims)
    assert call(valid).status_code == 200  # the control: a properly signed token passes

    header, payload, signature = valid.split(".")
    promoted = {**claims, "role": "admin", "sub": "someone-else", "user_id": "someone-else"}
    forged_payload = base64.urlsafe_b64encode(json.dumps(promoted).encode()).rstrip(b"=").decode()
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    cases = {
        "claims changed, signature kept": (
            f"{header}.{forged_payload}.{signature}",
            "token_invalid",
        ),
        "signature altered": (f"{header}.{payload}.{flipped}", "token_invalid"),
        "signature dropped": (f"{header}.{payload}.", "token_invalid"),
        "alg none": (unsigned_token(claims), "token_invalid"),
        "alg none, capitalised": (
            unsigned_token(claims, {"alg": "None", "typ": "JWT"}),
            "token_invalid",
        ),
        "alg HS256 with the certificate as secret": (
            unsigned_token(claims, {"alg": "HS256", "kid": signer.kid}) + "c2lnbmF0dXJl",
            "token_invalid",
        ),
        "expired, properly signed": (
            signer.token({**claims, "iat": int(now - 7200), "exp": int(now - 3600)}),
            "token_expired",
        ),
        "unknown key id": (
            _Signer("rogue-key").token(claims),
            "token_invalid",
        ),
        "another project, properly signed": (
            signer.token(
                {
                    **claims,
                    "aud": "other-project",
                    "iss": "https://securetoken.google.com/other-project",
                }
            ),
            "token_wrong_project",
        ),
        "not a JWT": ("a" * 20_000, "token_malformed"),
        "binary junk": ("\u00e9\u00e9.\u00e9.\u00e9", "token_malformed"),
    }
    for name, (token, code) in cases.items():
        response = requests.get(
            f"{base_url}/sessions/-/results/scale",
            headers={"Authorization": f"Bearer {token}".encode()},
            timeout=30,
        )
        error = assert_refused(response, 401)
        assert error["code"] == code, name
        assert "invalid_token" in response.headers["WWW-Authenticate"]
