"""The sessions function: start a mock test, list, resume, finish; over functions-framework."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import flask.testing
import pytest

from shared import errors
from tests.unit.conftest import FakeWorld
from tests.unit.session_support import Examiner, install_examiner

Client = Callable[[str], flask.testing.FlaskClient]


@pytest.fixture
def examiner(world: FakeWorld, client_for: Client) -> Examiner:
    return install_examiner(world, client_for)


# --- create -----------------------------------------------------------------------------------
def test_a_new_session_opens_with_the_examiners_line_and_its_audio(examiner: Examiner) -> None:
    response = examiner.sessions.post(
        "/sessions", json={"mode": "full"}, headers=examiner.world.auth("learner-1")
    )
    assert response.status_code == 201
    view = response.get_json()
    assert view["status"] == "active"
    assert view["mode"] == "full"
    assert view["stage"] == "intro"
    assert view["part"] == 0
    assert view["turns"] == []
    assert view["turn_count"] == 0
    assert view["bank_version"]
    line = view["examiner"]
    assert line["text"]
    assert line["action"] == "open_test"
    assert line["expects_answer"]
    assert line["audio_unavailable"] is False
    # The audio URL is a signed GET of the cached line: the browser can play it directly.
    assert examiner.world.blobs.open_signed_url(line["audio_url"]).startswith(b"RIFF")
    assert examiner.tts.lines == [line["text"]]
    stored = examiner.session_document(view["session_id"])
    assert stored["uid"] == "learner-1"
    assert stored["usage"]["characters_synthesized"] == len(line["text"])
    assert stored["plan"]["seed"] == view["session_id"]  # the plan is seeded by the session id


def test_the_profile_chooses_the_voice_and_first_language(examiner: Examiner) -> None:
    examiner.world.store.set(
        "users/learner-2",
        {"preferences": {"examiner_voice": "australian", "first_language": "vi"}},
    )
    view = examiner.start("part1", uid="learner-2")
    stored = examiner.session_document(view["session_id"])
    assert stored["examiner_voice"] == "australian"
    assert stored["first_language"] == "vi"
    assert stored["plan"]["first_language"] == "vi"


def test_part2_gives_the_cue_card_with_a_server_side_preparation_timer(
    examiner: Examiner,
) -> None:
    view = examiner.start("part2")
    line = view["examiner"]
    assert line["cue_card"]["prompts"]
    assert line["preparation_seconds"] == 60
    assert line["after_preparation_text"]
    assert view["timers"] == {"preparation_seconds_left": 60.0, "speaking_cap_seconds": 120.0}
    examiner.world.clock.advance(seconds=25)
    resumed = examiner.sessions.get(
        f"/sessions/{view['session_id']}", headers=examiner.world.auth()
    ).get_json()
    assert resumed["timers"]["preparation_seconds_left"] == 35.0


def test_questions_asked_are_remembered_and_not_asked_first_next_time(
    examiner: Examiner,
) -> None:
    first = examiner.start("part2")
    card = first["examiner"]["cue_card"]["card_id"]
    memory = examiner.world.store.get("users/learner-1/questionMemory/summary")
    assert memory is not None
    assert memory.data["questions"][card]["count"] == 1
    second = examiner.start("part2")
    assert second["examiner"]["cue_card"]["card_id"] != card


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "everything"}, "mode"),
        ({"mode": "practice"}, "practice_id"),
        ({"mode": "practice", "practice_id": "p1.no-such-topic"}, "practice_id"),
        ({"mode": "full", "practice_id": "p1.music"}, "practice_id"),
        ({"mode": "full", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_create_request_names_the_field(
    examiner: Examiner, body: dict[str, str], field: str
) -> None:
    response = examiner.sessions.post("/sessions", json=body, headers=examiner.world.auth())
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert field in {problem["field"] for problem in error["details"]["fields"]}
    # Nothing but the rate-limit counters, which count every attempt (shared/limits).
    assert [p for p in examiner.world.store.paths() if not p.startswith("rateLimits/")] == []


def test_practice_takes_one_topic(examiner: Examiner) -> None:
    view = examiner.start("practice", practice_id="p1.music")
    assert view["practice_id"] == "p1.music"
    assert view["examiner"]["text"]


def test_a_create_with_an_idempotency_key_is_made_once(examiner: Examiner) -> None:
    headers = {**examiner.world.auth(), "Idempotency-Key": "create-key-0001"}
    first = examiner.sessions.post("/sessions", json={"mode": "part1"}, headers=headers)
    again = examiner.sessions.post("/sessions", json={"mode": "part1"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["session_id"] == again.get_json()["session_id"]
    assert len([p for p in examiner.world.store.paths() if p.startswith("sessions/")]) == 1
    other = examiner.sessions.post("/sessions", json={"mode": "part2"}, headers=headers)
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"


def test_without_speech_the_session_still_opens_as_text(examiner: Examiner) -> None:
    examiner.tts.fail_with = errors.DependencyUnavailable()
    view = examiner.start("part1")
    assert view["examiner"]["audio_unavailable"] is True
    assert view["examiner"]["audio_url"] is None
    assert view["usage"]["characters_synthesized"] == 0
    # Speech is back: resuming synthesises the line and counts it.
    examiner.tts.fail_with = None
    resumed = examiner.sessions.get(
        f"/sessions/{view['session_id']}", headers=examiner.world.auth()
    ).get_json()
    assert resumed["examiner"]["audio_unavailable"] is False
    assert resumed["usage"]["characters_synthesized"] == len(view["examiner"]["text"])


def test_no_token_no_session(examiner: Examiner) -> None:
    response = examiner.sessions.post("/sessions", json={"mode": "full"})
    assert response.status_code == 401


# --- list and get -----------------------------------------------------------------------------
def test_the_list_holds_my_sessions_most_recent_first(examiner: Examiner) -> None:
    ids = []
    for _ in range(3):
        ids.append(examiner.start("part1")["session_id"])
        examiner.world.clock.advance(minutes=1)
    examiner.start("part1", uid="someone-else")
    listed = examiner.sessions.get("/sessions", headers=examiner.world.auth()).get_json()
    assert [item["session_id"] for item in listed["sessions"]] == ids[::-1]
    assert {item["status"] for item in listed["sessions"]} == {"active"}


def test_the_list_stops_at_twenty(examiner: Examiner) -> None:
    for _ in range(22):
        examiner.start("part2")
        examiner.world.clock.advance(hours=2)  # fewer a day than the daily sessions limit
    listed = examiner.sessions.get("/sessions", headers=examiner.world.auth()).get_json()
    assert len(listed["sessions"]) == 20


def test_resume_gives_the_current_line_a_fresh_url_and_the_turns(examiner: Examiner) -> None:
    view = examiner.start("full")
    session_id = view["session_id"]
    turn = examiner.answered(session_id)
    examiner.world.clock.advance(minutes=2)
    resumed = examiner.sessions.get(f"/sessions/{session_id}", headers=examiner.world.auth())
    assert resumed.status_code == 200
    body = resumed.get_json()
    assert body["examiner"]["text"] == turn["examiner"]["text"]
    assert body["examiner"]["audio_url"] != turn["examiner"]["audio_url"]  # signed again, later
    assert body["part"] == turn["part"]
    assert body["stage"] == turn["stage"]
    assert body["turn_count"] == 1
    [summary] = body["turns"]
    assert summary["turn_id"] == turn["turn_id"]
    assert summary["transcript"] == turn["transcript"]["text"]
    assert summary["duration_seconds"] == pytest.approx(4.0, abs=0.05)
    assert summary["question"]  # the name check
    assert summary["part"] == 0
    assert summary["index"] == 1


def test_another_learners_session_does_not_exist_for_me(examiner: Examiner) -> None:
    session_id = examiner.start("full", uid="owner")["session_id"]
    intruder = examiner.world.auth("intruder")
    for response in (
        examiner.sessions.get(f"/sessions/{session_id}", headers=intruder),
        examiner.sessions.post(f"/sessions/{session_id}/finish", headers=intruder),
        examiner.answer(session_id, uid="intruder"),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    # The same answer as for a session that never existed.
    missing = examiner.sessions.get("/sessions/s_nothing_here", headers=intruder)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["message"] == response.get_json()["error"]["message"]
    assert examiner.answer_blobs("intruder") == []


# --- idle -------------------------------------------------------------------------------------
def test_an_idle_session_is_abandoned_on_the_next_access(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    idle = examiner.settings.session_idle_minutes
    examiner.world.clock.advance(minutes=idle - 1)
    assert examiner.answer(session_id).status_code == 200  # still in time: the clock restarts
    examiner.world.clock.advance(minutes=idle + 1)
    listed = examiner.sessions.get("/sessions", headers=examiner.world.auth()).get_json()
    assert listed["sessions"][0]["status"] == "abandoned"
    assert examiner.session_document(session_id)["status"] == "active"  # listing writes nothing
    view = examiner.sessions.get(f"/sessions/{session_id}", headers=examiner.world.auth())
    assert view.get_json()["status"] == "abandoned"
    assert examiner.session_document(session_id)["abandoned_at"] is not None
    late = examiner.answer(session_id)
    assert late.status_code == 409
    assert late.get_json()["error"]["code"] == "session_not_active"
    finish = examiner.sessions.post(f"/sessions/{session_id}/finish", headers=examiner.world.auth())
    assert finish.status_code == 409
    assert examiner.world.events.published == []


def test_a_turn_after_the_idle_limit_abandons_the_session(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    examiner.world.clock.advance(minutes=examiner.settings.session_idle_minutes + 1)
    response = examiner.answer(session_id)
    assert response.status_code == 409
    assert response.get_json()["error"]["details"] == {"status": "abandoned"}
    assert examiner.session_document(session_id)["status"] == "abandoned"
    assert examiner.turn_paths(session_id) == []
    assert examiner.answer_blobs() == []


# --- finish -----------------------------------------------------------------------------------
def test_finish_closes_the_test_and_publishes_once(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    examiner.answered(session_id)
    examiner.world.clock.advance(seconds=30)
    finished = examiner.sessions.post(
        f"/sessions/{session_id}/finish", headers=examiner.world.auth()
    )
    assert finished.status_code == 200
    view = finished.get_json()
    assert view["status"] == "finished"
    assert view["examiner"]["action"] == "close_test"
    assert view["examiner"]["expects_answer"] is False
    assert view["finished_at"]
    again = examiner.sessions.post(f"/sessions/{session_id}/finish", headers=examiner.world.auth())
    assert again.status_code == 200
    assert again.get_json()["status"] == "finished"
    [message] = examiner.world.events.messages(examiner.settings.topic_session_finished)
    assert message.payload == {
        "session_id": session_id,
        "uid": "learner-1",
        "mode": "full",
        "finished_at": view["finished_at"].replace("+00:00", "Z"),
        "turn_count": 1,
    }
    assert message.attributes == {"session_id": session_id, "event_type": "session-finished"}
    stored = examiner.session_document(session_id)
    assert stored["finish_published"] is True
    assert stored["finish_message_id"] == message.message_id
    assert examiner.answer(session_id).status_code == 409


def test_a_failed_publish_is_made_good_by_the_next_finish(examiner: Examiner) -> None:
    session_id = examiner.start("part1")["session_id"]
    examiner.world.events.fail_with = errors.DependencyUnavailable()
    failed = examiner.sessions.post(f"/sessions/{session_id}/finish", headers=examiner.world.auth())
    assert failed.status_code == 503
    assert examiner.session_document(session_id)["status"] == "finished"
    assert examiner.session_document(session_id)["finish_published"] is False
    examiner.world.events.fail_with = None
    retried = examiner.sessions.post(
        f"/sessions/{session_id}/finish", headers=examiner.world.auth()
    )
    assert retried.status_code == 200
    assert len(examiner.world.events.messages(examiner.settings.topic_session_finished)) == 1
    examiner.sessions.post(f"/sessions/{session_id}/finish", headers=examiner.world.auth())
    examiner.sessions.get(f"/sessions/{session_id}", headers=examiner.world.auth())
    assert len(examiner.world.events.messages(examiner.settings.topic_session_finished)) == 1


def test_a_publish_in_progress_elsewhere_is_not_repeated(examiner: Examiner) -> None:
    session_id = examiner.start("part1")["session_id"]
    examiner.sessions.post(f"/sessions/{session_id}/finish", headers=examiner.world.auth())
    # As if the first instance died after claiming the publication and before publishing.
    examiner.world.store.set(
        f"sessions/{session_id}",
        {"finish_published": False, "finish_claimed_at": examiner.world.clock.now()},
        merge=True,
    )
    examiner.sessions.post(f"/sessions/{session_id}/finish", headers=examiner.world.auth())
    assert len(examiner.world.events.messages(examiner.settings.topic_session_finished)) == 1
    examiner.world.clock.advance(timedelta(minutes=2))  # the claim has expired
    examiner.sessions.get(f"/sessions/{session_id}", headers=examiner.world.auth())
    assert len(examiner.world.events.messages(examiner.settings.topic_session_finished)) == 2


def test_services_called_outside_a_request_leave_no_log_context(examiner: Examiner) -> None:
    import structlog

    from shared import bootstrap
    from shared.models.identity import Caller
    from shared.sessions import service, turns
    from shared.sessions.models import CreateSession
    from tests.unit.session_support import answer_audio

    container, caller = bootstrap.get_container(), Caller(uid="learner-1")
    _, view = service.create_session(container, caller, CreateSession(mode="part1"))
    turns.post_turn(container, caller, view.session_id, "direct-call-01", answer_audio())
    service.get_session(container, caller, view.session_id)
    service.finish_session(container, caller, view.session_id)
    assert "session_id" not in structlog.contextvars.get_contextvars()
