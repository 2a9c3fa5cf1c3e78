"""LanguageModel on Gemini in Vertex AI, through google-genai (``generateContent``).

What one ``GenerationRequest`` becomes on the wire
(``POST /v1beta1/projects/P/locations/L/publishers/google/models/M:generateContent``):

- ``systemInstruction``: the brief (``request.instructions``) and nothing else.
- ``contents``: one user turn with one text part holding the quoted learner text, each
  ``QuotedText`` inside escaped ``<learner_answer label="...">`` delimiters
  (``shared.prompts.quoting``). Learner text never goes into the system instruction and the
  brief never goes into the user turn, so nothing a learner says can pose as instructions.
- ``generationConfig``: ``temperature``, ``maxOutputTokens`` and, when the request has a
  ``response_schema``, ``responseMimeType: application/json`` with the schema sent verbatim as
  ``responseJsonSchema`` (JSON Schema; the older ``responseSchema`` wants the OpenAPI subset,
  and the SDK rewrites dict keys for it). ``thinkingConfig.thinkingBudget`` is 0 by default:
  the examiner's questions are short and sit on a learner's turn, where thinking costs seconds
  and output tokens (which ``maxOutputTokens`` also has to cover).

The answer's text parts (thoughts excluded) become ``Generation.text``; ``modelVersion``
becomes ``Generation.model``; ``usageMetadata`` gives the token counts (output = candidates +
thoughts, the tokens billed as output).

Failures:
- 408, 429, 500, 502, 503, 504, timeouts and connection errors are transient: retried through
  ``shared.resilience`` (backoff, overall deadline, circuit breaker), then
  ``DependencyUnavailable``. google-genai's own retries stay off (it retries nothing unless
  ``HttpOptions.retry_options`` is set), so attempts never multiply.
- Any other status (400, 403, 404...) is a refusal: not retried, ``InternalError`` with the
  status (never the request's text).
- An answer with nothing usable (finish reason SAFETY and the like, a blocked prompt, no
  parts, a cut-off structured answer, an unreadable body) raises ``NoModelAnswer``; callers
  treat it as "no answer".

The client is created on first use (``google.genai`` costs about half a second to import, so
importing this module does not import it) and reused for the life of the instance. For
contract tests, ``endpoint="http://127.0.0.1:PORT"`` talks to ``tests/wire/gemini_server.py``
with ``StaticTokenCredentials`` (genai refreshes credentials that have no token, and anonymous
credentials cannot refresh).
"""

from __future__ import annotations

import functools
import importlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from google.auth import exceptions as auth_exceptions
from google.auth.credentials import Credentials
from pydantic import ValidationError

from shared.adapters.google_calls import google_resilience
from shared.errors import InternalError
from shared.language_errors import NoModelAnswer
from shared.logging import get_logger
from shared.models.language import Generation, GenerationRequest
from shared.prompts.quoting import quote_learner_text

if TYPE_CHECKING:
    from google import genai
    from google.genai import types

__all__ = ["GeminiConfig", "GeminiLanguageModel", "StaticTokenCredentials"]

log = get_logger(__name__)

DEPENDENCY: Final = "gemini"
# Statuses a later attempt can cure (Vertex: RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE,
# DEADLINE_EXCEEDED; 502 from a front end). Everything else is a refusal of this request.
TRANSIENT_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
# Finish reasons whose text is a whole answer. MAX_TOKENS is one only for free text: a
# structured answer cut short is not valid JSON.
_COMPLETE: Final = frozenset({"STOP", "FINISH_REASON_UNSPECIFIED"})


class StaticTokenCredentials(Credentials):
    """Credentials holding a fixed token that never expires, for a local fake service.

    google-genai refreshes credentials that are expired or have no token before each call;
    these always have one, so no refresh (which would need a real token service) happens.
    """

    def __init__(self, token: str = "local-test-token") -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.token = token

    @property
    def expired(self) -> bool:
        return False

    @property
    def valid(self) -> bool:
        return True

    def refresh(self, request: object) -> None:
        """Nothing to refresh: the token is fixed."""


