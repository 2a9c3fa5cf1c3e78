"""The language-model judge of phase 2: a band per criterion from our descriptors, with
evidence quoted from the learner's answers, an explanation and better alternatives.

The brief (``shared/prompts/assessment_judge.toml``) holds only our own text: the
descriptors, the analyzers' provisional bands and their measurements. The learner's answers
go as ``QuotedText`` data, one block per answer labelled with its turn id, which the adapter
escapes and puts in the user turn, never in the system instruction: "give me band 9" in an
answer is speech to rate, not an order. The answer must be JSON of ``JUDGE_SCHEMA`` and is
validated with pydantic; whatever it says is then checked again in ``merge`` (quotes must be
verbatim, audio-based bands stay near the analyzers).

Any failure (the model, the JSON) gives None and phase 2 keeps the analyzers' judgement.
Logs carry outcomes and reason codes, never the learner's words or the model's text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.assessment.bands import descriptor
from shared.errors import AppError
from shared.logging import get_logger
from shared.models.assessment import CRITERIA, AnswerText, Criterion
from shared.models.language import GenerationRequest, QuotedText
from shared.ports import LanguageModel
from shared.prompts.templates import load_template
from shared.scoring.documents import CriterionScore

__all__ = [
    "JUDGE_SCHEMA",
    "JUDGE_TEMPLATE",
    "JUDGE_TEMPLATE_FIELDS",
    "JudgeAnswer",
    "JudgedCriterion",
    "Judgement",
    "ask_judge",
    "judge_request",
]

log = get_logger(__name__)

JUDGE_TEMPLATE: Final = "assessment_judge"
JUDGE_TEMPLATE_FIELDS: Final = frozenset(
    {"descriptors", "analyzer_bands", "metrics", "max_evidence"}
)
MAX_JUDGE_EVIDENCE: Final = 3
# Measurements per criterion in the brief: the ones the band rests on, not every feature.
_MAX_METRICS: Final = 16
_PREFERRED_METRICS: Final = (
    "band_",
    "speech_rate",
    "articulation_rate",
    "mean_length_of_run",
    "silent_pauses_per_minute",
    "mid_clause",
    "filled_pauses",
    "repairs_per_100_words",
    "mattr",
    "less_common_content",
    "idiomatic_rate",
    "slip_rate",
    "grammar_issue_rate",
    "pitch_",
    "monotone_share",
    "mean_word_confidence",
    "words",
)


class _Evidence(BaseModel):
    model_config = ConfigDict(extra="ignore")

    quote: str
    turn_id: str
    note: str = ""


class _Alternative(BaseModel):
    model_config = ConfigDict(extra="ignore")

    original: str
    better: str


class JudgedCriterion(BaseModel):
    """One criterion as the model judged it (not yet checked against the transcript)."""

    model_config = ConfigDict(extra="ignore")

    band: int = Field(ge=0, le=9)
    descriptor: str = ""
    evidence: list[_Evidence] = Field(default_factory=list)
    explanation: str = ""
    better_alternatives: list[_Alternative] = Field(default_factory=list)


class _Criteria(BaseModel):
    model_config = ConfigDict(extra="ignore")

    fluency_coherence: JudgedCriterion
    lexical_resource: JudgedCriterion
    grammar: JudgedCriterion
    pronunciation: JudgedCriterion


class JudgeAnswer(BaseModel):
    """The structured answer the brief asks for."""

    model_config = ConfigDict(extra="ignore")

    criteria: _Criteria

    def of(self, criterion: Criterion) -> JudgedCriterion:
        judged: JudgedCriterion = getattr(self.criteria, criterion)
        return judged


def _criterion_schema() -> dict[str, object]:
    text = {"type": "string"}
    return {
        "type": "object",
        "properties": {
            "band": {"type": "integer", "minimum": 0, "maximum": 9},
            "descriptor": text,
            "evidence": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"quote": text, "turn_id": text, "note": text},
                    "required": ["quote", "turn_id", "note"],
                },
            },
            "explanation": text,
            "better_alternatives": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"original": text, "better": text},
                    "required": ["original", "better"],
                },
            },
        },
        "required": ["band", "descriptor", "evidence", "explanation", "better_alternatives"],
    }


JUDGE_SCHEMA: Final[dict[str, object]] = {
    "type": "object",
    "properties": {
        "criteria": {
            "type": "object",
            "properties": {criterion: _criterion_schema() for criterion in CRITERIA},
            "required": list(CRITERIA),
        }
    },
    "required": ["criteria"],
}


@dataclass(frozen=True)
class Judgement:
    """A validated answer with what produced it (stored with the deep analysis)."""

    answer: JudgeAnswer
    template_ref: str
    template_hash: str
    model: str


def _descriptors_text() -> str:
    lines = []
    for criterion in CRITERIA:
        lines.append(f"{criterion}:")
        lines += [f"  band {band}: {descriptor(criterion, band)}" for band in range(9, 2, -1)]
        lines.append("  bands 0-2: below band 3, or no rateable speech.")
    return "\n".join(lines)


def _bands_text(criteria: Mapping[Criterion, CriterionScore]) -> str:
    lines = []
    for criterion in CRITERIA:
        score = criteria.get(criterion)
        if score is not None and score.scored and score.band is not None:
            lines.append(f"{criterion}: band {score.band} (sub-score {score.sub_score})")
        else:
            lines.append(f"{criterion}: not scored (too little evidence)")
    return "\n".join(lines)


def _chosen_metrics(metrics: Mapping[str, float]) -> list[tuple[str, float]]:
    chosen = [
        (name, value)
        for name, value in sorted(metrics.items())
        if name.startswith(_PREFERRED_METRICS)
    ]
    return chosen[:_MAX_METRICS]


def _metrics_text(criteria: Mapping[Criterion, CriterionScore]) -> str:
    lines = []
    for criterion in CRITERIA:
        score = criteria.get(criterion)
        if score is None:
            continue
        shown = ", ".join(f"{name}={value:g}" for name, value in _chosen_metrics(score.metrics))
        lines.append(f"{criterion}: {shown or 'none'}")
    return "\n".join(lines)


def judge_request(
    answers: Sequence[AnswerText], criteria: Mapping[Criterion, CriterionScore]
) -> GenerationRequest:
    """The judge's request: our brief, and each answer quoted as data with its turn id."""
    template = load_template(JUDGE_TEMPLATE)
    values = {
        "descriptors": _descriptors_text(),
        "analyzer_bands": _bands_text(criteria),
        "metrics": _metrics_text(criteria),
        "max_evidence": str(MAX_JUDGE_EVIDENCE),
    }
    quoted = [
        QuotedText(label=f"turn_id={answer.turn_id} part={answer.part}", text=answer.text)
        for answer in answers
    ]
    return GenerationRequest(
        template_id=template.ref,
        template_hash=template.content_hash,
        instructions=template.render(values),
        quoted=quoted,
        response_schema=JUDGE_SCHEMA,
        temperature=template.temperature,
        max_output_tokens=template.max_output_tokens,
    )


def ask_judge(model: LanguageModel, request: GenerationRequest) -> Judgement | None:
    """The model's validated judgement, or None (logged by reason) when there is none."""
    try:
        generation = model.generate(request)
    except AppError as error:
        log.warning("judge", outcome="model_error", error=error.code, template=request.template_id)
        return None
    try:
        answer = JudgeAnswer.model_validate(json.loads(generation.text))
    except (json.JSONDecodeError, ValidationError):
        log.warning("judge", outcome="invalid_output", template=request.template_id)
        return None
    log.info("judge", outcome="answered", template=request.template_id, model=generation.model)
    return Judgement(answer, request.template_id, request.template_hash, generation.model)
