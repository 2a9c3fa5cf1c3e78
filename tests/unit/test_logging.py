"""Structured logs: Cloud Logging fields, labels, trace correlation and redaction."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from shared.logging import (
    LABELS_KEY,
    SPAN_KEY,
    TRACE_KEY,
    bind,
    bound_context,
    configure_logging,
    get_logger,
    redact_text,
    trace_fields,
)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    yield stream
    configure_logging("INFO")


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_line_has_severity_message_and_labels(log_lines: io.StringIO) -> None:
    with bound_context(function="turns", request_id="r-123", session_id="s1", uid="u1"):
        get_logger("t").warning("turn_stored", stage="store", duration_ms=12)
    (line,) = _lines(log_lines)
    assert line["severity"] == "WARNING"
    assert line["message"] == "turn_stored"
    assert line["stage"] == "store"
    assert line[LABELS_KEY] == {
        "function": "turns",
        "request_id": "r-123",
        "session_id": "s1",
        "uid": "u1",
    }


def test_context_does_not_leak_past_its_block(log_lines: io.StringIO) -> None:
    with bound_context(request_id="r-1"):
        pass
    get_logger().info("after")
    (line,) = _lines(log_lines)
    assert LABELS_KEY not in line


def test_library_warnings_go_through_the_same_pipeline(log_lines: io.StringIO) -> None:
    logging.getLogger("google.api_core").warning("retrying for learner@example.com")
    (line,) = _lines(log_lines)
    assert line["severity"] == "WARNING"
    assert "learner@example.com" not in json.dumps(line)


def test_personal_data_is_redacted_everywhere(log_lines: io.StringIO) -> None:
    get_logger().info(
        "contact from anna.k@example.org",
        header="Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        nested={"phones": ["+44 20 7946 0958", "call 415-555-0132 now"]},
    )
    text = log_lines.getvalue()
    for secret in ("anna.k@example.org", "eyJhbGciOiJSUzI1NiJ9", "7946 0958", "555-0132"):
        assert secret not in text
    assert "[REDACTED_EMAIL]" in text
    assert "[REDACTED_PHONE]" in text


@pytest.mark.parametrize(
    "harmless",
    [
        "band 6.5 after 3 turns",
        "2026-11-21T10:00:00Z",
        "session 8f14e45fceea167a5a36dedd4bea2543",
        "took 1234.5 ms",
    ],
)
def test_ordinary_numbers_are_left_alone(harmless: str) -> None:
    assert redact_text(harmless) == harmless


def test_cloud_trace_context_becomes_a_trace_path() -> None:
    fields = trace_fields("proj-1", "105445aa7843bc8bf206b12000100000/1;o=1")
    assert fields[TRACE_KEY] == "projects/proj-1/traces/105445aa7843bc8bf206b12000100000"
    assert fields[SPAN_KEY] == "0000000000000001"


def test_w3c_traceparent_is_understood() -> None:
    fields = trace_fields("proj-1", None, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert fields[TRACE_KEY] == "projects/proj-1/traces/4bf92f3577b34da6a3ce929d0e0e4736"
    assert fields[SPAN_KEY] == "00f067aa0ba902b7"


@pytest.mark.parametrize("garbage", ["", "not-a-trace", "xyz/1;o=1", "../../etc"])
def test_malformed_trace_headers_give_no_trace(garbage: str) -> None:
    assert trace_fields("proj-1", garbage, garbage) == {}


def test_fields_bound_inside_a_request_do_not_leak_into_the_next(log_lines: io.StringIO) -> None:
    with bound_context(request_id="r-1"):
        bind(uid="learner-1")
    get_logger().info("next_request")
    (line,) = _lines(log_lines)
    assert LABELS_KEY not in line
