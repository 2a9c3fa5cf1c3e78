"""Regrades: POST /admin/sessions/{id}/regrade (admins only, audited, once per key) and the
generations it starts, under duplicate and reordered deliveries, as the results show them."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import flask.testing
import pytest

from functions import scoring
from shared import errors
from shared.bootstrap import get_container
from shared.scoring import phase2, service
from shared.scoring.documents import deep_path, summary_path
from tests.fakes.events import PublishedMessage
from tests.unit.conftest import FakeWorld
from tests.unit.scoring_support import finish_a_test, pubsub_event
from tests.unit.session_support import Examiner, install_examiner

Client = Callable[[str], flask.testing.FlaskClient]
ADMIN = {"role": "admin"}


@pytest.fixture
def examiner(world: FakeWorld, client_for: Client, monkeypatch: pytest.MonkeyPatch) -> Examiner:
    monkeypatch.setattr(phase2, "DEEP_TIME_BUDGET_SECONDS", 0.0)
    return install_examiner(world, client_for)


@pytest.fixture
def users(client_for: Client) -> flask.testing.FlaskClient:
    return client_for("users")


def regrade(
    users: flask.testing.FlaskClient,
    world: FakeWorld,
    session_id: str,
    *,
    key: str | None = "regrade-key-0001",
    body: dict[str, Any] | None = None,
    uid: str = "a-1",
    claims: dict[str, str] | None = None,
    request_id: str = "regrade-request-1",
) -> Any:
    headers = {**world.auth(uid, **(ADMIN if claims is None else claims))}
    headers["X-Request-Id"] = request_id
    if key is not None:
        headers["Idempotency-Key"] = key
    url = f"/admin/sessions/{session_id}/regrade"
    return (
        users.post(url, headers=headers, json=body)
        if body is not None
        else users.post(url, headers=headers)
    )


def audit_records(world: FakeWorld) -> list[dict[str, Any]]:
    found = [world.store.get(p) for p in world.store.paths() if p.startswith("auditLog/")]
    return [doc.data for doc in found if doc and doc.data["action"] == "regrade_requested"]


def delivered(message: PublishedMessage, world: FakeWorld) -> Any:
    """The CloudEvent Eventarc would deliver for a published message."""
    return pubsub_event(
        message.topic,
        message.payload,
        attributes=dict(message.attributes),
        event_id=f"{message.topic}-{message.message_id}",
        time=world.clock.now().isoformat(),
    )


def scored(examiner: Examiner) -> str:
    """A finished test with both phases of generation 1 done."""
    session_id = finish_a_test(examiner, seconds=20.0)
    service.score_session(get_container(), session_id)
    service.analyze_session(get_container(), session_id)
    return session_id


def results(client_for: Client, world: FakeWorld, session_id: str) -> dict[str, Any]:
    response = client_for("results").get(f"/sessions/{session_id}/results", headers=world.auth())
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def analysis_paths(world: FakeWorld, session_id: str) -> list[str]:
    prefix = f"sessions/{session_id}/analysis/"
    return sorted(
        path.removeprefix(prefix) for path in world.store.paths() if path.startswith(prefix)
    )


# --- The admin route -------------------------------------------------------------------------
def test_an_admin_starts_one_audited_regrade_per_key(
    examiner: Examiner, users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    session_id = scored(examiner)
    response = regrade(users, world, session_id, body={"reason": "calibration_update"})
    assert response.status_code == 202, response.get_json()
    started = response.get_json()
    assert (started["generation"], started["reason"], started["replayed"]) == (
        2,
        "calibration_update",
        False,
    )
    assert "Idempotent-Replayed" not in response.headers
    scoring_state = examiner.session_document(session_id)["scoring"]
    assert (scoring_state["generation"], scoring_state["status"]) == (2, "scoring")
    [message] = [
        m
        for m in world.events.messages(examiner.settings.topic_session_finished)
        if "generation" in m.payload
    ]
    assert message.payload["session_id"] == session_id
    assert message.payload["generation"] == 2
    assert message.attributes["generation"] == "2"
    [record] = audit_records(world)
    assert record["actor_uid"] == "a-1"
    assert record["actor_role"] == "admin"
    assert record["target"] == f"session:{session_id}"
    assert record["subject_uids"] == ["learner-1"]
    assert record["request_id"] == "regrade-request-1"
    assert record["details"]["reason"] == "calibration_update"
    assert record["details"]["generation"] == 2

    # The admin's retry (another request id, the same key): the same regrade, nothing new.
    again = regrade(
        users, world, session_id, body={"reason": "calibration_update"}, request_id="retry-2"
    )
    assert again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == {**started, "replayed": True}
    assert examiner.session_document(session_id)["scoring"]["generation"] == 2
    assert len(audit_records(world)) == 1
    regrades = [
        m
        for m in world.events.messages(examiner.settings.topic_session_finished)
        if "generation" in m.payload
    ]
    assert len(regrades) == 1

    # Another key is another regrade: generation 3, without a body (the reason is optional).
    third = regrade(users, world, session_id, key="regrade-key-0002")
    assert third.status_code == 202
    assert (third.get_json()["generation"], third.get_json()["reason"]) == (3, None)
    assert len(audit_records(world)) == 2


@pytest.mark.parametrize("claims", [{}, {"role": "teacher"}])
def test_students_and_teachers_are_refused(
    examiner: Examiner, users: flask.testing.FlaskClient, world: FakeWorld, claims: dict[str, str]
) -> None:
    session_id = scored(examiner)
    before = examiner.session_document(session_id)
    # The session's own learner too: nobody but an admin regrades.
    response = regrade(users, world, session_id, uid="learner-1", claims=claims)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "admin_role_required"
    assert examiner.session_document(session_id) == before
    assert audit_records(world) == []


@pytest.mark.parametrize(
    ("key", "body", "status", "code"),
    [
        (None, None, 400, "idempotency_key_required"),
        ("short", None, 400, "idempotency_key_invalid"),
        (
            "regrade-key-0001",
            {"reason": "the learner called and was upset"},
            400,
            "validation_failed",
        ),
        ("regrade-key-0001", {"reason": "learner_dispute", "note": "x"}, 400, "validation_failed"),
    ],
)
def test_requests_without_a_valid_key_or_reason_change_nothing(
    examiner: Examiner,
    users: flask.testing.FlaskClient,
    world: FakeWorld,
    key: str | None,
    body: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    session_id = scored(examiner)
    response = regrade(users, world, session_id, key=key, body=body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert examiner.session_document(session_id)["scoring"].get("generation", 1) == 1
    assert audit_records(world) == []


def test_unknown_unfinished_and_unscored_sessions_cannot_be_regraded(
    examiner: Examiner, users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    unknown = regrade(users, world, "s_no_such_session")
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "not_found"

    active = examiner.start("full")["session_id"]
    refused = regrade(users, world, active)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "regrade_session_not_finished"
    assert refused.get_json()["error"]["details"] == {"status": "active"}

    unscored = finish_a_test(examiner, seconds=20.0)  # finished, scoring not run yet
    waiting = regrade(users, world, unscored)
    assert waiting.status_code == 409
    assert waiting.get_json()["error"]["code"] == "regrade_no_results"
    assert audit_records(world) == []
    assert all("generation" not in m.payload for m in world.events.messages("session-finished"))


def test_a_publish_that_failed_is_made_by_the_retry_of_the_same_key(
    examiner: Examiner, users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    session_id = scored(examiner)
    world.events.fail_with = errors.DependencyUnavailable()
    failed = regrade(users, world, session_id)
    assert failed.status_code == 503
    world.events.fail_with = None
    retried = regrade(users, world, session_id)
    assert retried.status_code == 202
    assert retried.get_json()["generation"] == 2
    published = [
        m
        for m in world.events.messages(examiner.settings.topic_session_finished)
        if "generation" in m.payload
    ]
    assert len(published) == 1
    assert len(audit_records(world)) == 1
    regrade(users, world, session_id)  # a third try: published already, nothing more
    assert (
        len([m for m in world.events.messages("session-finished") if "generation" in m.payload])
        == 1
    )


# --- Generations -----------------------------------------------------------------------------
def test_the_previous_result_stays_visible_until_the_new_generation_is_complete(
    examiner: Examiner, users: flask.testing.FlaskClient, world: FakeWorld, client_for: Client
) -> None:
    session_id = scored(examiner)
    first = results(client_for, world, session_id)
    assert (first["generation"], first["latest_generation"], first["regrade"]) == (1, 1, None)
    assert first["deep"]["versions"]["judge"] == "offline"

    assert regrade(users, world, session_id, body={"reason": "learner_dispute"}).status_code == 202
    during = results(client_for, world, session_id)
    assert (during["status"], during["generation"], during["regrade"]) == (
        "analysis_ready",
        1,
        "in_progress",
    )
    assert during["latest_generation"] == 2
    assert "graded again" in during["reason"]
    assert during["summary"] == first["summary"]
    assert during["deep"] == first["deep"]

    finished = world.events.messages(examiner.settings.topic_session_finished)[-1]
    assert scoring.score_session(delivered(finished, world)) == "done"
    assert world.store.get(summary_path(session_id, 2)) is not None
    half = results(client_for, world, session_id)  # generation 2's summary alone: not yet
    assert (half["generation"], half["regrade"]) == (1, "in_progress")
    assert half["summary"] == first["summary"]

    [requested] = [
        m
        for m in world.events.messages(examiner.settings.topic_analysis_requested)
        if m.payload.get("generation") == 2
    ]
    assert scoring.analyze_session(delivered(requested, world)) == "done"
    after = results(client_for, world, session_id)
    assert (after["status"], after["generation"], after["latest_generation"]) == (
        "analysis_ready",
        2,
        2,
    )
    assert after["regrade"] is None
    assert after["reason"] is None
    assert after["summary"]["generation"] == after["deep"]["generation"] == 2
    # What made each generation is on its record.
    versions = after["deep"]["versions"]
    assert versions["scoring"] == after["deep"]["version"]
    assert versions["descriptors"] == after["summary"]["descriptors_version"]
    assert versions["rounding"] == "published"
    assert any(name.startswith("analyzer:") for name in versions)
    assert after["summary"]["versions"].items() <= versions.items()
    assert analysis_paths(world, session_id) == [
        "deep",
        "deep__g1",
        "deep__g2",
        "summary",
        "summary__g1",
        "summary__g2",
    ]
    completed = world.events.messages(examiner.settings.topic_analysis_completed)
    assert [m.payload["generation"] for m in completed] == [1, 2]


def _generation_events(
    examiner: Examiner, world: FakeWorld, session_id: str, generation: int
) -> list[tuple[Callable[[Any], str], Any]]:
    """Three messages per topic of ``generation`` (1: as the finish sends it, without the
    field), each delivered twice."""
    payload: dict[str, Any] = {"session_id": session_id, "uid": "learner-1"}
    attributes = {"session_id": session_id}
    if generation > 1:
        payload["generation"] = generation
        attributes["generation"] = str(generation)
    events: list[tuple[Callable[[Any], str], Any]] = []
    for copy in range(3):
        for topic, handler in (
            (examiner.settings.topic_session_finished, scoring.score_session),
            (examiner.settings.topic_analysis_requested, scoring.analyze_session),
        ):
            event = pubsub_event(
                topic,
                payload,
                attributes=attributes,
                event_id=f"{topic}-g{generation}-{copy}",
                time=world.clock.now().isoformat(),
            )
            events += [(handler, event), (handler, event)]
    return events


@pytest.mark.parametrize("seed", range(6))
def test_shuffled_duplicates_of_two_generations_make_one_result_each_and_show_the_newest(
    examiner: Examiner,
    users: flask.testing.FlaskClient,
    world: FakeWorld,
    client_for: Client,
    seed: int,
) -> None:
    rng = random.Random(seed)
    session_id = finish_a_test(examiner, seconds=20.0)
    first = _generation_events(examiner, world, session_id, 1)
    rng.shuffle(first)
    # Generation 1 until its summary is there (a regrade needs one) and a little beyond ...
    delivered_first = 0
    while world.store.get(summary_path(session_id)) is None or delivered_first < rng.randint(1, 8):
        handler, event = first[delivered_first]
        assert handler(event) in {"done", "duplicate"}
        delivered_first += 1
    # ... then the regrade, then the rest of generation 1 mixed with generation 2.
    assert regrade(users, world, session_id).status_code == 202
    rest = first[delivered_first:] + _generation_events(examiner, world, session_id, 2)
    rng.shuffle(rest)
    for handler, event in rest:
        assert handler(event) in {"done", "duplicate"}
        shown_deep = world.store.get(deep_path(session_id))
        shown_summary = world.store.get(summary_path(session_id))
        assert shown_summary is not None  # never taken away
        if shown_deep is not None:  # the two visible documents are always one generation
            assert (
                shown_summary.data
                == world.store.get(  # type: ignore[union-attr]
                    summary_path(session_id, shown_deep.data["generation"])
                ).data
            )
    # What scoring published itself (phase 2 requests of both generations) changes nothing.
    for message in world.events.messages(examiner.settings.topic_analysis_requested):
        assert scoring.analyze_session(delivered(message, world)) == "done"

    paths = analysis_paths(world, session_id)
    assert {"summary", "deep", "summary__g1", "summary__g2", "deep__g2"} <= set(paths)
    assert set(paths) <= {"summary", "deep", "summary__g1", "deep__g1", "summary__g2", "deep__g2"}
    body = results(client_for, world, session_id)
    assert (body["generation"], body["regrade"], body["status"]) == (2, None, "analysis_ready")
    record = world.store.get(deep_path(session_id, 2))
    shown = world.store.get(deep_path(session_id))
    assert record is not None
    assert shown is not None
    assert shown.data == record.data
    state = examiner.session_document(session_id)["scoring"]
    assert (state["generation"], state["status"]) == (2, "analysis_ready")
    completed = world.events.messages(examiner.settings.topic_analysis_completed)
    generations = [m.payload["generation"] for m in completed]
    assert generations.count(2) == 1
    assert generations.count(1) <= 1


def test_a_stale_generation_arriving_after_a_newer_one_changes_nothing(
    examiner: Examiner, users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    session_id = finish_a_test(examiner, seconds=20.0)
    container = get_container()
    service.score_session(container, session_id)  # generation 1: summary only
    assert regrade(users, world, session_id).status_code == 202
    assert service.score_session(container, session_id, 2) == "summary_ready"
    assert service.analyze_session(container, session_id, 2) == "analysis_ready"
    shown = {
        path: world.store.get(path) for path in (summary_path(session_id), deep_path(session_id))
    }
    state = examiner.session_document(session_id)["scoring"]

    assert service.analyze_session(container, session_id, 1) == "superseded"
    assert service.score_session(container, session_id, 1) == "superseded"
    assert world.store.get(deep_path(session_id, 1)) is None  # no work done for it
    assert {p: world.store.get(p) for p in shown} == shown
    assert examiner.session_document(session_id)["scoring"] == state


def test_a_generation_never_requested_is_refused_without_touching_the_session(
    examiner: Examiner, world: FakeWorld
) -> None:
    session_id = scored(examiner)
    before = examiner.session_document(session_id)
    event = pubsub_event(
        examiner.settings.topic_session_finished,
        {"session_id": session_id, "generation": 7},
        attributes={"session_id": session_id, "generation": "7"},
        time=world.clock.now().isoformat(),
    )
    assert scoring.score_session(event) == "failed"
    assert examiner.session_document(session_id) == before
    assert world.store.get(summary_path(session_id, 7)) is None
    mismatch = pubsub_event(
        examiner.settings.topic_session_finished,
        {"session_id": session_id, "generation": 2},
        attributes={"session_id": session_id, "generation": "3"},
        time=world.clock.now().isoformat(),
    )
    assert scoring.score_session(mismatch) == "poison"


def test_every_generation_is_exported_and_erased_with_the_learner(
    examiner: Examiner, users: flask.testing.FlaskClient, world: FakeWorld
) -> None:
    session_id = scored(examiner)
    assert regrade(users, world, session_id, body={"reason": "scoring_fault"}).status_code == 202
    container = get_container()
    service.analyze_session(container, session_id, 2)
    records = {f"sessions/{session_id}/analysis/{name}" for name in ("summary__g2", "deep__g2")}
    assert records <= set(world.store.paths())

    export = users.get("/users/me/export", headers=world.auth()).get_json()
    exported = {doc["path"] for docs in export["documents"].values() for doc in docs}
    assert records | {f"sessions/{session_id}/analysis/summary__g1"} <= exported
    [audited] = [
        r["data"]
        for r in export["documents"]["audit_as_subject"]
        if r["data"]["action"] == "regrade_requested"
    ]
    assert (audited["action"], audited["details"]["reason"]) == (
        "regrade_requested",
        "scoring_fault",
    )

    assert users.delete("/users/me", headers=world.auth()).status_code == 200
    assert not [p for p in world.store.paths() if p.startswith(f"sessions/{session_id}")]
    [kept] = audit_records(world)  # the admin's act stays, about a pseudonym
    assert kept["actor_uid"] == "a-1"
    assert kept["subject_uids"][0].startswith("erased:")


def test_a_failed_regrade_keeps_the_previous_result_and_says_why(
    examiner: Examiner, users: flask.testing.FlaskClient, world: FakeWorld, client_for: Client
) -> None:
    from shared.scoring.documents import advance_status

    session_id = scored(examiner)
    before = results(client_for, world, session_id)
    assert regrade(users, world, session_id).status_code == 202
    # As _fail records it when generation 2 cannot be scored.
    assert advance_status(
        world.store, session_id, "failed", world.clock.now(), reason="audio gone", generation=2
    )
    body = results(client_for, world, session_id)
    assert (body["status"], body["generation"], body["regrade"]) == ("analysis_ready", 1, "failed")
    assert body["reason"] == "audio gone"
    assert body["deep"] == before["deep"]
    # A status write of the superseded generation is ignored.
    assert not advance_status(
        world.store, session_id, "summary_ready", world.clock.now(), generation=1
    )
