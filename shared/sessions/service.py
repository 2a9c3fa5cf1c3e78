"""Mock test sessions: create (plan the test, open it), list, resume and finish.

One learner turn is in ``shared.sessions.turns``; how a session ends (idle, the
session-finished event) in ``shared.sessions.lifecycle``.

Reads and writes of ``create_session``: the profile and the question memory (2 reads), then
one transaction that creates the session and, when the opening asks questions, re-reads and
updates the memory (1 read, 2 writes).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from shared import errors
from shared.bootstrap import Container
from shared.exam.bank import load_question_bank
from shared.exam.plan import PlanError, build_plan
from shared.exam.policy import ExamClosed, finish_test, start_test
from shared.logging import bound_context, get_logger
from shared.models.identity import Caller
from shared.models.user import Preferences
from shared.ports import Transaction
from shared.sessions import examiner_audio
from shared.sessions.documents import SessionDocument, to_data
from shared.sessions.idempotency import session_id_for
from shared.sessions.lifecycle import abandon_if_idle, publish_claimed, publish_if_pending
from shared.sessions.models import CreateSession, SessionList, SessionView
from shared.sessions.question_memory import memory_path, read_memory, remembered
from shared.sessions.repository import (
    check_owner,
    list_sessions,
    owned_session,
    rewritten,
    session_from,
    session_path,
    viewable_session,
)
from shared.sessions.session_errors import SessionNotActive
from shared.sessions.store_counts import store_of
from shared.sessions.usage import Usage, add_synthesis_in_transaction
from shared.sessions.views import list_item, session_view

__all__ = ["create_session", "finish_session", "get_session", "list_my_sessions"]

log = get_logger(__name__)


def _preferences(profile: Mapping[str, Any] | None) -> Preferences:
    """The learner's preferences, defaults when they never saved any."""
    stored = (profile or {}).get("preferences") or {}
    known = {name: stored[name] for name in Preferences.model_fields if name in stored}
    return Preferences.model_validate(known)


def create_session(
    container: Container, caller: Caller, request: CreateSession, *, key: str | None = None
) -> tuple[bool, SessionView]:
    """Plan and open a mock test. Returns (created, view); with ``key``, a repeat of the same
    request returns the session the first one created (created False)."""
    store, now = store_of(container), container.clock.now()
    session_id = session_id_for(caller.uid, key) if key else "s_" + uuid.uuid4().hex[:24]
    with bound_context(session_id=session_id):
        profile = store.get(f"users/{caller.uid}")
        preferences = _preferences(profile.data if profile else None)
        bank = load_question_bank()
        try:
            plan = build_plan(
                request.mode,
                bank,
                read_memory(store, caller.uid),
                rng_seed=session_id,  # a retried create plans the same test
                first_language=preferences.first_language,
                practice_id=request.practice_id,
            )
        except PlanError as error:
            raise errors.ValidationFailed(
                details={"fields": [{"field": "practice_id", "problem": str(error)}]}
            ) from None
        move, state = start_test(plan)
        speech = examiner_audio.speak(container, move.text, voice=preferences.examiner_voice)
        session = SessionDocument(
            session_id=session_id,
            uid=caller.uid,
            mode=request.mode,
            practice_id=request.practice_id,
            created_at=now,
            updated_at=now,
            last_activity_at=now,
            examiner_voice=preferences.examiner_voice,
            first_language=preferences.first_language,
            bank_version=plan.bank_version,
            bank_content_hash=plan.bank_content_hash,
            plan=plan,
            state=state,
            move=move,
            move_made_at=now,
            usage=Usage().with_synthesis(speech.characters_synthesized),
            create_key=key,
        )

        def write(transaction: Transaction) -> None:
            memory = transaction.get(memory_path(caller.uid)) if move.first_asked else None
            transaction.create(session_path(session_id), to_data(session))
            if move.first_asked:
                transaction.set(memory_path(caller.uid), remembered(memory, move.first_asked, now))

        try:
            store.run_transaction(write)
        except errors.Conflict:
            return False, _repeated_create(container, caller, session_id, request)
        log.info(
            "session_created",
            mode=request.mode,
            bank_version=plan.bank_version,
            audio_unavailable=speech.audio_unavailable,
        )
        return True, session_view(session, speech, now)


