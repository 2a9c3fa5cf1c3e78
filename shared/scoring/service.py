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

Both run for one *generation* (the message's ``generation``; 1 when it has none, as before
regrades existed). Each generation writes its own records (``summary__g{n}``, ``deep__g{n}``)
and then ``promote``s them to the visible results, which only ever move to a newer complete
generation. A message for a generation older than the latest requested is acknowledged
without work (``superseded``): its result could never be shown.
"""

from __future__ import annotations

import time
from typing import Any, Final

from shared import errors
from shared.bootstrap import Container
from shared.events import PermanentFailure
from shared.logging import bound_context, get_logger
from shared.scoring import analyzers
from shared.scoring.documents import (
    ERASING,
    DeepAnalysis,
    SessionErased,
    Summary,
    advance_status,
    claim_completion,
    deep_path,
    ensure_live,
    generation_of,
    promote,
    release_completion,
    requested_generation,
    summary_path,
    versions_of,
    write_record,
)
from shared.scoring.inputs import load_finished_session, load_inputs
from shared.scoring.phase1 import summarise
from shared.scoring.phase2 import analyse
from shared.sessions.documents import SessionDocument

__all__ = ["analyze_session", "score_session"]

log = get_logger(__name__)

EVENT_ANALYSIS_REQUESTED: Final = "analysis-requested"
EVENT_ANALYSIS_COMPLETED: Final = "analysis-completed"


def _fail(
    container: Container, session_id: str, failure: PermanentFailure, generation: int
) -> None:
    """Record why scoring cannot happen, so the learner sees a reason instead of a spinner."""
    advance_status(
        container.store,
        session_id,
        "failed",
        container.clock.now(),
        reason=failure.message,
        generation=generation,
    )


def _session(
    container: Container, session_id: str, generation: int
) -> tuple[SessionDocument, dict[str, Any]]:
    try:
        session, data = load_finished_session(container.store, session_id)
    except PermanentFailure as failure:
        _fail(container, session_id, failure, generation)
        raise
    if data.get(ERASING):
        raise SessionErased(details={"session_id": session_id})
    return session, data


def _superseded(session_id: str, data: dict[str, Any], generation: int) -> bool:
    """True when a newer generation was requested; PermanentFailure for one never requested
    (a forged or corrupted message: nothing to record on the session)."""
    latest = requested_generation(data)
    if generation > latest:
        raise PermanentFailure(
            f"generation {generation} was never requested (the latest is {latest})",
            details={"session_id": session_id},
        )
    if generation < latest:
        log.info("generation_superseded", generation=generation, latest_generation=latest)
        return True
    return False


def _analysed(container: Container, session_id: str, generation: int) -> bool:
    """Whether ``generation`` has its deep analysis (its own record, or visible results of
    that generation or a newer one, as sessions scored before regrades have)."""
    store = container.store
    if store.get(deep_path(session_id, generation)) is not None:
        return True
    shown = generation_of(store.get(deep_path(session_id)))
    return shown is not None and shown >= generation


def _write_summary(container: Container, session: SessionDocument, generation: int) -> Summary:
    started = time.perf_counter()
    store = container.store
    try:
        inputs = load_inputs(store, container.blobs, session)
    except PermanentFailure as failure:
        _fail(container, session.session_id, failure, generation)
        raise
    phase1 = summarise(inputs, container.settings.band_rounding)
    summary = phase1.summary.model_copy(update={"generation": generation})
    summary.versions = versions_of(summary, extra=analyzers.component_versions(deep=False))
    # Deterministic: a duplicate run of this generation writes the same document again.
    write_record(
        store,
        session.session_id,
        summary_path(session.session_id, generation),
        summary.model_dump(mode="python"),
    )
    if promote(store, session.session_id, generation):
        ensure_live(store, session.session_id, summary_path(session.session_id))
    advance_status(
        store, session.session_id, "summary_ready", container.clock.now(), generation=generation
    )
    log.info(
        "summary_written",
        generation=generation,
        answers=summary.answers_scored,
        speaking_band=summary.speaking_band,
        scored=[c for c, s in summary.criteria.items() if s.scored],
        timings=phase1.run.timings,
        # Read by the scoring_duration log-based metric (terraform/observability.tf).
        phase="summary",
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return summary


def _request_analysis(container: Container, session: SessionDocument, generation: int) -> None:
    container.events.publish(
        container.settings.topic_analysis_requested,
        {"session_id": session.session_id, "uid": session.uid, "generation": generation},
        attributes={
            "session_id": session.session_id,
            "event_type": EVENT_ANALYSIS_REQUESTED,
            "generation": str(generation),
        },
    )


def score_session(container: Container, session_id: str, generation: int = 1) -> str:
    """Phase 1 of ``generation`` for ``session_id``; returns what happened (for logs and
    tests).

    Raises:
        PermanentFailure: missing or unfinished session, or no answers (recorded on it), or
            a generation never requested.
        DependencyUnavailable: a port did not answer (the event is retried).
    """
    with bound_context(session_id=session_id, generation=generation):
        session, data = _session(container, session_id, generation)
        if _superseded(session_id, data, generation):
            return "superseded"
        if _analysed(container, session_id, generation):
            return "already_analysed"  # a late duplicate: phase 2 is done already
        store = container.store
        advance_status(store, session_id, "scoring", container.clock.now(), generation=generation)
        _write_summary(container, session, generation)
        # Published on every run that gets here: a run that died before publishing must not
        # leave phase 2 unasked, and analyze_session skips a generation already analysed.
        _request_analysis(container, session, generation)
        return "summary_ready"


def analyze_session(
    container: Container,
    session_id: str,
    generation: int = 1,
    *,
    deep_time_budget_seconds: float | None = None,
) -> str:
    """Phase 2 of ``generation`` for ``session_id`` (phase 1 first if its summary is
    missing)."""
    with bound_context(session_id=session_id, generation=generation):
        session, data = _session(container, session_id, generation)
        if _superseded(session_id, data, generation):
            return "superseded"
        store = container.store
        analysed = _analysed(container, session_id, generation)
        if not analysed:
            started = time.perf_counter()
            found = store.get(summary_path(session_id, generation))
            summary = (
                Summary.model_validate(found.data)
                if found is not None
                else _write_summary(container, session, generation)
            )
            inputs = load_inputs(store, container.blobs, session)
            phase2 = analyse(
                inputs,
                summary,
                container.language_model,
                container.settings.band_rounding,
                deep_time_budget_seconds=deep_time_budget_seconds,
            )
            analysis = phase2.analysis.model_copy(update={"generation": generation})
            analysis.versions = versions_of(
                summary, analysis, extra=analyzers.component_versions(deep=True)
            )
            # The model is not deterministic: the first complete analysis of a generation wins.
            created = write_record(
                store,
                session_id,
                deep_path(session_id, generation),
                analysis.model_dump(mode="python"),
                first_only=True,
            )
            log.info(
                "deep_analysis_written" if created else "deep_analysis_already_there",
                judge=analysis.judge,
                speaking_band=analysis.speaking_band,
                timings=phase2.timings,
                phase="deep",
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        # Also on a repeat: a run that died between its create and this still shows its work.
        if promote(store, session_id, generation):
            ensure_live(store, session_id, summary_path(session_id), deep_path(session_id))
            log.info("results_promoted", generation=generation)
        if claim_completion(store, session_id, container.clock.now(), generation=generation):
            _announce(container, session_id, generation)
        return "already_analysed" if analysed else "analysis_ready"


def _announce(container: Container, session_id: str, generation: int) -> None:
    """analysis-completed, once per generation: the claim was taken in the status write; a
    failed publish gives it back so the event's retry publishes."""
    deep = container.store.get(deep_path(session_id, generation)) or container.store.get(
        deep_path(session_id)
    )
    judge = DeepAnalysis.model_validate(deep.data).judge if deep is not None else None
    try:
        container.events.publish(
            container.settings.topic_analysis_completed,
            {"session_id": session_id, "judge": judge, "generation": generation},
            attributes={
                "session_id": session_id,
                "event_type": EVENT_ANALYSIS_COMPLETED,
                "generation": str(generation),
            },
        )
    except errors.DependencyUnavailable:
        release_completion(container.store, session_id, generation=generation)
        raise
