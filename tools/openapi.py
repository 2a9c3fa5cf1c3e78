"""The OpenAPI 3.1 document of every HTTP function, generated from the routes and their models.

Each function in functions/catalog.py is one tag; each route registered on its ``Api`` is one
operation, described by what ``Api.route`` declares (body, response, statuses, query,
Idempotency-Key, raised errors) and by what the edge in shared/http.py can answer on its
own (401 and 429 on authenticated routes, 400/413/415 where a body is read, 404 where an id
is in the path, 403 for a foreign web origin, 503 and 500). Schemas come from the pydantic
models (``model_json_schema``), with refs into ``components/schemas``; the error envelope
enumerates every stable code.

    python -m tools.openapi            # rewrite docs/openapi.json
    python -m tools.openapi --check    # exit 1 when the committed document is out of date
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from functions.catalog import HTTP_FUNCTIONS
from shared import errors
from shared.http import _SEGMENT, Api, RawBody, Route, resolve_error, resolve_model

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = REPO_ROOT / "docs" / "openapi.json"
REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
STATUS_TEXT = {
    400: "The request is not valid",
    401: "No valid ID token",
    403: "Not allowed",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The body is too large",
    415: "The content type is not accepted",
    429: "Too many requests: wait Retry-After seconds",
    500: "An unexpected failure (the body carries only the request id)",
    503: "A dependency is not answering; retry shortly",
}


def apis() -> list[tuple[str, Api, str]]:
    """(function name, its Api, its module's first docstring line) for every HTTP function."""
    found = []
    for function in HTTP_FUNCTIONS:
        module = importlib.import_module(f"functions.{function.name}")
        doc = (module.__doc__ or "").strip().splitlines()
        found.append((function.name, module.api, doc[0] if doc else function.name))
    return found


def error_classes() -> list[type[errors.AppError]]:
    """Every error with a stable code, from every shared/ module that defines one.

    Modules are found by reading the source (a class assigning ``code``), then imported, so
    the list does not depend on what happens to be imported already.
    """
    modules = {"shared.errors"}
    for path in sorted((REPO_ROOT / "shared").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defines_code = any(
            isinstance(node, ast.ClassDef)
            and any(
                isinstance(item, ast.Assign | ast.AnnAssign)
                and "code" in {getattr(t, "id", None) for t in _targets(item)}
                for item in node.body
            )
            for node in ast.walk(tree)
        )
        if defines_code:
            modules.add(".".join(path.relative_to(REPO_ROOT).with_suffix("").parts))
    for module in sorted(modules):
        importlib.import_module(module)
    return sorted(
        (cls for cls in errors.all_error_classes() if cls.__module__ in modules),
        key=lambda cls: cls.code,
    )


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return list(node.targets) if isinstance(node, ast.Assign) else [node.target]


def error_schemas(classes: list[type[errors.AppError]]) -> dict[str, Any]:
    codes = sorted({cls.code for cls in classes})
    return {
        "Error": {
            "title": "Error",
            "description": "Every error answer: a stable code to switch on, a message a person "
            "can act on, and details (fields at fault, limits, the request id of a 500).",
            "type": "object",
            "properties": {"error": {"$ref": "#/components/schemas/ErrorBody"}},
            "required": ["error"],
            "additionalProperties": False,
        },
        "ErrorBody": {
            "title": "ErrorBody",
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": codes},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
            "required": ["code", "message", "details"],
            "additionalProperties": False,
        },
    }


def _edge_errors(route: Route) -> list[type[errors.AppError]]:
    """What shared/http.py (and the Idempotency-Key check) can answer on this route by itself."""
    found: list[type[errors.AppError]] = [errors.OriginNotAllowed, errors.InternalError]
    if route.authenticated:
        found += [errors.Unauthenticated, *_subclasses(errors.Unauthenticated)]
        found += [errors.RateLimited, errors.DependencyUnavailable]
    if route.body is not None or route.query is not None:
        found += [errors.InvalidJson, errors.ValidationFailed]
    if route.body is not None:
        found += [errors.PayloadTooLarge, errors.UnsupportedMediaType]
    if route.idempotency_key is not None:
        from shared.sessions.session_errors import IdempotencyKeyInvalid, IdempotencyKeyRequired

        found += [IdempotencyKeyInvalid]
        if route.idempotency_key == "required":
            found += [IdempotencyKeyRequired]
    if "{" in route.template:
        found.append(errors.NotFound)
    return found


def _subclasses(cls: type[errors.AppError]) -> list[type[errors.AppError]]:
    return [found for found in errors.all_error_classes() if issubclass(found, cls)]


def _codes_by_status(route: Route) -> dict[int, list[str]]:
    by_status: dict[int, set[str]] = {}
    for cls in [*_edge_errors(route), *(resolve_error(ref) for ref in route.raises)]:
        by_status.setdefault(cls.http_status, set()).add(cls.code)
    return {status: sorted(codes) for status, codes in sorted(by_status.items())}


def _error_response(status: int, codes: list[str]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": f"{STATUS_TEXT.get(status, 'Error')}. Codes: {', '.join(codes)}.",
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}
        }
    return response


def _parameters(route: Route, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": f"^{_SEGMENT}$"},
        }
        for name in _path_names(route.template)
    ]
    if route.idempotency_key is not None:
        from shared.sessions.idempotency import KEY_PATTERN

        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": route.idempotency_key == "required",
                "description": "New for each request, the same when retrying it (a UUID works).",
                "schema": {"type": "string", "pattern": f"^{KEY_PATTERN}$"},
            }
        )
    query = resolve_model(route.query)
    if query is not None:
        schema = query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", ()))
        for name, field_schema in schema.get("properties", {}).items():
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": field_schema}
            )
        schemas.update(schema.get("$defs", {}))
    return parameters


