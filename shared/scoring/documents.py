"""Where scoring results live, what they look like, and the session's scoring status.

``sessions/{sid}/analysis/summary``: phase 1, written with ``set``. It is a pure function of
the session's stored turns and audio (no clock, no timings), so a duplicate run writes the
same document again and nothing changes.

``sessions/{sid}/analysis/deep``: phase 2, written with ``create``: the language model is not
deterministic, so the first complete analysis wins and every later run reuses it.

``sessions/{sid}`` carries ``scoring`` (``ScoringState``), merged into the session document
beside the fields the sessions service owns. The status only moves forward
(``scoring`` → ``summary_ready`` → ``analysis_ready``), so a late or duplicate event can never
take a learner's results back a step; ``failed`` is only reachable before a summary exists.

Generations (regrades). ``scoring.generation`` numbers the gradings of a session: 1 for the
first, one more for each regrade an admin requests (``shared.scoring.regrade``), which also
resets the status to ``scoring`` for the new generation. Each generation's results are kept
as its own record, ``analysis/summary__g{n}`` and ``analysis/deep__g{n}`` (written like the
above: the summary with ``set``, the deep analysis with ``create``), and never overwritten.
``analysis/summary`` and ``analysis/deep`` are the *visible* copy, what the learner, their
teachers and the app's listeners read; ``promote`` moves them to a generation in a
transaction, only forward, and only to a complete generation (its deep analysis exists) once
something is visible: a regrade never takes a result away, and a stale generation never
replaces a newer one. Status writes name their generation and are ignored for any other.

Erasure. An account erasure first marks each session ``erasing`` and only then sweeps its
records and the session itself (``shared.accounts.privacy``). Status writes read the
session in their transaction and change nothing once it is gone or marked; record writes
check the session after writing and take back what they wrote (``write_record``,
``ensure_live``). So a scoring run still busy when the learner erases their account (phase
2 takes a minute) cannot leave records behind: it stops with ``SessionErased``, a permanent
failure.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import PermanentFailure
from shared.models.assessment import Criterion, Evidence, GrammarCheck, GrammarIssue
from shared.ports import Document, DocumentStore, Transaction

__all__ = [
    "ERASING",
    "SCORING_VERSION",
    "BetterAlternative",
    "CriterionScore",
    "DeepAnalysis",
    "DeepCriterion",
    "FluencyFeedback",
    "JudgeKind",
    "PracticeWordView",
    "PronunciationFeedback",
    "RegradeRecord",
    "ScoringState",
    "ScoringStatus",
    "SessionErased",
    "Summary",
    "TimedGrammarCheck",
    "TimedGrammarIssue",
    "advance_status",
    "claim_completion",
    "deep_path",
    "ensure_live",
    "finite_metrics",
    "generation_of",
    "live",
    "promote",
    "release_completion",
    "requested_generation",
    "scoring_state",
    "summary_path",
    "versions_of",
    "write_record",
]

# Bump when the shape or the way a band is reached changes: stored results say what made them.
SCORING_VERSION: Final = "scoring-1"

ScoringStatus = Literal["scoring", "summary_ready", "analysis_ready", "failed"]
JudgeKind = Literal["model", "offline", "unavailable"]

# Set on a session by an account erasure before it deletes anything of the session's.
ERASING: Final = "erasing"


class SessionErased(PermanentFailure):
    """The session was erased (or is being erased) while it was being scored."""

    code = "session_erased"
    default_message = "The session was erased with its owner's account: nothing to score."


# The order a status may move in; ``failed`` sits beside ``scoring`` (see ``advance_status``).
_RANK: Final[dict[str, int]] = {
    "scoring": 1,
    "failed": 1,
    "summary_ready": 2,
    "analysis_ready": 3,
}


def summary_path(session_id: str, generation: int | None = None) -> str:
    """The visible summary, or (with ``generation``) that generation's own record."""
    if generation is None:
        return f"sessions/{session_id}/analysis/summary"
    return f"sessions/{session_id}/analysis/summary__g{generation}"


