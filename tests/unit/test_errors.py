"""The error hierarchy: stable, unique codes and a consistent body."""

from __future__ import annotations

import re

from shared import errors


def test_codes_are_unique_snake_case_and_have_an_http_status() -> None:
    classes = errors.all_error_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), sorted(codes)
    for cls in classes:
        assert re.fullmatch(r"[a-z][a-z0-9_]+", cls.code), cls
        assert 400 <= cls.http_status <= 599, cls


def test_every_token_failure_is_a_401_with_its_own_code() -> None:
    token_errors = [
        errors.TokenMalformed,
        errors.TokenExpired,
        errors.TokenRevoked,
        errors.TokenWrongProject,
        errors.TokenInvalid,
    ]
    assert all(issubclass(cls, errors.Unauthenticated) for cls in token_errors)
    assert {cls.http_status for cls in token_errors} == {401}
    assert len({cls.code for cls in token_errors}) == len(token_errors)


def test_the_body_carries_code_message_and_details() -> None:
    error = errors.PayloadTooLarge("Too big.", details={"limit_bytes": 10})
    assert error.to_body() == {
        "error": {
            "code": "payload_too_large",
            "message": "Too big.",
            "details": {"limit_bytes": 10},
        }
    }


def test_rate_limited_says_when_to_retry() -> None:
    error = errors.RateLimited(retry_after_seconds=30)
    assert error.http_status == 429
    assert error.to_body()["error"]["details"] == {"retry_after_seconds": 30}
