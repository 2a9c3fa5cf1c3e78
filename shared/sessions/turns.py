"""One learner turn: the answer's audio in, the examiner's next move out.

Order, each step safe to repeat:

1. Read the session (1 read): the caller's, active, not idle; a key among its recent keys is
   a retry of a recorded turn: answer it from the turn document and write nothing.
2. Store the original bytes first (``answer_audio``), before anything can fail.
3. Decode and check the audio (``prepare_answer_audio``); a refusal deletes the stored bytes
   and writes no turn.
4. Transcribe. If speech-to-text is down, a turn document waiting for transcription points
   at the stored audio and the learner gets 503 ``transcription_unavailable``; a retry with
   the same key (the same body, or ``{"uploaded": true}``) continues from the stored audio.
5. Synthesise the examiner's reply as the session stands, so its cost goes into the turn's
   own write (contention rarely changes the move; when it does, the move made is spoken too).
6. One transaction on the session: re-read it (1 read), check status, idle time and the key
   again, run the examiner policy on the fresh state, re-read the question memory only if
   the reply asks new questions (1 read), then create the turn and rewrite the session (and
   the memory) (2-3 writes). Two answers posted at once are serialised here: the loser's
   transaction re-runs on the winner's state, never interleaved and never lost.
7. If the move closed the test, publish session-finished (``lifecycle``).

Happy path: at most 3 document reads and 3 writes, reported per request in
``TurnOutcome.store_counts`` (the ``X-Store-Reads`` and ``X-Store-Writes`` headers).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from shared import errors
from shared.bootstrap import Container
from shared.exam.language_check import answered_turn
from shared.exam.policy import FollowUpWriter, Rephraser, answer_context, next_move
from shared.logging import bound_context, get_logger
from shared.models.exam import ExamState, Move, WrittenFollowUp
from shared.models.identity import Caller
from shared.models.speech import Transcript
from shared.ports import Transaction
from shared.sessions import answer_audio, examiner_audio
from shared.sessions.answer_audio import StoredAnswer
from shared.sessions.documents import AnswerAudio, RecentKey, SessionDocument, TurnDocument, to_data
from shared.sessions.examiner_audio import ExaminerSpeech
from shared.sessions.idempotency import KEY_PATTERN, body_sha256, turn_id_for
from shared.sessions.lifecycle import abandon_if_idle, publish_claimed
from shared.sessions.models import RecordingLimits, TurnResult, UploadUrl
from shared.sessions.question_memory import memory_path, remembered
from shared.sessions.repository import (
    check_owner,
    owned_session,
    rewritten,
    session_from,
    session_path,
    turn_path,
)
from shared.sessions.session_errors import (
    AudioNotUploaded,
    SessionNotActive,
    TranscriptionUnavailable,
)
from shared.sessions.store_counts import StoreCounts, counted_calls, store_of
from shared.sessions.timings import StageTimes
from shared.sessions.usage import add_synthesis_in_transaction
from shared.sessions.views import turn_result, turn_summary
from shared.speech.audio_errors import AudioEmpty, AudioRejected
from shared.speech.intake import PreparedAudio, prepare_answer_audio

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "TurnOutcome",
    "follow_up_writer",
    "post_turn",
    "recording_limits",
    "upload_url",
]

log = get_logger(__name__)

ACCEPTED_CONTENT_TYPES: Final = ("audio/*", "application/octet-stream")
SAMPLE_RATE_HZ: Final = 16000


def follow_up_writer(container: Container) -> FollowUpWriter | None:
    """Who words Part 3 follow-ups: Gemini when configured (its answer passes a self-check or
    is discarded); None: the policy's deterministic generator, the offline path."""
    model = container.language_model
    if model is None:
        return None
    from shared.exam.model_followups import follow_up_writer as model_follow_up_writer

    return model_follow_up_writer(model)


@dataclass(frozen=True)
class TurnOutcome:
    result: TurnResult
    replayed: bool  # True: a retry of a recorded turn, answered from storage
    store_counts: StoreCounts
    milliseconds: dict[str, float]  # per stage (see shared.sessions.timings)

    @property
    def server_timing(self) -> str:
        """The ``Server-Timing`` header: ``store;dur=3.1, decode;dur=12.0, ...``."""
        return ", ".join(f"{name};dur={ms:.1f}" for name, ms in self.milliseconds.items())