def deep_path(session_id: str, generation: int | None = None) -> str:
    """The visible deep analysis, or (with ``generation``) that generation's own record."""
    if generation is None:
        return f"sessions/{session_id}/analysis/deep"
    return f"sessions/{session_id}/analysis/deep__g{generation}"


def finite_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """Metrics fit to store and to send as JSON: NaN and infinities say "not measured"."""
    return {
        name: float(value)
        for name, value in sorted(metrics.items())
        if isinstance(value, int | float) and math.isfinite(value)
    }


class _Stored(BaseModel):
    # Tolerant on read: results written by an older version stay readable.
    model_config = ConfigDict(extra="ignore")


class CriterionScore(_Stored):
    """One criterion in the fast summary: a whole band with its evidence, or why not."""

    criterion: Criterion
    scored: bool
    band: int | None = Field(default=None, ge=0, le=9)
    descriptor: str | None = None
    sub_score: float | None = Field(default=None, description="Before rounding to a band.")
    not_scored_reason: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    analyzers: list[str] = Field(default_factory=list, description="name@version used.")
    metrics: dict[str, float] = Field(default_factory=dict)


class _Graded(_Stored):
    """What every result of a grading carries: which grading it is and what made it."""

    generation: int = Field(
        default=1, ge=1, description="The grading: 1 for the first, one more for each regrade."
    )
    versions: dict[str, str] = Field(
        default_factory=dict,
        description="What made this result: scoring, descriptors, rounding, analyzers and "
        "their calibration, rule books, the judge's prompt and model.",
    )


class Summary(_Graded):
    """``sessions/{sid}/analysis/summary``: phase 1."""

    session_id: str
    uid: str
    phase: Literal["summary"] = "summary"
    version: str = SCORING_VERSION
    finished_at: datetime | None
    answers_scored: int
    answers_not_scored: dict[str, int] = Field(
        default_factory=dict, description="Answers left out, by reason (not_english, ...)."
    )
    scored_speech_seconds: float
    scored_words: int
    criteria: dict[Criterion, CriterionScore]
    speaking_band: float | None
    speaking_band_reason: str | None = None
    rounding: str
    rounding_note: str
    grammar_issue_count: int = 0
    descriptors_version: str


class BetterAlternative(_Stored):
    original: str = Field(description="Verbatim from the learner's answer.")
    better: str


class DeepCriterion(CriterionScore):
    """One criterion after phase 2: the summary's fields plus the judgement."""

    explanation: str = ""
    better_alternatives: list[BetterAlternative] = Field(default_factory=list)
    analyzer_band: int | None = None
    judge_band: int | None = Field(default=None, description="As the model gave it, if any.")
    clamped: bool = Field(default=False, description="The model's band was pulled back.")


class TimedGrammarIssue(GrammarIssue):
    """A grammar error with where it was said, when the word timings allow it."""

    start_seconds: float | None = None
    end_seconds: float | None = None


class TimedGrammarCheck(GrammarCheck):
    """A phrase worth checking (tentative, no correction) with where it was said."""

    start_seconds: float | None = None
    end_seconds: float | None = None


class FluencyFeedback(_Stored):
    metrics: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


class PracticeWordView(_Stored):
    """A word that may be worth practising: a weak, relative signal, shown as tentative."""

    text: str
    turn_id: str
    start_seconds: float
    end_seconds: float
    confidence: float = Field(ge=0, le=1)
    tentative: Literal[True] = True


class PronunciationFeedback(_Stored):
    metrics: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    words_to_practise: list[PracticeWordView] = Field(default_factory=list)
    words_note: str = (
        "Words you may want to practise: an automatic, tentative estimate from how closely "
        "the sounds matched the usual pronunciation, relative to your other words."
    )


