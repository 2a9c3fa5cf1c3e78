"""Who may read a learner's work: the learner, and a teacher the learner linked.

The one place that decides it; the session and results reads call ``can_view_learner``
so a linked teacher sees the same sessions and results the learner does (read only).
Admins read usage, not learners' work.
"""

from __future__ import annotations

from shared.models.identity import Caller
from shared.ports import DocumentStore

__all__ = ["LINKS_COLLECTION", "can_view_learner", "link_path"]

LINKS_COLLECTION = "teacherLinks"


def link_path(teacher_uid: str, student_uid: str) -> str:
    """``teacherLinks/{teacherUid}_{studentUid}`` (the security rules read the same path)."""
    return f"{LINKS_COLLECTION}/{teacher_uid}_{student_uid}"


def can_view_learner(store: DocumentStore, caller: Caller, learner_uid: str) -> bool:
    """True for the learner themself, and for a teacher (by role claim) the learner linked."""
    if caller.uid == learner_uid:
        return True
    if caller.role != "teacher":
        return False
    link = store.get(link_path(caller.uid, learner_uid))
    # The fields are checked too: an id built from uids containing '_' must not alias.
    return (
        link is not None
        and link.data.get("teacher_uid") == caller.uid
        and link.data.get("student_uid") == learner_uid
    )