# --- what the transaction decided -------------------------------------------------------------
@dataclass(frozen=True)
class _Recorded:
    session: SessionDocument
    turn: TurnDocument


@dataclass(frozen=True)
class _AlreadyRecorded:
    turn_id: str


@dataclass(frozen=True)
class _Ended:
    status: str


_Outcome = _Recorded | _AlreadyRecorded | _Ended


@dataclass(frozen=True)
class _Answer:
    """Everything about the answer that does not depend on the session's state."""

    key: str
    turn_id: str
    stored: StoredAnswer
    prepared: PreparedAudio
    transcript: Transcript
    received_at: datetime


def question_rephraser(container: Container) -> Rephraser | None:
    """Who rewords a question a learner asked to hear again: Gemini when configured; None:
    the examiner repeats it as written (the offline path)."""
    model = container.language_model
    if model is None:
        return None
    from shared.exam.model_followups import rephraser

    return rephraser(model)


class _OnceWriter:
    """The follow-up writer, asked once per input: the speculative move and every re-run of
    the transaction reuse its wording (a language model is slow, costs money and varies)."""

    def __init__(self, writer: FollowUpWriter | Rephraser, times: StageTimes) -> None:
        self._writer = writer
        self._times = times
        self._said: dict[tuple[str, str, str], WrittenFollowUp | None] = {}

    def __call__(self, first: str, second: Any, third: str) -> WrittenFollowUp | None:
        key = (first, str(second), third)
        if key not in self._said:
            with self._times.stage("llm"):
                self._said[key] = self._writer(first, second, third)
        return self._said[key]


# --- the turn ---------------------------------------------------------------------------------
def post_turn(
    container: Container, caller: Caller, session_id: str, key: str, body: bytes | None
) -> TurnOutcome:
    """Record one answer and make the examiner's next move.

    ``body``: the answer's bytes, or None when it was PUT through an upload URL
    (``{"uploaded": true}``). Raises NotFound, SessionNotActive, IdempotencyKeyReused,
    AudioNotUploaded, an audio refusal (``shared.speech.audio_errors``) or
    TranscriptionUnavailable.
    """
    with bound_context(session_id=session_id):
        times = StageTimes()
        with counted_calls() as tally:
            turn = _Turn(container, caller, session_id, key, times)
            result, replayed = turn.take(body)
        return TurnOutcome(result, replayed, tally.counts, times.rounded())


