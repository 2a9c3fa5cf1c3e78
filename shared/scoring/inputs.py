"""A finished session's scored answers, as the analyzers read them, loaded through the ports.

One read of the session, one query of its turns, one blob read per scored answer. Answers
that never count towards a band (the introduction, silence, a request to repeat, an answer
not in English) are left out and counted by reason; so are turns still waiting for
transcription. Audio is decoded to 16 kHz mono PCM; an answer whose audio is gone (the
retention rule deleted it) or cannot be decoded is scored from its transcript only, which
the pronunciation criterion then reports as missing audio.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from shared import errors
from shared.events import PermanentFailure
from shared.logging import get_logger
from shared.models.assessment import AnswerText, TimedWord
from shared.ports import BlobStore, DocumentStore, Query
from shared.sessions.documents import SessionDocument, TurnDocument
from shared.sessions.repository import session_from, session_path, turns_collection

__all__ = ["SessionInputs", "decode_pcm", "load_finished_session", "load_inputs"]

log = get_logger(__name__)

# Longer than any answer the turns service accepts (150 s + margin): decoding stops there.
_MAX_DECODE_SECONDS = 300.0


@dataclass(frozen=True)
class SessionInputs:
    """What scoring reads: the session, its scored answers in order, their audio."""

    session: SessionDocument
    answers: tuple[AnswerText, ...]
    pcm_by_turn: Mapping[str, bytes] = field(default_factory=dict)
    not_scored: Mapping[str, int] = field(default_factory=dict)
    recorded_turns: int = 0

    @property
    def session_id(self) -> str:
        return self.session.session_id

    @property
    def first_language(self) -> str | None:
        return self.session.first_language

    def answer(self, turn_id: str) -> AnswerText | None:
        return next((answer for answer in self.answers if answer.turn_id == turn_id), None)


def load_finished_session(
    store: DocumentStore, session_id: str
) -> tuple[SessionDocument, dict[str, Any]]:
    """The session (and its raw data), which must exist and be finished; PermanentFailure
    otherwise."""
    found = store.get(session_path(session_id))
    if found is None:
        raise PermanentFailure("the session does not exist", details={"session_id": session_id})
    try:
        session = session_from(found)
    except ValidationError:
        raise PermanentFailure(
            "the session document is unreadable", details={"session_id": session_id}
        ) from None
    if session.status != "finished":
        raise PermanentFailure(
            f"the session is {session.status}, not finished", details={"session_id": session_id}
        )
    return session, found.data


def _answer_text(turn: TurnDocument) -> AnswerText | None:
    transcript = turn.transcript
    if transcript is None or turn.part not in (1, 2, 3):
        return None
    verdict = turn.verdict
    cut = verdict.cut_at_seconds if verdict is not None else None
    words = tuple(
        TimedWord(
            text=word.text,
            start=word.start,
            end=word.end,
            confidence=word.confidence,
            filled_pause=word.filled_pause,
        )
        for word in transcript.words
        # The examiner stops the long turn at its cap: what follows is not assessed.
        if cut is None or word.start < cut
    )
    duration = verdict.assessed_seconds if verdict is not None else transcript.duration_seconds
    part = 1 if turn.part == 1 else 2 if turn.part == 2 else 3
    return AnswerText(
        turn_id=turn.turn_id,
        part=part,
        question=turn.question_text,
        text=transcript.text,
        words=words,
        duration_seconds=max(0.0, duration),
    )


def _skip_reason(turn: TurnDocument) -> str | None:
    if turn.status != "recorded" or turn.transcript is None:
        return "pending_transcription"
    verdict = turn.verdict
    if verdict is None:
        return "no_verdict"
    if not verdict.scored:
        return verdict.never_score_reason or "not_scored"
    if turn.part not in (1, 2, 3):
        return "intro"
    return None


def decode_pcm(data: bytes) -> bytes | None:
    """16 kHz mono s16le PCM of a stored answer, or None when it cannot be decoded."""
    from shared.speech.audio_errors import AudioRejected
    from shared.speech.decoding import decode_audio
    from shared.speech.formats import identify

    sniffed = identify(data)
    if sniffed is None:
        return None
    try:
        decoded = decode_audio(data, sniffed, max_seconds=_MAX_DECODE_SECONDS)
    except AudioRejected:
        return None
    pcm: bytes = decoded.samples.astype("<i2", copy=False).tobytes()
    return pcm


def _fetch_pcm(blobs: BlobStore, turn: TurnDocument) -> bytes | None:
    try:
        data = blobs.get(turn.audio.bucket, turn.audio.name)
    except errors.NotFound:
        return None  # deleted by the retention rule: score without it
    pcm = decode_pcm(data)
    if pcm is None:
        log.warning("answer_audio_undecodable", turn_id=turn.turn_id)
    return pcm


def load_inputs(
    store: DocumentStore,
    blobs: BlobStore,
    session: SessionDocument,
    *,
    with_audio: bool = True,
) -> SessionInputs:
    """The session's scored answers in the order they were given, with their audio.

    Raises:
        PermanentFailure: the session has no recorded answer at all.
        DependencyUnavailable: the store or the blob store did not answer (retry).
    """
    found = store.query(Query(turns_collection(session.session_id)))
    turns: list[TurnDocument] = []
    for document in found:
        try:
            turns.append(TurnDocument.model_validate(document.data))
        except ValidationError:
            log.warning("turn_unreadable", turn_id=document.id)
    recorded = [turn for turn in turns if turn.status == "recorded"]
    if not recorded:
        raise PermanentFailure(
            "the session has no recorded answers", details={"session_id": session.session_id}
        )
    # Index first, then id: a stable order whatever order the store lists them in.
    turns.sort(key=lambda turn: (turn.index is None, turn.index or 0, turn.turn_id))
    skipped: Counter[str] = Counter()
    answers: list[AnswerText] = []
    pcm_by_turn: dict[str, bytes] = {}
    for turn in turns:
        reason = _skip_reason(turn)
        answer = _answer_text(turn) if reason is None else None
        if answer is None:
            skipped[reason or "no_transcript"] += 1
            continue
        answers.append(answer)
        if with_audio:
            pcm = _fetch_pcm(blobs, turn)
            if pcm:
                pcm_by_turn[turn.turn_id] = pcm
    return SessionInputs(
        session=session,
        answers=tuple(answers),
        pcm_by_turn=pcm_by_turn,
        not_scored=dict(sorted(skipped.items())),
        recorded_turns=len(recorded),
    )
