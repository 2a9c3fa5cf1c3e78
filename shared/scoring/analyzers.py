"""The analyzers of ``shared.assessment``, reached by name so that scoring degrades instead of
failing when one is missing (not installed in this deployment, or not written yet).

Each function returns the analyzer's typed output, or raises ``AnalyzerMissing`` naming what
is absent; the caller turns that into a criterion that is *not scored*, with the reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from shared.models.assessment import AnalyzerResult, AnswerText, GrammarCheck, GrammarIssue

__all__ = [
    "AnalyzerMissing",
    "PracticeWordLike",
    "component_versions",
    "fluency",
    "grammar_checks",
    "grammar_issues",
    "pronunciation_deep",
    "pronunciation_quick",
    "text_scores",
]

_PACKAGE: Final = "shared.assessment"


class AnalyzerMissing(RuntimeError):
    """An analyzer module or function is not there; ``str()`` says which, for the reason."""


def _function(module: str, name: str) -> Callable[..., Any]:
    try:
        found = getattr(importlib.import_module(f"{_PACKAGE}.{module}"), name)
    except ImportError as error:
        raise AnalyzerMissing(f"{module} analyzer unavailable ({error.name})") from None
    except AttributeError:
        raise AnalyzerMissing(f"{module} analyzer has no {name}") from None
    if not callable(found):
        raise AnalyzerMissing(f"{module}.{name} is not a function")
    return found  # type: ignore[no-any-return]


def _result(value: object, what: str) -> AnalyzerResult:
    if not isinstance(value, AnalyzerResult):
        raise AnalyzerMissing(f"{what} returned {type(value).__name__}, not an AnalyzerResult")
    return value


def text_scores(
    answers: Sequence[AnswerText],
) -> tuple[AnalyzerResult, AnalyzerResult, AnalyzerResult]:
    """Lexis, complexity (grammar) and coherence, each with its calibrated sub-score."""
    lexis, complexity, coherence = _function("text_scoring", "score_text")(answers)
    return (
        _result(lexis, "score_text"),
        _result(complexity, "score_text"),
        _result(coherence, "score_text"),
    )


def fluency(answers: Sequence[AnswerText], pcm_by_turn: Mapping[str, bytes]) -> AnalyzerResult:
    analysis = _function("fluency", "fluency_analysis")
    return _result(analysis(answers, dict(pcm_by_turn) or None), "fluency_analysis")


def grammar_issues(text: str, *, first_language: str | None, turn_id: str) -> list[GrammarIssue]:
    found = _function("grammar_errors", "find_grammar_issues")(
        text, first_language=first_language, turn_id=turn_id
    )
    return [issue for issue in found if isinstance(issue, GrammarIssue)]


def grammar_checks(
    text: str, *, turn_id: str, reported: Sequence[GrammarIssue]
) -> list[GrammarCheck]:
    """Tentative phrases to check, outside the errors already ``reported`` for this answer."""
    found = _function("grammar_detector", "check_phrases")(text, turn_id=turn_id, reported=reported)
    return [check for check in found if isinstance(check, GrammarCheck)]


def pronunciation_quick(
    answers: Sequence[AnswerText], pcm_by_turn: Mapping[str, bytes]
) -> AnalyzerResult:
    quick = _function("pronunciation", "pronunciation_quick")
    return _result(quick(answers, pcm_by_turn), "pronunciation_quick")


@dataclass(frozen=True)
class PracticeWordLike:
    text: str
    turn_id: str
    start: float
    end: float
    confidence: float


def pronunciation_deep(
    answers: Sequence[AnswerText], pcm_by_turn: Mapping[str, bytes], *, budget_seconds: float
) -> tuple[AnalyzerResult, list[PracticeWordLike]]:
    """The deep result and the words that may be worth practising (weakest first)."""
    try:
        deep = _function("pronunciation", "deep_pronunciation")
    except AnalyzerMissing:
        # Only the result is public API; without the list, no words are offered.
        plain = _function("pronunciation", "pronunciation_deep")
        result = plain(answers, pcm_by_turn, time_budget_seconds=budget_seconds)
        return _result(result, "pronunciation_deep"), []
    found = deep(answers, pcm_by_turn, time_budget_seconds=budget_seconds)
    words = [
        PracticeWordLike(
            text=str(word.text),
            turn_id=str(word.turn_id),
            start=float(word.start),
            end=float(word.end),
            confidence=float(word.confidence),
        )
        for word in getattr(found, "practice_words", ())
    ]
    return _result(found.result, "deep_pronunciation"), words


def component_versions(*, deep: bool) -> dict[str, str]:
    """Versions of what the analyzers load beyond their own calibration (the grammar rule
    book; for phase 2 the fitted grammar detector), by name. What is not installed is left
    out: its criterion already says so."""
    wanted = [("grammar_rules", "grammar_errors", "rule_book_version")]
    if deep:
        wanted.append(("grammar_detector", "grammar_detector", "detector_version"))
    found: dict[str, str] = {}
    for name, module, function in wanted:
        try:
            value = _function(module, function)()
        except (AnalyzerMissing, OSError):
            continue
        if value:
            found[name] = str(value)
    return found