class _Turn:
    """One answer being taken: the request's view of the services, and its steps."""

    def __init__(
        self, container: Container, caller: Caller, session_id: str, key: str, times: StageTimes
    ) -> None:
        self.container = container
        self.settings = container.settings
        self.store = store_of(container)
        self.blobs = container.blobs
        self.bucket = container.settings.audio_bucket
        self.uid = caller.uid
        self.session_id = session_id
        self.key = key
        self.turn_id = turn_id_for(session_id, key)
        self.times = times
        self.now = container.clock.now()
        writer = follow_up_writer(container)
        self.writer = _OnceWriter(writer, times) if writer is not None else None
        rephrase = question_rephraser(container)
        self.rephraser = _OnceWriter(rephrase, times) if rephrase is not None else None

    def take(self, body: bytes | None) -> tuple[TurnResult, bool]:
        session = owned_session(self.store, self.session_id, self.uid)
        recent = session.recent_key(self.key)
        if recent is not None:
            sha256 = body_sha256(body) if body is not None else None
            return self._replay(session, sha256), True
        idle_minutes = self.settings.session_idle_minutes
        session = abandon_if_idle(self.store, session, self.now, idle_minutes)
        if session.status != "active":
            raise SessionNotActive(details={"status": session.status})
        with self.times.stage("store"):
            found = self._answer_audio(session, body)
        if isinstance(found, TurnResult):
            return found, True
        with self.times.stage("decode"):
            prepared = self._prepared(session, found, uploaded=body is None)
        with self.times.stage("stt"):
            transcript = self._transcribe(session, found, prepared)
        answer = _Answer(self.key, self.turn_id, found, prepared, transcript, self.now)
        return self._record(session, answer)

    # --- the audio ----------------------------------------------------------------------------
    def _answer_audio(
        self, session: SessionDocument, body: bytes | None
    ) -> StoredAnswer | TurnResult:
        """The answer's bytes, stored first; or, for a retry of a recorded turn, its result."""
        if body is None:
            return self._uploaded_audio(session)
        if not body:
            raise AudioEmpty(details={"size_bytes": 0})  # nothing to store
        stored = answer_audio.store_first(
            self.blobs, self.bucket, self.uid, self.session_id, self.turn_id, body
        )
        if stored.owned:
            return stored
        # These bytes' name was taken: a retry of this answer, or the key reused for another.
        turn = self._stored_turn()
        if turn is not None and turn.status == "recorded":
            return self._replay(session, stored.sha256)
        if turn is not None:
            if turn.body_sha256 != stored.sha256:
                raise errors.IdempotencyKeyReused()
            return replace(stored, pending=True)
        # No turn yet: another request with this key is at work, or one died before writing.
        earlier = answer_audio.fetch(self.blobs, self.bucket, stored.name)
        if earlier is None:  # refused and deleted meanwhile: store ours again
            return answer_audio.store_first(
                self.blobs, self.bucket, self.uid, self.session_id, self.turn_id, body
            )
        if body_sha256(earlier) != stored.sha256:
            raise errors.IdempotencyKeyReused()
        return stored

    def _uploaded_audio(self, session: SessionDocument) -> StoredAnswer | TurnResult:
        """``{"uploaded": true}``: the object PUT for this key, or the audio of this key's turn
        that is waiting for transcription."""
        name = answer_audio.upload_blob_name(self.uid, self.session_id, self.turn_id)
        uploaded = answer_audio.fetch(self.blobs, self.bucket, name)
        if uploaded is not None:
            sha = body_sha256(uploaded)
            content_type = answer_audio.UPLOAD_CONTENT_TYPE
            return StoredAnswer(uploaded, sha, self.bucket, name, content_type, owned=True)
        turn = self._stored_turn()
        if turn is not None and turn.status == "recorded":
            return self._replay(session, None)
        if turn is not None:
            data = answer_audio.fetch(self.blobs, turn.audio.bucket, turn.audio.name)
            if data is not None:
                audio = turn.audio
                return StoredAnswer(
                    data,
                    turn.body_sha256,
                    audio.bucket,
                    audio.name,
                    audio.content_type,
                    owned=False,
                    pending=True,
                )
        raise AudioNotUploaded(details={"object_name": name})

    def _prepared(
        self, session: SessionDocument, stored: StoredAnswer, uploaded: bool
    ) -> PreparedAudio:
        settings = self.settings
        part = session.state.part or 1  # the name check before Part 1 has Part 1's limit
        try:
            return prepare_answer_audio(
                stored.data,
                max_bytes=(
                    settings.max_uploaded_audio_bytes
                    if uploaded
                    else settings.max_audio_upload_bytes
                ),
                max_seconds=settings.answer_cap_seconds(part),
                min_speech_seconds=settings.min_speech_seconds,
            )
        except AudioRejected as refusal:
            if stored.owned and not stored.pending:
                answer_audio.discard(self.blobs, stored)
            log.info("turn_audio_refused", turn_id=self.turn_id, error_code=refusal.code)
            raise

    def _transcribe(
        self, session: SessionDocument, stored: StoredAnswer, prepared: PreparedAudio
    ) -> Transcript:
        try:
            return self.container.speech_to_text.transcribe(
                prepared.pcm16, SAMPLE_RATE_HZ, language=self.settings.speech_to_text_language
            )
        except errors.DependencyUnavailable as error:
            state = session.state
            pending = TurnDocument(
                session_id=self.session_id,
                turn_id=self.turn_id,
                uid=self.uid,
                status="pending_transcription",
                idempotency_key=self.key,
                body_sha256=stored.sha256,
                audio=_audio_record(stored, prepared),
                part=state.part,
                stage=state.stage,
                question_id=state.question_id,
                question_text=state.question_text,
                created_at=self.now,
                pending_reason=str(error.details.get("reason") or error.code),
            )
            # create(), never set(): a concurrent retry may have recorded this turn already.
            self.store.create(turn_path(self.session_id, self.turn_id), to_data(pending))
            log.warning("turn_pending_transcription", turn_id=self.turn_id, error_code=error.code)
            raise TranscriptionUnavailable(
                details={"turn_id": self.turn_id, "audio_stored": True, "retry_after_seconds": 5}
            ) from error

    # --- the examiner's move --------------------------------------------------------------------
    def _examiner_reply(
        self, session: SessionDocument, answer: _Answer
    ) -> tuple[Move, ExamState, float | None]:
        """The policy's move on ``session`` as it stands: pure, so safe to run again."""
        with self.times.stage("policy"):
            preparation = _preparation_used(session, answer)
            answered = answered_turn(
                answer.transcript,
                context=answer_context(session.plan, session.state),
                duration_seconds=answer.prepared.duration_seconds,
                speech_seconds=answer.prepared.speech_seconds,
                first_language=session.first_language,
                preparation_seconds=preparation,
            )
            move, state = next_move(
                session.plan,
                session.state,
                answered,
                clock_seconds=(answer.received_at - session.created_at).total_seconds(),
                follow_up_writer=self.writer,
                rephraser=self.rephraser,
            )
        return move, state, preparation

    def _speak(self, move: Move, voice: str) -> ExaminerSpeech:
        with self.times.stage("tts"):
            return examiner_audio.speak(self.container, move.text, voice=voice)

    def _record(self, session: SessionDocument, answer: _Answer) -> tuple[TurnResult, bool]:
        # Speak the reply the session's current state leads to before the transaction, so the
        # synthesis cost goes into the turn's own write.
        expected, _, _ = self._examiner_reply(session, answer)
        speech = self._speak(expected, session.examiner_voice)
        try:
            outcome = self._commit(session, answer, speech, overwrite=answer.stored.pending)
        except errors.Conflict:
            # The turn document exists though the session has no such key: a turn waiting for
            # transcription (its audio came by upload), or an old key reused.
            turn = self._stored_turn()
            if turn is None:
                raise
            if turn.body_sha256 != answer.stored.sha256:
                if answer.stored.owned and answer.stored.name != turn.audio.name:
                    answer_audio.discard(self.blobs, answer.stored)
                raise errors.IdempotencyKeyReused() from None
            if turn.status == "recorded":
                return self._replay(session, answer.stored.sha256), True
            outcome = self._commit(session, answer, speech, overwrite=True)
        if isinstance(outcome, _AlreadyRecorded):
            return self._replay(session, answer.stored.sha256), True
        if isinstance(outcome, _Ended):
            if answer.stored.owned and not answer.stored.pending:
                answer_audio.discard(self.blobs, answer.stored)
            raise SessionNotActive(details={"status": outcome.status})
        return self._after_recording(outcome, expected, speech), False

    def _commit(
        self, session: SessionDocument, answer: _Answer, speech: ExaminerSpeech, *, overwrite: bool
    ) -> _Outcome:
        with self.times.stage("firestore"):
            return self.store.run_transaction(self._transaction(session, answer, speech, overwrite))

    def _transaction(
        self, session: SessionDocument, answer: _Answer, speech: ExaminerSpeech, overwrite: bool
    ) -> Callable[[Transaction], _Outcome]:
        """The turn's transaction; ``overwrite`` replaces a turn waiting for transcription."""
        now, uid = answer.received_at, self.uid
        path = session_path(self.session_id)
        idle_minutes = self.settings.session_idle_minutes

        def record(transaction: Transaction) -> _Outcome:
            found = transaction.get(path)
            fresh = check_owner(session_from(found) if found else None, self.session_id, uid)
            recent = fresh.recent_key(answer.key)
            if recent is not None:
                return _AlreadyRecorded(recent.turn_id)  # its twin got in first
            if found is None or fresh.status != "active" or fresh.state.closed:
                return _Ended(fresh.status)
            if fresh.idle_since(now, idle_minutes):
                update = {"status": "abandoned", "abandoned_at": now, "updated_at": now}
                transaction.set(path, update, merge=True)
                return _Ended("abandoned")
            move, state, preparation = self._examiner_reply(fresh, answer)
            memory = transaction.get(memory_path(uid)) if move.first_asked else None
            turn = _turn_document(fresh, answer, move, preparation)
            updated = _session_after(fresh, answer, turn, state, speech)
            target = turn_path(self.session_id, answer.turn_id)
            if overwrite:
                transaction.set(target, to_data(turn))
            else:
                transaction.create(target, to_data(turn))
            transaction.set(path, rewritten(found, updated))
            if move.first_asked:
                transaction.set(memory_path(uid), remembered(memory, move.first_asked, now))
            return _Recorded(updated, turn)

        return record

    def _after_recording(
        self, recorded: _Recorded, expected: Move, speech: ExaminerSpeech
    ) -> TurnResult:
        session, turn = recorded.session, recorded.turn
        move = session.move
        if move.text != expected.text:
            # Another answer got in first: the move made differs from the one spoken ahead.
            speech = self._speak(move, session.examiner_voice)
            if speech.characters_synthesized:
                characters = speech.characters_synthesized
                usage = self.store.run_transaction(
                    lambda transaction: add_synthesis_in_transaction(
                        transaction, session_path(self.session_id), characters
                    )
                )
                session = session.model_copy(update={"usage": usage or session.usage})
        verdict = turn.verdict
        log.info(
            "turn_recorded",
            turn_id=turn.turn_id,
            index=turn.index,
            stage=turn.stage,
            part=turn.part,
            duration_seconds=turn.audio.duration_seconds,
            speech_seconds=turn.audio.speech_seconds,
            words=len(turn.transcript.words) if turn.transcript else 0,
            scored=verdict.scored if verdict else None,
            never_score_reason=verdict.never_score_reason if verdict else None,
            action=move.action,
            audio_unavailable=speech.audio_unavailable,
            milliseconds=self.times.rounded(),
        )
        if move.ends_test:
            log.info("session_finished", by="examiner", turn_count=session.turn_count)
            # The turn is recorded whatever Pub/Sub does: the next finish or GET publishes.
            with contextlib.suppress(errors.DependencyUnavailable):
                session = publish_claimed(self.container, session)
        return turn_result(session, turn, speech, self.now)

    # --- retries --------------------------------------------------------------------------------
    def _stored_turn(self) -> TurnDocument | None:
        found = self.store.get(turn_path(self.session_id, self.turn_id))
        return TurnDocument.model_validate(found.data) if found else None

    def _replay(self, session: SessionDocument, sha256: str | None) -> TurnResult:
        """A retry of a recorded turn: its stored result, and nothing written.

        ``sha256`` of the retried body (None for ``{"uploaded": true}``, bound to its key by
        the object's name) must match the first body's. A line missing from the voice cache
        is synthesised again here without being counted (only after a failed synthesis).
        """
        turn = self._stored_turn()
        if turn is None or turn.reply is None:
            raise errors.InternalError(details={"turn_id": self.turn_id, "problem": "missing"})
        if sha256 is not None and sha256 != turn.body_sha256:
            raise errors.IdempotencyKeyReused()
        speech = self._speak(turn.reply, session.examiner_voice)
        log.info("turn_replayed", turn_id=self.turn_id, index=turn.index)
        return turn_result(session, turn, speech, self.now)


