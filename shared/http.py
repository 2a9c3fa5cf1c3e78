"""The HTTP edge shared by every HTTP function: routing, auth, CORS, limits, errors, logs.

An entry point builds one ``Api`` and registers handlers on it::

    api = Api("users")

    @api.route("GET", "/users/me")
    def get_me(request: ApiRequest) -> UserProfile: ...

The ``Api`` object is the only place that turns errors into responses, so every function
answers ``{"error": {"code", "message", "details"}}`` with the same stable codes, and an
unexpected exception becomes a 500 that carries the request id and nothing of the internals.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import flask
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from shared import errors
from shared.bootstrap import Container, get_container
from shared.logging import bind, bound_context, get_logger, trace_fields
from shared.models.identity import Caller

log = get_logger(__name__)

M = TypeVar("M", bound=BaseModel)
HandlerResult = BaseModel | tuple[int, BaseModel | None] | flask.Response
Handler = Callable[["ApiRequest"], HandlerResult]

_REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{8,128}")
_SEGMENT = r"[A-Za-z0-9_-]{1,128}"  # ids never contain '.', '/' or '%': no traversal
_PARAM = re.compile(r"\{([a-z_]+)\}")
_ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Cross-Origin-Resource-Policy": "same-site",
}


@dataclass
class ApiRequest:
    """What a handler gets: the verified caller, path parameters and helpers to read the body."""

    raw: flask.Request
    request_id: str
    path_params: dict[str, str]
    container: Container
    caller: Caller | None
    route: Route | None = None

    @property
    def verified_caller(self) -> Caller:
        """The caller behind the verified token; always present on authenticated routes."""
        if self.caller is None:
            raise errors.Unauthenticated()
        return self.caller

    def json(self, model: type[M]) -> M:
        """Parse and validate a JSON body into ``model``; errors name the fields at fault.

        ``model`` must be the route's declared ``body`` (or its JSON alternative), so the
        OpenAPI document and what the handler accepts cannot drift apart.
        """
        _check_declared(self.route, "body", model)
        if self.route is not None and not self.route.body_required and self._no_body():
            return model.model_validate({})  # an optional body left out: its defaults
        settings = self.container.settings
        content_type = (self.raw.mimetype or "").lower()
        if content_type != "application/json":
            raise errors.UnsupportedMediaType(
                "Send the request body as JSON with 'Content-Type: application/json'."
            )
        body = read_body(self.raw, settings.max_json_body_bytes)
        try:
            data = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise errors.InvalidJson(details={"reason": str(error)[:200]}) from None
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise errors.ValidationFailed(details={"fields": _field_errors(error)}) from None

    def _no_body(self) -> bool:
        """The request carries no body at all (an empty one, or none declared or chunked)."""
        declared = self.raw.content_length
        if declared is not None:
            return declared == 0
        chunked = "chunked" in (self.raw.headers.get("Transfer-Encoding") or "").lower()
        return not chunked and not self.raw.mimetype

    def query(self, model: type[M]) -> M:
        """Validate the query string into the route's declared ``query`` model."""
        _check_declared(self.route, "query", model)
        data: dict[str, str | list[str]] = {}
        for name in self.raw.args:
            values = self.raw.args.getlist(name)
            data[name] = values[0] if len(values) == 1 else values
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise errors.ValidationFailed(details={"fields": _field_errors(error)}) from None


class UndeclaredInput(RuntimeError):
    """A handler read a body or query model its route does not declare (a programming error)."""


def _check_declared(route: Route | None, kind: str, model: type[BaseModel]) -> None:
    if route is None:  # built by hand (a bench or a direct call): nothing to compare with
        return
    declared = route.body if kind == "body" else route.query
    if isinstance(declared, RawBody):
        declared = declared.json_alternative
    if resolve_model(declared) is not model:
        raise UndeclaredInput(
            f"{route.method} {route.template} reads {kind} {model.__name__} but declares "
            f"{getattr(declared, '__name__', declared)!r}: declare it in Api.route({kind}=...)."
        )


