"""What the sessions and turns API takes and returns, and the session-finished event."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.models.exam import AnswerVerdict, CueCardView, ExamMode, MoveAction, Stage
from shared.models.speech import TranscribedWord
from shared.sessions.documents import SessionStatus, TurnSummary
from shared.sessions.usage import Usage

__all__ = [
    "CreateSession",
    "ExaminerView",
    "RecordingLimits",
    "SessionFinished",
    "SessionList",
    "SessionListItem",
    "SessionView",
    "Timers",
    "TranscriptView",
    "TurnResult",
    "TurnSummary",
    "UploadUrl",
    "UploadedAnswer",
]


# --- requests ---------------------------------------------------------------------------------
class CreateSession(BaseModel):
    """POST /sessions."""

    model_config = ConfigDict(extra="forbid")

    mode: ExamMode = Field(description="full, part1, part2, part2_3 or practice.")
    practice_id: str | None = Field(
        default=None,
        min_length=3,
        max_length=100,
        pattern=r"^p[123]\.[a-z0-9.-]+$",
        description="Practice mode only: a Part 1 topic id or a cue card id.",
    )


class UploadedAnswer(BaseModel):
    """POST /sessions/{id}/turns as JSON: the answer was PUT to its signed upload URL."""

    model_config = ConfigDict(extra="forbid")

    uploaded: Literal[True]


# --- responses --------------------------------------------------------------------------------
class ExaminerView(BaseModel):
    """What the examiner says now, ready to show and play."""

    text: str
    audio_url: str | None = Field(description="Signed GET URL of the line's audio; short-lived.")
    audio_unavailable: bool = Field(
        description="True when speech could not be made: show the text, retry with GET later."
    )
    action: MoveAction
    actions: list[MoveAction]
    cue_card: CueCardView | None = None
    preparation_seconds: int | None = None
    after_preparation_text: str | None = None
    max_answer_seconds: float | None = None
    expects_answer: bool
    ends_test: bool


class Timers(BaseModel):
    """Server-side clocks of the current move."""

    preparation_seconds_left: float | None = Field(
        description="Part 2: preparation left by server time (the learner may start early)."
    )
    speaking_cap_seconds: float | None = Field(description="Longest answer the examiner allows.")


class SessionView(BaseModel):
    """A session as the app resumes it: the examiner's current line and the turns so far."""

    session_id: str
    status: SessionStatus
    mode: ExamMode
    practice_id: str | None
    stage: Stage
    part: int
    examiner: ExaminerView
    timers: Timers
    turn_count: int
    turns: list[TurnSummary]
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    bank_version: str
    usage: Usage


class SessionListItem(BaseModel):
    session_id: str
    status: SessionStatus
    mode: ExamMode
    stage: Stage
    part: int
    turn_count: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class SessionList(BaseModel):
    """GET /sessions: the caller's sessions, most recent first."""

    sessions: list[SessionListItem]


class TranscriptView(BaseModel):
    text: str
    words: list[TranscribedWord]
    language: str
    model: str


class TurnResult(BaseModel):
    """POST /sessions/{id}/turns: what was heard, the verdict and the examiner's reply."""

    session_id: str
    turn_id: str
    index: int
    transcript: TranscriptView
    verdict: AnswerVerdict
    examiner: ExaminerView
    part: int
    stage: Stage
    timers: Timers
    session_status: SessionStatus
    usage: Usage


class UploadUrl(BaseModel):
    """Where to PUT a long answer before posting the turn with ``{"uploaded": true}``."""

    upload_url: str
    method: Literal["PUT"] = "PUT"
    content_type: str = Field(description="Send exactly this Content-Type with the PUT.")
    object_name: str
    expires_at: datetime
    max_bytes: int


class RecordingLimits(BaseModel):
    """What the app needs before recording: formats, sizes, caps, the idempotency rule."""

    accepted_content_types: list[str]
    max_request_bytes: int = Field(description="Larger answers go through an upload URL.")
    max_uploaded_bytes: int
    max_answer_seconds: dict[str, float] = Field(description="Per part, margin included.")
    min_speech_seconds: float
    idempotency_key_pattern: str


# --- events -----------------------------------------------------------------------------------
class SessionFinished(BaseModel):
    """Payload of ``session-finished``; attributes carry ``session_id`` and ``event_type``.

    An admin's regrade publishes it again with ``generation`` (body and attribute) set to the
    new grading; the finish itself leaves it out, which scoring reads as generation 1."""

    session_id: str
    uid: str
    mode: ExamMode
    finished_at: datetime
    turn_count: int
