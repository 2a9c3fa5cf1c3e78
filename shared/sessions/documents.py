"""The stored documents of a mock test: the session (the cursor) and one document per turn.

``sessions/{session_id}``: owner, mode, the plan, the examiner's state and current move, the
turn count, usage, the recent idempotency keys and the state of the session-finished event.
Every turn rewrites it inside one transaction, so it is the single point that serialises
two answers posted at once.

``sessions/{session_id}/turns/{turn_id}``: one answer (its audio, transcript and verdict)
and the examiner's reply to it. ``turn_id`` is derived from the session and the client's
idempotency key, so a retried answer lands on the same document.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.models.exam import AnswerVerdict, ExamMode, ExamState, Move, TestPlan
from shared.models.speech import Transcript
from shared.models.user import ExaminerVoice
from shared.sessions.usage import Usage

__all__ = [
    "RECENT_KEYS_KEPT",
    "AnswerAudio",
    "RecentKey",
    "SessionDocument",
    "SessionStatus",
    "TurnDocument",
    "TurnStatus",
    "TurnSummary",
    "to_data",
]

SessionStatus = Literal["active", "finished", "abandoned"]
TurnStatus = Literal["pending_transcription", "recorded"]

# Enough to recognise any retry of the last few answers from the one session read; older
# keys are still caught by their turn document (see shared.sessions.turns).
RECENT_KEYS_KEPT = 10


class _Stored(BaseModel):
    # Tolerant on read: a field added later must not make older documents unreadable.
    model_config = ConfigDict(extra="ignore")


class RecentKey(_Stored):
    """An idempotency key whose turn is recorded."""

    key: str
    turn_id: str
    body_sha256: str


class TurnSummary(_Stored):
    """One recorded answer as a session's history shows it (kept on the session document, so
    resuming a test reads one document, not every turn with its word timings)."""

    turn_id: str
    index: int | None
    status: TurnStatus = "recorded"
    part: int
    stage: str
    question_id: str | None
    question: str
    transcript: str | None = Field(description="The transcript's text; None while pending.")
    duration_seconds: float | None
    scored: bool | None = Field(description="False: never counts towards a band.")
    recorded_at: datetime | None


class SessionDocument(_Stored):
    """``sessions/{session_id}``."""

    session_id: str
    uid: str
    mode: ExamMode
    practice_id: str | None = None
    status: SessionStatus = "active"
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime = Field(description="Creation or the last recorded turn.")
    finished_at: datetime | None = None
    abandoned_at: datetime | None = None
    examiner_voice: ExaminerVoice = "british"
    first_language: str | None = None
    bank_version: str
    bank_content_hash: str
    plan: TestPlan
    state: ExamState
    move: Move = Field(description="The examiner's current move: what the learner answers.")
    move_made_at: datetime = Field(description="Server time of the move (preparation timer).")
    turn_count: int = Field(default=0, ge=0, description="Recorded turns.")
    usage: Usage = Usage()
    recent_keys: list[RecentKey] = Field(default_factory=list)
    turns: list[TurnSummary] = Field(default_factory=list, description="Recorded, in order.")
    finish_published: bool = Field(
        default=False, description="session-finished was accepted by Pub/Sub."
    )
    finish_claimed_at: datetime | None = Field(
        default=None, description="When a request took on publishing session-finished."
    )
    finish_message_id: str | None = None
    create_key: str | None = Field(
        default=None, description="The Idempotency-Key the session was created with, if any."
    )

    def recent_key(self, key: str) -> RecentKey | None:
        return next((recent for recent in self.recent_keys if recent.key == key), None)

    def idle_since(self, now: datetime, idle_minutes: int) -> bool:
        """Whether the learner has been away longer than the idle limit."""
        return now - self.last_activity_at > timedelta(minutes=idle_minutes)

    def with_recent_key(self, recent: RecentKey) -> list[RecentKey]:
        kept = [existing for existing in self.recent_keys if existing.key != recent.key]
        return [*kept, recent][-RECENT_KEYS_KEPT:]


class AnswerAudio(_Stored):
    """Where the original bytes of an answer are kept, and what they turned out to be."""

    bucket: str
    name: str
    size_bytes: int = Field(ge=0)
    content_type: str
    format: str | None = Field(default=None, description="As decoded, e.g. 'webm/opus'.")
    duration_seconds: float | None = None
    speech_seconds: float | None = None
    warnings: list[str] = Field(default_factory=list)


class TurnDocument(_Stored):
    """``sessions/{session_id}/turns/{turn_id}``."""

    session_id: str
    turn_id: str
    uid: str
    status: TurnStatus
    index: int | None = Field(default=None, description="1 for the first answer; None pending.")
    idempotency_key: str
    body_sha256: str
    audio: AnswerAudio
    part: int
    stage: str
    question_id: str | None = None
    question_text: str = ""
    created_at: datetime
    recorded_at: datetime | None = None
    pending_reason: str | None = None
    transcript: Transcript | None = None
    verdict: AnswerVerdict | None = None
    reply: Move | None = Field(default=None, description="The examiner's move after it.")
    preparation_seconds: float | None = Field(
        default=None, description="Long turn: preparation used, from server time."
    )


def to_data(model: BaseModel) -> dict[str, Any]:
    """A model as a stored document: plain values, datetimes kept as datetimes."""
    data: dict[str, Any] = model.model_dump(mode="python")
    return data