def read_body(request: flask.Request, limit: int) -> bytes:
    """The request body, refusing (before reading it) anything larger than ``limit`` bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise errors.PayloadTooLarge(
            f"The request body is {declared} bytes; at most {limit} are accepted here.",
            details={"limit_bytes": limit},
        )
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise errors.PayloadTooLarge(
            f"The request body is larger than the {limit} bytes accepted here.",
            details={"limit_bytes": limit},
        )
    return body


def _field_errors(error: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(part) for part in problem["loc"]) or "(body)",
            "problem": problem["msg"],
        }
        for problem in error.errors(include_url=False, include_input=False)
    ]


# A model, or "package.module:Name" imported on first use: the entry points share main.py, so
# a function must not import another's domain models at cold start to declare its routes.
ModelRef = type[BaseModel] | str


# An error class, or "package.module:Name" imported when the OpenAPI document is made.
ErrorRef = type[errors.AppError] | str


@functools.cache
def _import_class(reference: str, base: type) -> Any:
    module_name, _, name = reference.partition(":")
    found = getattr(importlib.import_module(module_name), name)
    if not (isinstance(found, type) and issubclass(found, base)):
        raise TypeError(f"{reference} is not a {base.__name__}")
    return found


def resolve_model(reference: ModelRef | None) -> type[BaseModel] | None:
    """The model a route declaration names (importing it when named by a string)."""
    if reference is None or isinstance(reference, type):
        return reference
    model: type[BaseModel] = _import_class(reference, BaseModel)
    return model


def resolve_error(reference: ErrorRef) -> type[errors.AppError]:
    """The error class a route's ``raises`` names (importing it when named by a string)."""
    if isinstance(reference, type):
        return reference
    error: type[errors.AppError] = _import_class(reference, errors.AppError)
    return error


@dataclass(frozen=True)
class RawBody:
    """A request body of raw bytes (a recorded answer), not JSON.

    ``media_types`` are the accepted Content-Types (``audio/*`` allowed); ``json_alternative``
    is a JSON body accepted instead (``{"uploaded": true}``).
    """

    media_types: tuple[str, ...]
    json_alternative: ModelRef | None = None
    description: str = ""


IdempotencyKeyRule = Literal["required", "optional"]


@dataclass(frozen=True)
class Route:
    """One registered route and what the OpenAPI document says about it."""

    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    authenticated: bool
    sensitive: bool
    body: ModelRef | RawBody | None = None
    response: ModelRef | None = None
    statuses: tuple[int, ...] = (200,)
    query: ModelRef | None = None
    summary: str = ""
    idempotency_key: IdempotencyKeyRule | None = None
    raises: tuple[ErrorRef, ...] = ()
    body_required: bool = True

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


