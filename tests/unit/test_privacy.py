"""GET /users/me/export and DELETE /users/me on fakes: everything out, then nothing left."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared import errors
from shared.accounts.audit import pseudonym
from shared.bootstrap import get_container
from shared.scoring import phase2, service
from shared.scoring.documents import SessionErased
from tests.unit.conftest import FakeWorld
from tests.unit.scoring_support import finish_a_test
from tests.unit.session_support import Client, Examiner, install_examiner
from tests.unit.test_accounts_api import link


@pytest.fixture
def examiner(world: FakeWorld, client_for: Client, monkeypatch: pytest.MonkeyPatch) -> Examiner:
    monkeypatch.setattr(phase2, "DEEP_TIME_BUDGET_SECONDS", 0.0)
    return install_examiner(world, client_for)


def learner_with_everything(examiner: Examiner, client_for: Client, uid: str) -> str:
    """A finished, scored test, a report, a teacher link both ways and an invite of their own."""
    world = examiner.world
    users = client_for("users")
    users.patch("/users/me", json={"display_name": "Ana"}, headers=world.auth(uid))
    session_id = finish_a_test(examiner, uid=uid, seconds=5.0, answers=["one", "two words"])
    service.score_session(get_container(), session_id)
    world.blobs.put(
        world.settings.reports_bucket,
        f"reports/{uid}/{session_id}.pdf",
        b"%PDF",
        content_type="application/pdf",
    )
    # Their teacher and a student of theirs (uids that do not contain the learner's).
    link(users, world, f"{uid[::-1]}-teacher", uid)
    link(users, world, uid, f"{uid[::-1]}-student")
    world.auth(uid, role="teacher")
    users.post("/teachers/me/invites", headers=world.auth(uid, role="teacher"))  # left unused
    return session_id


def everything_mentioning(world: FakeWorld, uid: str) -> list[str]:
    """Every document (path or data) and blob (name or bytes) that holds ``uid``."""
    found = [
        path
        for path in world.store.paths()
        if uid in path or uid in repr(world.store.get(path).data)  # type: ignore[union-attr]
    ]
    for bucket in (world.settings.audio_bucket, world.settings.reports_bucket):
        for name in world.blobs.list_names(bucket, ""):
            stored = world.blobs.stored(bucket, name)
            if uid in name or (stored is not None and uid.encode() in stored.data):
                found.append(f"gs://{bucket}/{name}")
    return found


def test_the_export_holds_every_document_and_blob_of_the_user(
    examiner: Examiner, client_for: Client, world: FakeWorld
) -> None:
    session_id = learner_with_everything(examiner, client_for, "s-1")
    learner_with_everything(examiner, client_for, "s-9")  # someone else
    users = client_for("users")
    response = users.get("/users/me/export", headers=world.auth("s-1", role="teacher"))
    assert response.status_code == 200
    export = response.get_json()
    exported = {doc["path"] for docs in export["documents"].values() for doc in docs}
    mentioning = {p for p in everything_mentioning(world, "s-1") if not p.startswith("gs://")}
    assert mentioning <= exported  # every document holding the uid, incl. the export's record
    assert f"sessions/{session_id}" in exported
    assert f"sessions/{session_id}/analysis/summary" in exported
    assert {"teacherLinks/1-s-teacher_s-1", "teacherLinks/s-1_1-s-student"} <= exported
    assert len(export["documents"]["turns"]) == 2
    assert export["documents"]["question_memory"]
    assert export["documents"]["invites_made"]
    assert export["documents"]["invites_accepted"]
    assert {r["data"]["action"] for r in export["documents"]["audit_as_actor"]} >= {
        "data_exported",
        "teacher_link_created",
    }
    assert not any("s-9" in path for path in exported)
    assert export["usage"]["transcriptions"] == 2
    blobs = {(b["bucket"], b["name"]): b["url"] for b in export["blobs"]}
    expected = {
        (bucket, name)
        for bucket in (world.settings.audio_bucket, world.settings.reports_bucket)
        for name in world.blobs.list_names(bucket, "")
        if "/s-1/" in name
    }
    assert set(blobs) == expected
    assert len(expected) == 3
    for (bucket, name), url in blobs.items():
        assert world.blobs.open_signed_url(url) == world.blobs.stored(bucket, name).data  # type: ignore[union-attr]


def test_erasure_leaves_nothing_but_one_anonymous_record(
    examiner: Examiner, client_for: Client, world: FakeWorld
) -> None:
    learner_with_everything(examiner, client_for, "s-1")
    learner_with_everything(examiner, client_for, "s-9")
    users = client_for("users")
    others_before = {
        path: world.store.get(path).data  # type: ignore[union-attr]
        for path in everything_mentioning(world, "s-9")
        if not path.startswith("gs://") and "s-1" not in repr(world.store.get(path).data)  # type: ignore[union-attr]
    }
    token = world.auth("s-1")
    response = users.delete("/users/me", headers=token)
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["status"] == "erased"
    assert result["account_deleted"] is True
    assert result["deleted"]["sessions"] == 1
    assert result["deleted"]["turns"] == 2
    assert result["deleted"]["answer_audio"] == 2
    assert result["deleted"]["reports"] == 1
    assert result["audit_records_pseudonymised"] == 2  # the two link records

    assert everything_mentioning(world, "s-1") == []
    assert not world.identity.user_exists("s-1")
    alias = pseudonym("s-1", world.settings.privacy_pepper)
    erased = [
        world.store.get(p).data  # type: ignore[union-attr]
        for p in world.store.paths()
        if p.startswith("auditLog/") and world.store.get(p).data["action"] == "account_erased"  # type: ignore[union-attr]
    ]
    assert len(erased) == 1
    assert erased[0]["actor_uid"] == alias
    assert erased[0]["details"]["sessions"] == 1
    # The other learner's data is untouched (bar records about both, now pseudonymised).
    for path, data in others_before.items():
        assert world.store.get(path).data == data  # type: ignore[union-attr]
    assert world.store.paths()  # not everything was wiped
    assert len(world.blobs.list_names(world.settings.audio_bucket, "audio/s-9/")) == 2

    again = users.delete("/users/me", headers=token)  # the same token, account gone
    assert again.status_code == 200
    assert again.get_json()["status"] == "already_erased"
    assert again.get_json()["account_deleted"] is False
    gone = users.get("/users/me/export", headers=token)
    assert gone.status_code == 401
    assert gone.get_json()["error"]["code"] == "token_revoked"


def test_an_erasure_interrupted_half_way_is_finished_by_a_retry(
    examiner: Examiner, client_for: Client, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner_with_everything(examiner, client_for, "s-1")
    users = client_for("users")
    real_delete = world.store.delete
    calls = {"n": 0}

    def flaky_delete(path: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise errors.DependencyUnavailable(details={"dependency": "firestore"})
        real_delete(path)

    monkeypatch.setattr(world.store, "delete", flaky_delete)
    failed = users.delete("/users/me", headers=world.auth("s-1"))
    assert failed.status_code == 503
    assert world.identity.user_exists("s-1")  # the account goes last
    assert everything_mentioning(world, "s-1")
    finished = users.delete("/users/me", headers=world.auth("s-1"))
    assert finished.status_code == 200
    assert finished.get_json()["status"] == "erased"
    assert everything_mentioning(world, "s-1") == []


def test_a_revoked_token_of_a_living_account_erases_nothing(
    examiner: Examiner, client_for: Client, world: FakeWorld
) -> None:
    learner_with_everything(examiner, client_for, "s-1")
    old = world.tokens.mint("s-1", issued_at=world.clock.now() - timedelta(minutes=5))
    world.identity.revoke_refresh_tokens("s-1")
    users = client_for("users")
    for method, url in (("DELETE", "/users/me"), ("GET", "/users/me/export")):
        response = users.open(url, method=method, headers={"Authorization": f"Bearer {old}"})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "token_revoked"
    assert world.identity.user_exists("s-1")
    assert world.store.get("users/s-1") is not None


def test_audit_records_of_export_carry_the_request(
    examiner: Examiner, client_for: Client, world: FakeWorld
) -> None:
    users = client_for("users")
    headers: dict[str, Any] = {**world.auth("s-3"), "X-Request-Id": "export-request-1"}
    users.get("/users/me/export", headers=headers)
    users.get("/users/me/export", headers=headers)  # a retry of the same request
    records = [
        world.store.get(p).data  # type: ignore[union-attr]
        for p in world.store.paths()
        if p.startswith("auditLog/")
    ]
    assert [(r["action"], r["request_id"], r["actor_uid"]) for r in records] == [
        ("data_exported", "export-request-1", "s-3")
    ]


@pytest.mark.parametrize("phase", ["summary", "deep analysis"])
def test_scoring_still_running_when_the_account_is_erased_leaves_nothing(
    examiner: Examiner,
    client_for: Client,
    world: FakeWorld,
    monkeypatch: pytest.MonkeyPatch,
    phase: str,
) -> None:
    session_id = learner_with_everything(examiner, client_for, "s-1")
    users = client_for("users")
    # The learner erases their account while the analyzers are busy (phase 2 takes a
    # minute): the erasure runs between scoring's read of the session and its writes.
    name = "summarise" if phase == "summary" else "analyse"
    busy = getattr(service, name)

    def erased_meanwhile(*args: Any, **kwargs: Any) -> Any:
        erased = users.delete("/users/me", headers=world.auth("s-1"))
        assert erased.status_code == 200
        return busy(*args, **kwargs)

    monkeypatch.setattr(service, name, erased_meanwhile)
    if phase == "summary":
        world.store.delete(f"sessions/{session_id}/analysis/summary")
        world.store.delete(f"sessions/{session_id}/analysis/summary__g1")
        with pytest.raises(SessionErased):
            service.score_session(get_container(), session_id)
    else:
        with pytest.raises(SessionErased):
            service.analyze_session(get_container(), session_id)

    assert everything_mentioning(world, "s-1") == []
    assert not [path for path in world.store.paths() if path.startswith("sessions/")]


def test_scoring_a_session_marked_for_erasure_writes_nothing(
    examiner: Examiner, client_for: Client, world: FakeWorld
) -> None:
    session_id = learner_with_everything(examiner, client_for, "s-1")
    before = {path: world.store.get(path) for path in world.store.paths()}
    world.store.set(f"sessions/{session_id}", {"erasing": True}, merge=True)
    marked = world.store.get(f"sessions/{session_id}")

    with pytest.raises(SessionErased):
        service.analyze_session(get_container(), session_id)

    after = {path: world.store.get(path) for path in world.store.paths()}
    assert after == {**before, f"sessions/{session_id}": marked}
