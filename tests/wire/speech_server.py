"""A local stand-in for Cloud Speech-to-Text v2 that speaks its REST wire format.

``POST /v2/projects/{p}/locations/{l}/recognizers/{r}:recognize`` takes the camelCase JSON the
real client sends (``{"recognizer", "config": {"explicitDecodingConfig": {"encoding",
"sampleRateHertz", "audioChannelCount"}, "model", "languageCodes", "features": {...}},
"content": <base64>}``), checks it as the real service does (a decoding config, inline
content or a URI, at most 10 MB inline and one minute of audio for synchronous recognition,
a language) and answers a ``RecognizeResponse`` as JSON: ``{"results": [{"alternatives":
[{"transcript", "confidence", "words": [{"startOffset": "1.200s", "endOffset", "word",
"confidence"}]}], "resultEndOffset": "3.100s", "languageCode": "en-gb"}], "metadata":
{"totalBilledDuration": "4s"}}`` (silence: no ``results`` at all), or a Google error body
``{"error": {"code", "message", "status"}}``.

Every request is recorded (with its decoded audio) so a test can check what was sent.
``answer(...)`` queues the next answers; ``fail_next(503)`` queues failures; with nothing
queued, ``responder`` decides (by default: no speech, an empty response).

    with SpeechServer() as server:
        server.answer(recognize_response([result([word("Hello", 0.3, 0.7)])]))
        client = speech_v2.SpeechClient(transport="rest", credentials=AnonymousCredentials(),
                                        client_options=ClientOptions(api_endpoint=server.endpoint))
"""

from __future__ import annotations

import base64
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.wire.local_server import QuietJsonHandler, RecordingServer

INLINE_LIMIT_BYTES = 10 * 1024 * 1024
SYNC_LIMIT_SECONDS = 60.0
_PATH = re.compile(r"^/v2/projects/([^/]+)/locations/([^/]+)/recognizers/([^/:]+):recognize$")
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_BYTES_PER_SAMPLE = {"LINEAR16": 2, "MULAW": 1, "ALAW": 1}
# The client sends enums as numbers (``?$alt=json;enum-encoding=int``); the service takes both.
_ENCODINGS = {1: "LINEAR16", 2: "MULAW", 3: "ALAW"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int

    @property
    def route(self) -> str:
        """The path without the query (the client adds ``$alt=json;enum-encoding=int``)."""
        return self.path.split("?", 1)[0]

    @property
    def query(self) -> str:
        return unquote(self.path.split("?", 1)[1]) if "?" in self.path else ""

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.body.get("config") or {})

    @property
    def features(self) -> dict[str, Any]:
        return dict(self.config.get("features") or {})

    @property
    def decoding(self) -> dict[str, Any]:
        return dict(self.config.get("explicitDecodingConfig") or {})

    @property
    def encoding(self) -> str:
        """The explicit decoding config's encoding by name, however it was sent."""
        value = self.decoding.get("encoding")
        return _ENCODINGS.get(value, str(value)) if isinstance(value, int) else str(value)

    @property
    def audio(self) -> bytes:
        return base64.b64decode(self.body.get("content") or "")

    @property
    def audio_seconds(self) -> float:
        decoding = self.decoding
        width = _BYTES_PER_SAMPLE.get(self.encoding, 2)
        rate = int(decoding.get("sampleRateHertz") or 16000)
        channels = int(decoding.get("audioChannelCount") or 1)
        return len(self.audio) / (width * rate * channels)


Responder = Callable[[RecordedRequest], tuple[int, dict[str, Any]]]


