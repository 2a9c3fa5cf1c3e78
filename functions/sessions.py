"""The sessions function: start a mock test, list them, resume one, finish it.

The examiner domain (question bank, policy, models) is imported on the first request, not at
module load: every function shares main.py, and health or users must not pay for it at
cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared import errors
from shared.http import Api, ApiRequest
from shared.logging import bind

if TYPE_CHECKING:
    from shared.sessions.models import SessionList, SessionView

api = Api("sessions")


@api.route(
    "POST",
    "/sessions",
    body="shared.sessions.models:CreateSession",
    response="shared.sessions.models:SessionView",
    status=(201, 200),
    idempotency_key="optional",
    raises=(errors.IdempotencyKeyReused,),
)
def create_session(request: ApiRequest) -> tuple[int, SessionView]:
    """Start a mock test (201), or answer a retry with the same Idempotency-Key (200)."""
    from shared.sessions import service
    from shared.sessions.idempotency import checked_key
    from shared.sessions.models import CreateSession

    body = request.json(CreateSession)
    offered = request.raw.headers.get("Idempotency-Key")
    key = checked_key(offered) if offered is not None else None  # optional when creating
    created, view = service.create_session(
        request.container, request.verified_caller, body, key=key
    )
    bind(session_id=view.session_id)  # on the request's own log line too
    return (201 if created else 200), view


@api.route("GET", "/sessions", response="shared.sessions.models:SessionList")
def list_sessions(request: ApiRequest) -> SessionList:
    """The signed-in user's mock tests, newest first."""
    from shared.sessions import service

    return service.list_my_sessions(request.container, request.verified_caller)


@api.route("GET", "/sessions/{session_id}", response="shared.sessions.models:SessionView")
def get_session(request: ApiRequest) -> SessionView:
    """One of the user's mock tests, where it stands now (404 for anyone else's)."""
    from shared.sessions import service

    bind(session_id=request.path_params["session_id"])
    return service.get_session(
        request.container, request.verified_caller, request.path_params["session_id"]
    )


@api.route(
    "POST",
    "/sessions/{session_id}/finish",
    response="shared.sessions.models:SessionView",
    raises=("shared.sessions.session_errors:SessionNotActive",),
)
def finish_session(request: ApiRequest) -> SessionView:
    """End the mock test now; scoring starts."""
    from shared.sessions import service

    bind(session_id=request.path_params["session_id"])
    return service.finish_session(
        request.container, request.verified_caller, request.path_params["session_id"]
    )
