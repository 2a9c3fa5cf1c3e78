"""From stored documents to what the app sees: the examiner's line, timers, turns, results."""

from __future__ import annotations

from datetime import datetime

from shared.models.exam import Move
from shared.sessions.documents import SessionDocument, SessionStatus, TurnDocument, TurnSummary
from shared.sessions.examiner_audio import ExaminerSpeech
from shared.sessions.models import (
    ExaminerView,
    SessionListItem,
    SessionView,
    Timers,
    TranscriptView,
    TurnResult,
)

__all__ = ["examiner_view", "list_item", "session_view", "timers", "turn_result", "turn_summary"]


def examiner_view(move: Move, speech: ExaminerSpeech) -> ExaminerView:
    return ExaminerView(
        text=move.text,
        audio_url=speech.audio_url,
        audio_unavailable=speech.audio_unavailable,
        action=move.action,
        actions=list(move.actions),
        cue_card=move.cue_card,
        preparation_seconds=move.preparation_seconds,
        after_preparation_text=move.after_preparation_text,
        max_answer_seconds=move.max_answer_seconds,
        expects_answer=move.expects_answer,
        ends_test=move.ends_test,
    )


def timers(move: Move, move_made_at: datetime, now: datetime) -> Timers:
    """Preparation left by server time since the move (never the client's clock)."""
    left: float | None = None
    if move.preparation_seconds:
        elapsed = max(0.0, (now - move_made_at).total_seconds())
        left = round(max(0.0, move.preparation_seconds - elapsed), 1)
    return Timers(preparation_seconds_left=left, speaking_cap_seconds=move.max_answer_seconds)


def turn_summary(turn: TurnDocument) -> TurnSummary:
    """What the session keeps of a recorded turn for its history."""
    return TurnSummary(
        turn_id=turn.turn_id,
        index=turn.index,
        status=turn.status,
        part=turn.part,
        stage=turn.stage,
        question_id=turn.question_id,
        question=turn.question_text,
        transcript=turn.transcript.text if turn.transcript else None,
        duration_seconds=turn.audio.duration_seconds,
        scored=turn.verdict.scored if turn.verdict else None,
        recorded_at=turn.recorded_at,
    )


def session_view(session: SessionDocument, speech: ExaminerSpeech, now: datetime) -> SessionView:
    return SessionView(
        session_id=session.session_id,
        status=session.status,
        mode=session.mode,
        practice_id=session.practice_id,
        stage=session.state.stage,
        part=session.state.part,
        examiner=examiner_view(session.move, speech),
        timers=timers(session.move, session.move_made_at, now),
        turn_count=session.turn_count,
        turns=list(session.turns),
        created_at=session.created_at,
        updated_at=session.updated_at,
        finished_at=session.finished_at,
        bank_version=session.bank_version,
        usage=session.usage,
    )


def list_item(session: SessionDocument, status_now: SessionStatus | None = None) -> SessionListItem:
    return SessionListItem(
        session_id=session.session_id,
        status=status_now or session.status,
        mode=session.mode,
        stage=session.state.stage,
        part=session.state.part,
        turn_count=session.turn_count,
        created_at=session.created_at,
        updated_at=session.updated_at,
        finished_at=session.finished_at,
    )


def turn_result(
    session: SessionDocument, turn: TurnDocument, speech: ExaminerSpeech, now: datetime
) -> TurnResult:
    """The answer to a turn, from the turn as stored and the session after it."""
    if turn.transcript is None or turn.verdict is None or turn.reply is None or turn.index is None:
        raise ValueError(f"turn {turn.turn_id} is not recorded")
    reply = turn.reply
    return TurnResult(
        session_id=session.session_id,
        turn_id=turn.turn_id,
        index=turn.index,
        transcript=TranscriptView(
            text=turn.transcript.text,
            words=list(turn.transcript.words),
            language=turn.transcript.language,
            model=turn.transcript.model,
        ),
        verdict=turn.verdict,
        examiner=examiner_view(reply, speech),
        part=reply.part,
        stage=reply.stage,
        # The reply was made when the turn was recorded: that is when preparation started.
        timers=timers(reply, turn.recorded_at or now, now),
        session_status=session.status,
        usage=session.usage,
    )
