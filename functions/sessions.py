"""The sessions function: start a mock test, list them, resume one, finish it.

The examiner domain (question bank, policy, models) is imported on the first request, not at
module load: every function shares main.py, and health or users must not pay for it at
cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.http import Api, ApiRequest
from shared.logging import bind

if TYPE_CHECKING:
    from shared.sessions.models import SessionList, SessionView

api = Api("sessions")


@api.route("POST", "/sessions")
def create_session(request: ApiRequest) -> tuple[int, SessionView]:
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


@api.route("GET", "/sessions")
def list_sessions(request: ApiRequest) -> SessionList:
    from shared.sessions import service

    return service.list_my_sessions(request.container, request.verified_caller)


@api.route("GET", "/sessions/{session_id}")
def get_session(request: ApiRequest) -> SessionView:
    from shared.sessions import service

    bind(session_id=request.path_params["session_id"])
    return service.get_session(
        request.container, request.verified_caller, request.path_params["session_id"]
    )


@api.route("POST", "/sessions/{session_id}/finish")
def finish_session(request: ApiRequest) -> SessionView:
    from shared.sessions import service

    bind(session_id=request.path_params["session_id"])
    return service.finish_session(
        request.container, request.verified_caller, request.path_params["session_id"]
    )
