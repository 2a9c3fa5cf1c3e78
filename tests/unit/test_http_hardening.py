"""Hardening of the HTTP edge beyond test_http_edge.py: what never reaches a handler."""

from __future__ import annotations

import io
from collections.abc import Callable

import flask.testing
import pytest

from shared.http import SECURITY_HEADERS
from tests.unit.conftest import FakeWorld

Client = Callable[[str], flask.testing.FlaskClient]


def _assert_api_error(response: object, status: int, code: str) -> None:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.mimetype == "application/json"  # type: ignore[attr-defined]
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name  # type: ignore[attr-defined]
    assert response.headers["X-Request-Id"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "path",
    [
        "/sessions/a%0Ab",  # functions-framework's <path> rule cannot match a newline
        "/api/sessions/x%0A/results",
        "/robots.txt",  # functions-framework keeps these two for itself
        "/favicon.ico",
    ],
)
def test_paths_the_framework_refuses_get_the_api_error_not_html(
    client_for: Client, path: str
) -> None:
    for target in ("sessions", "health"):
        _assert_api_error(client_for(target).get(path), 404, "not_found")


def _chunked(size: int) -> dict[str, object]:
    """A body sent without Content-Length, as a chunked upload reaches the WSGI app."""
    return {
        "input_stream": io.BytesIO(b"x" * size),
        "headers": {"Transfer-Encoding": "chunked"},
        "environ_overrides": {"wsgi.input_terminated": True},
    }


def test_a_chunked_json_body_over_the_limit_is_refused(
    client_for: Client, world: FakeWorld
) -> None:
    users = client_for("users")
    limit = world.settings.max_json_body_bytes
    options = _chunked(limit + 1)
    options["headers"] = {**options["headers"], **world.auth()}  # type: ignore[dict-item]
    response = users.patch("/users/me", content_type="application/json", **options)  # type: ignore[arg-type]
    assert response.request.content_length is None  # nothing declared the size
    _assert_api_error(response, 413, "payload_too_large")
    assert response.get_json()["error"]["details"] == {"limit_bytes": limit}


def test_a_chunked_audio_body_over_the_limit_is_refused(
    client_for: Client, world: FakeWorld
) -> None:
    # The size is refused before the session is even looked up: any id will do.
    turns = client_for("turns")
    limit = world.settings.max_audio_upload_bytes
    options = _chunked(limit + 1)
    options["headers"] = {
        **options["headers"],  # type: ignore[dict-item]
        **world.auth(),
        "Idempotency-Key": "chunked-answer-1",
    }
    response = turns.post(
        "/sessions/s_anything/turns",
        content_type="audio/webm",
        **options,  # type: ignore[arg-type]
    )
    _assert_api_error(response, 413, "audio_too_large")


def test_json_with_parameters_in_its_content_type_is_json(
    client_for: Client, world: FakeWorld
) -> None:
    response = client_for("users").patch(
        "/users/me",
        data='{"target_band": 7.0}',
        content_type="application/json; charset=utf-8",
        headers=world.auth(),
    )
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_415(
    client_for: Client, world: FakeWorld, content_type: str
) -> None:
    response = client_for("sessions").post(
        "/sessions", data='{"mode": "full"}', content_type=content_type, headers=world.auth()
    )
    _assert_api_error(response, 415, "unsupported_media_type")


def test_unknown_fields_are_refused_by_name(client_for: Client, world: FakeWorld) -> None:
    response = client_for("sessions").post(
        "/sessions", json={"mode": "full", "role": "admin"}, headers=world.auth()
    )
    _assert_api_error(response, 400, "validation_failed")
    fields = [item["field"] for item in response.get_json()["error"]["details"]["fields"]]
    assert fields == ["role"]


def test_cors_answers_never_carry_a_wildcard_or_credentials(
    client_for: Client, world: FakeWorld
) -> None:
    allowed = world.settings.cors_allowed_origins[0]
    for response in (
        client_for("users").get("/users/me", headers={"Origin": allowed}),  # a 401
        client_for("users").get("/nowhere", headers={"Origin": allowed}),  # a 404
        client_for("health").get("/healthz", headers={"Origin": allowed}),
    ):
        assert response.headers["Access-Control-Allow-Origin"] == allowed
        assert "Access-Control-Allow-Credentials" not in response.headers
        assert "Origin" in response.headers.get_all("Vary")


class _CountingStream(io.BytesIO):
    """A request body that records how much of it was read."""

    def __init__(self, size: int):
        super().__init__(b"x" * size)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = super().readinto(buffer)
        self.read_bytes += count
        return count


@pytest.mark.parametrize(
    ("method", "path", "authenticated"),
    [
        ("PATCH", "/users/me", True),  # declared too large: 413
        ("PATCH", "/users/me", False),  # no token: 401
        ("POST", "/users/me", True),  # wrong method: 405
    ],
)
def test_a_refused_body_is_not_read_into_memory_by_the_framework(
    client_for: Client, world: FakeWorld, method: str, path: str, authenticated: bool
) -> None:
    # functions-framework reads the whole body before answering unless the answer streams.
    size = world.settings.max_json_body_bytes * 20
    stream = _CountingStream(size)
    response = client_for("users").open(
        path,
        method=method,
        input_stream=stream,
        content_type="application/json",
        headers={"Content-Length": str(size), **(world.auth() if authenticated else {})},
    )
    assert response.status_code in (401, 405, 413)
    assert response.get_json()["error"]["code"]
    assert stream.read_bytes == 0


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("Ana 👩🏽\u200d🏫", 200),  # an emoji sequence joined by a zero-width joiner
        ("Zoe\u0308", 200),  # a combining mark
        ("\u200d", 400),  # a joiner alone is nothing visible
        ("Ana \u200d Lee", 400),  # a joiner between spaces joins nothing
        ("\u202eAna", 400),  # right-to-left override
        ("Ana\x00", 400),
    ],
)
def test_display_names_allow_emoji_sequences_but_no_invisible_tricks(
    client_for: Client, world: FakeWorld, name: str, status: int
) -> None:
    response = client_for("users").patch(
        "/users/me", json={"display_name": name}, headers=world.auth()
    )
    assert response.status_code == status, response.get_json()
