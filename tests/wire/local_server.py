"""The plumbing every wire fake shares: a threaded HTTP server on 127.0.0.1 and a free port,
run in a background thread, a quiet handler that reads JSON bodies, and a server whose
handler sees one shared state holding the requests it recorded."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, Self, TypeVar


class LocalServer:
    """Start with ``start()`` or a ``with`` block; ``endpoint`` is its base URL."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            # A short poll interval lets stop() return at once instead of after half a second.
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._http.server_port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class QuietJsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep test output quiet

    def read_json(self) -> Any:
        """The request body as JSON, or None when it is not JSON."""
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None


Recorded = TypeVar("Recorded")


class RecordingState(Protocol[Recorded]):
    """What a wire fake's state holds at least: the requests it saw, under its lock."""

    requests: list[Recorded]
    lock: threading.Lock


class RecordingServer(LocalServer, Generic[Recorded]):
    """A server whose ``handler`` class sees ``state`` as ``server_state``; ``requests`` is
    a copy of what it recorded so far."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], state: RecordingState[Recorded]
    ) -> None:
        self._recording = state
        super().__init__(type(handler.__name__, (handler,), {"server_state": state}))

    @property
    def requests(self) -> list[Recorded]:
        with self._recording.lock:
            return list(self._recording.requests)
