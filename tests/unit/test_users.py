"""The users function: the caller's own profile and preferences."""

from __future__ import annotations

from collections.abc import Callable

import flask.testing
import pytest

from tests.unit.conftest import FakeWorld

Client = Callable[[str], flask.testing.FlaskClient]


@pytest.fixture
def users(client_for: Client) -> flask.testing.FlaskClient:
    return client_for("users")


def test_first_visit_creates_a_profile_with_defaults(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    response = users.get("/users/me", headers=world.auth("learner-1"))
    assert response.status_code == 200
    profile = response.get_json()
    assert profile["uid"] == "learner-1"
    assert profile["role"] == "student"
    assert profile["preferences"]["examiner_voice"] == "british"
    assert world.store.get("users/learner-1") is not None


def test_the_role_comes_from_the_token_not_from_storage(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    users.get("/users/me", headers=world.auth("t-1"))
    world.store.set("users/t-1", {"role": "admin"}, merge=True)  # a tampered stored copy
    response = users.get("/users/me", headers=world.auth("t-1", role="teacher"))
    assert response.get_json()["role"] == "teacher"


def test_preferences_are_updated_field_by_field(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    auth = world.auth("learner-2")
    users.patch("/users/me", json={"target_band": 7.5, "first_language": "uz"}, headers=auth)
    world.clock.advance(minutes=5)
    response = users.patch("/users/me", json={"examiner_voice": "australian"}, headers=auth)
    assert response.status_code == 200
    preferences = response.get_json()["preferences"]
    assert preferences == {
        "target_band": 7.5,
        "first_language": "uz",
        "examiner_voice": "australian",
        "display_name": None,
    }
    profile = users.get("/users/me", headers=auth).get_json()
    assert profile["updated_at"] > profile["created_at"]


def test_null_clears_an_optional_preference(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    auth = world.auth("learner-3")
    users.patch("/users/me", json={"target_band": 6.0}, headers=auth)
    response = users.patch("/users/me", json={"target_band": None}, headers=auth)
    assert response.get_json()["preferences"]["target_band"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"target_band": 6.3},
        {"target_band": 10},
        {"first_language": "Uzbek"},
        {"examiner_voice": "robot"},
        {"display_name": "\u0000\u0007"},
        {"role": "admin"},
    ],
)
def test_invalid_preferences_are_refused(
    users: flask.testing.FlaskClient, world: FakeWorld, body: dict[str, object]
) -> None:
    response = users.patch("/users/me", json=body, headers=world.auth())
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_failed"


def test_one_user_never_sees_another(users: flask.testing.FlaskClient, world: FakeWorld) -> None:
    users.patch("/users/me", json={"display_name": "Aziza"}, headers=world.auth("a"))
    other = users.get("/users/me", headers=world.auth("b")).get_json()
    assert other["uid"] == "b"
    assert other["preferences"]["display_name"] is None
