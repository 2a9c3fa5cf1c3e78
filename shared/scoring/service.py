"""The two scoring steps as the event functions run them, safe under at-least-once delivery.

``score_session`` (session-finished): status ``scoring``, the fast summary, status
``summary_ready``, then ``analysis-requested``. ``analyze_session`` (analysis-requested): the
deep analysis, status ``analysis_ready``, then ``analysis-completed``.

Either may arrive twice, late, or in the other order (Pub/Sub does not keep order across
topics, and session-finished itself can be published twice): the summary is deterministic
and written with ``set``; the deep analysis is written with ``create`` so the first one wins;
the status only moves forward; ``analyze_session`` computes the summary itself when it comes
first. A session that is missing, unfinished or has no answers is a permanent failure,
recorded on the session as ``failed`` with the reason.
"""

from __future__ import annotations

import time
from typing import Any, Final

from shared import errors
from shared.bootstrap import Container
from shared.events import PermanentFailure
from shared.logging import bound_context, get_logger
from shared.scoring.documents import (
    DeepAnalysis,
    Summary,
    advance_status,
    claim_completion,
    deep_path,
    release_completion,
    summary_path,
)
from shared.scoring.inputs import load_finished_session, load_inputs
from shared.scoring.phase1 import summarise
from shared.scoring.phase2 import analyse
from shared.sessions.documents import SessionDocument

__all__ = ["analyze_session", "score_session"]

log = get_logger(__name__)

EVENT_ANALYSIS_REQUESTED: Final = "analysis-requested"
EVENT_ANALYSIS_COMPLETED: Final = "analysis-completed"


def _fail(container: Container, session_id: str, failure: PermanentFailure) -> None:
    """Record why scoring cannot happen, so the learner sees a reason instead of a spinner."""
    advance_status(
        container.store, session_id, "failed", container.clock.now(), reason=failure.message
    )


def _session(container: Container, session_id: str) -> tuple[SessionDocument, dict[str, Any]]:
    try:
        return load_finished_session(container.store, session_id)
    except PermanentFailure as failure:
        _fail(container, session_id, failure)
        raise


def _write_summary(container: Container, session: SessionDocument) -> Summary:
    started = time.perf_counter()
    store = container.store
    try:
        inputs = load_inputs(store, container.blobs, session)
    except PermanentFailure as failure:
        _fail(container, session.session_id, failure)
        raise
    phase1 = summarise(inputs, container.settings.band_rounding)
    summary = phase1.summary
    store.set(summary_path(session.session_id), summary.model_dump(mode="python"))
    advance_status(store, session.session_id, "summary_ready", container.clock.now())
    log.info(
        "summary_written",
        answers=summary.answers_scored,
        speaking_band=summary.speaking_band,
        scored=[c for c, s in summary.criteria.items() if s.scored],
        timings=phase1.run.timings,
        # Read by the scoring_duration log-based metric (terraform/observability.tf).
        phase="summary",
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return summary


def _request_analysis(container: Container, session: SessionDocument) -> None:
    container.events.publish(
        container.settings.topic_analysis_requested,
        {"session_id": session.session_id, "uid": session.uid},
        attributes={"session_id": session.session_id, "event_type": EVENT_ANALYSIS_REQUESTED},
    )


def score_session(container: Container, session_id: str) -> str:
    """Phase 1 for ``session_id``; returns what happened (for logs and tests).

    Raises:
        PermanentFailure: missing or unfinished session, or no answers (recorded on it).
        DependencyUnavailable: a port did not answer (the event is retried).
    """
    with bound_context(session_id=session_id):
        session, _ = _session(container, session_id)
        store = container.store
        if store.get(deep_path(session_id)) is not None:
            return "already_analysed"  # a late duplicate: phase 2 is done already
        advance_status(store, session_id, "scoring", container.clock.now())
        _write_summary(container, session)
        # Published on every run that gets here: a run that died before publishing must not
        # leave phase 2 unasked, and analyze_session skips a session already analysed.
        _request_analysis(container, session)
        return "summary_ready"


def analyze_session(
    container: Container, session_id: str, *, deep_time_budget_seconds: float | None = None
) -> str:
    """Phase 2 for ``session_id`` (phase 1 first if its summary is missing)."""
    with bound_context(session_id=session_id):
        session, _ = _session(container, session_id)
        store = container.store
        existing = store.get(deep_path(session_id))
        if existing is None:
            started = time.perf_counter()
            found = store.get(summary_path(session_id))
            summary = (
                Summary.model_validate(found.data)
                if found is not None
                else _write_summary(container, session)
            )
            inputs = load_inputs(store, container.blobs, session)
            phase2 = analyse(
                inputs,
                summary,
                container.language_model,
                container.settings.band_rounding,
                deep_time_budget_seconds=deep_time_budget_seconds,
            )
            created = store.create(deep_path(session_id), phase2.analysis.model_dump(mode="python"))
            log.info(
                "deep_analysis_written" if created else "deep_analysis_already_there",
                judge=phase2.analysis.judge,
                speaking_band=phase2.analysis.speaking_band,
                timings=phase2.timings,
                phase="deep",
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        if claim_completion(store, session_id, container.clock.now()):
            _announce(container, session_id)
        return "analysis_ready" if existing is None else "already_analysed"


def _announce(container: Container, session_id: str) -> None:
    """analysis-completed, once: the claim was taken in the status write; a failed publish
    gives it back so the event's retry publishes."""
    deep = container.store.get(deep_path(session_id))
    judge = DeepAnalysis.model_validate(deep.data).judge if deep is not None else None
    try:
        container.events.publish(
            container.settings.topic_analysis_completed,
            {"session_id": session_id, "judge": judge},
            attributes={"session_id": session_id, "event_type": EVENT_ANALYSIS_COMPLETED},
        )
    except errors.DependencyUnavailable:
        release_completion(container.store, session_id)
        raise