def _path_names(template: str) -> list[str]:
    return [part[1:-1] for part in template.split("/") if part.startswith("{")]


Refs = Mapping[tuple[Any, JsonSchemaMode], dict[str, Any]]


def _request_body(route: Route, refs: Refs) -> dict[str, Any] | None:
    if route.body is None:
        return None
    if isinstance(route.body, RawBody):
        content: dict[str, Any] = {
            media_type: {"schema": {"type": "string", "contentMediaType": media_type}}
            for media_type in route.body.media_types
        }
        alternative = resolve_model(route.body.json_alternative)
        if alternative is not None:
            content["application/json"] = {"schema": refs[(alternative, "validation")]}
        return {"required": True, "description": route.body.description, "content": content}
    model = resolve_model(route.body)
    assert model is not None
    return {
        "required": route.body_required,
        "content": {"application/json": {"schema": refs[(model, "validation")]}},
    }


def _operation(function: str, route: Route, refs: Refs, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": [function],
        "operationId": f"{function}.{route.operation_id}",
        "summary": route.summary,
        "security": [{"bearerAuth": []}] if route.authenticated else [],
    }
    parameters = _parameters(route, schemas)
    if parameters:
        operation["parameters"] = parameters
    body = _request_body(route, refs)
    if body is not None:
        operation["requestBody"] = body
    responses: dict[str, Any] = {}
    response_model = resolve_model(route.response)
    for status in route.statuses:
        success: dict[str, Any] = {"description": "Success"}
        if response_model is not None:
            success["content"] = {
                "application/json": {"schema": refs[(response_model, "serialization")]}
            }
        responses[str(status)] = success
    for status, codes in _codes_by_status(route).items():
        responses[str(status)] = _error_response(status, codes)
    operation["responses"] = responses
    return operation


def _models(route: Route) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    used: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    body = route.body.json_alternative if isinstance(route.body, RawBody) else route.body
    pairs: tuple[tuple[Any, JsonSchemaMode], ...] = (
        (body, "validation"),
        (route.response, "serialization"),
    )
    for reference, mode in pairs:
        model = resolve_model(reference)
        if model is not None:
            used.append((model, mode))
    return used


def build_document() -> dict[str, Any]:
    """The whole document, deterministic for the same code."""
    classes = error_classes()
    functions = apis()
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for _, api, _ in functions:
        for route in api.routes:
            models.extend(pair for pair in _models(route) if pair not in models)
    refs, generated = models_json_schema(models, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    tags = []
    extra_schemas: dict[str, Any] = {}
    for function, api, description in functions:
        tags.append({"name": function, "description": description})
        for route in api.routes:
            operation = _operation(function, route, refs, extra_schemas)
            paths.setdefault(route.template, {})[route.method.lower()] = operation
    schemas = {**generated.get("$defs", {}), **extra_schemas, **error_schemas(classes)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "speaking-coach API",
            "version": "1",
            "description": "The IELTS Speaking examiner and coach. Every route but /healthz and "
            "/readyz needs a Firebase ID token; every error is the Error envelope with a "
            "stable code.",
        },
        "servers": [{"url": "/api"}],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Firebase ID token.",
                }
            },
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer", "minimum": 0},
                },
                "WWW-Authenticate": {
                    "description": "Bearer, with the error code as its description.",
                    "schema": {"type": "string"},
                },
            },
            "schemas": dict(sorted(schemas.items())),
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
        if current != text:
            sys.stderr.write(f"{DOCUMENT.relative_to(REPO_ROOT)} is out of date: make openapi\n")
            return 1
        return 0
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(text, encoding="utf-8")
    sys.stderr.write(f"wrote {DOCUMENT.relative_to(REPO_ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
