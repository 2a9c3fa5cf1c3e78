"""python -m tools.grant_role: the first admin, made from the command line, audited."""

from __future__ import annotations

import pytest

from tests.unit.conftest import FakeWorld
from tools import grant_role


def test_the_first_admin_is_made_and_audited(
    world: FakeWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    world.identity.add_user("founder", {"plan": "pro"})
    assert grant_role.main(["founder", "admin"]) == 0
    assert world.identity.custom_claims("founder") == {"plan": "pro", "role": "admin"}
    assert "student -> admin" in capsys.readouterr().out
    records = [world.store.get(p).data for p in world.store.paths() if p.startswith("auditLog/")]  # type: ignore[union-attr]
    assert [(r["action"], r["actor_uid"], r["subject_uids"]) for r in records] == [
        ("role_changed", "tools.grant_role", ["founder"])
    ]


def test_an_unknown_uid_is_refused(world: FakeWorld, capsys: pytest.CaptureFixture[str]) -> None:
    assert grant_role.main(["nobody", "admin"]) == 1
    assert "No user" in capsys.readouterr().err
    assert not [p for p in world.store.paths() if p.startswith("auditLog/")]