@dataclass(frozen=True)
class GeminiConfig:
    """Where Gemini runs and how long we wait for it.

    Attributes:
        project: Google Cloud project that calls Vertex AI (and is billed).
        location: Vertex AI region. "europe-west4" by default: a regional endpoint keeps
            learners' words processed in the EU (the "global" endpoint gives more headroom
            against 429s but no guarantee where a request is served).
        model: the Gemini model id.
        endpoint: None for Vertex AI's own endpoint for ``location``; "http://127.0.0.1:PORT"
            for a local fake (then ``StaticTokenCredentials`` unless credentials are given).
        timeout_seconds: the limit of one attempt (also sent as the server-side timeout).
        attempts: attempts per request, the first included (transient failures only).
        deadline_seconds: the limit of all attempts and waits of one request.
        thinking_budget: thinking tokens allowed; 0 turns thinking off (fast, cheap), None
            leaves the model's default. Models that always think (2.5 Pro) refuse 0: give
            them None or a positive budget.
        breaker_failures: consecutive failed calls that open the circuit breaker.
        breaker_reset_seconds: how long an open breaker refuses calls before one trial.
    """

    project: str
    location: str = "europe-west4"
    model: str = "gemini-2.5-flash"
    endpoint: str | None = None
    timeout_seconds: float = 20.0
    attempts: int = 3
    deadline_seconds: float = 40.0
    thinking_budget: int | None = 0
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not self.project or not self.location or not self.model:
            raise ValueError("project, location and model must be set")
        if self.endpoint is not None and not self.endpoint.startswith(("https://", "http://")):
            raise ValueError("endpoint must be a URL starting with https:// or http://")
        if self.timeout_seconds <= 0 or self.deadline_seconds <= 0 or self.attempts < 1:
            raise ValueError("timeouts must be positive and attempts at least 1")
        if self.thinking_budget is not None and self.thinking_budget < 0:
            raise ValueError("thinking_budget must be 0 or more (None for the model default)")


class _Transient(Exception):
    """A failure a later attempt may cure (retried by shared.resilience)."""


