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
from tests.fakes import (
    FakeBlobs,
    FakeIdentityAdmin,
    FakePublisher,
    FakeStore,
    FakeTokenVerifier,
    FixedClock,
)

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
    identity: FakeIdentityAdmin

    def auth(self, uid: str = "learner-1", **claims: object) -> dict[str, str]:
        """Headers carrying a valid token for ``uid`` (whose account then exists)."""
        self.identity.add_user(uid, claims)
        return {"Authorization": f"Bearer {self.tokens.mint(uid, claims or None)}"}


@pytest.fixture
def world() -> Iterator[FakeWorld]:
    settings = load_settings({})
    clock = FixedClock()
    tokens = FakeTokenVerifier(project=settings.google_cloud_project, clock=clock)
    fake = FakeWorld(
        settings=settings,
        store=FakeStore(),
        blobs=FakeBlobs(),
        events=FakePublisher(),
        tokens=tokens,
        clock=clock,
        identity=FakeIdentityAdmin(tokens),
    )
    bootstrap.install(
        bootstrap.Container(
            settings,
            store=fake.store,
            blobs=fake.blobs,
            events=fake.events,
            token_verifier=fake.tokens,
            identity_admin=fake.identity,
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
