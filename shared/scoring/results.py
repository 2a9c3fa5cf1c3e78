"""What ``GET /sessions/{id}/results`` answers: where scoring is, and whatever is ready.

The results shown are the visible copy (``analysis/summary`` and ``analysis/deep``), which
holds the latest complete generation; while a regrade computes a newer one the previous
result stays, and ``regrade`` says one is in progress (or failed, with the reason).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, Field

from shared import errors
from shared.assessment.bands import ROUNDING_NOTE, descriptors_version
from shared.bootstrap import Container
from shared.models.assessment import CRITERIA, Criterion
from shared.models.identity import Caller
from shared.scoring.documents import (
    DeepAnalysis,
    ScoringStatus,
    Summary,
    deep_path,
    requested_generation,
    scoring_state,
    summary_path,
)
from shared.sessions.repository import check_viewer, session_from, session_path

__all__ = ["BandScale", "ResultsView", "SessionNotFinished", "band_scale", "results_for"]

_NOT_STARTED_REASON: Final = "Scoring starts a few seconds after the test is finished."
_REGRADING_REASON: Final = (
    "This test is being graded again; these results stay until the new ones are complete."
)

RegradeStatus = Literal["in_progress", "failed"]


class SessionNotFinished(errors.Conflict):
    code = "session_not_finished"
    default_message = "This mock test is not finished yet: finish it to get your results."


class ResultsView(BaseModel):
    """The results of one mock test as far as they are ready."""

    session_id: str
    status: ScoringStatus
    reason: str | None = Field(default=None, description="Why scoring failed, or what waits.")
    summary: Summary | None = Field(default=None, description="Phase 1, once summary_ready.")
    deep: DeepAnalysis | None = Field(default=None, description="Phase 2, once analysis_ready.")
    rounding_note: str
    generation: int | None = Field(
        default=None, description="The grading shown: 1 for the first, one more per regrade."
    )
    latest_generation: int = Field(default=1, description="The newest grading requested.")
    regrade: RegradeStatus | None = Field(
        default=None,
        description="A newer grading is being computed (the one shown stays meanwhile), or "
        "failed (reason says why; the one shown stands).",
    )


class BandScale(BaseModel):
    criteria: list[Criterion]
    rounding: str
    rounding_note: str
    descriptors_version: str


def results_for(container: Container, caller: Caller, session_id: str) -> ResultsView:
    """The results of ``session_id`` for its learner or a linked teacher (NotFound for anyone
    else)."""
    store = container.store
    found = store.get(session_path(session_id))
    # The learner, or a teacher they linked (read only); NotFound for anyone else.
    session = check_viewer(store, session_from(found) if found else None, session_id, caller)
    assert found is not None  # check_viewer raised otherwise
    if session.status != "finished":
        raise SessionNotFinished(details={"status": session.status})
    state = scoring_state(found.data)
    # Read both documents whatever the status says: a document may already be there when the
    # status write that follows it has not landed yet.
    summary_doc = store.get(summary_path(session_id))
    deep_doc = store.get(deep_path(session_id))
    summary = Summary.model_validate(summary_doc.data) if summary_doc else None
    deep = DeepAnalysis.model_validate(deep_doc.data) if deep_doc else None
    status: ScoringStatus
    if deep is not None:
        status = "analysis_ready"
    elif summary is not None:
        status = "summary_ready"
    elif state is not None:
        status = state.status
    else:
        status = "scoring"
    ready = deep or summary
    # The note of the rule the bands were computed with, which a settings change cannot alter.
    rounding_note = (
        ready.rounding_note if ready else ROUNDING_NOTE[container.settings.band_rounding]
    )
    shown = ready.generation if ready else None
    latest = requested_generation(found.data)
    regrade: RegradeStatus | None = None
    if shown is not None and latest > shown:
        failed = state is not None and state.status == "failed"
        regrade = "failed" if failed else "in_progress"
    reason = None
    if regrade == "in_progress":
        reason = _REGRADING_REASON
    elif state is not None and state.status == "failed" and (regrade or status == "failed"):
        reason = state.reason
    elif state is None and summary is None:
        reason = _NOT_STARTED_REASON
    return ResultsView(
        session_id=session_id,
        status=status,
        reason=reason,
        summary=summary,
        deep=deep,
        rounding_note=rounding_note,
        generation=shown,
        latest_generation=latest,
        regrade=regrade,
    )


def band_scale(container: Container) -> BandScale:
    rounding = container.settings.band_rounding
    return BandScale(
        criteria=list(CRITERIA),
        rounding=rounding,
        rounding_note=ROUNDING_NOTE[rounding],
        descriptors_version=descriptors_version(),
    )
