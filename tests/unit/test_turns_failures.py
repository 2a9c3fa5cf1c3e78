"""When a turn goes wrong: bad audio leaves nothing behind, speech-to-text down keeps the audio
for a retry, the examiner's voice down leaves the text."""

from __future__ import annotations

from collections.abc import Callable

import flask.testing
import pytest

from shared import errors
from shared.sessions.idempotency import turn_id_for
from tests.bad_answers import BadAnswer, bad_answers
from tests.unit.conftest import FakeWorld
from tests.unit.session_support import Examiner, install_examiner

Client = Callable[[str], flask.testing.FlaskClient]


@pytest.fixture
def examiner(world: FakeWorld, client_for: Client) -> Examiner:
    return install_examiner(world, client_for)


def _cases() -> list[BadAnswer]:
    from shared.config import load_settings

    return list(bad_answers(load_settings({})))


@pytest.mark.parametrize("bad", _cases(), ids=lambda bad: bad.name)
def test_bad_audio_is_refused_with_its_code_and_leaves_nothing(
    examiner: Examiner, bad: BadAnswer
) -> None:
    session_id = examiner.start("full")["session_id"]
    before = examiner.snapshot()
    response = examiner.answer(session_id, audio=bad.data, content_type="audio/wav")
    assert response.status_code == bad.status, response.get_json()
    assert response.get_json()["error"]["code"] == bad.code
    assert examiner.turn_paths(session_id) == []
    assert examiner.answer_blobs() == []
    assert examiner.snapshot() == before
    assert examiner.stt.calls == []


def test_after_a_refusal_the_same_key_can_carry_a_good_answer(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    silent = next(bad for bad in _cases() if bad.code == "audio_silent")
    assert examiner.answer(session_id, audio=silent.data, key="try-again-001").status_code == 400
    assert examiner.answer(session_id, key="try-again-001").status_code == 200


def test_speech_to_text_down_keeps_the_audio_and_a_retry_continues_from_it(
    examiner: Examiner,
) -> None:
    session_id = examiner.start("full")["session_id"]
    examiner.stt.fail_next = 1
    failed = examiner.answer(session_id, key="stt-down-0001")
    assert failed.status_code == 503
    error = failed.get_json()["error"]
    assert error["code"] == "transcription_unavailable"
    turn_id = turn_id_for(session_id, "stt-down-0001")
    assert error["details"]["turn_id"] == turn_id
    pending = examiner.world.store.get(f"sessions/{session_id}/turns/{turn_id}")
    assert pending is not None
    assert pending.data["status"] == "pending_transcription"
    assert pending.data["index"] is None
    assert pending.data["pending_reason"] == "unavailable"
    assert examiner.answer_blobs() == [pending.data["audio"]["name"]]
    assert examiner.session_document(session_id)["turn_count"] == 0

    retried = examiner.answer(session_id, key="stt-down-0001")
    assert retried.status_code == 200
    assert retried.get_json()["turn_id"] == turn_id
    recorded = examiner.world.store.get(f"sessions/{session_id}/turns/{turn_id}")
    assert recorded is not None
    assert recorded.data["status"] == "recorded"
    assert recorded.data["index"] == 1
    assert len(examiner.stt.calls) == 2
    assert examiner.answer_blobs() == [pending.data["audio"]["name"]]
    assert examiner.session_document(session_id)["turn_count"] == 1


def test_a_retry_after_speech_to_text_was_down_needs_no_new_upload(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    examiner.stt.fail_next = 1
    assert examiner.answer(session_id, key="stt-down-0002").status_code == 503
    stored_name = examiner.answer_blobs()[0]
    headers = {**examiner.world.auth(), "Idempotency-Key": "stt-down-0002"}
    retried = examiner.turns.post(
        f"/sessions/{session_id}/turns", json={"uploaded": True}, headers=headers
    )
    assert retried.status_code == 200, retried.get_json()
    turn = examiner.world.store.get(f"sessions/{session_id}/turns/{retried.get_json()['turn_id']}")
    assert turn is not None
    assert turn.data["status"] == "recorded"
    assert turn.data["audio"]["name"] == stored_name
    # The stored audio was transcribed, the same length as the first attempt's.
    assert examiner.stt.calls[0] == examiner.stt.calls[1]


def test_speech_to_text_down_for_an_uploaded_answer_resumes_from_the_upload(
    examiner: Examiner,
) -> None:
    session_id = examiner.start("part2")["session_id"]
    headers = {**examiner.world.auth(), "Idempotency-Key": "uploaded-stt-01"}
    upload = examiner.turns.post(
        f"/sessions/{session_id}/turns/upload-url", headers=headers
    ).get_json()
    from tests.unit.session_support import answer_audio

    examiner.world.blobs.open_signed_url(
        upload["upload_url"],
        method="PUT",
        data=answer_audio(),
        content_type="application/octet-stream",
    )
    examiner.stt.fail_next = 1
    post = {"json": {"uploaded": True}, "headers": headers}
    assert examiner.turns.post(f"/sessions/{session_id}/turns", **post).status_code == 503
    retried = examiner.turns.post(f"/sessions/{session_id}/turns", **post)
    assert retried.status_code == 200, retried.get_json()
    assert examiner.session_document(session_id)["turn_count"] == 1
    assert examiner.answer_blobs() == [upload["object_name"]]


@pytest.mark.parametrize(
    "failure", [errors.DependencyUnavailable(), errors.InternalError()], ids=["down", "broken"]
)
def test_the_examiners_voice_down_leaves_the_text(
    examiner: Examiner, failure: errors.AppError
) -> None:
    session_id = examiner.start("full")["session_id"]
    spoken = examiner.session_document(session_id)["usage"]["characters_synthesized"]
    examiner.tts.fail_with = failure
    response = examiner.answer(session_id)
    assert response.status_code == 200
    line = response.get_json()["examiner"]
    assert line["audio_unavailable"] is True
    assert line["audio_url"] is None
    assert line["text"]
    assert line["expects_answer"]
    assert response.get_json()["usage"]["characters_synthesized"] == spoken
    assert examiner.session_document(session_id)["turn_count"] == 1


def test_a_storage_outage_fails_the_turn_before_anything_is_written(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    before = examiner.snapshot()
    examiner.world.blobs.fail_with = errors.DependencyUnavailable()
    response = examiner.answer(session_id)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "dependency_unavailable"
    assert examiner.snapshot() == before
    assert examiner.stt.calls == []
