"""What the session and turn tests share: the fake world plus fake speech, and a learner who
starts tests and answers through the real functions-framework apps."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flask.testing
from werkzeug.test import TestResponse

from shared import bootstrap
from shared.config import Settings
from shared.sessions.store_counts import CountingStore
from tests.fakes.speech import FakeTextToSpeech, ScriptedSpeechToText
from tests.unit import audio_corpus
from tests.unit.conftest import FakeWorld

Client = Callable[[str], flask.testing.FlaskClient]


@functools.cache
def answer_audio(seconds: float = 4.0, seed: int = 0) -> bytes:
    """A speech-like answer as WAV (the intake accepts it; the fake recogniser scripts words)."""
    return audio_corpus.answer("wav", seconds=seconds, seed=seed)


@dataclass
class Examiner:
    """The fake world with speech, and helpers to run a mock test over HTTP."""

    world: FakeWorld
    stt: ScriptedSpeechToText
    tts: FakeTextToSpeech
    counting: CountingStore
    sessions: flask.testing.FlaskClient
    turns: flask.testing.FlaskClient
    _keys: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def settings(self) -> Settings:
        return self.world.settings

    def new_key(self) -> str:
        return f"answer-key-{next(self._keys):04d}"

    def start(self, mode: str = "full", uid: str = "learner-1", **body: Any) -> dict[str, Any]:
        response = self.sessions.post(
            "/sessions", json={"mode": mode, **body}, headers=self.world.auth(uid)
        )
        assert response.status_code == 201, response.get_json()
        data: dict[str, Any] = response.get_json()
        return data

    def answer(
        self,
        session_id: str,
        audio: bytes | None = None,
        *,
        key: str | None = None,
        uid: str = "learner-1",
        content_type: str = "audio/wav",
    ) -> TestResponse:
        headers = {**self.world.auth(uid), "Idempotency-Key": key or self.new_key()}
        return self.turns.post(
            f"/sessions/{session_id}/turns",
            data=answer_audio() if audio is None else audio,
            headers=headers,
            content_type=content_type,
        )

    def answered(self, session_id: str, **options: Any) -> dict[str, Any]:
        response = self.answer(session_id, **options)
        assert response.status_code == 200, response.get_json()
        data: dict[str, Any] = response.get_json()
        return data

    def session_document(self, session_id: str) -> dict[str, Any]:
        found = self.world.store.get(f"sessions/{session_id}")
        assert found is not None
        return found.data

    def turn_paths(self, session_id: str) -> list[str]:
        prefix = f"sessions/{session_id}/turns/"
        return [path for path in self.world.store.paths() if path.startswith(prefix)]

    def answer_blobs(self, uid: str = "learner-1") -> list[str]:
        return self.world.blobs.list_names(self.settings.audio_bucket, f"audio/{uid}/")

    def snapshot(self) -> dict[str, Any]:
        """Every stored document but the rate-limit counters (shared/limits counts every
        attempt, refused or not), to compare before and after a request."""
        store = self.world.store
        return {
            path: store.get(path).data  # type: ignore[union-attr]
            for path in store.paths()
            if not path.startswith("rateLimits/")
        }


def install_examiner(
    world: FakeWorld, client_for: Client, *, stt: ScriptedSpeechToText | None = None
) -> Examiner:
    """Reinstall the world's container with fake speech and a counting store."""
    world.blobs.clock = world.clock  # signed URLs expire by the test's clock
    stt = stt or ScriptedSpeechToText()
    tts = FakeTextToSpeech()
    counting = CountingStore(world.store)
    bootstrap.install(
        bootstrap.Container(
            world.settings,
            store=counting,
            blobs=world.blobs,
            events=world.events,
            token_verifier=world.tokens,
            identity_admin=world.identity,
            clock=world.clock,
            speech_to_text=stt,
            text_to_speech=tts,
        )
    )
    return Examiner(world, stt, tts, counting, client_for("sessions"), client_for("turns"))
