"""How every adapter reports a dependency that did not answer: one log line, one error."""

from __future__ import annotations

from typing import NoReturn

from shared import errors
from shared.logging import get_logger

log = get_logger(__name__)


def dependency_unavailable(
    dependency: str, operation: str, error: BaseException, reason: str = ""
) -> NoReturn:
    """Log the failure (its type only: messages may quote data) and raise
    DependencyUnavailable naming the dependency, the operation and an optional reason."""
    log.warning(
        "dependency_unavailable",
        dependency=dependency,
        operation=operation,
        error=type(error).__name__,
        reason=reason or None,
    )
    details = {"dependency": dependency, "operation": operation}
    if reason:
        details["reason"] = reason
    raise errors.DependencyUnavailable(details=details) from error
