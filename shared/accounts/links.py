"""Teacher links: a teacher makes an invite code, a student accepts it, either can list, the
student can revoke.

``linkInvites/{sha256(code)}``: ``teacher_uid``, ``created_at``, ``expires_at``, ``used_by``,
``used_at`` (the code itself is never stored). ``teacherLinks/{teacherUid}_{studentUid}``:
``teacher_uid``, ``student_uid``, ``created_at`` (names fixed: the security rules read them).

Accepting and revoking each run in one small transaction that also appends the audit record,
so a link never changes without its record and a retried request changes nothing twice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, Final

from shared import errors
from shared.accounts import audit
from shared.accounts.access import LINKS_COLLECTION, link_path
from shared.accounts.account_errors import (
    InviteCodeInvalid,
    InviteExpired,
    InviteNotFound,
    InviteUsed,
    OwnInvite,
    StudentNotLinked,
    TeacherRoleRequired,
)
from shared.accounts.models import (
    InviteCreated,
    StudentList,
    StudentSession,
    StudentSessions,
    StudentView,
    TeacherList,
    TeacherView,
)
from shared.accounts.profiles import profile_path
from shared.bootstrap import Container
from shared.logging import get_logger
from shared.models.identity import Caller
from shared.ports import Document, DocumentStore, OrderBy, Query, Transaction, Where
from shared.scoring.documents import Summary, scoring_state, summary_path
from shared.sessions.repository import session_from

__all__ = [
    "INVITES_COLLECTION",
    "accept_invite",
    "create_invite",
    "invite_path",
    "list_my_students",
    "list_my_teachers",
    "normalise_code",
    "revoke_teacher",
    "student_sessions",
]

log = get_logger(__name__)

INVITES_COLLECTION: Final = "linkInvites"
# No I, L, O, 0 or 1: a code read out or copied from a board is typed right.
ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final = 8
STUDENT_SESSIONS_LIMIT: Final = 50


def normalise_code(typed: str) -> str:
    """The code as stored: capitals, without spaces or dashes; InviteCodeInvalid otherwise."""
    code = "".join(char for char in typed.upper() if char not in " -\t")
    if len(code) != CODE_LENGTH or any(char not in ALPHABET for char in code):
        raise InviteCodeInvalid()
    return code


def invite_path(code: str) -> str:
    return f"{INVITES_COLLECTION}/{hashlib.sha256(code.encode()).hexdigest()}"


def _random_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def _code_for_key(pepper: str, teacher_uid: str, key: str) -> str:
    """The same code for the same teacher and Idempotency-Key, unguessable without the pepper."""
    digest = hmac.new(pepper.encode(), f"invite\x1f{teacher_uid}\x1f{key}".encode(), "sha256")
    number = int.from_bytes(digest.digest(), "big")
    chars = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def require_teacher(caller: Caller) -> None:
    if caller.role != "teacher":
        raise TeacherRoleRequired(details={"role": caller.role})


def create_invite(container: Container, caller: Caller, *, key: str | None) -> InviteCreated:
    """A new single-use code (the same one again for a retried request with the same key)."""
    require_teacher(caller)
    store, now = container.store, container.clock.now()
    expires_at = now + timedelta(hours=container.settings.link_invite_hours)
    for _ in range(5):
        code = (
            _code_for_key(container.settings.privacy_pepper, caller.uid, key)
            if key
            else _random_code()
        )
        path = invite_path(code)
        data = {
            "teacher_uid": caller.uid,
            "created_at": now,
            "expires_at": expires_at,
            "used_by": None,
            "used_at": None,
        }
        if store.create(path, data):
            log.info("invite_created", expires_in_hours=container.settings.link_invite_hours)
            return _created(code, expires_at)
        existing = store.get(path)
        if key and existing is not None and existing.data.get("teacher_uid") == caller.uid:
            return _created(code, existing.data["expires_at"])  # a retried request
        if key:
            break  # another teacher's code (about 1 in 8.5e11): the client must change its key
    raise errors.Conflict(
        "Could not make a fresh invite code; try again with a new Idempotency-Key."
    )


def _created(code: str, expires_at: datetime) -> InviteCreated:
    return InviteCreated(code=code, display_code=f"{code[:4]}-{code[4:]}", expires_at=expires_at)


def accept_invite(
    container: Container, caller: Caller, typed_code: str, *, request_id: str
) -> tuple[bool, TeacherView]:
    """Link the caller (as student) to the invite's teacher; (created, the link)."""
    code = normalise_code(typed_code)
    store, clock = container.store, container.clock
    now = clock.now()

    def accept(transaction: Transaction) -> tuple[bool, dict[str, Any]]:
        invite = transaction.get(invite_path(code))
        if invite is None:
            raise InviteNotFound()
        teacher_uid = str(invite.data["teacher_uid"])
        if teacher_uid == caller.uid:
            raise OwnInvite()
        path = link_path(teacher_uid, caller.uid)
        link = transaction.get(path)
        used_by = invite.data.get("used_by")
        if used_by is not None:
            if used_by == caller.uid and link is not None:
                return False, link.data  # this student's retry
            raise InviteUsed()
        if invite.data["expires_at"] <= now:
            raise InviteExpired(details={"expired_at": invite.data["expires_at"].isoformat()})
        transaction.set(invite.path, {"used_by": caller.uid, "used_at": now}, merge=True)
        if link is not None:
            return False, link.data  # already linked through an earlier code
        data = {"teacher_uid": teacher_uid, "student_uid": caller.uid, "created_at": now}
        transaction.create(path, data)
        audit.create_in(
            transaction,
            audit.build(
                clock,
                action="teacher_link_created",
                actor=caller,
                request_id=request_id,
                subject_uids=[teacher_uid, caller.uid],
                target=LINKS_COLLECTION,
            ),
        )
        return True, data

    created, data = store.run_transaction(accept)
    log.info("teacher_link_accepted", created=created)
    teacher_uid = str(data["teacher_uid"])
    return created, TeacherView(
        teacher_uid=teacher_uid,
        display_name=_display_name(store, teacher_uid),
        linked_at=data["created_at"],
    )


