"""IdentityAdmin on firebase-admin's user management (the Auth emulator locally).

Shares the named firebase_admin App of ``FirebaseTokenVerifier`` (same name, same project):
in emulator mode firebase-admin reads ``FIREBASE_AUTH_EMULATOR_HOST`` and needs no
credentials; deployed, it uses the function's own service account (Application Default
Credentials), which needs the Firebase Authentication Admin role.
"""

from __future__ import annotations

from typing import Any, NoReturn

import firebase_admin
from firebase_admin import auth
from firebase_admin import exceptions as fb_exc

from shared import errors
from shared.adapters.failures import dependency_unavailable
from shared.adapters.firebase_auth import LazyFirebaseApp
from shared.config import Settings
from shared.models.identity import Role

DEPENDENCY = "firebase_auth"
ROLES: tuple[Role, ...] = ("student", "teacher", "admin")

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    fb_exc.UnavailableError,
    fb_exc.DeadlineExceededError,
    fb_exc.InternalError,
    fb_exc.UnknownError,
)


class FirebaseIdentityAdmin:
    """ports.IdentityAdmin on firebase_admin.auth."""

    def __init__(
        self, settings: Settings, *, app_name: str | None = None, timeout_seconds: float = 10.0
    ):
        self._app = LazyFirebaseApp(settings, app_name=app_name, timeout_seconds=timeout_seconds)

    def _firebase_app(self) -> firebase_admin.App:
        return self._app.get()

    def custom_claims(self, uid: str) -> dict[str, Any]:
        try:
            user = auth.get_user(uid, app=self._firebase_app())
        except auth.UserNotFoundError:
            raise _no_such_user(uid) from None
        except _UNAVAILABLE as error:
            _unavailable("get_user", error)
        return dict(user.custom_claims or {})

    def set_role(self, uid: str, role: Role) -> Role:
        claims = self.custom_claims(uid)
        previous = claims.get("role")
        try:
            auth.set_custom_user_claims(uid, {**claims, "role": role}, app=self._firebase_app())
        except auth.UserNotFoundError:
            raise _no_such_user(uid) from None
        except _UNAVAILABLE as error:
            _unavailable("set_custom_user_claims", error)
        return previous if previous in ROLES else "student"

    def revoke_refresh_tokens(self, uid: str) -> None:
        try:
            auth.revoke_refresh_tokens(uid, app=self._firebase_app())
        except auth.UserNotFoundError:
            return  # nothing left to revoke
        except _UNAVAILABLE as error:
            _unavailable("revoke_refresh_tokens", error)

    def delete_user(self, uid: str) -> bool:
        try:
            auth.delete_user(uid, app=self._firebase_app())
        except auth.UserNotFoundError:
            return False
        except _UNAVAILABLE as error:
            _unavailable("delete_user", error)
        return True

    def user_exists(self, uid: str) -> bool:
        try:
            auth.get_user(uid, app=self._firebase_app())
        except auth.UserNotFoundError:
            return False
        except _UNAVAILABLE as error:
            _unavailable("get_user", error)
        return True


def _no_such_user(uid: str) -> errors.NotFound:
    return errors.NotFound("There is no account with this uid.", details={"uid": uid})


def _unavailable(operation: str, error: BaseException) -> NoReturn:
    dependency_unavailable(DEPENDENCY, operation, error)
