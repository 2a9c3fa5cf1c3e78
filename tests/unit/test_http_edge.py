"""The HTTP edge every function shares: auth, errors, CORS, limits, ids, headers."""

from __future__ import annotations

import json
from collections.abc import Callable

import flask
import flask.testing
import pytest

from shared import bootstrap, errors
from shared.config import load_settings
from shared.http import Api, ApiRequest
from shared.models.health import Liveness
from tests.unit.conftest import FakeWorld

Client = Callable[[str], flask.testing.FlaskClient]


def _error(response: object) -> dict[str, object]:
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture
def users(client_for: Client) -> flask.testing.FlaskClient:
    return client_for("users")


def test_no_token_is_401_unauthenticated(users: flask.testing.FlaskClient) -> None:
    response = users.get("/users/me")
    assert response.status_code == 401
    assert _error(response)["code"] == "unauthenticated"
    assert "invalid_token" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Basic dXNlcjpwYXNz", "token_malformed"),
        ("Bearer", "token_malformed"),
        ("Bearer not-a-jwt", "token_malformed"),
        ("Bearer a.b.c", "token_malformed"),
    ],
)
def test_malformed_tokens_have_their_own_code(
    users: flask.testing.FlaskClient, header: str, code: str
) -> None:
    response = users.get("/users/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert _error(response)["code"] == code


def test_expired_and_foreign_tokens_are_told_apart(
    world: FakeWorld, users: flask.testing.FlaskClient
) -> None:
    expired = world.tokens.mint("learner-1", expires_in=-10)
    foreign = world.tokens.mint("learner-1", audience="someone-elses-project")
    for token, code in ((expired, "token_expired"), (foreign, "token_wrong_project")):
        response = users.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert _error(response)["code"] == code


def test_the_verified_uid_is_the_only_identity(
    world: FakeWorld, users: flask.testing.FlaskClient
) -> None:
    response = users.get(
        "/users/me", headers={**world.auth("learner-7"), "X-User-Id": "someone-else"}
    )
    assert response.status_code == 200
    assert response.get_json()["uid"] == "learner-7"


def test_health_needs_no_token(client_for: Client) -> None:
    response = client_for("health").get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_unknown_path_and_wrong_method(users: flask.testing.FlaskClient, world: FakeWorld) -> None:
    assert _error(users.get("/users/me/../../etc/passwd", headers=world.auth()))["code"] == (
        "not_found"
    )
    response = users.put("/users/me", headers=world.auth())
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) == {"DELETE", "GET", "PATCH"}


def test_api_prefix_from_hosting_rewrites_is_accepted(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    assert users.get("/api/users/me", headers=world.auth()).status_code == 200


def test_request_id_is_echoed_when_sane_and_made_otherwise(client_for: Client) -> None:
    health = client_for("health")
    mine = health.get("/healthz", headers={"X-Request-Id": "req-12345678"})
    assert mine.headers["X-Request-Id"] == "req-12345678"
    hostile = health.get("/healthz", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert hostile.headers["X-Request-Id"] != "<script>alert(1)</script>"
    assert len(hostile.headers["X-Request-Id"]) == 32


def test_security_headers_on_success_and_error(users: flask.testing.FlaskClient) -> None:
    for response in (users.get("/users/me"), users.get("/nowhere")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_cors_allows_only_listed_origins(client_for: Client, world: FakeWorld) -> None:
    health = client_for("health")
    allowed = world.settings.cors_allowed_origins[0]
    preflight = health.options(
        "/healthz",
        headers={"Origin": allowed, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == allowed
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "*" not in preflight.headers["Access-Control-Allow-Origin"]
    foreign = health.get("/healthz", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert _error(foreign)["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_json_body_rules(users: flask.testing.FlaskClient, world: FakeWorld) -> None:
    auth = world.auth()
    not_json = users.patch("/users/me", data="target_band=7", headers=auth)
    assert not_json.status_code == 415
    broken = users.patch("/users/me", data="{oops", content_type="application/json", headers=auth)
    assert _error(broken)["code"] == "invalid_json"
    invalid = users.patch("/users/me", json={"target_band": 6.3, "shoe_size": 9}, headers=auth)
    assert invalid.status_code == 400
    problem = _error(invalid)
    assert problem["code"] == "validation_failed"
    fields = {item["field"] for item in problem["details"]["fields"]}  # type: ignore[index]
    assert fields == {"target_band", "shoe_size"}


def test_a_body_over_the_limit_is_refused_before_reading(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    limit = world.settings.max_json_body_bytes
    payload = json.dumps({"display_name": "x" * (limit + 10)})
    response = users.patch(
        "/users/me", data=payload, content_type="application/json", headers=world.auth()
    )
    assert response.status_code == 413
    assert _error(response)["details"] == {"limit_bytes": limit}


# --- behaviour of Api itself, on a tiny function ------------------------------------------
crashing = Api("crashing")


@crashing.route("GET", "/boom", authenticated=False)
def _boom(_: ApiRequest) -> Liveness:
    raise KeyError("secret internal detail: /srv/keys/prod.json")


@crashing.route("GET", "/busy", authenticated=False)
def _busy(_: ApiRequest) -> Liveness:
    raise errors.RateLimited(retry_after_seconds=17)


@pytest.fixture
def crashing_client(world: FakeWorld) -> flask.testing.FlaskClient:
    app = flask.Flask("crashing")
    app.add_url_rule("/<path:_>", view_func=lambda _: crashing(flask.request))
    return app.test_client()


def test_an_unexpected_exception_is_a_500_with_only_the_request_id(
    crashing_client: flask.testing.FlaskClient,
) -> None:
    response = crashing_client.get("/boom", headers={"X-Request-Id": "req-abcdef12"})
    assert response.status_code == 500
    problem = _error(response)
    assert problem["code"] == "internal"
    assert problem["details"] == {"request_id": "req-abcdef12"}
    assert "req-abcdef12" in str(problem["message"])
    assert "secret" not in response.get_data(as_text=True)


def test_rate_limited_carries_retry_after(crashing_client: flask.testing.FlaskClient) -> None:
    response = crashing_client.get("/busy")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "17"


def test_path_parameters_refuse_traversal_and_odd_characters() -> None:
    api = Api("ids")
    seen: list[str] = []

    @api.route("GET", "/things/{thing_id}", authenticated=False)
    def _thing(request: ApiRequest) -> Liveness:
        seen.append(request.path_params["thing_id"])
        return Liveness()

    app = flask.Flask("ids")
    app.add_url_rule("/<path:_>", view_func=lambda _: api(flask.request))
    bootstrap.install(bootstrap.Container(load_settings({})))
    try:
        client = app.test_client()
        assert client.get("/things/abc_DEF-123").status_code == 200
        for hostile in ("/things/..", "/things/a%2Fb", "/things/a.b", "/things/" + "x" * 200):
            assert client.get(hostile).status_code == 404, hostile
    finally:
        bootstrap.install(None)
    assert seen == ["abc_DEF-123"]