class DeepAnalysis(_Graded):
    """``sessions/{sid}/analysis/deep``: phase 2."""

    session_id: str
    uid: str
    phase: Literal["deep"] = "deep"
    version: str = SCORING_VERSION
    judge: JudgeKind
    judge_template: str | None = None
    judge_template_hash: str | None = None
    judge_model: str | None = None
    criteria: dict[Criterion, DeepCriterion]
    speaking_band: float | None
    speaking_band_reason: str | None = None
    rounding: str
    rounding_note: str
    grammar_errors: list[TimedGrammarIssue] = Field(default_factory=list)
    grammar_checks: list[TimedGrammarCheck] = Field(
        default_factory=list,
        description="Tentative 'check this phrase' items from the fitted detector, never errors.",
    )
    fluency: FluencyFeedback = FluencyFeedback()
    pronunciation: PronunciationFeedback = PronunciationFeedback()


class RegradeRecord(_Stored):
    """``sessions/{sid}.scoring.regrades[regrade_id]``: one admin's regrade request (who asked
    is in the audit log, not here)."""

    generation: int = Field(ge=2)
    reason: str | None = None
    requested_at: datetime
    published: bool = False


class ScoringState(_Stored):
    """``sessions/{sid}.scoring``: the status of the latest requested generation."""

    status: ScoringStatus
    reason: str | None = None
    updated_at: datetime | None = None
    completed_published: bool = False
    generation: int = Field(default=1, ge=1, description="The latest requested generation.")
    regrades: dict[str, RegradeRecord] = Field(default_factory=dict)


def scoring_state(session_data: dict[str, Any]) -> ScoringState | None:
    raw = session_data.get("scoring")
    if not isinstance(raw, dict) or "status" not in raw:
        return None
    return ScoringState.model_validate(raw)


def requested_generation(session_data: dict[str, Any]) -> int:
    """The newest generation asked for (1 before any regrade, and for older sessions)."""
    state = scoring_state(session_data)
    return state.generation if state is not None else 1


