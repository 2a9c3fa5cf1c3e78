"""Roles, teacher links, a teacher's read access and admin routes, over the users function."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import flask.testing
import pytest

from shared.accounts.links import ALPHABET
from shared.bootstrap import get_container
from shared.models.assessment import CRITERIA
from shared.scoring import phase2, service
from tests.unit.conftest import FakeWorld
from tests.unit.scoring_support import finish_a_test
from tests.unit.session_support import Examiner, install_examiner

Client = Callable[[str], flask.testing.FlaskClient]


@pytest.fixture
def users(client_for: Client) -> flask.testing.FlaskClient:
    return client_for("users")


def audit_records(world: FakeWorld, action: str | None = None) -> list[dict[str, Any]]:
    return [
        world.store.get(path).data  # type: ignore[union-attr]
        for path in world.store.paths()
        if path.startswith("auditLog/")
        and (action is None or world.store.get(path).data["action"] == action)  # type: ignore[union-attr]
    ]


def stored_work(world: FakeWorld) -> dict[str, Any]:
    """Every document but rate-limit counters (a read is counted, by design)."""
    return {
        path: world.store.get(path).data  # type: ignore[union-attr]
        for path in world.store.paths()
        if not path.startswith("rateLimits/")
    }


def make_invite(users: flask.testing.FlaskClient, world: FakeWorld, teacher: str = "t-1") -> str:
    response = users.post("/teachers/me/invites", headers=world.auth(teacher, role="teacher"))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["code"])


def link(users: flask.testing.FlaskClient, world: FakeWorld, teacher: str, student: str) -> None:
    code = make_invite(users, world, teacher)
    response = users.post("/users/me/teachers", json={"code": code}, headers=world.auth(student))
    assert response.status_code == 201, response.get_json()


# --- Invites and links -----------------------------------------------------------------------
def test_a_teacher_makes_a_typable_single_use_code_stored_hashed(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    response = users.post("/teachers/me/invites", headers=world.auth("t-1", role="teacher"))
    assert response.status_code == 201
    body = response.get_json()
    code = body["code"]
    assert len(code) == 8
    assert set(code) <= set(ALPHABET)
    assert body["display_code"] == f"{code[:4]}-{code[4:]}"
    invite = world.store.get(f"linkInvites/{hashlib.sha256(code.encode()).hexdigest()}")
    assert invite is not None
    assert invite.data["teacher_uid"] == "t-1"
    assert invite.data["expires_at"] - world.clock.now() == timedelta(hours=72)
    assert not any(code in str(world.store.get(p).data) for p in world.store.paths())  # type: ignore[union-attr]


def test_a_retried_invite_request_gets_the_same_code(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    headers = {**world.auth("t-1", role="teacher"), "Idempotency-Key": "invite-key-0001"}
    first = users.post("/teachers/me/invites", headers=headers).get_json()
    second = users.post("/teachers/me/invites", headers=headers).get_json()
    assert first == second
    assert len([p for p in world.store.paths() if p.startswith("linkInvites/")]) == 1
    other = users.post("/teachers/me/invites", headers=world.auth("t-1", role="teacher"))
    assert other.get_json()["code"] != first["code"]


@pytest.mark.parametrize("role", [None, "admin"])
def test_only_teachers_use_teacher_routes(
    users: flask.testing.FlaskClient, world: FakeWorld, role: str | None
) -> None:
    headers = world.auth("s-1", role=role) if role else world.auth("s-1")
    for method, url in [
        ("POST", "/teachers/me/invites"),
        ("GET", "/teachers/me/students"),
        ("GET", "/teachers/me/students/s-2/sessions"),
    ]:
        response = users.open(url, method=method, headers=headers)
        assert response.status_code == 403, url
        assert response.get_json()["error"]["code"] == "teacher_role_required"


def test_a_student_accepts_and_both_sides_see_the_link(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    code = make_invite(users, world)
    typed = f"{code[:4].lower()}-{code[4:]}"  # as a student might type it
    response = users.post("/users/me/teachers", json={"code": typed}, headers=world.auth("s-1"))
    assert response.status_code == 201
    assert response.get_json()["teacher_uid"] == "t-1"
    stored = world.store.get("teacherLinks/t-1_s-1")
    assert stored is not None
    assert stored.data == {
        "teacher_uid": "t-1",
        "student_uid": "s-1",
        "created_at": world.clock.now(),
    }
    [record] = audit_records(world, "teacher_link_created")
    assert record["actor_uid"] == "s-1"
    assert record["subject_uids"] == ["s-1", "t-1"]
    again = users.post("/users/me/teachers", json={"code": code}, headers=world.auth("s-1"))
    assert again.status_code == 200  # the student's retry
    assert len(audit_records(world, "teacher_link_created")) == 1

    teachers = users.get("/users/me/teachers", headers=world.auth("s-1")).get_json()
    assert [t["teacher_uid"] for t in teachers["teachers"]] == ["t-1"]
    students = users.get("/teachers/me/students", headers=world.auth("t-1", role="teacher"))
    assert [s["student_uid"] for s in students.get_json()["students"]] == ["s-1"]


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("used", 409, "invite_used"),
        ("own", 409, "invite_own"),
        ("expired", 410, "invite_expired"),
        ("unknown", 404, "invite_not_found"),
        ("malformed", 400, "invite_code_invalid"),
    ],
)
def test_codes_that_cannot_be_accepted(
    users: flask.testing.FlaskClient, world: FakeWorld, case: str, status: int, code: str
) -> None:
    invite = make_invite(users, world)
    student = "s-2"
    if case == "used":
        users.post("/users/me/teachers", json={"code": invite}, headers=world.auth("s-1"))
    elif case == "own":
        student = "t-1"
    elif case == "expired":
        world.clock.advance(hours=73)
    elif case == "unknown":
        invite = "".join(reversed(invite)) if invite != invite[::-1] else "ABCDEFGH"
    elif case == "malformed":
        invite = "O0IL1-??"
    headers = world.auth(student, role="teacher") if case == "own" else world.auth(student)
    response = users.post("/users/me/teachers", json={"code": invite}, headers=headers)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert world.store.get(f"teacherLinks/t-1_{student}") is None


def test_a_student_revokes_a_teacher_once(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    link(users, world, "t-1", "s-1")
    headers = {**world.auth("s-1"), "X-Request-Id": "revoke-request-1"}
    assert users.delete("/users/me/teachers/t-1", headers=headers).status_code == 204
    assert world.store.get("teacherLinks/t-1_s-1") is None
    assert users.delete("/users/me/teachers/t-1", headers=headers).status_code == 204
    assert len(audit_records(world, "teacher_link_revoked")) == 1
    students = users.get("/teachers/me/students", headers=world.auth("t-1", role="teacher"))
    assert students.get_json()["students"] == []


# --- A linked teacher reads the student's work ------------------------------------------------
@pytest.fixture
def examiner(world: FakeWorld, client_for: Client, monkeypatch: pytest.MonkeyPatch) -> Examiner:
    monkeypatch.setattr(phase2, "DEEP_TIME_BUDGET_SECONDS", 0.0)
    return install_examiner(world, client_for)


def test_a_linked_teacher_reads_sessions_and_results_nobody_else_does(
    examiner: Examiner, client_for: Client, world: FakeWorld
) -> None:
    users = client_for("users")
    session_id = finish_a_test(examiner, uid="s-1", seconds=20.0)
    service.score_session(get_container(), session_id)
    link(users, world, "t-1", "s-1")
    teacher = world.auth("t-1", role="teacher")
    sessions, results = examiner.sessions, client_for("results")

    listed = users.get("/teachers/me/students/s-1/sessions", headers=teacher)
    assert listed.status_code == 200
    [item] = listed.get_json()["sessions"]
    assert item["session_id"] == session_id
    assert item["status"] == "finished"
    assert item["scoring_status"] == "summary_ready"
    summary = world.store.get(f"sessions/{session_id}/analysis/summary").data  # type: ignore[union-attr]
    assert set(item["bands"]) == set(CRITERIA)
    assert item["speaking_band"] == summary["speaking_band"] is not None
    before = stored_work(world)
    assert sessions.get(f"/sessions/{session_id}", headers=teacher).status_code == 200
    seen = results.get(f"/sessions/{session_id}/results", headers=teacher)
    assert seen.status_code == 200
    assert seen.get_json()["status"] == "summary_ready"
    assert stored_work(world) == before  # a teacher's read changes nothing

    for other in (
        world.auth("t-2", role="teacher"),  # not linked
        world.auth("s-2"),  # another student
        world.auth("a-1", role="admin"),  # admins read usage, not work
        world.auth("t-1"),  # the teacher's uid without the teacher role
    ):
        assert sessions.get(f"/sessions/{session_id}", headers=other).status_code == 404
        assert results.get(f"/sessions/{session_id}/results", headers=other).status_code == 404
    not_linked = users.get(
        "/teachers/me/students/s-1/sessions", headers=world.auth("t-2", role="teacher")
    )
    assert not_linked.status_code == 404
    assert not_linked.get_json()["error"]["code"] == "student_not_linked"

    users.delete("/users/me/teachers/t-1", headers=world.auth("s-1"))
    assert sessions.get(f"/sessions/{session_id}", headers=teacher).status_code == 404
    assert results.get(f"/sessions/{session_id}/results", headers=teacher).status_code == 404


# --- Admins -----------------------------------------------------------------------------------
def test_an_admin_grants_a_role_audited_effective_at_the_next_refresh(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    world.identity.add_user("u-7", {"school": "north"})
    headers = {**world.auth("a-1", role="admin"), "X-Request-Id": "grant-request-1"}
    response = users.put("/admin/users/u-7/role", json={"role": "teacher"}, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["role"], body["previous_role"], body["changed"]) == ("teacher", "student", True)
    assert "next ID token" in body["takes_effect"]
    assert world.identity.custom_claims("u-7") == {"school": "north", "role": "teacher"}
    [record] = audit_records(world, "role_changed")
    assert record["actor_uid"] == "a-1"
    assert record["actor_role"] == "admin"
    assert record["subject_uids"] == ["u-7"]
    assert record["details"] == {"from": "student", "to": "teacher"}
    assert record["request_id"] == "grant-request-1"
    repeat = users.put("/admin/users/u-7/role", json={"role": "teacher"}, headers=headers)
    assert repeat.get_json()["changed"] is False
    assert len(audit_records(world, "role_changed")) == 1


def test_lowering_a_role_revokes_the_old_token(
    users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    old_admin = world.tokens.mint(
        "a-2", {"role": "admin"}, issued_at=world.clock.now() - timedelta(seconds=30)
    )
    world.identity.add_user("a-2", {"role": "admin"})
    response = users.put(
        "/admin/users/a-2/role", json={"role": "student"}, headers=world.auth("a-1", role="admin")
    )
    assert response.get_json()["tokens_revoked"] is True
    stale = users.get(
        "/admin/usage?from=2026-01-01&to=2026-01-02",
        headers={"Authorization": f"Bearer {old_admin}"},
    )
    assert stale.status_code == 401
    assert stale.get_json()["error"]["code"] == "token_revoked"


@pytest.mark.parametrize(
    ("uid", "body", "role", "status", "code"),
    [
        ("u-7", {"role": "teacher"}, None, 403, "admin_role_required"),
        ("u-7", {"role": "teacher"}, "teacher", 403, "admin_role_required"),
        ("nobody", {"role": "teacher"}, "admin", 404, "user_not_found"),
        ("u-7", {"role": "superuser"}, "admin", 400, "validation_failed"),
        ("u-7", {"role": "teacher", "extra": 1}, "admin", 400, "validation_failed"),
    ],
)
def test_role_changes_that_are_refused(
    users: flask.testing.FlaskClient,
    world: FakeWorld,
    uid: str,
    body: dict[str, Any],
    role: str | None,
    status: int,
    code: str,
) -> None:
    world.identity.add_user("u-7")
    headers = world.auth("x-1", role=role) if role else world.auth("x-1")
    response = users.put(f"/admin/users/{uid}/role", json=body, headers=headers)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert world.identity.custom_claims("u-7") == {}
    assert audit_records(world, "role_changed") == []


def test_usage_is_summed_per_period_and_per_user_audited(
    examiner: Examiner, client_for: Client, world: FakeWorld
) -> None:
    users = client_for("users")
    first = finish_a_test(examiner, uid="s-1", seconds=5.0, answers=["one answer here"])
    finish_a_test(examiner, uid="s-2", seconds=5.0, answers=["another answer", "and more"])
    day = world.clock.now().date()
    url = f"/admin/usage?from={day.isoformat()}&to={(day + timedelta(days=1)).isoformat()}"
    response = users.get(url, headers=world.auth("a-1", role="admin"))
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["sessions"], report["users"], report["truncated"]) == (2, 2, False)
    stored = world.store.get(f"sessions/{first}").data  # type: ignore[union-attr]
    per_user = {row["uid"]: row for row in report["per_user"]}
    assert per_user["s-1"]["usage"]["transcriptions"] == stored["usage"]["transcriptions"] == 1
    assert report["totals"]["transcriptions"] == 3
    assert report["totals"]["seconds_transcribed"] == pytest.approx(15.0, abs=0.5)
    [record] = audit_records(world, "admin_read")
    assert record["target"].startswith("usage:")
    assert record["actor_uid"] == "a-1"
    tomorrow, after = day + timedelta(days=1), day + timedelta(days=2)
    later = f"/admin/usage?from={tomorrow.isoformat()}&to={after.isoformat()}"
    assert users.get(later, headers=world.auth("a-1", role="admin")).get_json()["sessions"] == 0


@pytest.mark.parametrize(
    ("query", "role", "status", "code"),
    [
        ("from=2026-01-01&to=2026-02-01", None, 403, "admin_role_required"),
        ("from=2026-02-01&to=2026-01-01", "admin", 400, "usage_period_invalid"),
        ("from=2024-01-01&to=2026-01-01", "admin", 400, "usage_period_invalid"),
        ("from=yesterday-ish&to=2026-01-01", "admin", 400, "usage_period_invalid"),
        ("from=2026-01-01", "admin", 400, "validation_failed"),
    ],
)
def test_usage_reads_that_are_refused(
    users: flask.testing.FlaskClient,
    world: FakeWorld,
    query: str,
    role: str | None,
    status: int,
    code: str,
) -> None:
    headers = world.auth("x-1", role=role) if role else world.auth("x-1")
    response = users.get(f"/admin/usage?{query}", headers=headers)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert audit_records(world, "admin_read") == []
