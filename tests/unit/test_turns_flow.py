"""The turns function on a happy path: an answer in, the examiner's next move out, over
functions-framework with fake speech."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import flask.testing
import pytest

from shared.models.exam import WrittenFollowUp
from shared.sessions.idempotency import turn_id_for
from tests.unit.conftest import FakeWorld
from tests.unit.session_support import Examiner, answer_audio, install_examiner

Client = Callable[[str], flask.testing.FlaskClient]


@pytest.fixture
def examiner(world: FakeWorld, client_for: Client) -> Examiner:
    return install_examiner(world, client_for)


def run_to_the_end(examiner: Examiner, session_id: str, limit: int = 60) -> list[dict[str, Any]]:
    """Answer every move until the examiner closes the test."""
    results = []
    for _ in range(limit):
        result = examiner.answered(session_id)
        results.append(result)
        examiner.world.clock.advance(seconds=4)  # a 4 s answer takes 4 s: turns per minute
        if result["session_status"] != "active":
            return results
    raise AssertionError(f"the test did not close within {limit} answers")


def test_create_answer_finish(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    examiner.stt.script("My name is Amina")
    response = examiner.answer(session_id, key="first-answer-01")
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    result = response.get_json()
    turn_id = turn_id_for(session_id, "first-answer-01")
    assert result["turn_id"] == turn_id
    assert result["index"] == 1
    assert result["transcript"]["text"] == "My name is Amina"
    first_word = result["transcript"]["words"][0]
    assert set(first_word) == {"text", "start", "end", "confidence", "filled_pause"}
    assert result["verdict"]["stage"] == "intro"
    assert result["verdict"]["scored"] is False
    assert result["verdict"]["never_score_reason"] == "intro"
    assert result["examiner"]["action"] == "ask_question"
    assert (result["part"], result["stage"]) == (1, "part1")
    assert result["timers"] == {"preparation_seconds_left": None, "speaking_cap_seconds": 60.0}
    assert result["session_status"] == "active"
    assert result["usage"]["seconds_transcribed"] == pytest.approx(4.0, abs=0.05)

    # The original bytes, stored under the learner, the session and the turn.
    assert examiner.answer_blobs() == [f"audio/learner-1/{session_id}/{turn_id}.wav"]
    stored = examiner.world.blobs.stored(
        examiner.settings.audio_bucket, f"audio/learner-1/{session_id}/{turn_id}.wav"
    )
    assert stored is not None
    assert stored.data == answer_audio()
    turn = examiner.world.store.get(f"sessions/{session_id}/turns/{turn_id}")
    assert turn is not None
    assert turn.data["status"] == "recorded"
    assert turn.data["part"] == 0
    assert turn.data["stage"] == "intro"
    assert turn.data["question_text"]
    assert turn.data["audio"]["format"] == "wav/pcm_s16le"
    assert turn.data["audio"]["duration_seconds"] == pytest.approx(4.0, abs=0.05)
    assert turn.data["audio"]["speech_seconds"] > 1
    assert len(turn.data["body_sha256"]) == 64
    assert turn.data["transcript"]["text"] == "My name is Amina"
    assert turn.data["verdict"]["never_score_reason"] == "intro"
    assert turn.data["reply"]["text"] == result["examiner"]["text"]

    second = examiner.answered(session_id)
    assert second["index"] == 2
    assert second["verdict"]["stage"] == "part1"
    assert second["verdict"]["scored"] is True
    session = examiner.session_document(session_id)
    assert session["turn_count"] == 2
    assert session["state"]["turns"] == 2
    assert [recent["turn_id"] for recent in session["recent_keys"]] == [turn_id, second["turn_id"]]

    finished = examiner.sessions.post(
        f"/sessions/{session_id}/finish", headers=examiner.world.auth()
    )
    assert finished.get_json()["status"] == "finished"
    assert [turn["index"] for turn in finished.get_json()["turns"]] == [1, 2]


def test_the_examiner_closes_a_whole_test_and_it_is_published_once(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    results = run_to_the_end(examiner, session_id)
    last = results[-1]
    assert last["session_status"] == "finished"
    assert last["examiner"]["ends_test"] is True
    assert last["examiner"]["expects_answer"] is False
    parts = [result["verdict"]["stage"] for result in results]
    assert {"intro", "part1", "long_turn", "part3"} <= set(parts)
    [message] = examiner.world.events.messages(examiner.settings.topic_session_finished)
    assert message.payload["turn_count"] == len(results)
    assert message.attributes["session_id"] == session_id
    # Finishing again (the app does, to be sure) publishes nothing more.
    again = examiner.sessions.post(f"/sessions/{session_id}/finish", headers=examiner.world.auth())
    assert again.status_code == 200
    assert len(examiner.world.events.messages(examiner.settings.topic_session_finished)) == 1
    late = examiner.answer(session_id)
    assert late.status_code == 409
    assert late.get_json()["error"]["code"] == "session_not_active"


def test_usage_counts_what_the_engines_did(examiner: Examiner) -> None:
    session_id = examiner.start("part1")["session_id"]
    for _ in range(3):
        examiner.answered(session_id)
    usage = examiner.session_document(session_id)["usage"]
    assert usage["transcriptions"] == 3
    assert usage["seconds_transcribed"] == pytest.approx(sum(examiner.stt.calls), abs=0.01)
    # Every line the engine spoke is counted once; lines served from the cache cost nothing.
    assert usage["characters_synthesized"] == sum(len(line) for line in examiner.tts.lines)
    assert usage["syntheses"] == len(examiner.tts.lines)


def test_a_line_already_spoken_is_served_from_the_cache_for_free(examiner: Examiner) -> None:
    view = examiner.start("part1")
    spoken = list(examiner.tts.lines)
    for _ in range(2):
        resumed = examiner.sessions.get(
            f"/sessions/{view['session_id']}", headers=examiner.world.auth()
        ).get_json()
        assert resumed["examiner"]["audio_url"]
    assert examiner.tts.lines == spoken
    assert resumed["usage"] == view["usage"]


def test_the_long_turn_counts_preparation_by_server_time(examiner: Examiner) -> None:
    view = examiner.start("part2")
    assert view["stage"] == "long_turn"
    examiner.world.clock.advance(seconds=30)  # 26 s of preparation, then a 4 s answer
    result = examiner.answered(view["session_id"])
    assert result["verdict"]["stage"] == "long_turn"
    turn = examiner.world.store.get(f"sessions/{view['session_id']}/turns/{result['turn_id']}")
    assert turn is not None
    assert turn.data["preparation_seconds"] == pytest.approx(26.0, abs=0.1)
    assert turn.data["verdict"]["flags"]["too_short"] is True  # 4 s is not a long turn


def test_a_long_answer_goes_through_a_signed_upload_url(examiner: Examiner) -> None:
    session_id = examiner.start("part2")["session_id"]
    headers = {**examiner.world.auth(), "Idempotency-Key": "long-answer-0001"}
    response = examiner.turns.post(f"/sessions/{session_id}/turns/upload-url", headers=headers)
    assert response.status_code == 200
    upload = response.get_json()
    assert upload["method"] == "PUT"
    assert upload["content_type"] == "application/octet-stream"
    assert upload["max_bytes"] == examiner.settings.max_uploaded_audio_bytes
    turn_id = turn_id_for(session_id, "long-answer-0001")
    assert upload["object_name"] == f"audio/learner-1/{session_id}/{turn_id}.upload"

    # Nothing uploaded yet: the turn cannot be taken.
    early = examiner.turns.post(
        f"/sessions/{session_id}/turns", json={"uploaded": True}, headers=headers
    )
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "audio_not_uploaded"

    long_answer = answer_audio(seconds=20.0, seed=4)
    examiner.world.blobs.open_signed_url(
        upload["upload_url"],
        method="PUT",
        data=long_answer,
        content_type="application/octet-stream",
    )
    done = examiner.turns.post(
        f"/sessions/{session_id}/turns", json={"uploaded": True}, headers=headers
    )
    assert done.status_code == 200, done.get_json()
    result = done.get_json()
    assert result["turn_id"] == turn_id
    assert result["verdict"]["stage"] == "long_turn"
    turn = examiner.world.store.get(f"sessions/{session_id}/turns/{turn_id}")
    assert turn is not None
    assert turn.data["audio"]["name"] == upload["object_name"]
    assert turn.data["audio"]["duration_seconds"] == pytest.approx(20.0, abs=0.05)
    again = examiner.turns.post(
        f"/sessions/{session_id}/turns", json={"uploaded": True}, headers=headers
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["turn_id"] == turn_id


def test_the_recording_limits_are_published(examiner: Examiner) -> None:
    response = examiner.turns.get("/sessions/-/turns/limits", headers=examiner.world.auth())
    assert response.status_code == 200
    limits = response.get_json()
    assert limits["max_request_bytes"] == examiner.settings.max_audio_upload_bytes
    assert limits["max_answer_seconds"]["2"] == examiner.settings.answer_cap_seconds(2)
    assert re.fullmatch(limits["idempotency_key_pattern"], "a-uuid-like-key_1")
    assert examiner.turns.get("/sessions/-/turns/limits").status_code == 401


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "idempotency_key_required"), ({"Idempotency-Key": "short"}, "idempotency_key_invalid")],
)
def test_an_answer_needs_a_sane_idempotency_key(
    examiner: Examiner, headers: dict[str, str], code: str
) -> None:
    session_id = examiner.start("full")["session_id"]
    bad = [
        {"Idempotency-Key": "has spaces in it"},
        {"Idempotency-Key": "x" * 129},
        {"Idempotency-Key": "../../etc/passwd"},
    ]
    for extra in [headers, *([] if code == "idempotency_key_required" else bad)]:
        response = examiner.turns.post(
            f"/sessions/{session_id}/turns",
            data=answer_audio(),
            content_type="audio/wav",
            headers={**examiner.world.auth(), **extra},
        )
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == code
    assert examiner.answer_blobs() == []
    assert examiner.turn_paths(session_id) == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"],
)
def test_an_answer_is_audio_not_json_text_or_a_form(examiner: Examiner, content_type: str) -> None:
    session_id = examiner.start("full")["session_id"]
    response = examiner.answer(
        session_id, audio=b'{"audio": "UklGRg=="}', content_type=content_type
    )
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    assert examiner.answer_blobs() == []


@pytest.mark.parametrize("content_type", ["audio/webm;codecs=opus", "application/octet-stream"])
def test_any_audio_type_or_octet_stream_is_accepted(examiner: Examiner, content_type: str) -> None:
    session_id = examiner.start("full")["session_id"]
    assert examiner.answer(session_id, content_type=content_type).status_code == 200


def test_a_follow_up_writer_is_asked_once_per_answer(
    examiner: Examiner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.sessions import turns

    asked: list[tuple[str, str, str]] = []

    def writer(answer: str, theme: str, question: str) -> WrittenFollowUp | None:
        asked.append((answer, theme, question))
        return WrittenFollowUp(
            text="Why do you think people feel that way about it?",
            template_id="part3_followup@1",
            template_hash="h" * 64,
            model="fake",
        )

    monkeypatch.setattr(turns, "follow_up_writer", lambda container: writer)
    session_id = examiner.start("part2_3")["session_id"]
    written = []
    for _ in range(30):
        response = examiner.answer(session_id)
        result = response.get_json()
        reply = examiner.session_document(session_id)["move"]
        if (reply.get("follow_up") or {}).get("basis") == "model":
            written.append(result["examiner"]["text"])
            assert "llm;dur=" in response.headers["Server-Timing"]
        if result["session_status"] != "active":
            break
    assert written, "no follow-up was worded by the writer"
    # The policy runs twice a turn (ahead of and inside the transaction): one question each.
    assert len(asked) == len(set(asked))


def test_follow_ups_are_worded_by_the_language_model_only_when_one_is_configured() -> None:
    from shared.bootstrap import Container
    from shared.config import load_settings
    from shared.sessions import turns
    from tests.fakes.language_model import ScriptedLanguageModel

    offline = Container(load_settings({}))
    assert turns.follow_up_writer(offline) is None
    assert turns.question_rephraser(offline) is None
    model = ScriptedLanguageModel(
        '{"question": "Why do you think city parks matter to people who work long hours?"}'
    )
    online = Container(load_settings({}), language_model=model)
    assert turns.question_rephraser(online) is not None
    writer = turns.follow_up_writer(online)
    assert writer is not None
    text = writer(
        "I love the park near my office because I can relax there after work.",
        "parks and green spaces in cities",
        "Why are parks important?",
    )
    assert text is not None
    assert text.text == "Why do you think city parks matter to people who work long hours?"
    assert text.template_id.startswith("part3_followup@")
    assert len(text.template_hash) == 64
