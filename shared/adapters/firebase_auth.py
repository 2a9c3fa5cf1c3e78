"""TokenVerifier on Firebase Auth ID tokens (firebase-admin), or on the Auth emulator locally.

A named firebase_admin App (``projectId`` = the project) is initialised on first use and
reused. In emulator mode firebase-admin reads ``FIREBASE_AUTH_EMULATOR_HOST`` from
``os.environ`` and then accepts unsigned tokens, so the host is exported from Settings there,
and a verifier whose Settings name no emulator refuses to run while the variable is set.

Failures map to distinct codes: token_malformed (not a JWT: checked here before
firebase-admin), token_expired, token_revoked (revoked, disabled or deleted account, with
``check_revoked``), token_wrong_project (``aud``/``iss`` of another project) and
token_invalid (anything else, e.g. a bad signature or a forged ``alg: none``). Failing to
fetch Google's signing certificates, or the user record, raises DependencyUnavailable.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import time
from typing import Any, NoReturn

import firebase_admin
from firebase_admin import auth
from firebase_admin import exceptions as fb_exc

from shared import errors
from shared.adapters._emulator import ensure_emulator_env
from shared.adapters.failures import dependency_unavailable
from shared.config import ConfigurationError, Settings
from shared.models.identity import Caller, Role

DEPENDENCY = "firebase_auth"
EMULATOR_ENV = "FIREBASE_AUTH_EMULATOR_HOST"
ISSUER_PREFIX = "https://securetoken.google.com/"
CUSTOM_TOKEN_AUDIENCE = (
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
)
MAX_TOKEN_CHARS = 16 * 1024  # real ID tokens are about 1 KB; refuse to parse megabytes
ROLES: tuple[Role, ...] = ("student", "teacher", "admin")
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    auth.CertificateFetchError,
    fb_exc.UnavailableError,
    fb_exc.DeadlineExceededError,
    fb_exc.InternalError,
    fb_exc.UnknownError,
)


def decode_segment(segment: str) -> dict[str, Any]:
    """One base64url JWT segment holding a JSON object; TokenMalformed otherwise."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as error:  # json.JSONDecodeError is a ValueError
        raise errors.TokenMalformed() from error
    if not isinstance(value, dict):
        raise errors.TokenMalformed()
    return value


def parse_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT, not verified; TokenMalformed unless the token has three
    base64url segments whose first two hold JSON objects (the third may be empty)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise errors.TokenMalformed()
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise errors.TokenMalformed()
    if not all(_SEGMENT.fullmatch(part) for part in parts):
        raise errors.TokenMalformed()
    return decode_segment(parts[0]), decode_segment(parts[1])


def caller_from_claims(claims: dict[str, Any]) -> Caller:
    """The Caller of verified claims; an unknown or missing ``role`` claim means student."""
    role = claims.get("role")
    firebase = claims.get("firebase")
    provider = firebase.get("sign_in_provider") if isinstance(firebase, dict) else None
    return Caller(
        uid=str(claims.get("uid") or claims["sub"]),
        role=role if role in ROLES else "student",
        email_verified=claims.get("email_verified") is True,
        sign_in_provider=provider if isinstance(provider, str) else None,
    )


class LazyFirebaseApp:
    """The named firebase_admin App of a project, initialised on first use and shared by the
    token verifier and the identity admin (same name, same project, one per process)."""

    def __init__(
        self, settings: Settings, *, app_name: str | None = None, timeout_seconds: float = 10.0
    ):
        self._settings = settings
        self._name = app_name or f"speaking-coach-auth-{settings.google_cloud_project}"
        self._timeout = timeout_seconds
        self._app: firebase_admin.App | None = None
        self._lock = threading.Lock()

    def get(self) -> firebase_admin.App:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    ensure_emulator_env(EMULATOR_ENV, self._settings.firebase_auth_emulator_host)
                    try:
                        self._app = firebase_admin.get_app(self._name)
                    except ValueError:  # not initialised yet in this process
                        self._app = firebase_admin.initialize_app(
                            options={
                                "projectId": self._settings.google_cloud_project,
                                "httpTimeout": self._timeout,
                            },
                            name=self._name,
                        )
        return self._app


class FirebaseTokenVerifier:
    """ports.TokenVerifier on firebase-admin.

    ``timeout_seconds`` bounds fetching Google's certificates and, with ``check_revoked``,
    reading the user record.
    """

    def __init__(
        self, settings: Settings, *, app_name: str | None = None, timeout_seconds: float = 10.0
    ):
        self._settings = settings
        self._project = settings.google_cloud_project
        self._app = LazyFirebaseApp(settings, app_name=app_name, timeout_seconds=timeout_seconds)

    @property
    def emulated(self) -> bool:
        return self._settings.firebase_auth_emulator_host is not None

    def _firebase_app(self) -> firebase_admin.App:
        return self._app.get()

    def _refuse_stray_emulator(self) -> None:
        # firebase-admin skips signature checks whenever the variable is set: fail closed.
        if not self.emulated and os.environ.get(EMULATOR_ENV):
            raise ConfigurationError(
                f"{EMULATOR_ENV} is set in the environment but not in Settings: "
                "refusing to accept unsigned tokens"
            )

    def verify(self, token: str, *, check_revoked: bool = False) -> Caller:
        _, unverified = parse_unverified(token)
        self._refuse_stray_emulator()
        app = self._firebase_app()
        try:
            claims = auth.verify_id_token(token, app=app, check_revoked=check_revoked)
        except auth.ExpiredIdTokenError as error:
            raise errors.TokenExpired() from error
        except (auth.RevokedIdTokenError, auth.UserDisabledError, auth.UserNotFoundError) as error:
            raise errors.TokenRevoked() from error
        except auth.InvalidIdTokenError as error:
            if self._for_another_project(unverified):
                raise errors.TokenWrongProject() from error
            raise errors.TokenInvalid() from error
        except _UNAVAILABLE as error:
            self._unavailable(error)
        # firebase-admin does not check expiry of emulator tokens; production tokens pass here.
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires <= time.time():
            raise errors.TokenExpired()
        return caller_from_claims(claims)

    def _for_another_project(self, claims: dict[str, Any]) -> bool:
        audience, issuer = claims.get("aud"), claims.get("iss")
        if audience == CUSTOM_TOKEN_AUDIENCE:
            return False  # a custom token, not an ID token: invalid, whatever its project
        return audience != self._project or issuer != ISSUER_PREFIX + self._project

    @staticmethod
    def _unavailable(error: BaseException) -> NoReturn:
        dependency_unavailable(DEPENDENCY, "verify", error)
