"""A turn is keyed by the client's Idempotency-Key: a retry changes nothing, a reused key with
other audio is refused, and answers posted at once are serialised, never lost or doubled."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import flask.testing
import pytest
from werkzeug.test import TestResponse

from shared.sessions.documents import RECENT_KEYS_KEPT
from tests.fakes.speech import MeetingSpeechToText
from tests.unit.conftest import FakeWorld
from tests.unit.session_support import Examiner, answer_audio, install_examiner

Client = Callable[[str], flask.testing.FlaskClient]


@pytest.fixture
def examiner(world: FakeWorld, client_for: Client) -> Examiner:
    return install_examiner(world, client_for)


def post_at_once(examiner: Examiner, session_id: str, keys: list[str]) -> list[TestResponse]:
    app = examiner.turns.application

    def post(key: str) -> TestResponse:
        client = app.test_client()  # one client per thread, one app
        response: TestResponse = client.post(
            f"/sessions/{session_id}/turns",
            data=answer_audio(),
            content_type="audio/wav",
            headers={**examiner.world.auth(), "Idempotency-Key": key},
        )
        return response

    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        return list(pool.map(post, keys))


def without_urls(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "examiner": {**result["examiner"], "audio_url": None}}


def test_the_same_key_again_returns_the_same_result_and_writes_nothing(
    examiner: Examiner,
) -> None:
    session_id = examiner.start("full")["session_id"]
    first = examiner.answer(session_id, key="retry-me-0001")
    assert first.status_code == 200
    before = examiner.snapshot()
    blobs_before = examiner.answer_blobs()
    transcriptions = len(examiner.stt.calls)
    examiner.counting.reset()
    again = examiner.answer(session_id, key="retry-me-0001")
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert without_urls(again.get_json()) == without_urls(first.get_json())
    assert examiner.snapshot() == before
    assert examiner.counting.counts.writes == 0
    assert examiner.answer_blobs() == blobs_before
    assert len(examiner.stt.calls) == transcriptions  # no second transcription


def test_the_same_key_with_other_audio_is_refused(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    assert examiner.answer(session_id, key="reused-key-01").status_code == 200
    before = examiner.snapshot()
    other = examiner.answer(session_id, key="reused-key-01", audio=answer_audio(seed=9))
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert examiner.snapshot() == before
    assert len(examiner.answer_blobs()) == 1


def test_an_old_key_is_still_recognised_from_its_turn(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    first = examiner.answered(session_id, key="the-oldest-key")
    for _ in range(RECENT_KEYS_KEPT + 1):
        examiner.answered(session_id)
    session = examiner.session_document(session_id)
    assert "the-oldest-key" not in {recent["key"] for recent in session["recent_keys"]}
    before = examiner.snapshot()
    again = examiner.answer(session_id, key="the-oldest-key")
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["turn_id"] == first["turn_id"]
    assert examiner.snapshot() == before
    reused = examiner.answer(session_id, key="the-oldest-key", audio=answer_audio(seed=9))
    assert reused.status_code == 409
    assert examiner.snapshot() == before


def test_an_old_key_with_audio_of_another_format_is_refused_and_its_upload_removed(
    examiner: Examiner,
) -> None:
    from tests.unit import audio_corpus

    session_id = examiner.start("full")["session_id"]
    examiner.answered(session_id, key="the-oldest-key")
    for _ in range(RECENT_KEYS_KEPT + 1):
        examiner.answered(session_id)
    blobs = examiner.answer_blobs()
    before = examiner.snapshot()
    other_format = audio_corpus.answer("ogg/opus", seconds=4.0)
    reused = examiner.answer(
        session_id, key="the-oldest-key", audio=other_format, content_type="audio/ogg"
    )
    assert reused.status_code == 409
    assert reused.get_json()["error"]["code"] == "idempotency_key_reused"
    assert examiner.snapshot() == before
    assert examiner.answer_blobs() == blobs


def test_five_posts_of_one_answer_at_once_make_one_turn(
    world: FakeWorld, client_for: Client
) -> None:
    examiner = install_examiner(world, client_for, stt=MeetingSpeechToText())
    session_id = examiner.start("full")["session_id"]
    examiner.stt.arm(5)  # type: ignore[attr-defined]
    responses = post_at_once(examiner, session_id, ["same-answer-01"] * 5)
    assert [response.status_code for response in responses] == [200] * 5
    results = [response.get_json() for response in responses]
    assert len({result["turn_id"] for result in results}) == 1
    assert len({result["examiner"]["text"] for result in results}) == 1
    replayed = [response.headers.get("Idempotent-Replayed") for response in responses]
    assert replayed.count("true") == 4
    assert len(examiner.turn_paths(session_id)) == 1
    session = examiner.session_document(session_id)
    assert session["turn_count"] == 1
    assert session["state"]["turns"] == 1
    assert len(examiner.answer_blobs()) == 1


def test_two_answers_posted_at_once_are_both_recorded_in_order(
    world: FakeWorld, client_for: Client
) -> None:
    examiner = install_examiner(world, client_for, stt=MeetingSpeechToText())
    session_id = examiner.start("full")["session_id"]
    examiner.answered(session_id)  # past the name check: Part 1 questions now
    examiner.stt.arm(2)  # type: ignore[attr-defined]
    responses = post_at_once(examiner, session_id, ["racing-key-A", "racing-key-B"])
    assert [response.status_code for response in responses] == [200, 200]
    results = sorted((response.get_json() for response in responses), key=lambda r: r["index"])
    assert [result["index"] for result in results] == [2, 3]
    turns = {
        path.rsplit("/", 1)[1]: examiner.world.store.get(path).data  # type: ignore[union-attr]
        for path in examiner.turn_paths(session_id)
    }
    first, second = (turns[result["turn_id"]] for result in results)
    # The second was judged against the question the first one's reply asked: no interleaving.
    assert second["question_id"] == first["reply"]["question_id"]
    assert second["question_text"] == first["reply"]["question_text"]
    session = examiner.session_document(session_id)
    assert session["turn_count"] == 3
    assert session["state"]["turns"] == 3
    assert session["move"]["text"] == results[1]["examiner"]["text"]
    assert [recent["key"] for recent in session["recent_keys"]][-2:] == [
        first["idempotency_key"],
        second["idempotency_key"],
    ]
    # The loser's line was spoken again for the move actually made, and both were counted.
    usage = session["usage"]
    assert usage["characters_synthesized"] == sum(len(line) for line in examiner.tts.lines)
    assert usage["transcriptions"] == 3


def test_two_retries_of_a_turn_waiting_for_transcription_record_it_once(
    world: FakeWorld, client_for: Client
) -> None:
    examiner = install_examiner(world, client_for, stt=MeetingSpeechToText())
    session_id = examiner.start("full")["session_id"]
    examiner.stt.fail_next = 1
    assert examiner.answer(session_id, key="pending-twice-1").status_code == 503
    # Both retries overwrite the waiting turn: only the session's keys keep them from both
    # counting.
    examiner.stt.arm(2)  # type: ignore[attr-defined]
    responses = post_at_once(examiner, session_id, ["pending-twice-1"] * 2)
    assert [response.status_code for response in responses] == [200, 200]
    assert len({response.get_json()["turn_id"] for response in responses}) == 1
    session = examiner.session_document(session_id)
    assert session["turn_count"] == 1
    assert session["state"]["turns"] == 1
    assert len(examiner.turn_paths(session_id)) == 1


def test_an_empty_body_under_a_used_key_is_not_a_retry(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    assert examiner.answer(session_id, key="used-key-0001").status_code == 200
    empty = examiner.answer(session_id, key="used-key-0001", audio=b"")
    assert empty.status_code == 409
    assert empty.get_json()["error"]["code"] == "idempotency_key_reused"
