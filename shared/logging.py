"""Structured JSON logs that Cloud Logging understands, with no personal data.

Each line is one JSON object on stdout with ``severity``, ``message``, ``time``, the trace
(``logging.googleapis.com/trace`` and ``spanId``) and labels (function, request id,
session id, uid) under ``logging.googleapis.com/labels``. A redaction processor replaces
emails, phone numbers and bearer tokens wherever they appear in a string.

Usage::

    from shared.logging import get_logger
    log = get_logger(__name__)
    log.info("turn_stored", stage="store", duration_ms=12)
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

TRACE_KEY = "logging.googleapis.com/trace"
SPAN_KEY = "logging.googleapis.com/spanId"
SAMPLED_KEY = "logging.googleapis.com/trace_sampled"
LABELS_KEY = "logging.googleapis.com/labels"
LABEL_FIELDS = ("function", "request_id", "session_id", "uid")

_SEVERITY = {
    "debug": "DEBUG",
    "info": "INFO",
    "warning": "WARNING",
    "warn": "WARNING",
    "error": "ERROR",
    "exception": "ERROR",
    "critical": "CRITICAL",
}

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
# Phone numbers: an optional +, then 9 to 15 digits with spaces, dots, dashes or brackets.
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d\s().-]{7,}\d(?![\w.])")


def redact_text(text: str) -> str:
    """Replace emails, bearer tokens, JWTs and phone numbers in ``text``."""
    text = _BEARER.sub("Bearer [REDACTED]", text)
    text = _JWT.sub("[REDACTED_TOKEN]", text)
    text = _EMAIL.sub("[REDACTED_EMAIL]", text)
    return _PHONE.sub(_redact_phone, text)


def _redact_phone(match: re.Match[str]) -> str:
    digits = sum(char.isdigit() for char in match.group())
    return "[REDACTED_PHONE]" if 9 <= digits <= 15 else match.group()


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return {key: _redact_value(value) for key, value in event.items()}


def _to_cloud_logging(
    _: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    level = str(event.pop("level", method))
    event["severity"] = _SEVERITY.get(level, "DEFAULT")
    event["message"] = event.pop("event", "")
    labels = {name: str(event.pop(name)) for name in LABEL_FIELDS if event.get(name) is not None}
    if labels:
        event[LABELS_KEY] = labels
    return event


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Set up structlog (and the stdlib root logger) to write Cloud Logging JSON lines."""
    numeric = logging.getLevelName(level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        structlog.processors.format_exc_info,
        _to_cloud_logging,
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.JSONRenderer(sort_keys=False)],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the stdlib: send their warnings through the same JSON pipeline.
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
                structlog.processors.format_exc_info,
                _to_cloud_logging,
                _redact,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(max(numeric, logging.WARNING))
    # google-api-core turns off propagation of the "google" logger unless it has a level of
    # its own; with one set, its warnings keep flowing into our JSON lines. If a client was
    # created before this call (a test process), propagation is already off: turn it back on.
    google = logging.getLogger("google")
    google.setLevel(logging.WARNING)
    google.propagate = True


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; bind fields with keyword arguments at each call."""
    return structlog.get_logger(name)


def trace_fields(
    project: str, cloud_trace_context: str | None, traceparent: str | None = None
) -> dict[str, Any]:
    """Trace fields for Cloud Logging from ``X-Cloud-Trace-Context`` or W3C ``traceparent``.

    ``X-Cloud-Trace-Context`` looks like ``TRACE_ID/SPAN_ID;o=1``; ``traceparent`` like
    ``00-TRACE_ID-SPAN_ID-01``. Anything else gives no trace fields.
    """
    if cloud_trace_context:
        match = re.fullmatch(r"([0-9a-fA-F]{32})(?:/(\d+))?(?:;o=([01]))?", cloud_trace_context)
        if match:
            fields: dict[str, Any] = {TRACE_KEY: f"projects/{project}/traces/{match.group(1)}"}
            if match.group(2):
                fields[SPAN_KEY] = format(int(match.group(2)), "016x")
            if match.group(3):
                fields[SAMPLED_KEY] = match.group(3) == "1"
            return fields
    if traceparent:
        match = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})", traceparent)
        if match:
            return {
                TRACE_KEY: f"projects/{project}/traces/{match.group(1)}",
                SPAN_KEY: match.group(2),
                SAMPLED_KEY: int(match.group(3), 16) & 1 == 1,
            }
    return {}


@contextmanager
def bound_context(**fields: Any) -> Iterator[None]:
    """Bind fields (request id, trace, uid...) to every log line inside the block.

    On exit the context is restored exactly, including fields bound inside the block with
    ``bind`` (a uid must never leak into the next request served by the same thread).
    """
    before = structlog.contextvars.get_contextvars()
    structlog.contextvars.bind_contextvars(
        **{key: value for key, value in fields.items() if value is not None}
    )
    try:
        yield
    finally:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**before)


def bind(**fields: Any) -> None:
    """Add fields (for example ``uid`` once the token is verified) to the current context."""
    structlog.contextvars.bind_contextvars(
        **{key: value for key, value in fields.items() if value is not None}
    )
