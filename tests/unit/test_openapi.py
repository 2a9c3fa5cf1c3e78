"""Route metadata and the OpenAPI document: what the code accepts is what the document says."""

from __future__ import annotations

import flask
import flask.testing
import pytest
from pydantic import BaseModel, ConfigDict

from shared.http import Api, ApiRequest, RawBody, resolve_model
from shared.models.health import Liveness
from tests.unit.conftest import FakeWorld


class _Declared(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


class _Other(BaseModel):
    name: str


declaring = Api("declaring")


@declaring.route("POST", "/declared", authenticated=False, body=_Declared, response=Liveness)
def _reads_what_it_declares(request: ApiRequest) -> Liveness:
    request.json(_Declared)
    return Liveness()


@declaring.route("POST", "/undeclared", authenticated=False, response=Liveness)
def _reads_an_undeclared_body(request: ApiRequest) -> Liveness:
    request.json(_Declared)
    return Liveness()


@declaring.route("POST", "/mismatched", authenticated=False, body=_Declared)
def _reads_another_model(request: ApiRequest) -> Liveness:
    request.json(_Other)
    return Liveness()


@declaring.route(
    "POST", "/raw", authenticated=False, body=RawBody(("audio/*",), json_alternative=_Declared)
)
def _reads_the_json_alternative(request: ApiRequest) -> Liveness:
    request.json(_Declared)
    return Liveness()


@pytest.fixture
def declaring_client(world: FakeWorld) -> flask.testing.FlaskClient:
    app = flask.Flask("declaring")
    app.add_url_rule(
        "/<path:_>", view_func=lambda _: declaring(flask.request), methods=["GET", "POST"]
    )
    return app.test_client()


@pytest.mark.parametrize("path", ["/declared", "/raw"])
def test_a_route_reads_the_body_it_declares(
    declaring_client: flask.testing.FlaskClient, path: str
) -> None:
    response = declaring_client.post(path, json={"name": "Ann"})
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("path", ["/undeclared", "/mismatched"])
def test_reading_an_undeclared_body_is_a_bug_that_fails_loudly(
    declaring_client: flask.testing.FlaskClient, path: str
) -> None:
    response = declaring_client.post(path, json={"name": "Ann"})
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal"


def test_models_named_by_string_are_imported_on_first_use() -> None:
    assert resolve_model("shared.models.health:Liveness") is Liveness
    assert resolve_model(Liveness) is Liveness
    assert resolve_model(None) is None
    with pytest.raises(TypeError):
        resolve_model("shared.http:Api")


# --- the committed document ---------------------------------------------------------------
def test_the_committed_document_is_up_to_date() -> None:
    from tools import openapi

    committed = openapi.DOCUMENT.read_text(encoding="utf-8")
    assert committed == openapi.render(), "docs/openapi.json is out of date: run `make openapi`"


def test_the_document_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    from tools import openapi

    document = openapi.build_document()
    assert document["openapi"].startswith("3.1.")
    validate(document)
    broken = {**document, "paths": {"/x": {"get": {"responses": {"200": {}}}}}}
    with pytest.raises(OpenAPIValidationError):  # the validator does refuse a bad document
        validate(broken)


def test_every_registered_route_of_every_http_function_is_documented() -> None:
    from functions.catalog import HTTP_FUNCTIONS
    from tools import openapi

    paths = openapi.build_document()["paths"]
    documented = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    registered = set()
    for name, api, _ in openapi.apis():
        for route in api.routes:
            registered.add((route.method, route.template))
            operation = paths[route.template][route.method.lower()]
            assert operation["tags"] == [name]
            assert ("bearerAuth" in str(operation["security"])) == route.authenticated
    assert {api.function_name for _, api, _ in openapi.apis()} == {f.name for f in HTTP_FUNCTIONS}
    assert registered == documented


def test_routes_are_served_by_the_function_the_catalog_sends_them_to() -> None:
    import re

    from functions.catalog import HTTP_FUNCTIONS
    from tools import openapi

    def owner(template: str) -> str:
        concrete = re.sub(r"\{[a-z_]+\}", "x", template)
        for function in HTTP_FUNCTIONS:  # most specific first, as the router reads them
            for prefix in function.paths:
                pattern = re.escape(prefix).replace(r"\*", "[^/]+")
                if re.match(f"{pattern}(/|$)", concrete):
                    return function.name
        return "(none)"

    for name, api, _ in openapi.apis():
        for route in api.routes:
            assert owner(route.template) == name, route.template


def test_errors_are_one_envelope_with_every_stable_code() -> None:
    from shared import errors
    from tools import openapi

    document = openapi.build_document()
    schemas = document["components"]["schemas"]
    codes = set(schemas["ErrorBody"]["properties"]["code"]["enum"])
    assert {cls.code for cls in openapi.error_classes()} == codes
    assert {cls.code for cls in errors.all_error_classes()} <= codes
    assert {
        "not_found",
        "idempotency_key_reused",
        "audio_too_large",
        "session_not_finished",
    } <= codes
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)
            if operation["security"]:
                assert {"401", "429", "503"} <= set(operation["responses"]), (method, path)
                assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_request_models_are_strict_and_referenced_from_components() -> None:
    from tools import openapi

    document = openapi.build_document()
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            json_body = body["content"].get("application/json")
            if json_body is None:
                continue
            name = json_body["schema"]["$ref"].rsplit("/", 1)[1]
            assert schemas[name].get("additionalProperties") is False, (method, path, name)
    turns = document["paths"]["/sessions/{session_id}/turns"]["post"]
    assert {"audio/*", "application/octet-stream", "application/json"} == set(
        turns["requestBody"]["content"]
    )
    key = next(p for p in turns["parameters"] if p["name"] == "Idempotency-Key")
    assert key["in"] == "header"
    assert key["required"] is True
    assert document["servers"] == [{"url": "/api"}]
