"""Every entry point of speaking-coach, as Cloud Functions (2nd gen) loads them.

Deployed with ``GOOGLE_FUNCTION_SOURCE=functions/main.py`` and ``--entry-point <name>``; the
names match functions/catalog.py. Each entry point is a plain function that hands the
request to its ``Api`` (or the event to its handler): all logic lives in shared/.

Settings are validated here, at cold start: a missing or invalid variable stops the
instance with a log line naming it, before any request is accepted.
"""

from __future__ import annotations

import sys
from pathlib import Path

# functions-framework puts only this file's folder on sys.path; shared/ sits beside it.
_REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import flask  # noqa: E402
import functions_framework  # noqa: E402

from shared.config import ConfigurationError, get_settings  # noqa: E402
from shared.logging import configure_logging, get_logger  # noqa: E402

try:
    _settings = get_settings()
except ConfigurationError as error:
    configure_logging()
    get_logger(__name__).critical("invalid_configuration", problem=str(error))
    raise
configure_logging(_settings.log_level)

from cloudevents.http import CloudEvent  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402

from functions import health as _health  # noqa: E402
from functions import results as _results  # noqa: E402
from functions import scoring as _scoring  # noqa: E402
from functions import sessions as _sessions  # noqa: E402
from functions import turns as _turns  # noqa: E402
from functions import users as _users  # noqa: E402
from shared.http import not_routed_response  # noqa: E402

# What functions-framework's router refuses itself (a path its rule cannot match, such as one
# with an encoded newline) gets the API's JSON error and security headers, not Flask's HTML.
functions_framework.errorhandler(HTTPException)(not_routed_response)


@functions_framework.http
def health(request: flask.Request) -> flask.Response:
    """GET /healthz (liveness) and GET /readyz (dependencies)."""
    return _health.api(request)


@functions_framework.http
def users(request: flask.Request) -> flask.Response:
    """GET and PATCH /users/me."""
    return _users.api(request)


@functions_framework.http
def sessions(request: flask.Request) -> flask.Response:
    """POST and GET /sessions, GET /sessions/{id}, POST /sessions/{id}/finish."""
    return _sessions.api(request)


@functions_framework.http
def turns(request: flask.Request) -> flask.Response:
    """POST /sessions/{id}/turns (one answer), POST .../turns/upload-url, GET .../turns/limits."""
    return _turns.api(request)


@functions_framework.http
def results(request: flask.Request) -> flask.Response:
    """GET /sessions/{id}/results (status, summary, deep analysis), GET .../-/results/scale."""
    return _results.api(request)


@functions_framework.cloud_event
def score_session(event: CloudEvent) -> None:
    """session-finished: the fast summary (phase 1), then analysis-requested."""
    _scoring.score_session(event)


@functions_framework.cloud_event
def analyze_session(event: CloudEvent) -> None:
    """analysis-requested: the deep analysis with the judge (phase 2), then analysis-completed."""
    _scoring.analyze_session(event)