class Api:
    """The routes of one HTTP function and the request pipeline around them."""

    def __init__(self, function_name: str):
        self.function_name = function_name
        self._routes: list[Route] = []

    def route(
        self,
        method: str,
        template: str,
        *,
        authenticated: bool = True,
        sensitive: bool = False,
        body: ModelRef | RawBody | None = None,
        response: ModelRef | None = None,
        status: int | tuple[int, ...] = 200,
        query: ModelRef | None = None,
        summary: str | None = None,
        idempotency_key: IdempotencyKeyRule | None = None,
        raises: tuple[ErrorRef, ...] = (),
        body_required: bool = True,
    ) -> Callable[[Handler], Handler]:
        """Register a handler for ``method`` on ``template`` (``/sessions/{session_id}``).

        ``sensitive`` routes (export, erase, role changes) always check token revocation.
        The rest describes the route for the OpenAPI document (tools/openapi.py); a model is
        a class or ``"package.module:Name"`` (imported on first use, to keep cold starts light):

        Args:
            body: the JSON request model (read it with ``request.json(Model)``, which refuses
                any other model) or a ``RawBody``; None when the route takes no body.
            response: the model of a successful answer; None for an empty one.
            status: the success status, or several (``(201, 200)``: created or replayed).
            query: the query-string model (read it with ``request.query(Model)``).
            summary: one line for the document; the handler's docstring's first line if None.
            idempotency_key: whether the ``Idempotency-Key`` header is required or optional.
            raises: domain errors the route raises beyond those of the edge (documented with
                their status and code).
            body_required: False when a JSON ``body`` may be left out (``request.json`` then
                gives the model's defaults); every field of the model needs a default.
        """

        def register(handler: Handler) -> Handler:
            regex = _PARAM.sub(lambda m: f"(?P<{m.group(1)}>{_SEGMENT})", template.rstrip("/"))
            doc_line = (handler.__doc__ or "").strip().splitlines()
            self._routes.append(
                Route(
                    method.upper(),
                    re.compile(f"{regex}/?"),
                    template,
                    handler,
                    authenticated,
                    sensitive,
                    body=body,
                    response=response,
                    statuses=(status,) if isinstance(status, int) else tuple(status),
                    query=query,
                    summary=summary or (doc_line[0] if doc_line else ""),
                    idempotency_key=idempotency_key,
                    raises=tuple(raises),
                    body_required=body_required,
                )
            )
            return handler

        return register

    @property
    def routes(self) -> tuple[Route, ...]:
        """Every registered route with its metadata, in registration order."""
        return tuple(self._routes)

    @property
    def templates(self) -> list[tuple[str, str]]:
        """(method, path template) of every route, for docs and tests."""
        return [(route.method, route.template) for route in self._routes]

    def __call__(self, request: flask.Request) -> flask.Response:
        """Serve one request (the functions-framework entry point delegates here)."""
        started = time.perf_counter()
        container = get_container()
        settings = container.settings
        request_id = _request_id(request)
        trace = trace_fields(
            settings.google_cloud_project,
            request.headers.get("X-Cloud-Trace-Context"),
            request.headers.get("traceparent"),
        )
        with bound_context(function=self.function_name, request_id=request_id, **trace):
            error_code: str | None = None
            try:
                response = self._dispatch(request, request_id, container)
            except errors.AppError as error:
                error_code = error.code
                response = _error_response(error)
            except Exception:  # the one place a 500 is made: log it with its traceback, hide it
                error_code = errors.InternalError.code
                log.exception("request_crashed", error_code=error_code)
                response = _error_response(
                    errors.InternalError(
                        f"Something went wrong on our side. Quote request id {request_id} "
                        "if you contact support.",
                        details={"request_id": request_id},
                    )
                )
            self._finish(request, response, request_id)
            # One line per request: the log-based metrics (latency, errors by code) read it.
            (log.warning if response.status_code >= 500 else log.info)(
                "request_served",
                method=request.method,
                route=self._route_label(request),
                status=response.status_code,
                error_code=error_code,
                latency_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            return response

    def _dispatch(
        self, request: flask.Request, request_id: str, container: Container
    ) -> flask.Response:
        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/") not in container.settings.cors_allowed_origins:
            raise errors.OriginNotAllowed(details={"origin": origin[:200]})
        path = _api_path(request.path)
        matched = [(route, route.pattern.fullmatch(path)) for route in self._routes]
        candidates = [(route, match) for route, match in matched if match]
        if not candidates:
            raise errors.NotFound(f"There is no {path[:200]!r} here.")
        if request.method == "OPTIONS":
            methods = sorted({route.method for route, _ in candidates} | {"OPTIONS"})
            return flask.Response(
                status=204,
                headers={"Access-Control-Allow-Methods": ", ".join(methods)},
                mimetype="text/plain",
            )
        for route, match in candidates:
            if route.method == request.method or (
                request.method == "HEAD" and route.method == "GET"
            ):
                caller = self._authenticate(request, container, route)
                if caller is not None:  # limits count users and IPs; health has no user
                    _enforce_limits(container, route, caller, request, match.groupdict())
                api_request = ApiRequest(
                    request, request_id, match.groupdict(), container, caller, route
                )
                return _to_response(route.handler(api_request))
        allowed = ", ".join(sorted({route.method for route, _ in candidates}))
        raise errors.MethodNotAllowed(
            f"{request.method} is not allowed on {path[:200]}; use {allowed}.",
            details={"allowed": allowed},
        )

    def _authenticate(
        self, request: flask.Request, container: Container, route: Route
    ) -> Caller | None:
        if not route.authenticated:
            return None
        header = request.headers.get("Authorization")
        if not header:
            raise errors.Unauthenticated()
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.TokenMalformed("The Authorization header must be 'Bearer <ID token>'.")
        check_revoked = route.sensitive or container.settings.auth_check_revoked
        caller = container.token_verifier.verify(token.strip(), check_revoked=check_revoked)
        bind(uid=caller.uid)
        return caller

    def _finish(self, request: flask.Request, response: flask.Response, request_id: str) -> None:
        response.headers.update(SECURITY_HEADERS)
        response.headers["X-Request-Id"] = request_id
        origin = request.headers.get("Origin")
        if (
            origin is not None
            and origin.rstrip("/") in get_container().settings.cors_allowed_origins
        ):
            response.headers["Access-Control-Allow-Origin"] = origin.rstrip("/")
            response.headers["Access-Control-Allow-Headers"] = _ALLOWED_HEADERS
            response.headers["Access-Control-Expose-Headers"] = "X-Request-Id, Retry-After"
            response.headers["Access-Control-Max-Age"] = "3600"
            response.headers.add("Vary", "Origin")

    def _route_label(self, request: flask.Request) -> str:
        path = _api_path(request.path)
        for route in self._routes:
            if route.pattern.fullmatch(path):
                return route.template
        return "(unmatched)"


def _enforce_limits(
    container: Container,
    route: Route,
    caller: Caller,
    request: flask.Request,
    path_params: dict[str, str],
) -> None:
    """The route's rate limits (shared/limits): 429 with Retry-After past one of them."""
    from shared.limits import enforce_route_limits  # on first use: not at cold start

    enforce_route_limits(
        container,
        route.method,
        route.template,
        caller,
        path_params=path_params,
        headers=request.headers,
        remote_addr=request.remote_addr,
    )


def _api_path(path: str) -> str:
    """The API path: Firebase Hosting rewrites keep an ``/api`` prefix, which we drop."""
    if path == "/api" or path.startswith("/api/"):
        path = path[4:] or "/"
    return path


def _request_id(request: flask.Request) -> str:
    offered = request.headers.get("X-Request-Id", "")
    return offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


def _to_response(result: HandlerResult) -> flask.Response:
    if isinstance(result, flask.Response):
        return result
    status, model = result if isinstance(result, tuple) else (200, result)
    if model is None:
        return flask.Response(status=status)
    return json_response(status, model.model_dump(mode="json"))


def json_response(
    status: int, body: Any, headers: Iterable[tuple[str, str]] = ()
) -> flask.Response:
    """A JSON response with the given status."""
    return flask.Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        mimetype="application/json",
        headers=list(headers),
    )


