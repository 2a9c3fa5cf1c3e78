"""A learner's long-term question memory: which bank questions they were asked, and when.

One document per learner, ``users/{uid}/questionMemory/summary``::

    {"questions": {"p1.work.q1": {"last_asked_at": <time>, "count": 2}, ...},
     "updated_at": <time>}

One document (not one per question) so a plan reads the whole memory in one read and a turn
that asks new questions updates it with one write, in the turn's own transaction. The bank
holds under a thousand questions, so the map stays far below Firestore's 1 MiB per document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from shared.models.exam import AskedQuestion
from shared.ports import Document, DocumentStore

__all__ = ["asked_questions", "memory_path", "read_memory", "remembered"]


def memory_path(uid: str) -> str:
    return f"users/{uid}/questionMemory/summary"


def asked_questions(document: Document | None) -> dict[str, AskedQuestion]:
    """The memory as ``build_plan`` takes it: question id to when and how often it was asked."""
    if document is None:
        return {}
    questions = document.data.get("questions") or {}
    return {
        question_id: AskedQuestion.model_validate(record)
        for question_id, record in questions.items()
        if isinstance(record, Mapping)
    }


def read_memory(store: DocumentStore, uid: str) -> dict[str, AskedQuestion]:
    """The learner's memory (empty for a new learner)."""
    return asked_questions(store.get(memory_path(uid)))


def remembered(
    current: Document | None, question_ids: Iterable[str], now: datetime
) -> dict[str, Any]:
    """The memory document after ``question_ids`` were asked at ``now``."""
    questions: dict[str, Any] = dict((current.data.get("questions") if current else None) or {})
    for question_id in question_ids:
        before = questions.get(question_id)
        count = int(before.get("count", 0)) if isinstance(before, Mapping) else 0
        questions[question_id] = {"last_asked_at": now, "count": count + 1}
    return {"questions": questions, "updated_at": now}
