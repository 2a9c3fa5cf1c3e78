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