def _repeated_create(
    container: Container, caller: Caller, session_id: str, request: CreateSession
) -> SessionView:
    existing = owned_session(store_of(container), session_id, caller.uid)
    if (existing.mode, existing.practice_id) != (request.mode, request.practice_id):
        raise errors.IdempotencyKeyReused(
            "This Idempotency-Key already created a session with another mode."
        )
    log.info("session_create_replayed")
    return get_session(container, caller, session_id)


def list_my_sessions(container: Container, caller: Caller) -> SessionList:
    """The caller's sessions, most recent first; an idle one shows as abandoned."""
    now = container.clock.now()
    idle_minutes = container.settings.session_idle_minutes
    items = []
    for session in list_sessions(store_of(container), caller.uid):
        # Listing does not write: the session is marked abandoned on its next GET or turn.
        idle = session.status == "active" and session.idle_since(now, idle_minutes)
        items.append(list_item(session, "abandoned" if idle else None))
    return SessionList(sessions=items)


def get_session(container: Container, caller: Caller, session_id: str) -> SessionView:
    """The session as the app resumes it: the current line with a fresh audio URL, the turns."""
    with bound_context(session_id=session_id):
        store, now = store_of(container), container.clock.now()
        session = viewable_session(store, session_id, caller)
        if session.uid == caller.uid:  # a linked teacher reads; only the learner moves it on
            session = abandon_if_idle(store, session, now, container.settings.session_idle_minutes)
            # A failed publish is logged there; the next finish or GET retries, and the learner
            # still resumes now.
            with contextlib.suppress(errors.DependencyUnavailable):
                session = publish_if_pending(container, session)
        session, speech = _current_line(container, session)
        return session_view(session, speech, now)


def _current_line(
    container: Container, session: SessionDocument
) -> tuple[SessionDocument, examiner_audio.ExaminerSpeech]:
    """The current move's audio, its cost recorded if the engine had to make it now (an
    earlier synthesis failed, or the move changed while it was being spoken)."""
    speech = examiner_audio.speak(container, session.move.text, voice=session.examiner_voice)
    if speech.characters_synthesized:
        usage = store_of(container).run_transaction(
            lambda transaction: add_synthesis_in_transaction(
                transaction, session_path(session.session_id), speech.characters_synthesized
            )
        )
        if usage is not None:
            session = session.model_copy(update={"usage": usage})
    return session, speech


def finish_session(container: Container, caller: Caller, session_id: str) -> SessionView:
    """End the test now (the learner chose to) and publish session-finished once.

    A finished session is returned as it is (its event published if an earlier attempt did
    not get it out); an abandoned one is SessionNotActive.
    """
    with bound_context(session_id=session_id):
        store, now = store_of(container), container.clock.now()
        idle_minutes = container.settings.session_idle_minutes
        session = owned_session(store, session_id, caller.uid)
        session = abandon_if_idle(store, session, now, idle_minutes)
        if session.status == "active":
            session = _close_now(container, caller, session)
        elif session.status == "finished":
            session = publish_if_pending(container, session)
        if session.status == "abandoned":
            raise SessionNotActive(details={"status": session.status})
        session, speech = _current_line(container, session)
        return session_view(session, speech, now)


def _close_now(container: Container, caller: Caller, session: SessionDocument) -> SessionDocument:
    store, now = store_of(container), container.clock.now()
    path = session_path(session.session_id)
    # Spoken before the transaction, so its cost is recorded in the same write.
    expected, _ = finish_test(session.plan, session.state)
    speech = examiner_audio.speak(container, expected.text, voice=session.examiner_voice)

    def close(transaction: Transaction) -> tuple[SessionDocument, bool]:
        found = transaction.get(path)
        fresh = check_owner(session_from(found) if found else None, session.session_id, caller.uid)
        if found is None or fresh.status != "active":
            return fresh, False  # a turn closed it (or it was abandoned) in the meantime
        try:
            move, state = finish_test(fresh.plan, fresh.state)
        except ExamClosed:
            move, state = fresh.move, fresh.state
        update = {
            "status": "finished",
            "finished_at": now,
            "updated_at": now,
            "state": state,
            "move": move,
            "move_made_at": now,
            "usage": fresh.usage.with_synthesis(speech.characters_synthesized),
            "finish_claimed_at": now,
        }
        closed = fresh.model_copy(update=update)
        transaction.set(path, rewritten(found, closed))
        return closed, True

    closed, claimed = store.run_transaction(close)
    if claimed:
        log.info("session_finished", by="learner", turn_count=closed.turn_count)
        return publish_claimed(container, closed)
    return publish_if_pending(container, closed)
