"""A local stand-in for Gemini on Vertex AI that speaks the ``generateContent`` REST format.

``POST /{v1|v1beta1}/projects/P/locations/L/publishers/google/models/M:generateContent``
takes the camelCase JSON google-genai sends::

    {"contents": [{"role": "user", "parts": [{"text": ...}]}],
     "systemInstruction": {"role": "user", "parts": [{"text": ...}]},
     "generationConfig": {"temperature", "maxOutputTokens", "responseMimeType",
                          "responseSchema" | "responseJsonSchema", "thinkingConfig", ...}}

checks it as the service does (a bearer token, known fields only, non-empty contents of
``user``/``model`` turns with parts, a temperature from 0 to 2, a positive token limit, a
schema only with ``application/json`` and never both schema fields) and answers like Vertex
AI::

    {"candidates": [{"content": {"role": "model", "parts": [{"text": ...}]},
                     "finishReason": "STOP"}],
     "usageMetadata": {"promptTokenCount", "candidatesTokenCount", "totalTokenCount", ...},
     "modelVersion": ..., "createTime": ..., "responseId": ...}

or with a Google error body ``{"error": {"code", "message", "status"}}``. Token counts are
words, which is all a test needs.

Every request is recorded. What is answered, in order of precedence:
``fail_next(503)`` (an error status), ``answer_next(Answer.json({...}))`` (queued answers,
including blocked candidates, blocked prompts, thoughts and raw bodies),
``answer_with(fn)`` (a function of the recorded request: programmable), and by default a
canned answer that fits the request's schema.

    with GeminiServer() as server:
        client = genai.Client(vertexai=True, project="p", location="europe-west4",
                              credentials=StaticTokenCredentials(),
                              http_options=types.HttpOptions(base_url=server.endpoint))
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.wire.local_server import QuietJsonHandler, RecordingServer

DEFAULT_QUESTION = "Why do you think that is the case for most people?"
DEFAULT_TEXT = "Understood."

_PATH = re.compile(
    r"/(?P<version>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/google/models/(?P<model>[^/:]+):generateContent"
)
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_REQUEST_FIELDS = {
    "contents",
    "systemInstruction",
    "generationConfig",
    "safetySettings",
    "tools",
    "toolConfig",
    "labels",
    "cachedContent",
    "modelArmorConfig",
}
# Proto JSON accepts a field's lowerCamelCase name and its original snake_case name.
_CONFIG_FIELDS = {
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "thinkingConfig",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "responseModalities",
}
_MIME_TYPES = {"text/plain", "application/json", "text/x.enum"}
_MAX_THINKING_BUDGET = 24576


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _get(mapping: dict[str, Any], camel: str) -> Any:
    """A field by either of its proto JSON names."""
    if camel in mapping:
        return mapping[camel]
    return mapping.get(_snake(camel))


@dataclass(frozen=True)
class Answer:
    """What to answer one valid request with.

    ``text`` None means a candidate without content (a blocked answer); ``prompt_block_reason``
    answers with no candidate at all; ``raw_body`` answers 200 with exactly those bytes;
    ``thought`` adds a thought part before the text; ``delay_seconds`` waits first.
    """

    text: str | None = DEFAULT_TEXT
    finish_reason: str = "STOP"
    thought: str | None = None
    prompt_block_reason: str | None = None
    raw_body: bytes | None = None
    delay_seconds: float = 0.0
    model_version: str | None = None

    @classmethod
    def json(cls, value: Any, **kwargs: Any) -> Answer:
        return cls(text=json.dumps(value), **kwargs)

    @classmethod
    def blocked(cls, finish_reason: str = "SAFETY") -> Answer:
        return cls(text=None, finish_reason=finish_reason)

    @classmethod
    def prompt_blocked(cls, reason: str = "JAILBREAK") -> Answer:
        return cls(text=None, prompt_block_reason=reason)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int

    def _path_part(self, name: str) -> str | None:
        match = _PATH.fullmatch(self.path.split("?", 1)[0])
        return match.group(name) if match else None

    @property
    def project(self) -> str | None:
        return self._path_part("project")

    @property
    def location(self) -> str | None:
        return self._path_part("location")

    @property
    def model(self) -> str | None:
        return self._path_part("model")

    @property
    def system_text(self) -> str | None:
        """The system instruction's text (its parts joined), or None when there is none."""
        instruction = _get(self.body, "systemInstruction")
        if not isinstance(instruction, dict):
            return None
        return "".join(str(part.get("text", "")) for part in instruction.get("parts", []))

    @property
    def contents(self) -> list[dict[str, Any]]:
        return list(self.body.get("contents", []))

    @property
    def user_texts(self) -> list[str]:
        """Every text part of every user turn, in order."""
        return [
            str(part.get("text", ""))
            for content in self.contents
            if content.get("role") == "user"
            for part in content.get("parts", [])
        ]

    @property
    def generation_config(self) -> dict[str, Any]:
        return dict(_get(self.body, "generationConfig") or {})


