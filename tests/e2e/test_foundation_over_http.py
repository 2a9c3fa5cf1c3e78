"""The foundation as the PWA meets it: the local stack over HTTP, real tokens, real emulators."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

from devstack.stack import Stack


def _forge(claims: dict[str, Any]) -> str:
    """An unsigned token (the Auth emulator's own kind) with chosen claims."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_health_answers_without_a_token(local_stack: Stack) -> None:
    live = requests.get(f"{local_stack.base_url}/healthz", timeout=10)
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    ready = requests.get(f"{local_stack.base_url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["dependencies"]) == {"firestore", "storage", "pubsub"}


def test_no_token_is_401_unauthenticated(local_stack: Stack) -> None:
    response = requests.get(f"{local_stack.base_url}/users/me", timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_token_minted_by_the_auth_emulator_passes(local_stack: Stack) -> None:
    token = local_stack.mint_token("e2e-learner-1")
    response = requests.get(
        f"{local_stack.base_url}/api/users/me",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["uid"] == "e2e-learner-1"
    assert response.headers["X-Request-Id"]


def test_a_token_for_another_project_fails(local_stack: Stack) -> None:
    real = local_stack.mint_token("e2e-learner-2")
    claims = json.loads(base64.urlsafe_b64decode(real.split(".")[1] + "=="))
    claims["aud"] = "someone-elses-project"
    claims["iss"] = "https://securetoken.google.com/someone-elses-project"
    response = requests.get(
        f"{local_stack.base_url}/users/me",
        headers={"Authorization": f"Bearer {_forge(claims)}"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_wrong_project"


def test_preferences_round_trip_through_firestore(local_stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {local_stack.mint_token('e2e-learner-3')}"}
    update = requests.patch(
        f"{local_stack.base_url}/users/me",
        json={"target_band": 7.0, "first_language": "vi", "examiner_voice": "american"},
        headers=headers,
        timeout=10,
    )
    assert update.status_code == 200, update.text
    again = requests.get(f"{local_stack.base_url}/users/me", headers=headers, timeout=10)
    assert again.json()["preferences"]["first_language"] == "vi"
    assert again.json()["preferences"]["target_band"] == 7.0
