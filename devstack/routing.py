"""Which function serves a path: the prefixes of functions/catalog.py, as Hosting rewrites do.

A prefix matches the path itself and everything below it (``/users`` serves ``/users/me``,
never ``/usersx``); ``*`` stands for exactly one segment. When several prefixes match, the
one with the most segments wins (``/sessions/*/turns`` before ``/sessions``), then the one
listed first. An optional leading ``/api`` is ignored for matching only: the request
reaches the function unchanged and shared/http.py strips it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Paths the dispatcher keeps for itself: event deliveries and its own status page.
EVENTS_PREFIX = "/_events"
STATUS_PATH = "/_devstack/routes"


def api_segments(path: str) -> tuple[str, ...]:
    """The path's segments after an optional ``/api`` prefix, empty segments dropped."""
    if path == "/api" or path.startswith("/api/"):
        path = path[4:]
    return tuple(segment for segment in path.split("/") if segment)


@dataclass(frozen=True)
class Route:
    prefix: str
    function: str

    @property
    def segments(self) -> tuple[str, ...]:
        return api_segments(self.prefix)

    def matches(self, segments: tuple[str, ...]) -> bool:
        own = self.segments
        return len(segments) >= len(own) and all(
            mine in ("*", theirs) for mine, theirs in zip(own, segments, strict=False)
        )


class RouteTable:
    """Resolves a request path to the name of the function serving it."""

    def __init__(self, routes: Iterable[Route]):
        self.routes = tuple(routes)
        for route in self.routes:
            if not route.prefix.startswith("/") or not route.segments:
                raise ValueError(f"{route.function}: path prefix {route.prefix!r} must be /name")
            if route.prefix.startswith(("/_", "/api/_")):
                raise ValueError(f"{route.function}: paths starting with /_ are reserved")

    @classmethod
    def from_functions(cls, functions: Iterable[tuple[str, Iterable[str]]]) -> RouteTable:
        """From (function name, path prefixes) pairs, in catalog order."""
        return cls(Route(prefix, name) for name, prefixes in functions for prefix in prefixes)

    def resolve(self, path: str) -> str | None:
        segments = api_segments(path)
        best: Route | None = None
        for route in self.routes:
            if route.matches(segments) and (
                best is None or len(route.segments) > len(best.segments)
            ):
                best = route
        return best.function if best else None


def event_path(function: str, project: str, topic: str) -> str:
    """Where Pub/Sub pushes ``topic``'s messages for ``function``.

    functions-framework sees ``/projects/P/topics/T`` (the dispatcher strips the first two
    segments) and names that topic as the CloudEvent's source, as Eventarc does.
    """
    return f"{EVENTS_PREFIX}/{function}/projects/{project}/topics/{topic}"
