"""One error hierarchy for the whole backend.

Every error a caller can see has a stable ``code`` (part of the API contract: clients switch
on it), an HTTP status and a message a person can act on. ``shared.http`` maps them to
responses in one place; event handlers use ``retryable`` to decide between a retry and an
acknowledged, recorded failure.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Root of every error the backend raises on purpose."""

    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False
    default_message: ClassVar[str] = "Something went wrong on our side."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)

    def to_body(self) -> dict[str, Any]:
        """The JSON body of the error response: ``{"error": {code, message, details}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


# --- 400: the request itself is wrong ------------------------------------------------------
class InvalidRequest(AppError):
    code = "invalid_request"
    http_status = 400
    default_message = "The request is not valid."


class InvalidJson(InvalidRequest):
    code = "invalid_json"
    default_message = "The request body is not valid JSON."


class ValidationFailed(InvalidRequest):
    code = "validation_failed"
    default_message = "Some fields of the request are missing or invalid."


# --- 401: who is calling is unknown ---------------------------------------------------------
class Unauthenticated(AppError):
    code = "unauthenticated"
    http_status = 401
    default_message = "Sign in first: send a Firebase ID token as 'Authorization: Bearer <token>'."


class TokenMalformed(Unauthenticated):
    code = "token_malformed"
    default_message = "The Authorization header does not hold a well-formed ID token."


class TokenExpired(Unauthenticated):
    code = "token_expired"
    default_message = "The ID token has expired: refresh it and try again."


class TokenRevoked(Unauthenticated):
    code = "token_revoked"
    default_message = "The ID token was revoked: sign in again."


class TokenWrongProject(Unauthenticated):
    code = "token_wrong_project"
    default_message = "The ID token was issued for another Firebase project."


class TokenInvalid(Unauthenticated):
    code = "token_invalid"
    default_message = "The ID token could not be verified: sign in again."


# --- 403, 404, 405, 409 ------------------------------------------------------------------------
class PermissionDenied(AppError):
    code = "permission_denied"
    http_status = 403
    default_message = "You do not have access to this."


class OriginNotAllowed(PermissionDenied):
    code = "origin_not_allowed"
    default_message = "Requests from this web origin are not allowed."


class NotFound(AppError):
    code = "not_found"
    http_status = 404
    default_message = "Nothing was found here."


class MethodNotAllowed(AppError):
    code = "method_not_allowed"
    http_status = 405
    default_message = "This method is not allowed here."


class Conflict(AppError):
    code = "conflict"
    http_status = 409
    default_message = "The request conflicts with the current state."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request body."


# --- 413, 415, 429 -----------------------------------------------------------------------------
class PayloadTooLarge(AppError):
    code = "payload_too_large"
    http_status = 413
    default_message = "The request body is too large."


class UnsupportedMediaType(AppError):
    code = "unsupported_media_type"
    http_status = 415
    default_message = "This content type is not accepted here."


class RateLimited(AppError):
    code = "rate_limited"
    http_status = 429
    retryable = True
    default_message = "Too many requests: wait a little and try again."

    def __init__(self, retry_after_seconds: int, message: str | None = None):
        super().__init__(message, details={"retry_after_seconds": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


# --- 5xx: our side or a dependency ------------------------------------------------------------
class InternalError(AppError):
    """An unexpected failure; the body carries only the request id."""


class DependencyUnavailable(AppError):
    code = "dependency_unavailable"
    http_status = 503
    retryable = True
    default_message = "A service we depend on is not answering; try again shortly."


def all_error_classes() -> list[type[AppError]]:
    """Every concrete error (AppError's subclasses), for the code registry and its tests."""
    found: list[type[AppError]] = []
    pending: list[type[AppError]] = list(AppError.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
