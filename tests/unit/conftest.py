"""Unit-test fixtures: the real functions-framework apps around fakes of every port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import flask.testing
import functions_framework
import pytest

from shared import bootstrap
from shared.config import Settings, load_settings
from tests.fakes import FakeBlobs, FakePublisher, FakeStore, FakeTokenVerifier, FixedClock

MAIN = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")


@dataclass
class FakeWorld:
    """Every port faked, installed as the instance's container."""

    settings: Settings
    store: FakeStore
    blobs: FakeBlobs
    events: FakePublisher
    tokens: FakeTokenVerifier
    clock: FixedClock

    def auth(self, uid: str = "learner-1", **claims: object) -> dict[str, str]:
        """Headers carrying a valid token for ``uid``."""
        return {"Authorization": f"Bearer {self.tokens.mint(uid, claims or None)}"}


@pytest.fixture
def world() -> Iterator[FakeWorld]:
    settings = load_settings({})
    clock = FixedClock()
    fake = FakeWorld(
        settings=settings,
        store=FakeStore(),
        blobs=FakeBlobs(),
        events=FakePublisher(),
        tokens=FakeTokenVerifier(project=settings.google_cloud_project, clock=clock),
        clock=clock,
    )
    bootstrap.install(
        bootstrap.Container(
            settings,
            store=fake.store,
            blobs=fake.blobs,
            events=fake.events,
            token_verifier=fake.tokens,
            clock=fake.clock,
        )
    )
    yield fake
    bootstrap.install(None)


@pytest.fixture
def client_for(world: FakeWorld) -> Callable[[str], flask.testing.FlaskClient]:
    """A test client of one entry point, built by functions-framework from functions/main.py."""

    def build(target: str) -> flask.testing.FlaskClient:
        return functions_framework.create_app(target=target, source=MAIN).test_client()

    return build