def generation_of(document: Document | None) -> int | None:
    """The generation a stored result belongs to (results from before regrades: 1)."""
    if document is None:
        return None
    value = document.data.get("generation", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def versions_of(
    summary: Summary, deep: DeepAnalysis | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Every version a result depends on, by name, so two generations can be compared.

    From the result itself (scoring version, band descriptors, rounding, each analyzer with
    its calibration as ``name@version``, the judge's template and model) and ``extra`` (rule
    books and models the analyzers load, which the result does not name)."""
    versions = {
        "scoring": summary.version,
        "descriptors": summary.descriptors_version,
        "rounding": summary.rounding,
    }
    criteria: list[CriterionScore] = list(summary.criteria.values())
    if deep is not None:
        criteria += list(deep.criteria.values())
        versions["judge"] = deep.judge
        for name, value in (
            ("judge_template", deep.judge_template),
            ("judge_template_hash", deep.judge_template_hash),
            ("judge_model", deep.judge_model),
        ):
            if value:
                versions[name] = value
    for score in criteria:
        for used in score.analyzers:
            name, _, version = used.partition("@")
            versions[f"analyzer:{name}"] = version or "unversioned"
    versions.update(extra or {})
    return dict(sorted(versions.items()))


def live(found: Document | None) -> bool:
    """Whether a session document is there and not being erased."""
    return found is not None and not found.data.get(ERASING)


def write_record(
    store: DocumentStore,
    session_id: str,
    path: str,
    data: dict[str, Any],
    *,
    first_only: bool = False,
) -> bool:
    """Write one of the session's records at ``path``, then make sure the session is still
    live. ``first_only``: only when nothing is there yet (the deep analysis); returns whether
    this call wrote it.

    Write, then check (no transaction, so concurrent scoring runs do not queue on the
    session document): an erasure marks the session before it sweeps, and the mark stays
    until the session is deleted, so a live session read after the write means the sweep
    is still to come and will take the record; otherwise the record is removed here.

    Raises:
        SessionErased: the session is gone or being erased (nothing is left written).
    """
    if first_only:
        written = store.create(path, data)
    else:
        store.set(path, data)
        written = True
    ensure_live(store, session_id, path)
    return written


def ensure_live(store: DocumentStore, session_id: str, *paths: str) -> None:
    """After writing ``paths`` under the session: remove them and raise SessionErased when
    the session is gone or being erased (see ``write_record``)."""
    if live(store.get(f"sessions/{session_id}")):
        return
    for path in paths:
        store.delete(path)
    raise SessionErased(details={"session_id": session_id})


def advance_status(
    store: DocumentStore,
    session_id: str,
    status: ScoringStatus,
    now: datetime,
    *,
    reason: str | None = None,
    generation: int = 1,
) -> bool:
    """Move the session's scoring status forward to ``status``; True when it changed.

    Never backwards: ``summary_ready`` after ``analysis_ready`` (a late duplicate) is a no-op,
    and ``failed`` cannot replace a summary a learner may already be reading. Only for the
    latest requested ``generation``: a superseded one's run changes nothing.
    """
    path = f"sessions/{session_id}"

    def move(transaction: Transaction) -> bool:
        found = transaction.get(path)
        if found is None or not live(found) or requested_generation(found.data) != generation:
            return False
        current = scoring_state(found.data)
        if current is not None:
            if current.status == status or _RANK[current.status] > _RANK[status]:
                return False
            if status == "failed" and current.status != "scoring":
                return False
        update = {"status": status, "reason": reason, "updated_at": now}
        transaction.set(path, {"scoring": update}, merge=True)
        return True

    return store.run_transaction(move)


def claim_completion(
    store: DocumentStore, session_id: str, now: datetime, *, generation: int = 1
) -> bool:
    """Set ``analysis_ready`` and claim the one analysis-completed announcement of
    ``generation``; True for the one caller that gets to publish it (concurrent duplicates
    all reach this point). False for a generation that is no longer the latest requested."""
    path = f"sessions/{session_id}"

    def claim(transaction: Transaction) -> bool:
        found = transaction.get(path)
        if found is None or not live(found) or requested_generation(found.data) != generation:
            return False
        current = scoring_state(found.data)
        if current is not None and current.completed_published:
            return False
        update = {"status": "analysis_ready", "reason": None, "updated_at": now}
        if current is not None and current.status == "analysis_ready":
            update = {}
        transaction.set(path, {"scoring": {**update, "completed_published": True}}, merge=True)
        return True

    return store.run_transaction(claim)


def release_completion(store: DocumentStore, session_id: str, *, generation: int = 1) -> None:
    """The announcement did not go out: let the event's retry publish it (unless a regrade
    has moved the session on to another generation meanwhile)."""
    path = f"sessions/{session_id}"

    def release(transaction: Transaction) -> None:
        found = transaction.get(path)
        if found is None or not live(found) or requested_generation(found.data) != generation:
            return
        transaction.set(path, {"scoring": {"completed_published": False}}, merge=True)

    store.run_transaction(release)


def promote(store: DocumentStore, session_id: str, generation: int) -> bool:
    """Make ``generation``'s records the visible results if they should be; True if they
    became so.

    A complete generation (summary and deep analysis) replaces visible results of an older
    generation; a summary alone is shown only while nothing is (the first scoring's fast
    summary). A generation never replaces a newer one, and a repeat changes nothing.
    """

    def move(transaction: Transaction) -> bool:
        own_summary = transaction.get(summary_path(session_id, generation))
        own_deep = transaction.get(deep_path(session_id, generation))
        shown_summary = transaction.get(summary_path(session_id))
        shown_deep = transaction.get(deep_path(session_id))
        if own_summary is None:
            return False
        summary_generation = generation_of(shown_summary)
        deep_generation = generation_of(shown_deep)
        if own_deep is not None:
            if deep_generation is not None and deep_generation >= generation:
                return False
            if summary_generation is not None and summary_generation > generation:
                return False
            transaction.set(summary_path(session_id), own_summary.data)
            transaction.set(deep_path(session_id), own_deep.data)
            return True
        if shown_summary is not None:
            return False
        transaction.set(summary_path(session_id), own_summary.data)
        return True

    return store.run_transaction(move)
