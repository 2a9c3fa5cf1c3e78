"""The functions server: every function of the catalog behind one port, as Hosting and Eventarc
would reach them.

Each function is a functions-framework app built by ``functions_framework.create_app`` (the
same loader Cloud Functions uses), so a function behaves here as it does deployed. A small
WSGI dispatcher in front of them picks the app:

- ``/_events/<function>/projects/P/topics/T``: a Pub/Sub push for an event function; the
  app sees ``/projects/P/topics/T`` and turns the push body into a CloudEvent of type
  ``google.cloud.pubsub.topic.v1.messagePublished`` (functions-framework's own conversion);
- ``/_devstack/routes``: what is served where (also the readiness probe of the stack);
- anything else: the HTTP function whose catalog prefix matches (see ``routing``); the
  response carries ``X-Devstack-Function`` so a test or a human can see who answered.

Run by the stack as ``python -m devstack.server --spec functions.json --port 8080``.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from werkzeug.serving import make_server

from devstack.routing import EVENTS_PREFIX, STATUS_PATH, RouteTable


@dataclass(frozen=True)
class HttpSpec:
    name: str
    source: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class EventSpec:
    name: str
    source: str
    target: str
    topic: str
    path: str


@dataclass(frozen=True)
class ServerSpec:
    http: tuple[HttpSpec, ...]
    events: tuple[EventSpec, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServerSpec:
        return cls(
            http=tuple(
                HttpSpec(item["name"], item["source"], tuple(item["paths"]))
                for item in data["http"]
            ),
            events=tuple(
                EventSpec(item["name"], item["source"], item["target"], item["topic"], item["path"])
                for item in data["events"]
            ),
        )


class Dispatcher:
    """Routes each request to one function's WSGI app (see the module docstring)."""

    def __init__(
        self,
        routes: RouteTable,
        http_apps: Mapping[str, WSGIApplication],
        event_apps: Mapping[str, WSGIApplication],
        status: Mapping[str, Any] | None = None,
    ):
        self.routes = routes
        self.http_apps = dict(http_apps)
        self.event_apps = dict(event_apps)
        self.status = dict(status or {})

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path.startswith(EVENTS_PREFIX + "/"):
            return self._event(environ, start_response, path)
        if path == STATUS_PATH:
            return _json(start_response, "200 OK", self.status)
        name = self.routes.resolve(path)
        app = self.http_apps.get(name) if name else None
        if app is None or name is None:
            return _not_found(start_response, path, sorted(r.prefix for r in self.routes.routes))

        def tagged(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, ("X-Devstack-Function", name)], exc_info)

        return app(environ, tagged)

    def _event(
        self, environ: WSGIEnvironment, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        name, _, rest = path[len(EVENTS_PREFIX) + 1 :].partition("/")
        app = self.event_apps.get(name)
        if app is None:
            return _not_found(start_response, path, sorted(self.event_apps))
        # Mount the app below /_events/<name>: it sees /projects/P/topics/T as its path.
        environ["SCRIPT_NAME"] = f"{environ.get('SCRIPT_NAME', '')}{EVENTS_PREFIX}/{name}"
        environ["PATH_INFO"] = "/" + rest
        return app(environ, start_response)


def _json(start_response: StartResponse, status: str, body: Any) -> list[bytes]:
    payload = json.dumps(body, indent=2).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def _not_found(start_response: StartResponse, path: str, known: list[str]) -> list[bytes]:
    # The same error shape as shared/http.py, so clients handle one format.
    return _json(
        start_response,
        "404 Not Found",
        {
            "error": {
                "code": "not_found",
                "message": f"No local function serves {path[:200]}.",
                "details": {"known": known},
            }
        },
    )


def build_dispatcher(spec: ServerSpec) -> Dispatcher:
    """Load every function with functions-framework; a broken function stops the server."""
    # Imported here: `devstack.routing` users (and the stack supervisor) need not pay for it.
    import functions_framework

    http_apps = {
        item.name: functions_framework.create_app(  # type: ignore[no-untyped-call]
            target=item.name, source=item.source, signature_type="http"
        )
        for item in spec.http
    }
    event_apps = {
        item.name: functions_framework.create_app(  # type: ignore[no-untyped-call]
            target=item.target, source=item.source, signature_type="cloudevent"
        )
        for item in spec.events
    }
    routes = RouteTable.from_functions((item.name, item.paths) for item in spec.http)
    status = {
        "http": [{"prefix": r.prefix, "function": r.function} for r in routes.routes],
        "events": [
            {"function": item.name, "topic": item.topic, "path": item.path} for item in spec.events
        ],
    }
    return Dispatcher(routes, http_apps, event_apps, status)


def serve(spec: ServerSpec, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight and return."""
    dispatcher = build_dispatcher(spec)
    # Every request already gets one structured `request_served` line from shared.http;
    # werkzeug's own access line (with terminal colours) would only repeat it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Threaded like a Cloud Run instance with concurrency > 1; handlers must be thread-safe.
    server = make_server(host, port, dispatcher, threaded=True)
    stop = threading.Event()

    def on_signal(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name="functions-server", daemon=True)
    thread.start()
    print(f"devstack.server: serving on http://{host}:{port}", file=sys.stderr, flush=True)
    stop.wait()
    server.shutdown()
    thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.server", description=__doc__)
    parser.add_argument("--spec", type=Path, required=True, help="functions.json (see stack)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    spec = ServerSpec.from_json(json.loads(args.spec.read_text(encoding="utf-8")))
    serve(spec, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