def _audio_record(stored: StoredAnswer, prepared: PreparedAudio) -> AnswerAudio:
    return AnswerAudio(
        bucket=stored.bucket,
        name=stored.name,
        size_bytes=len(stored.data),
        content_type=stored.content_type,
        format=prepared.format,
        duration_seconds=prepared.duration_seconds,
        speech_seconds=prepared.speech_seconds,
        warnings=list(prepared.warnings),
    )


def _preparation_used(session: SessionDocument, answer: _Answer) -> float | None:
    """Long turn: preparation the learner used, by server time (never the client's clock).

    The answer arrives when recording ended: what came before its audio was preparation.
    """
    move = session.move
    if session.state.stage != "long_turn" or not move.preparation_seconds:
        return None
    waited = (answer.received_at - session.move_made_at).total_seconds()
    used = waited - answer.prepared.duration_seconds
    return round(min(max(used, 0.0), float(move.preparation_seconds)), 1)


def _turn_document(
    session: SessionDocument, answer: _Answer, move: Move, preparation: float | None
) -> TurnDocument:
    state = session.state
    return TurnDocument(
        session_id=session.session_id,
        turn_id=answer.turn_id,
        uid=session.uid,
        status="recorded",
        index=session.turn_count + 1,
        idempotency_key=answer.key,
        body_sha256=answer.stored.sha256,
        audio=_audio_record(answer.stored, answer.prepared),
        part=state.part,
        stage=state.stage,
        question_id=state.question_id,
        question_text=state.question_text,
        created_at=answer.received_at,
        recorded_at=answer.received_at,
        transcript=answer.transcript,
        verdict=move.previous,
        reply=move,
        preparation_seconds=preparation,
    )