@dataclass
class _Failure:
    status: int
    message: str
    delay_seconds: float = 0.0


@dataclass
class _State:
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: deque[_Failure] = field(default_factory=deque)
    answers: deque[Answer] = field(default_factory=deque)
    responder: Callable[[RecordedRequest], Answer] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class GeminiServer(RecordingServer[RecordedRequest]):
    """The fake service on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self) -> None:
        self._state = _State()
        super().__init__(_Handler, self._state)

    def fail_next(
        self, status: int, *, times: int = 1, message: str = "", delay_seconds: float = 0.0
    ) -> None:
        """Answer the next ``times`` requests with ``status`` and a Google error body."""
        with self._state.lock:
            for _ in range(times):
                self._state.failures.append(
                    _Failure(status, message or _STATUS.get(status, "error"), delay_seconds)
                )

    def answer_next(self, *answers: Answer) -> None:
        """Answer the next valid requests with these, in order."""
        with self._state.lock:
            self._state.answers.extend(answers)

    def answer_with(self, responder: Callable[[RecordedRequest], Answer] | None) -> None:
        """Answer valid requests (once the queue is empty) with ``responder(request)``."""
        with self._state.lock:
            self._state.responder = responder


class _Handler(QuietJsonHandler):
    server_state: _State

    def do_POST(self) -> None:  # noqa: N802  (the name http.server calls)
        body = self.read_json()
        headers = {key.lower(): value for key, value in self.headers.items()}
        status, payload, delay = self._answer(body, headers)
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout test): nothing to answer

    def _record(self, body: Any, headers: dict[str, str], status: int) -> RecordedRequest:
        recorded = RecordedRequest(
            path=self.path,
            headers=headers,
            body=body if isinstance(body, dict) else {},
            status=status,
        )
        with self.server_state.lock:
            self.server_state.requests.append(recorded)
        return recorded

    def _answer(self, body: Any, headers: dict[str, str]) -> tuple[int, bytes, float]:
        match = _PATH.fullmatch(self.path.split("?", 1)[0])
        if match is None:
            self._record(body, headers, 404)
            return _error(404, f"Method not found: {self.path}")
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
            self._record(body, headers, 401)
            return _error(401, "Request is missing required authentication credential.")
        state = self.server_state
        with state.lock:
            failure = state.failures.popleft() if state.failures else None
        if failure is not None:
            self._record(body, headers, failure.status)
            status, error_body, _ = _error(failure.status, failure.message)
            return status, error_body, failure.delay_seconds
        if not isinstance(body, dict):
            self._record(body, headers, 400)
            return _error(400, "Invalid JSON payload received.")
        problem = _problem(body)
        if problem:
            self._record(body, headers, 400)
            return _error(400, problem)
        recorded = self._record(body, headers, 200)
        with state.lock:
            answer = state.answers.popleft() if state.answers else None
            responder = state.responder
        if answer is None:
            answer = responder(recorded) if responder is not None else _canned(recorded)
        if answer.raw_body is not None:
            return 200, answer.raw_body, answer.delay_seconds
        answered = _response(recorded, answer, match.group("model"))
        return 200, json.dumps(answered).encode(), answer.delay_seconds


def _error(status: int, message: str) -> tuple[int, bytes, float]:
    body = {"error": {"code": status, "message": message, "status": _STATUS.get(status, "")}}
    return status, json.dumps(body).encode(), 0.0


def _problem(body: dict[str, Any]) -> str | None:
    """What the real service would refuse in ``body``, or None."""
    unknown = sorted(set(body) - _REQUEST_FIELDS - {_snake(name) for name in _REQUEST_FIELDS})
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.'
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "Unable to submit request because it has an empty contents field."
    for content in contents:
        if not isinstance(content, dict) or content.get("role") not in ("user", "model"):
            return "Please use a valid role: user, model."
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            return "Unable to submit request because it must have at least one parts field."
        if any(
            not isinstance(part, dict) or not isinstance(part.get("text"), str) for part in parts
        ):
            return "Unable to submit request: this fake serves text parts only."
    instruction = _get(body, "systemInstruction")
    if instruction is not None:
        parts = instruction.get("parts") if isinstance(instruction, dict) else None
        if not isinstance(parts, list) or not parts:
            return "systemInstruction must have at least one part."
    config = _get(body, "generationConfig") or {}
    if not isinstance(config, dict):
        return "generationConfig must be an object."
    known = _CONFIG_FIELDS | {_snake(name) for name in _CONFIG_FIELDS}
    unknown = sorted(set(config) - known)
    if unknown:
        return f'Invalid JSON payload received. Unknown name "{unknown[0]}" at generation_config.'
    temperature = _get(config, "temperature")
    if temperature is not None and not 0 <= float(temperature) <= 2:
        return "temperature must be between 0 and 2."
    max_tokens = _get(config, "maxOutputTokens")
    if max_tokens is not None and not (isinstance(max_tokens, int) and 1 <= max_tokens <= 65536):
        return "max_output_tokens must be between 1 and 65536."
    mime = _get(config, "responseMimeType")
    if mime is not None and mime not in _MIME_TYPES:
        return f"response_mime_type {mime!r} is not supported."
    schema = _get(config, "responseSchema")
    json_schema = _get(config, "responseJsonSchema")
    if schema is not None and json_schema is not None:
        return "response_schema and response_json_schema cannot both be set."
    if (schema is not None or json_schema is not None) and mime not in (
        "application/json",
        "text/x.enum",
    ):
        return "response_mime_type must be application/json when a response schema is set."
    thinking = _get(config, "thinkingConfig")
    if thinking is not None:
        budget = _get(thinking, "thinkingBudget")
        if budget is not None and not (
            isinstance(budget, int) and -1 <= budget <= _MAX_THINKING_BUDGET
        ):
            return "thinking_budget is out of range."
    return None


def _schema_of(request: RecordedRequest) -> dict[str, Any] | None:
    config = request.generation_config
    schema = _get(config, "responseJsonSchema") or _get(config, "responseSchema")
    return schema if isinstance(schema, dict) else None


def _canned(request: RecordedRequest) -> Answer:
    """A plausible answer: JSON fitting the schema when there is one, else a short text."""
    schema = _schema_of(request)
    if schema is None:
        return Answer(text=DEFAULT_TEXT)
    properties = schema.get("properties") or {}
    value: dict[str, Any] = {}
    for name, spec in properties.items():
        kind = str(spec.get("type", "string")).lower() if isinstance(spec, dict) else "string"
        if name == "question":
            value[name] = DEFAULT_QUESTION
        else:
            value[name] = {"string": "ok", "integer": 0, "number": 0, "boolean": False}.get(
                kind, [] if kind == "array" else {}
            )
    return Answer.json(value)


def _words(text: str) -> int:
    return len(text.split())


def _response(request: RecordedRequest, answer: Answer, model: str) -> dict[str, Any]:
    prompt_tokens = _words(request.system_text or "") + sum(map(_words, request.user_texts))
    usage: dict[str, Any] = {"promptTokenCount": prompt_tokens, "trafficType": "ON_DEMAND"}
    payload: dict[str, Any] = {
        "modelVersion": answer.model_version or model,
        "createTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "responseId": uuid.uuid4().hex[:22],
        "usageMetadata": usage,
    }
    if answer.prompt_block_reason is not None:
        payload["promptFeedback"] = {
            "blockReason": answer.prompt_block_reason,
            "blockReasonMessage": "The prompt was blocked.",
        }
        usage["totalTokenCount"] = prompt_tokens
        return payload
    candidate: dict[str, Any] = {"finishReason": answer.finish_reason}
    output_tokens = thought_tokens = 0
    if answer.text is not None:
        parts: list[dict[str, Any]] = []
        if answer.thought is not None:
            parts.append({"text": answer.thought, "thought": True})
            thought_tokens = _words(answer.thought)
        parts.append({"text": answer.text})
        candidate["content"] = {"role": "model", "parts": parts}
        output_tokens = _words(answer.text)
        usage["candidatesTokenCount"] = output_tokens
        if thought_tokens:
            usage["thoughtsTokenCount"] = thought_tokens
    else:
        candidate["safetyRatings"] = [
            {
                "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                "probability": "HIGH",
                "blocked": True,
            }
        ]
    usage["totalTokenCount"] = prompt_tokens + output_tokens + thought_tokens
    payload["candidates"] = [candidate]
    return payload
