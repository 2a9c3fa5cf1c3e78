"""schemathesis against docs/openapi.json on a local stack: generated requests, checked answers.

Every operation of the document gets requests generated from its schemas, valid ones
(positive) and invalid ones (negative: wrong types, missing fields, broken headers, bodies
of the wrong media type), sent over HTTP with a real ID token. Each answer is checked against
the document: no 5xx, a documented status code, content type, headers and body schema, and
invalid input refused with a 4xx. Operations on one session also run with the id of a real
session of the fuzzing learner, so the handlers behind the 404 get exercised too.

Used by tests/e2e/test_api_fuzz.py (bounded, in ``make test``) and bench/api_fuzz.py (larger,
against ``make run``). Loopback only: it refuses any other host.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.http import SECURITY_HEADERS
from tools.openapi import DOCUMENT

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class FuzzReport:
    """What a run sent and what came back."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        histogram = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        return (
            f"{self.requests} requests, {len(self.failures)} failures, "
            f"{self.server_errors} 5xx; statuses {histogram}"
        )


def _missing_security_headers(response: schemathesis.Response) -> list[str]:
    # schemathesis keeps header names in lower case, each with a list of values
    return [name for name in SECURITY_HEADERS if name.lower() not in response.headers]


def fuzz(
    base_url: str,
    token: str,
    *,
    examples: int,
    session_id: str | None = None,
    seed: int | None = 0,
    on_request: Callable[[str, int], None] | None = None,
    document: Path = DOCUMENT,
) -> FuzzReport:
    """Run ``examples`` generated requests per operation and mode; failures are collected.

    Args:
        base_url: the functions' root (``http://127.0.0.1:PORT``); ``/api`` is added.
        token: a Firebase ID token of the learner the requests are sent as.
        examples: how many requests hypothesis generates per operation and mode at most.
        session_id: a real session of that learner; operations on a session also run on it.
        seed: hypothesis's seed (None: random), so a failing run can be repeated.
        document: the OpenAPI document (another one only to check this checker).
    """
    host = urlparse(base_url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"fuzzing is for a local stack only, not {host!r}")
    schema = schemathesis.openapi.from_path(str(document))
    # The learner's real token on every request: schemathesis would otherwise generate the
    # Authorization header itself (mostly empty or junk, so nearly everything would be a 401).
    # Hostile tokens have their own tests (tests/e2e/test_hostile_input.py).
    schema.config.generation.update(with_security_parameters=False)
    report = FuzzReport()
    http = requests.Session()
    api_url = f"{base_url.rstrip('/')}/api"
    # A made-up client address (198.18.0.0/15 is for benchmarks) keeps this run's per-IP
    # rate-limit counters apart from other tests' on the same stack: the local stack has no
    # front end, so the last X-Forwarded-For entry is the client.
    client = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"
    auth = {"Authorization": f"Bearer {token}", "X-Forwarded-For": client}

    def send(case: schemathesis.Case, label: str) -> None:
        response = case.call(base_url=api_url, session=http, headers=auth, timeout=30)
        report.requests += 1
        report.statuses[response.status_code] += 1
        report.by_operation[label] += 1
        if on_request is not None:
            on_request(label, response.status_code)
        missing = _missing_security_headers(response)
        if missing:
            report.failures.append(f"{label}: {response.status_code} without {missing}")
        try:
            case.validate_response(response, checks=CHECKS, headers=auth)
        except (Failure, FailureGroup) as failure:
            report.failures.append(f"{label}: {_describe(failure)}\n  {_request_line(case)}")

    # Deleting the caller (DELETE /users/me erases the account and revokes its tokens) goes
    # last, or every later request would only meet a 401.
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda operation: operation.method.upper() == "DELETE" and "{" not in operation.path,
    )
    for operation in operations:
        needs_session = "{session_id}" in operation.path
        runs: list[tuple[str, GenerationMode, dict[str, Any] | None]] = [
            ("positive", GenerationMode.POSITIVE, None),
            ("negative", GenerationMode.NEGATIVE, None),
        ]
        if needs_session and session_id is not None:
            runs.append(("own session", GenerationMode.POSITIVE, {"session_id": session_id}))
            runs.append(
                ("own session, negative", GenerationMode.NEGATIVE, {"session_id": session_id})
            )
        for kind, mode, path_parameters in runs:
            label = f"{operation.method.upper()} {operation.path} ({kind})"
            try:
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=path_parameters
                )
            except schemathesis.errors.SchemathesisError:
                continue  # nothing to negate (an operation without inputs)
            _run(strategy, examples, seed, lambda case, label=label: send(case, label))
    return report


def _run(strategy: Any, examples: int, seed: int | None, each: Callable[[Any], None]) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=seed is not None,
        print_blob=False,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        each(case)

    # Negative mode on an operation without inputs: there is nothing to make invalid.
    with contextlib.suppress(Unsatisfiable):
        run()


def _describe(failure: Failure | FailureGroup) -> str:
    if isinstance(failure, FailureGroup):
        return "; ".join(_describe(one) for one in failure.exceptions)
    return f"{failure.title}: {failure.message}"[:600]


def _request_line(case: Any) -> str:
    return (
        f"{case.method} {case.formatted_path} headers={dict(case.headers or {})!r:.200} "
        f"query={case.query!r:.100} media_type={case.media_type} body={case.body!r:.200}"
    )
