"""Phase 2: the deep analysis: forced-alignment pronunciation, the full list of grammar errors
with corrections and the detector's tentative phrases to check (about 0.2 s per 1,000 words,
kept out of phase 1's budget), fluency and pronunciation feedback, then the language-model
judge.

Offline (no language model) phase 2 still completes, with the analyzers' explanations
(``judge: "offline"``); a model that fails or answers nonsense leaves the analyzers'
judgement in place (``judge: "unavailable"``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from shared.assessment.bands import ROUNDING_NOTE, criterion_band, descriptor
from shared.config import BandRounding
from shared.logging import get_logger
from shared.models.assessment import CRITERIA, AnswerText, Criterion, GrammarIssue
from shared.ports import LanguageModel
from shared.scoring import analyzers, merge
from shared.scoring.analyzers import AnalyzerMissing
from shared.scoring.documents import (
    CriterionScore,
    DeepAnalysis,
    DeepCriterion,
    FluencyFeedback,
    JudgeKind,
    PracticeWordView,
    PronunciationFeedback,
    Summary,
    TimedGrammarCheck,
    TimedGrammarIssue,
    finite_metrics,
)
from shared.scoring.inputs import SessionInputs
from shared.scoring.judge import ask_judge, judge_request
from shared.scoring.phase1 import band_of_all, timed_issue_span

__all__ = ["DEEP_TIME_BUDGET_SECONDS", "Phase2", "analyse"]

log = get_logger(__name__)

# Forced alignment costs about 0.15x real time; a full test fits, a stuck one stops here.
DEEP_TIME_BUDGET_SECONDS: Final = 120.0
# Metrics that describe this run rather than the speech: never stored (same speech, same doc).
_RUN_METRICS: Final = frozenset({"deep_seconds"})


@dataclass
class Phase2:
    analysis: DeepAnalysis
    timings: dict[str, float] = field(default_factory=dict)


def _timed_issues(
    issues: Sequence[GrammarIssue], answers: Sequence[AnswerText]
) -> list[TimedGrammarIssue]:
    by_turn = {answer.turn_id: answer for answer in answers}
    timed = []
    for issue in issues:
        answer = by_turn.get(issue.turn_id or "")
        start, end = timed_issue_span(answer, issue.start, issue.end) if answer else (None, None)
        timed.append(TimedGrammarIssue(**issue.model_dump(), start_seconds=start, end_seconds=end))
    return timed


def _grammar_errors(inputs: SessionInputs) -> list[TimedGrammarIssue]:
    try:
        issues = [
            issue
            for answer in inputs.answers
            for issue in analyzers.grammar_issues(
                answer.text, first_language=inputs.first_language, turn_id=answer.turn_id
            )
        ]
    except AnalyzerMissing:
        return []
    return _timed_issues(issues, inputs.answers)


def _grammar_checks(
    inputs: SessionInputs, errors: Sequence[TimedGrammarIssue]
) -> list[TimedGrammarCheck]:
    """The detector's tentative phrases, answer by answer, away from the reported errors."""
    checks = []
    try:
        for answer in inputs.answers:
            reported = [issue for issue in errors if issue.turn_id == answer.turn_id]
            for check in analyzers.grammar_checks(
                answer.text, turn_id=answer.turn_id, reported=reported
            ):
                start, end = timed_issue_span(answer, check.start, check.end)
                checks.append(
                    TimedGrammarCheck(**check.model_dump(), start_seconds=start, end_seconds=end)
                )
    except AnalyzerMissing:
        return []
    return checks