def _session_after(
    session: SessionDocument,
    answer: _Answer,
    turn: TurnDocument,
    state: ExamState,
    speech: ExaminerSpeech,
) -> SessionDocument:
    move = turn.reply
    if move is None:
        raise ValueError("a recorded turn has the examiner's reply")
    now = answer.received_at
    # The line spoken ahead cost the same whether or not it is the move made.
    usage = session.usage.with_transcription(answer.prepared.duration_seconds).with_synthesis(
        speech.characters_synthesized
    )
    recent = RecentKey(key=answer.key, turn_id=answer.turn_id, body_sha256=answer.stored.sha256)
    update: dict[str, object] = {
        "state": state,
        "move": move,
        "move_made_at": now,
        "turn_count": session.turn_count + 1,
        "usage": usage,
        "recent_keys": session.with_recent_key(recent),
        "turns": [*session.turns, turn_summary(turn)],
        "updated_at": now,
        "last_activity_at": now,
    }
    if move.ends_test:
        # Claimed in this write: this request publishes session-finished (lifecycle).
        update |= {"status": "finished", "finished_at": now, "finish_claimed_at": now}
    return session.model_copy(update=update)


# --- before the turn --------------------------------------------------------------------------
def upload_url(container: Container, caller: Caller, session_id: str, key: str) -> UploadUrl:
    """A signed PUT URL for a long answer; then post the turn with ``{"uploaded": true}``."""
    with bound_context(session_id=session_id):
        settings, now = container.settings, container.clock.now()
        store = store_of(container)
        session = owned_session(store, session_id, caller.uid)
        session = abandon_if_idle(store, session, now, settings.session_idle_minutes)
        if session.status != "active":
            raise SessionNotActive(details={"status": session.status})
        name = answer_audio.upload_blob_name(caller.uid, session_id, turn_id_for(session_id, key))
        url = container.blobs.signed_url(
            settings.audio_bucket,
            name,
            method="PUT",
            expires_seconds=settings.signed_url_seconds,
            content_type=answer_audio.UPLOAD_CONTENT_TYPE,
        )
        return UploadUrl(
            upload_url=url,
            content_type=answer_audio.UPLOAD_CONTENT_TYPE,
            object_name=name,
            expires_at=now + timedelta(seconds=settings.signed_url_seconds),
            max_bytes=settings.max_uploaded_audio_bytes,
        )


def recording_limits(container: Container) -> RecordingLimits:
    """What the app needs to know before it records an answer."""
    settings = container.settings
    return RecordingLimits(
        accepted_content_types=list(ACCEPTED_CONTENT_TYPES),
        max_request_bytes=settings.max_audio_upload_bytes,
        max_uploaded_bytes=settings.max_uploaded_audio_bytes,
        max_answer_seconds={str(part): settings.answer_cap_seconds(part) for part in (1, 2, 3)},
        min_speech_seconds=settings.min_speech_seconds,
        idempotency_key_pattern=KEY_PATTERN,
    )