class _Refused(Exception):
    """Vertex AI answered with an error status that retrying will not change."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


class _Unreadable(Exception):
    """Vertex AI answered 200 with a body the SDK could not read."""


@functools.cache
def _transport_errors() -> tuple[type[BaseException], ...]:
    """Network-level failures of the transports google-genai may use (httpx2, its own
    dependency; httpx when installed; requests through google-auth when mutual TLS is on),
    and of fetching a token. httpx2 is a fork under its own name: its errors are not httpx's.
    """
    import requests

    found: list[type[BaseException]] = [
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        auth_exceptions.TransportError,
    ]
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)  # already loaded by google-genai if present
        except ImportError:
            continue
        found.extend(
            getattr(module, error)
            for error in ("TimeoutException", "NetworkError", "RemoteProtocolError")
        )
    return tuple(found)


class GeminiLanguageModel:
    """``ports.LanguageModel`` on Gemini in Vertex AI."""

    provider: Final = "gemini"

    def __init__(
        self,
        config: GeminiConfig,
        *,
        credentials: Credentials | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``credentials`` default to the environment's (``StaticTokenCredentials`` for an
        ``http://`` endpoint); ``sleep`` and ``clock`` drive backoff and the breaker."""
        self._config = config
        self._credentials = credentials
        self._client: genai.Client | None = None
        self._lock = threading.Lock()
        self._resilience = google_resilience(
            DEPENDENCY,
            config,
            transient=(_Transient,),
            # A refusal or an unreadable answer proves the service is up: no breaker failure.
            answered=(_Refused, _Unreadable),
            sleep=sleep,
            clock=clock,
        )

    @property
    def config(self) -> GeminiConfig:
        return self._config

    def generate(self, request: GenerationRequest) -> Generation:
        """Ask the model; see the module docstring for the request and the failures.

        Raises:
            DependencyUnavailable: Vertex AI did not answer (after retries), or the breaker
                is open.
            InternalError: Vertex AI refused the request (status in ``details``).
            NoModelAnswer: it answered with nothing usable (reason in ``details``).
        """
        started = time.monotonic()
        client = self._genai()
        from google.genai import errors as genai_errors
        from google.genai import types

        contents = [
            types.Content(role="user", parts=[types.Part(text=quote_learner_text(request.quoted))])
        ]
        config = self._generation_config(request)
        model = self._config.model

        def call(timeout: float) -> types.GenerateContentResponse:
            # Per attempt: the timeout resilience allows now (google-genai takes milliseconds).
            attempt = config.model_copy(
                update={"http_options": types.HttpOptions(timeout=max(1, round(timeout * 1000)))}
            )
            try:
                return client.models.generate_content(
                    model=model, contents=contents, config=attempt
                )
            except genai_errors.APIError as error:
                if error.code in TRANSIENT_STATUSES:
                    raise _Transient(f"status {error.code}") from error
                raise _Refused(error.code, str(error.status or "")) from error
            except _transport_errors() as error:
                raise _Transient(type(error).__name__) from error
            except (json.JSONDecodeError, ValidationError) as error:
                # A 200 whose body is not JSON, or not shaped like an answer.
                raise _Unreadable(type(error).__name__) from error

        try:
            response = self._resilience.call(call)
        except _Refused as error:
            log.warning(
                "language_model_refused",
                provider=self.provider,
                template_id=request.template_id,
                status=error.status,
                reason=error.reason,
            )
            raise InternalError(
                "Gemini refused the request.",
                details={"dependency": DEPENDENCY, "status": error.status, "reason": error.reason},
            ) from None
        except _Unreadable:
            raise self._no_answer(request, "unreadable_response") from None
        except auth_exceptions.GoogleAuthError as error:
            # No usable credentials (none found, or a refresh refused): a setup problem that
            # retrying cannot fix, and not a sign of Vertex AI's health (the breaker ignores it).
            log.error(
                "language_model_credentials", provider=self.provider, error=type(error).__name__
            )
            raise InternalError(
                "Gemini could not be called: the credentials are not usable.",
                details={"dependency": DEPENDENCY, "reason": type(error).__name__},
            ) from None
        generation = self._generation(request, response)
        log.info(
            "language_model_generated",
            provider=self.provider,
            model=generation.model,
            template_id=request.template_id,
            template_hash=request.template_hash[:12],
            input_tokens=generation.input_tokens,
            output_tokens=generation.output_tokens,
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        return generation

    # --- request and answer ----------------------------------------------------------------
    def _generation_config(self, request: GenerationRequest) -> types.GenerateContentConfig:
        from google.genai import types

        schema = request.response_schema
        budget = self._config.thinking_budget
        return types.GenerateContentConfig(
            system_instruction=request.instructions,
            temperature=request.temperature,
            max_output_tokens=request.max_output_tokens,
            response_mime_type="application/json" if schema is not None else None,
            response_json_schema=schema,
            thinking_config=(
                types.ThinkingConfig(thinking_budget=budget) if budget is not None else None
            ),
        )

    def _generation(
        self, request: GenerationRequest, response: types.GenerateContentResponse
    ) -> Generation:
        candidates = response.candidates or []
        if not candidates:
            feedback = response.prompt_feedback
            blocked = feedback.block_reason if feedback is not None else None
            if blocked is None:
                raise self._no_answer(request, "no_candidates")
            raise self._no_answer(request, "prompt_blocked", finish_reason=_name(blocked))
        candidate = candidates[0]
        finish = _name(candidate.finish_reason) if candidate.finish_reason else "STOP"
        parts: Sequence[types.Part] = (candidate.content.parts or []) if candidate.content else []
        text = "".join(part.text for part in parts if part.text and not part.thought)
        complete = finish in _COMPLETE or (
            finish == "MAX_TOKENS" and request.response_schema is None
        )
        if not complete:
            raise self._no_answer(request, "finish_reason", finish_reason=finish)
        if not text.strip():
            raise self._no_answer(request, "empty", finish_reason=finish)
        usage = response.usage_metadata
        input_tokens = (usage.prompt_token_count or 0) if usage else 0
        output_tokens = (
            (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0) if usage else 0
        )
        return Generation(
            text=text,
            model=response.model_version or self._config.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def _no_answer(
        self, request: GenerationRequest, reason: str, *, finish_reason: str | None = None
    ) -> NoModelAnswer:
        log.warning(
            "language_model_no_answer",
            provider=self.provider,
            template_id=request.template_id,
            reason=reason,
            finish_reason=finish_reason,
        )
        details: dict[str, Any] = {"dependency": DEPENDENCY, "reason": reason}
        if finish_reason is not None:
            details["finish_reason"] = finish_reason
        return NoModelAnswer(details=details)

    # --- client ----------------------------------------------------------------------------
    def _genai(self) -> genai.Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> genai.Client:
        from google import genai
        from google.genai import types

        config = self._config
        credentials = self._credentials
        if credentials is None and (config.endpoint or "").startswith("http://"):
            credentials = StaticTokenCredentials()  # a local fake checks only the header
        # No retry_options: google-genai then makes one attempt; shared.resilience retries.
        options = types.HttpOptions(base_url=config.endpoint) if config.endpoint else None
        return genai.Client(
            vertexai=True,
            project=config.project,
            location=config.location,
            credentials=credentials,
            http_options=options,
        )


def _name(value: object) -> str:
    """An SDK enum's wire name (``FinishReason.SAFETY`` -> ``SAFETY``), or the text given."""
    name = getattr(value, "value", value)
    return str(name)