def _deep_pronunciation(
    inputs: SessionInputs, summary_score: CriterionScore, budget_seconds: float
) -> tuple[CriterionScore, PronunciationFeedback]:
    """The deep pronunciation criterion (or the summary's when deep cannot score) and feedback."""
    if not inputs.pcm_by_turn or not summary_score.scored:
        return summary_score, PronunciationFeedback(metrics=summary_score.metrics)
    try:
        result, practice = analyzers.pronunciation_deep(
            inputs.answers, inputs.pcm_by_turn, budget_seconds=budget_seconds
        )
    except AnalyzerMissing:
        return summary_score, PronunciationFeedback(metrics=summary_score.metrics)
    metrics = finite_metrics({k: v for k, v in result.metrics.items() if k not in _RUN_METRICS})
    words = [
        PracticeWordView(
            text=word.text,
            turn_id=word.turn_id,
            start_seconds=word.start,
            end_seconds=word.end,
            confidence=min(1.0, max(0.0, word.confidence)),
        )
        for word in practice
    ]
    notes = [item.note for item in result.evidence if item.kind == "metric"]
    feedback = PronunciationFeedback(metrics=metrics, notes=notes, words_to_practise=words)
    if result.not_scored_reason is not None or result.sub_score is None:
        return summary_score, feedback
    band = criterion_band(result.sub_score)
    score = CriterionScore(
        criterion="pronunciation",
        scored=True,
        band=band,
        descriptor=descriptor("pronunciation", band),
        sub_score=round(result.sub_score, 3),
        evidence=list(result.evidence[:4]) or summary_score.evidence,
        analyzers=[f"{result.analyzer}@{result.version}"],
        metrics=metrics,
    )
    return score, feedback


def _fluency_feedback(score: CriterionScore) -> FluencyFeedback:
    return FluencyFeedback(
        metrics=score.metrics,
        notes=[item.note for item in score.evidence if item.criterion == "fluency_coherence"],
    )


def analyse(
    inputs: SessionInputs,
    summary: Summary,
    language_model: LanguageModel | None,
    rounding: BandRounding,
    *,
    deep_time_budget_seconds: float | None = None,
) -> Phase2:
    """The deep analysis of ``inputs``, starting from its phase-1 ``summary``.

    ``deep_time_budget_seconds`` caps forced alignment (default ``DEEP_TIME_BUDGET_SECONDS``,
    read at call time so a test or a benchmark can lower it).
    """
    budget = (
        DEEP_TIME_BUDGET_SECONDS if deep_time_budget_seconds is None else deep_time_budget_seconds
    )
    timings: dict[str, float] = {}
    started = time.perf_counter()
    grammar_errors = _grammar_errors(inputs)
    timings["grammar_errors"] = round(time.perf_counter() - started, 4)
    started = time.perf_counter()
    grammar_checks = _grammar_checks(inputs, grammar_errors)
    timings["grammar_checks"] = round(time.perf_counter() - started, 4)
    started = time.perf_counter()
    pronunciation, pronunciation_feedback = _deep_pronunciation(
        inputs, summary.criteria["pronunciation"], budget
    )
    timings["pronunciation_deep"] = round(time.perf_counter() - started, 4)
    base: dict[Criterion, CriterionScore] = {**summary.criteria, "pronunciation": pronunciation}

    judge: JudgeKind = "offline"
    template: tuple[str, str, str] | None = None
    criteria: dict[Criterion, DeepCriterion] = {
        criterion: merge.from_analyzers(base[criterion]) for criterion in CRITERIA
    }
    # Nothing to judge without scored answers: the analyzers' reasons stand.
    if language_model is not None and inputs.answers:
        started = time.perf_counter()
        judgement = ask_judge(language_model, judge_request(inputs.answers, base))
        timings["judge"] = round(time.perf_counter() - started, 4)
        if judgement is None:
            judge = "unavailable"
        else:
            judge = "model"
            template = (judgement.template_ref, judgement.template_hash, judgement.model)
            criteria = {
                criterion: merge.judged(
                    base[criterion], judgement.answer.of(criterion), inputs.answers
                )
                for criterion in CRITERIA
            }
    elif language_model is not None:
        judge = "unavailable"
    overall, why_not = band_of_all(dict(criteria), rounding)
    # Drills and the PDF report (a later issue) hook in here, from this analysis.
    analysis = DeepAnalysis(
        session_id=summary.session_id,
        uid=summary.uid,
        judge=judge,
        judge_template=template[0] if template else None,
        judge_template_hash=template[1] if template else None,
        judge_model=template[2] if template else None,
        criteria=criteria,
        speaking_band=overall,
        speaking_band_reason=why_not,
        rounding=rounding,
        rounding_note=ROUNDING_NOTE[rounding],
        grammar_errors=grammar_errors,
        grammar_checks=grammar_checks,
        fluency=_fluency_feedback(base["fluency_coherence"]),
        pronunciation=pronunciation_feedback,
    )
    return Phase2(analysis=analysis, timings=timings)
