"""Phase 1: the fast summary from the deterministic analyzers (seconds for a whole test).

Each criterion gets a whole band (``bands.criterion_band`` of the analyzers' sub-score), the
descriptor that band matches and two to four pieces of evidence a learner can check (their
own words with the turn and time, or a measured number). A criterion is *not scored*, with
the reason, when the evidence is too thin: no scored answers, too little scored speech
(``MIN_SCORED_SECONDS`` / ``MIN_SCORED_WORDS``), no audio for pronunciation, or an analyzer
that is not installed. The Speaking band is given only when all four criteria are scored.

Nothing here reads a clock or a random source: the same inputs give the same summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeVar

from shared.assessment.bands import (
    ROUNDING_NOTE,
    criterion_band,
    descriptor,
    descriptors_version,
    speaking_band,
)
from shared.config import BandRounding
from shared.logging import get_logger
from shared.models.assessment import (
    CRITERIA,
    AnalyzerResult,
    AnswerText,
    Criterion,
    Evidence,
    GrammarIssue,
)
from shared.scoring import analyzers
from shared.scoring.analyzers import AnalyzerMissing
from shared.scoring.documents import CriterionScore, Summary, finite_metrics
from shared.scoring.inputs import SessionInputs

__all__ = [
    "MIN_SCORED_SECONDS",
    "MIN_SCORED_WORDS",
    "AnalyzerRun",
    "Phase1",
    "grammar_evidence",
    "speech_totals",
    "summarise",
    "timed_issue_span",
]

log = get_logger(__name__)

# Below either, no criterion is judged: a band from a few sentences would be a guess.
MIN_SCORED_SECONDS: Final = 30.0
MIN_SCORED_WORDS: Final = 50
# Fluency and Coherence: the timing measures carry more of it than the text measures
# (hesitation is what a listener hears first); coherence alone never makes the band.
FLUENCY_WEIGHT: Final = 0.6
COHERENCE_WEIGHT: Final = 0.4
MIN_EVIDENCE: Final = 2
MAX_EVIDENCE: Final = 4
MAX_GRAMMAR_QUOTES: Final = 2

T = TypeVar("T")


@dataclass
class AnalyzerRun:
    """Every analyzer's output of phase 1 (None: not run) and how long each took."""

    lexis: AnalyzerResult | None = None
    complexity: AnalyzerResult | None = None
    coherence: AnalyzerResult | None = None
    fluency: AnalyzerResult | None = None
    pronunciation: AnalyzerResult | None = None
    grammar_issues: list[GrammarIssue] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def timed(self, name: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.timings[name] = round(time.perf_counter() - started, 4)


@dataclass(frozen=True)
class Phase1:
    summary: Summary
    run: AnalyzerRun


# --- totals -------------------------------------------------------------------------------
def _answer_seconds(answer: AnswerText) -> float:
    if answer.words:
        return max(0.0, answer.words[-1].end - answer.words[0].start)
    return answer.duration_seconds


def _answer_words(answer: AnswerText) -> int:
    if answer.words:
        return sum(1 for word in answer.words if not word.filled_pause)
    return len(answer.text.split())


def speech_totals(answers: Sequence[AnswerText]) -> tuple[float, int]:
    """Seconds of scored speech (first word to last, per answer) and words said."""
    return (
        round(sum(_answer_seconds(answer) for answer in answers), 2),
        sum(_answer_words(answer) for answer in answers),
    )


# --- running the analyzers ------------------------------------------------------------------
def _run_analyzers(inputs: SessionInputs) -> AnalyzerRun:
    """Each analyzer is looked up by name, so a missing one costs its criterion only."""
    run = AnalyzerRun()
    answers = inputs.answers
    try:
        run.lexis, run.complexity, run.coherence = run.timed(
            "text", lambda: analyzers.text_scores(answers)
        )
    except AnalyzerMissing as missing:
        run.unavailable["text"] = str(missing)
    try:
        run.fluency = run.timed("fluency", lambda: analyzers.fluency(answers, inputs.pcm_by_turn))
    except AnalyzerMissing as missing:
        run.unavailable["fluency"] = str(missing)
    try:
        run.grammar_issues = run.timed(
            "grammar_errors",
            lambda: [
                issue
                for answer in answers
                for issue in analyzers.grammar_issues(
                    answer.text, first_language=inputs.first_language, turn_id=answer.turn_id
                )
            ],
        )
    except AnalyzerMissing as missing:
        run.unavailable["grammar_errors"] = str(missing)
    if inputs.pcm_by_turn:
        try:
            run.pronunciation = run.timed(
                "pronunciation_quick",
                lambda: analyzers.pronunciation_quick(answers, inputs.pcm_by_turn),
            )
        except AnalyzerMissing as missing:
            run.unavailable["pronunciation"] = str(missing)
    return run


# --- evidence ------------------------------------------------------------------------------
_METRIC_NOTES: Final[dict[str, str]] = {
    "mattr": "Variety of words: {value:.2f} of every 50-word stretch are different words.",
    "less_common_content": "{value:.0%} of your content words are less common ones.",
    "idiomatic_rate": "{value:.1f} idiomatic phrases or strong collocations per 100 words.",
    "words": "{value:.0f} words in your scored answers.",
    "speech_rate_wpm": "About {value:.0f} words a minute overall, pauses included.",
    "mean_length_of_run": "On average {value:.1f} words between pauses.",
    "voiced_seconds": "{value:.0f} s of voiced speech measured.",
    "pitch_sd_semitones": "Your pitch moved by about {value:.1f} semitones within phrases.",
}


def _metric_evidence(criterion: Criterion, metrics: dict[str, float]) -> list[Evidence]:
    items = []
    for name, template in _METRIC_NOTES.items():
        value = metrics.get(name)
        if value is None:
            continue
        items.append(
            Evidence(
                kind="metric",
                criterion=criterion,
                note=template.format(value=value),
                metric=name,
                value=round(float(value), 4),
            )
        )
    return items


def timed_issue_span(answer: AnswerText, start: int, end: int) -> tuple[float | None, float | None]:
    """When the characters ``start:end`` of the answer were said, if the word timings line up
    with the transcript's words (they do for every recogniser we use)."""
    lexical = answer.text.split()
    if not answer.words or len(answer.words) != len(lexical):
        return None, None
    first = len(answer.text[:start].split())
    if answer.text[:start] and not answer.text[:start][-1].isspace():
        first -= 1  # the span starts inside a word
    last = max(first, len(answer.text[:end].split()) - 1)
    if not 0 <= first < len(answer.words) or last >= len(answer.words):
        return None, None
    return answer.words[first].start, answer.words[last].end


def _context(text: str, start: int, end: int, words_around: int = 4) -> str:
    """The span with a few words either side, cut at word boundaries (still verbatim)."""
    left = start
    for _ in range(words_around):
        space = text.rfind(" ", 0, max(0, left - 1))
        if space < 0:
            left = 0
            break
        left = space + 1
    right = end
    for _ in range(words_around):
        space = text.find(" ", right + 1)
        if space < 0:
            right = len(text)
            break
        right = space
    return text[left:right].strip()


def grammar_evidence(
    issues: Sequence[GrammarIssue], answers: Sequence[AnswerText], limit: int
) -> list[Evidence]:
    """The most confident errors as quotes (earliest first among equals)."""
    by_turn = {answer.turn_id: answer for answer in answers}
    order = {answer.turn_id: index for index, answer in enumerate(answers)}
    ranked = sorted(
        (issue for issue in issues if issue.turn_id in by_turn),
        key=lambda issue: (-issue.confidence, order[issue.turn_id or ""], issue.start),
    )
    items = []
    for issue in ranked[:limit]:
        answer = by_turn[issue.turn_id or ""]
        start, end = timed_issue_span(answer, issue.start, issue.end)
        items.append(
            Evidence(
                kind="quote",
                criterion="grammar",
                note=f"\u201c{issue.text}\u201d \u2192 \u201c{issue.correction}\u201d: "
                f"{issue.explanation}",
                quote=_context(answer.text, issue.start, issue.end),
                turn_id=issue.turn_id,
                start_seconds=start,
                end_seconds=end,
            )
        )
    return items


def _fill(
    criterion: Criterion, evidence: list[Evidence], metrics: dict[str, float]
) -> list[Evidence]:
    """Two to four items: the analyzers' own first, then headline measures."""
    kept = list(evidence[:MAX_EVIDENCE])
    if len(kept) < MIN_EVIDENCE:
        seen = {item.metric for item in kept}
        extra = [e for e in _metric_evidence(criterion, metrics) if e.metric not in seen]
        kept += extra[: MIN_EVIDENCE - len(kept)]
    return kept


# --- criteria ------------------------------------------------------------------------------
def _not_scored(
    criterion: Criterion, reason: str, *results: AnalyzerResult | None
) -> CriterionScore:
    present = [result for result in results if result is not None]
    metrics: dict[str, float] = {}
    for result in present:
        metrics.update(result.metrics)
    return CriterionScore(
        criterion=criterion,
        scored=False,
        not_scored_reason=reason,
        analyzers=[f"{result.analyzer}@{result.version}" for result in present],
        metrics=finite_metrics(metrics),
    )


def _scored(
    criterion: Criterion,
    sub_score: float,
    evidence: list[Evidence],
    *results: AnalyzerResult,
) -> CriterionScore:
    metrics: dict[str, float] = {}
    for result in results:
        metrics.update(result.metrics)
    metrics = finite_metrics(metrics)
    band = criterion_band(sub_score)
    return CriterionScore(
        criterion=criterion,
        scored=True,
        band=band,
        descriptor=descriptor(criterion, band),
        sub_score=round(sub_score, 3),
        evidence=_fill(criterion, evidence, metrics),
        analyzers=[f"{result.analyzer}@{result.version}" for result in results],
        metrics=metrics,
    )


def _single(
    criterion: Criterion,
    result: AnalyzerResult | None,
    unavailable: str | None,
    extra_evidence: Sequence[Evidence] = (),
) -> CriterionScore:
    if result is None:
        return _not_scored(criterion, unavailable or "analyzer unavailable")
    if result.not_scored_reason is not None or result.sub_score is None:
        return _not_scored(criterion, result.not_scored_reason or "no sub-score", result)
    evidence = [*extra_evidence, *result.evidence]
    return _scored(criterion, result.sub_score, evidence, result)


def _fluency_coherence(run: AnalyzerRun) -> CriterionScore:
    fluency, coherence = run.fluency, run.coherence
    if fluency is None:
        return _not_scored(
            "fluency_coherence", run.unavailable.get("fluency", "analyzer unavailable")
        )
    if fluency.not_scored_reason is not None or fluency.sub_score is None:
        reason = fluency.not_scored_reason or "no sub-score"
        return _not_scored("fluency_coherence", reason, fluency, coherence)
    if coherence is None or coherence.sub_score is None:
        return _scored("fluency_coherence", fluency.sub_score, list(fluency.evidence), fluency)
    blended = FLUENCY_WEIGHT * fluency.sub_score + COHERENCE_WEIGHT * coherence.sub_score
    # Timing evidence first (at most three), then one item on how ideas were linked.
    evidence = [*fluency.evidence[:3], *coherence.evidence[:1], *fluency.evidence[3:]]
    return _scored("fluency_coherence", blended, evidence, fluency, coherence)


def _all_not_scored(reason: str) -> dict[Criterion, CriterionScore]:
    return {criterion: _not_scored(criterion, reason) for criterion in CRITERIA}


def criteria_from(run: AnalyzerRun, inputs: SessionInputs) -> dict[Criterion, CriterionScore]:
    text_missing = run.unavailable.get("text")
    grammar_quotes = grammar_evidence(run.grammar_issues, inputs.answers, MAX_GRAMMAR_QUOTES)
    pronunciation = (
        _single("pronunciation", run.pronunciation, run.unavailable.get("pronunciation"))
        if inputs.pcm_by_turn
        else _not_scored(
            "pronunciation", "no audio: pronunciation is judged from the recording only"
        )
    )
    return {
        "fluency_coherence": _fluency_coherence(run),
        "lexical_resource": _single("lexical_resource", run.lexis, text_missing),
        "grammar": _single("grammar", run.complexity, text_missing, grammar_quotes),
        "pronunciation": pronunciation,
    }


def band_of_all(
    criteria: dict[Criterion, CriterionScore], rounding: BandRounding
) -> tuple[float | None, str | None]:
    """The Speaking band when all four criteria are scored, else None and why."""
    bands = {c: s.band for c, s in criteria.items() if s.scored and s.band is not None}
    missing = [criterion for criterion in CRITERIA if criterion not in bands]
    if missing:
        return None, "not every criterion could be scored: " + ", ".join(missing)
    return speaking_band({c: bands[c] for c in CRITERIA}, rounding), None


def summarise(inputs: SessionInputs, rounding: BandRounding) -> Phase1:
    """The fast summary of ``inputs`` (pure: no store, no clock)."""
    seconds, words = speech_totals(inputs.answers)
    run = AnalyzerRun()
    if not inputs.answers:
        reasons = ", ".join(f"{n} {r}" for r, n in inputs.not_scored.items()) or "none"
        criteria = _all_not_scored(f"no scored answers (left out: {reasons})")
    elif seconds < MIN_SCORED_SECONDS or words < MIN_SCORED_WORDS:
        criteria = _all_not_scored(
            f"too little scored speech to judge ({seconds:.0f} s, {words} words; at least "
            f"{MIN_SCORED_SECONDS:.0f} s and {MIN_SCORED_WORDS} words are needed)"
        )
    else:
        run = _run_analyzers(inputs)
        criteria = criteria_from(run, inputs)
    overall, why_not = band_of_all(criteria, rounding)
    summary = Summary(
        session_id=inputs.session_id,
        uid=inputs.session.uid,
        finished_at=inputs.session.finished_at,
        answers_scored=len(inputs.answers),
        answers_not_scored=dict(inputs.not_scored),
        scored_speech_seconds=seconds,
        scored_words=words,
        criteria=criteria,
        speaking_band=overall,
        speaking_band_reason=why_not,
        rounding=rounding,
        rounding_note=ROUNDING_NOTE[rounding],
        grammar_issue_count=len(run.grammar_issues),
        descriptors_version=descriptors_version(),
    )
    return Phase1(summary=summary, run=run)