def revoke_teacher(
    container: Container, caller: Caller, teacher_uid: str, *, request_id: str
) -> bool:
    """Remove the caller's link to ``teacher_uid``; False if there was none (still a success:
    a retried revoke)."""
    store, clock = container.store, container.clock
    path = link_path(teacher_uid, caller.uid)

    def revoke(transaction: Transaction) -> bool:
        link = transaction.get(path)
        if link is None or link.data.get("student_uid") != caller.uid:
            return False
        transaction.delete(path)
        audit.create_in(
            transaction,
            audit.build(
                clock,
                action="teacher_link_revoked",
                actor=caller,
                request_id=request_id,
                subject_uids=[teacher_uid, caller.uid],
                target=LINKS_COLLECTION,
            ),
        )
        return True

    revoked = store.run_transaction(revoke)
    log.info("teacher_link_revoked", revoked=revoked)
    return revoked


def _links(store: DocumentStore, field: str, uid: str) -> list[Document]:
    found = store.query(Query(LINKS_COLLECTION, where=(Where(field, "==", uid),)))
    return sorted(found, key=lambda document: document.data["created_at"])


def _display_name(store: DocumentStore, uid: str) -> str | None:
    profile = store.get(profile_path(uid))
    preferences = (profile.data.get("preferences") or {}) if profile else {}
    name = preferences.get("display_name")
    return name if isinstance(name, str) else None


def list_my_teachers(store: DocumentStore, caller: Caller) -> TeacherList:
    return TeacherList(
        teachers=[
            TeacherView(
                teacher_uid=link.data["teacher_uid"],
                display_name=_display_name(store, link.data["teacher_uid"]),
                linked_at=link.data["created_at"],
            )
            for link in _links(store, "student_uid", caller.uid)
        ]
    )


def list_my_students(store: DocumentStore, caller: Caller) -> StudentList:
    require_teacher(caller)
    return StudentList(
        students=[
            StudentView(
                student_uid=link.data["student_uid"],
                display_name=_display_name(store, link.data["student_uid"]),
                linked_at=link.data["created_at"],
            )
            for link in _links(store, "teacher_uid", caller.uid)
        ]
    )


def student_sessions(store: DocumentStore, caller: Caller, student_uid: str) -> StudentSessions:
    """A linked student's recent sessions with their summary bands; StudentNotLinked (404)
    for anyone else."""
    require_teacher(caller)
    link = store.get(link_path(caller.uid, student_uid))
    if link is None or link.data.get("student_uid") != student_uid:
        raise StudentNotLinked(details={"student_uid": student_uid})
    sessions = []
    found = store.query(
        Query(
            "sessions",
            where=(Where("uid", "==", student_uid),),
            order_by=(OrderBy("created_at", descending=True),),
            limit=STUDENT_SESSIONS_LIMIT,
        )
    )
    for document in found:
        session = session_from(document)
        state = scoring_state(document.data)
        summary: Summary | None = None
        if session.status == "finished":
            stored = store.get(summary_path(session.session_id))
            summary = Summary.model_validate(stored.data) if stored else None
        sessions.append(
            StudentSession(
                session_id=session.session_id,
                status=session.status,
                mode=session.mode,
                created_at=session.created_at,
                finished_at=session.finished_at,
                scoring_status=state.status if state else None,
                speaking_band=summary.speaking_band if summary else None,
                bands={
                    criterion: score.band if score.scored else None
                    for criterion, score in (summary.criteria.items() if summary else ())
                },
            )
        )
    return StudentSessions(student_uid=student_uid, sessions=sessions)