def duration(seconds: float) -> str:
    """A protobuf Duration in JSON: ``"1.200s"``; whole seconds as ``"2s"``."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{seconds:.3f}s".rstrip("0")


def word(text: str, start: float, end: float, confidence: float | None = 0.9) -> dict[str, Any]:
    """One ``WordInfo``; a zero offset is left out, as proto3 JSON leaves out defaults."""
    info: dict[str, Any] = {"word": text}
    if start:
        info["startOffset"] = duration(start)
    if end:
        info["endOffset"] = duration(end)
    if confidence:
        info["confidence"] = confidence
    return info


def result(
    words: Sequence[dict[str, Any]],
    *,
    transcript: str | None = None,
    language: str = "en-gb",
    confidence: float = 0.92,
    end: float | None = None,
) -> dict[str, Any]:
    """One ``SpeechRecognitionResult`` with a single alternative."""
    text = transcript if transcript is not None else " ".join(w["word"] for w in words)
    last = end
    if last is None:
        last = max((_parse_duration(w.get("endOffset", "0s")) for w in words), default=0.0)
    return {
        "alternatives": [{"transcript": text, "confidence": confidence, "words": list(words)}],
        "resultEndOffset": duration(last + 0.1),
        "languageCode": language,
    }


def recognize_response(
    results: Sequence[dict[str, Any]], *, billed_seconds: float = 1.0
) -> dict[str, Any]:
    """A ``RecognizeResponse``; with no results it is what silence gets (no ``results`` key)."""
    body: dict[str, Any] = {
        "metadata": {"totalBilledDuration": duration(math.ceil(billed_seconds))},
    }
    if results:
        body["results"] = list(results)
    return body


def silence(request: RecordedRequest) -> tuple[int, dict[str, Any]]:
    """The default answer: no speech found."""
    return 200, recognize_response([], billed_seconds=request.audio_seconds)


def _parse_duration(value: str) -> float:
    return float(value.rstrip("s") or 0)


@dataclass
class _State:
    responder: Responder
    requests: list[RecordedRequest] = field(default_factory=list)
    queued: deque[tuple[int, dict[str, Any], float]] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SpeechServer(RecordingServer[RecordedRequest]):
    """The fake service on 127.0.0.1 and a free port, in a background thread.

    Args:
        responder: answers a valid request when nothing is queued (default: silence).
    """

    def __init__(self, *, responder: Responder = silence) -> None:
        self._state = _State(responder=responder)
        super().__init__(_Handler, self._state)

    def answer(
        self, body: dict[str, Any], *, status: int = 200, delay_seconds: float = 0.0
    ) -> None:
        """Answer the next request (after those already queued) with ``body``, after
        ``delay_seconds`` (to make a client time out)."""
        with self._state.lock:
            self._state.queued.append((status, body, delay_seconds))

    def fail_next(self, status: int, *, times: int = 1, message: str = "") -> None:
        """Answer the next ``times`` requests with ``status`` and a Google error body."""
        for _ in range(times):
            self.answer(_error(status, message or _STATUS.get(status, "")), status=status)


class _Handler(QuietJsonHandler):
    server_state: _State

    def do_POST(self) -> None:  # noqa: N802  (the name http.server calls)
        body = self.read_json()
        seen = RecordedRequest(
            path=self.path,
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body if isinstance(body, dict) else {},
            status=0,
        )
        status, answer, delay = self._answer(seen, body)
        with self.server_state.lock:
            self.server_state.requests.append(
                RecordedRequest(seen.path, seen.headers, seen.body, status)
            )
        payload = json.dumps(answer).encode()
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client timed out and left: nothing to answer

    def _answer(self, seen: RecordedRequest, body: Any) -> tuple[int, dict[str, Any], float]:
        if not _PATH.match(self.path.split("?", 1)[0]):
            return 404, _error(404, f"Method not found: {self.path}"), 0.0
        with self.server_state.lock:
            queued = self.server_state.queued.popleft() if self.server_state.queued else None
        if queued is not None:
            return queued
        if not isinstance(body, dict):
            return 400, _error(400, "Invalid JSON payload received."), 0.0
        problem = _problem(seen)
        if problem:
            return 400, _error(400, problem), 0.0
        status, answer = self.server_state.responder(seen)
        return status, answer, 0.0


def _error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": _STATUS.get(status, "")}}


def _problem(seen: RecordedRequest) -> str | None:
    """What the real service would refuse in the request, or None."""
    config = seen.config
    if not config:
        return "Invalid RecognizeRequest: config is required for the implicit recognizer."
    explicit, auto = config.get("explicitDecodingConfig"), config.get("autoDecodingConfig")
    if explicit is None and auto is None:
        return "Either explicit_decoding_config or auto_decoding_config must be set."
    if not config.get("model"):
        return "Invalid RecognitionConfig: model is required."
    if not config.get("languageCodes"):
        return "Invalid RecognitionConfig: language_codes is required."
    if ("content" in seen.body) == ("uri" in seen.body):
        return "Exactly one of content or uri must be set."
    if explicit is not None:
        if seen.encoding not in _BYTES_PER_SAMPLE:
            return "Invalid ExplicitDecodingConfig: unsupported encoding."
        if not 8000 <= int(explicit.get("sampleRateHertz") or 0) <= 48000:
            return "Invalid ExplicitDecodingConfig: sample_rate_hertz must be 8000-48000."
    if len(seen.audio) > INLINE_LIMIT_BYTES:
        return "Audio content is larger than the 10 MB limit for inline audio."
    if explicit is not None and seen.audio_seconds > SYNC_LIMIT_SECONDS:
        return (
            "Audio can be of a maximum of 60 seconds for synchronous recognition; "
            "use BatchRecognize for longer audio."
        )
    return None
