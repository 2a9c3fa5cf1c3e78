"""Every deployable function: its entry point, how it is triggered and where it is reached.

One list that the local stack (which path goes to which function, which topic to which event
function), the deployability test, the cold-start benchmark, firebase.json's rewrites and the
Terraform checks all read, so none of them keeps its own copy. Importing this module costs
nothing: it holds plain data only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class HttpFunction:
    """An HTTP function; ``paths`` are the API path prefixes it serves (after ``/api``).

    A ``*`` in a prefix stands for exactly one path segment (``/sessions/*/turns``).
    """

    name: str
    paths: tuple[str, ...]
    kind: Literal["http"] = "http"
    typical_request: tuple[str, str] = ("GET", "/healthz")
    needs_auth: bool = True


@dataclass(frozen=True)
class EventFunction:
    """A CloudEvent function triggered by messages on one Pub/Sub topic.

    ``topic_setting`` names the Settings field holding the topic id.
    """

    name: str
    topic_setting: str
    kind: Literal["event"] = "event"
    retry: bool = True
    extra: dict[str, str] = field(default_factory=dict)


# Listed most specific first: /sessions/{id}/turns belongs to `turns`, not to `sessions`.
HTTP_FUNCTIONS: tuple[HttpFunction, ...] = (
    HttpFunction(
        name="health",
        paths=("/healthz", "/readyz"),
        typical_request=("GET", "/healthz"),
        needs_auth=False,
    ),
    HttpFunction(
        name="users",
        paths=("/users", "/teachers", "/admin"),
        typical_request=("GET", "/users/me"),
    ),
    # A turn's real request carries audio; its typical request is the limits the app reads
    # before recording (the only turns route that needs no session to exist).
    HttpFunction(
        name="turns",
        paths=("/sessions/*/turns",),
        typical_request=("GET", "/sessions/-/turns/limits"),
    ),
    # Its typical request is the band scale: the only results route that needs no session.
    HttpFunction(
        name="results",
        paths=("/sessions/*/results",),
        typical_request=("GET", "/sessions/-/results/scale"),
    ),
    HttpFunction(name="sessions", paths=("/sessions",), typical_request=("GET", "/sessions")),
)

EVENT_FUNCTIONS: tuple[EventFunction, ...] = (
    EventFunction("score_session", "topic_session_finished"),
    EventFunction("analyze_session", "topic_analysis_requested"),
)


def all_entry_points() -> list[str]:
    """Names of every function main.py must expose."""
    return [f.name for f in HTTP_FUNCTIONS] + [f.name for f in EVENT_FUNCTIONS]
