"""Bad answers over HTTP on the local stack: each is refused with its own code and leaves no
turn document and no audio behind; a real spoken answer (flite) goes through."""

from __future__ import annotations

import io
import uuid
import wave
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from shared.adapters.firestore_store import FirestoreStore
from shared.adapters.gcs_blobs import CloudStorageBlobs
from shared.ports import Query
from tests.bad_answers import BadAnswer, bad_answers
from tests.speech_samples import SAMPLE_RATE_HZ, synthesize

UID = "e2e-bad-audio-learner"
# A real recognition takes a few seconds on the local stack's pocketsphinx.
TURN_TIMEOUT = 120


def _wav(pcm16: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(SAMPLE_RATE_HZ)
        audio.writeframes(pcm16)
    return out.getvalue()


@pytest.fixture(scope="module")
def headers(local_stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {local_stack.mint_token(UID)}"}


@pytest.fixture(scope="module")
def session_id(local_stack: Stack, headers: dict[str, str]) -> str:
    response = requests.post(
        f"{local_stack.base_url}/sessions", json={"mode": "full"}, headers=headers, timeout=60
    )
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


def _post_answer(
    local_stack: Stack, headers: dict[str, str], session_id: str, data: bytes
) -> requests.Response:
    return requests.post(
        f"{local_stack.base_url}/sessions/{session_id}/turns",
        data=data,
        headers={
            **headers,
            "Content-Type": "audio/wav",
            "Idempotency-Key": f"e2e-{uuid.uuid4().hex}",
        },
        timeout=TURN_TIMEOUT,
    )


def _turn_documents(local_stack: Stack, session_id: str) -> list[dict[str, Any]]:
    found = FirestoreStore(local_stack.settings).query(Query(f"sessions/{session_id}/turns"))
    return [document.data for document in found]


def _answer_audio(local_stack: Stack, session_id: str) -> list[str]:
    blobs = CloudStorageBlobs(local_stack.settings)
    return blobs.list_names(local_stack.settings.audio_bucket, f"audio/{UID}/{session_id}/")


def _cases() -> list[BadAnswer]:
    from shared.config import load_settings

    # The stack runs with the default limits: the answers are made for them.
    return list(bad_answers(load_settings({})))


@pytest.mark.parametrize("bad", _cases(), ids=lambda bad: bad.name)
def test_a_bad_answer_gets_its_own_code_and_leaves_nothing(
    local_stack: Stack, headers: dict[str, str], session_id: str, bad: BadAnswer
) -> None:
    assert local_stack.settings.max_audio_upload_bytes == load_default_limit()
    response = _post_answer(local_stack, headers, session_id, bad.data)
    assert response.status_code == bad.status, response.text
    assert response.json()["error"]["code"] == bad.code
    assert _turn_documents(local_stack, session_id) == []
    assert _answer_audio(local_stack, session_id) == []
    view = requests.get(
        f"{local_stack.base_url}/sessions/{session_id}", headers=headers, timeout=30
    ).json()
    assert view["turn_count"] == 0
    assert view["turns"] == []


def test_a_spoken_answer_goes_through(
    local_stack: Stack, headers: dict[str, str], session_id: str
) -> None:
    speech = synthesize("My name is Maria and I come from a small city in the north.")
    response = _post_answer(local_stack, headers, session_id, _wav(speech))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["index"] == 1
    assert result["transcript"]["text"]  # pocketsphinx heard words
    assert result["transcript"]["words"][0]["end"] > result["transcript"]["words"][0]["start"]
    assert result["verdict"]["stage"] == "intro"
    assert result["examiner"]["expects_answer"] is True
    assert result["examiner"]["text"]
    assert result["part"] == 1
    # Flite speaks the examiner's line; its signed URL serves the audio.
    assert result["examiner"]["audio_unavailable"] is False
    audio = requests.get(result["examiner"]["audio_url"], timeout=30)
    assert audio.status_code == 200
    assert audio.content[:4] == b"RIFF"
    assert int(response.headers["X-Store-Reads"]) <= 3
    assert int(response.headers["X-Store-Writes"]) <= 3
    [turn] = _turn_documents(local_stack, session_id)
    assert turn["status"] == "recorded"
    assert _answer_audio(local_stack, session_id) == [turn["audio"]["name"]]


def load_default_limit() -> int:
    from shared.config import load_settings

    return load_settings({}).max_audio_upload_bytes