def not_routed_response(refusal: HTTPException) -> flask.Response:
    """The answer to a request functions-framework's own router refused before ``Api`` saw it.

    Its rules cannot match some paths (a newline in a segment) and it keeps /robots.txt and
    /favicon.ico for itself; Flask would answer those with an HTML page and no security
    headers. Registered in functions/main.py with ``functions_framework.errorhandler``.
    """
    status = refusal.code or 500
    error: errors.AppError
    if status == 404:
        error = errors.NotFound("There is nothing at this path.")
    elif status == 405:
        error = errors.MethodNotAllowed()
    elif status == 413:
        error = errors.PayloadTooLarge()
    elif status < 500:
        error = errors.InvalidRequest()
    else:
        error = errors.InternalError()
    response = _error_response(error)
    response.headers.update(SECURITY_HEADERS)
    response.headers["X-Request-Id"] = _request_id(flask.request)
    log.info("request_not_routed", status=response.status_code, error_code=error.code)
    return response


def _error_response(error: errors.AppError) -> flask.Response:
    headers: list[tuple[str, str]] = []
    if isinstance(error, errors.RateLimited):
        headers.append(("Retry-After", str(error.retry_after_seconds)))
    if isinstance(error, errors.Unauthenticated):
        headers.append(
            ("WWW-Authenticate", f'Bearer error="invalid_token", error_description="{error.code}"')
        )
    if isinstance(error, errors.MethodNotAllowed):
        headers.append(("Allow", str(error.details.get("allowed", ""))))
    response = json_response(error.http_status, error.to_body(), headers)
    # functions-framework reads the whole request body into memory before answering
    # (read_request) unless the response is streamed: a body refused unread (too large, or
    # never wanted) must not be buffered after all. The server discards what is left of it.
    response.response = iter([response.get_data()])
    return response
