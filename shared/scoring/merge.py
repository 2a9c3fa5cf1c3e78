"""Merging the judge's view with the analyzers', under rules the model cannot talk past.

- A quote is shown only if it is a verbatim substring of the transcript of the turn it names
  (whitespace runs and the escaping of ``< > &`` aside): a model that paraphrases or invents
  a quote has it dropped, never shown as the learner's words. Better alternatives must start
  from an expression the learner really used, too.
- Fluency and Coherence and Pronunciation are judged from audio; the model sees only a
  transcript, so its band may move at most ``AUDIO_MAX_SHIFT`` from the analyzers' band.
  Lexis and grammar are what a transcript shows, yet an unbounded override would let one odd
  answer (or a manipulated transcript) swing a band: ``TEXT_MAX_SHIFT``.
- A criterion the analyzers could not score stays not scored: the model has no more evidence.
- The descriptor shown is always ours, for the final band.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Final

from shared.assessment.bands import descriptor
from shared.models.assessment import AnswerText, Criterion, Evidence
from shared.scoring.documents import BetterAlternative, CriterionScore, DeepCriterion
from shared.scoring.judge import JudgedCriterion

__all__ = [
    "AUDIO_CRITERIA",
    "AUDIO_MAX_SHIFT",
    "TEXT_MAX_SHIFT",
    "analyzer_explanation",
    "from_analyzers",
    "judged",
    "verbatim_in",
]

AUDIO_CRITERIA: Final[frozenset[Criterion]] = frozenset({"fluency_coherence", "pronunciation"})
AUDIO_MAX_SHIFT: Final = 1
TEXT_MAX_SHIFT: Final = 2
MAX_MODEL_QUOTES: Final = 2
MAX_EVIDENCE: Final = 4
MAX_ALTERNATIVES: Final = 3
MAX_EXPLANATION_CHARS: Final = 1200
_SPACES: Final = re.compile(r"\s+")


def _comparable(text: str) -> str:
    # The model saw NFKC-folded, escaped text: compare in that form, with spaces collapsed.
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", html.unescape(text))).strip()


def verbatim_in(quote: str, transcript: str) -> bool:
    """Whether ``quote`` occurs word for word in ``transcript``."""
    wanted = _comparable(quote)
    return len(wanted) >= 2 and wanted in _comparable(transcript)


def analyzer_explanation(score: CriterionScore) -> str:
    """The analyzers' own explanation: the band, what it means, what it rests on."""
    if not score.scored or score.band is None:
        return f"Not scored: {score.not_scored_reason}."
    notes = " ".join(item.note for item in score.evidence[:3])
    return f"Band {score.band}: {score.descriptor} {notes}".strip()


def from_analyzers(score: CriterionScore) -> DeepCriterion:
    """A criterion as the analyzers alone judge it (offline, or the model unavailable)."""
    return DeepCriterion(
        **score.model_dump(),
        explanation=analyzer_explanation(score),
        analyzer_band=score.band,
    )


def _clamp(criterion: Criterion, analyzer_band: int, judge_band: int) -> int:
    shift = AUDIO_MAX_SHIFT if criterion in AUDIO_CRITERIA else TEXT_MAX_SHIFT
    return max(analyzer_band - shift, min(analyzer_band + shift, judge_band))


def _model_quotes(
    criterion: Criterion, judgement: JudgedCriterion, answers: Mapping[str, AnswerText]
) -> list[Evidence]:
    kept = []
    for item in judgement.evidence:
        answer = answers.get(item.turn_id)
        if answer is None or not verbatim_in(item.quote, answer.text):
            continue  # not the learner's words: never shown
        kept.append(
            Evidence(
                kind="quote",
                criterion=criterion,
                note=item.note.strip()[:300] or "Quoted by the assessor.",
                quote=_comparable(item.quote),
                turn_id=item.turn_id,
            )
        )
    return kept[:MAX_MODEL_QUOTES]


def _alternatives(
    judgement: JudgedCriterion, answers: Sequence[AnswerText]
) -> list[BetterAlternative]:
    kept = []
    for pair in judgement.better_alternatives:
        original, better = _comparable(pair.original), _comparable(pair.better)
        if not better or better == original:
            continue
        if any(verbatim_in(original, answer.text) for answer in answers):
            kept.append(BetterAlternative(original=original, better=better[:300]))
    return kept[:MAX_ALTERNATIVES]


def judged(
    score: CriterionScore, judgement: JudgedCriterion, answers: Sequence[AnswerText]
) -> DeepCriterion:
    """``score`` (the analyzers') merged with the model's ``judgement`` under the rules above."""
    by_turn = {answer.turn_id: answer for answer in answers}
    alternatives = _alternatives(judgement, answers)
    if not score.scored or score.band is None:
        base = from_analyzers(score)
        return base.model_copy(
            update={"judge_band": judgement.band, "better_alternatives": alternatives}
        )
    band = _clamp(score.criterion, score.band, judgement.band)
    quotes = _model_quotes(score.criterion, judgement, by_turn)
    seen = {(item.quote, item.turn_id) for item in quotes}
    analyzer_items = [item for item in score.evidence if (item.quote, item.turn_id) not in seen]
    evidence = [*quotes, *analyzer_items][:MAX_EVIDENCE]
    explanation = " ".join(judgement.explanation.split())[:MAX_EXPLANATION_CHARS]
    return DeepCriterion(
        **score.model_dump(exclude={"band", "descriptor", "evidence"}),
        band=band,
        descriptor=descriptor(score.criterion, band),
        evidence=evidence,
        explanation=explanation or analyzer_explanation(score),
        better_alternatives=alternatives,
        analyzer_band=score.band,
        judge_band=judgement.band,
        clamped=band != judgement.band,
    )
