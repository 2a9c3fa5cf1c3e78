"""Real ID tokens from the Firebase Auth emulator, for tests and local demos.

The emulator speaks the Identity Toolkit REST API and accepts ``Authorization: Bearer owner``
as an administrator. A token minted here carries the custom claims, verifies with
firebase-admin (``FIREBASE_AUTH_EMULATOR_HOST`` set) and is refused by the real service.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from devstack.config import StackError

_ADMIN = {"Authorization": "Bearer owner"}
_API_KEY = "fake-api-key"  # the emulator accepts any key


def mint_token(
    auth_url: str, project: str, uid: str, claims: Mapping[str, Any] | None = None
) -> str:
    """Create (or update) user ``uid`` with ``claims`` and return a fresh ID token for it."""
    base = f"{auth_url}/identitytoolkit.googleapis.com/v1"
    email = f"{uid.lower()}@devstack.invalid"
    password = f"devstack-{uid}"
    created = _post(
        f"{base}/projects/{project}/accounts",
        {"localId": uid, "email": email, "password": password},
        headers=_ADMIN,
    )
    if not created.ok and "DUPLICATE_LOCAL_ID" not in created.text:
        _raise(created, f"create user {uid}")
    # Also for an existing user: reset email and password so we can sign in, set the claims.
    updated = _post(
        f"{base}/projects/{project}/accounts:update",
        {
            "localId": uid,
            "email": email,
            "password": password,
            "customAttributes": json.dumps(dict(claims or {})),
        },
        headers=_ADMIN,
    )
    if not updated.ok:
        _raise(updated, f"set claims of {uid}")
    signed_in = _post(
        f"{base}/accounts:signInWithPassword?key={_API_KEY}",
        {"email": email, "password": password, "returnSecureToken": True},
    )
    if not signed_in.ok:
        _raise(signed_in, f"sign in as {uid}")
    return str(signed_in.json()["idToken"])


def _post(
    url: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> requests.Response:
    try:
        return requests.post(url, json=body, headers=dict(headers or {}), timeout=10)
    except requests.RequestException as error:
        raise StackError(f"Auth emulator did not answer {url}: {error}") from None


def _raise(response: requests.Response, what: str) -> None:
    raise StackError(f"could not {what}: HTTP {response.status_code} {response.text[:300]}")


def main(argv: list[str] | None = None) -> int:
    """Print an ID token for a test user of the running `make run` stack."""
    import argparse

    from devstack.config import REPO_ROOT, read_ports
    from shared.config import LOCAL_PROJECT

    parser = argparse.ArgumentParser(prog="python -m devstack.auth", description=main.__doc__)
    parser.add_argument("uid", help="the test user's uid, e.g. learner-1")
    parser.add_argument("--role", choices=("student", "teacher", "admin"), default="student")
    args = parser.parse_args(argv)
    host, ports = read_ports(REPO_ROOT / "firebase.json")  # the ports `make run` uses
    auth_url = f"http://{host}:{ports['auth']}"
    print(mint_token(auth_url, LOCAL_PROJECT, args.uid, {"role": args.role}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
