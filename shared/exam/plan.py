"""The test plan: which Part 1 topics, cue card and Part 3 questions one mock test may ask.

``build_plan`` is pure and deterministic: the same bank, memory and seed give the same plan
(the service seeds with the session id, so a retried request plans the same test). It
prefers what this learner was never asked; once the bank runs out, the least recently asked
comes first. Questions are copied into the plan with their wording, and the plan names the
bank's version and content hash.

Shape of a full plan (the policy decides how much of it time allows):
- Part 1: one opening topic (work, studies, home or hometown; never both work and studies)
  and two further topics that share no tag with each other, the opening topic or the card,
  each with all of its 4-5 questions in the bank's order (later questions build on earlier).
- Part 2: one cue card with its rounding-off questions.
- Part 3: the card's linked questions, two sub-themes, never-asked questions first.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, Literal, TypeVar

from shared.exam.bank import CueCard, Part1Topic, Part3Group, QuestionBank, UnknownQuestionId
from shared.models.exam import (
    EXAM_MODES,
    AskedQuestion,
    ExamMode,
    PlannedCard,
    PlannedQuestion,
    PlannedSubtheme,
    PlannedTopic,
    TestPlan,
)

Occupation = Literal["work", "study"]
AskedValue = AskedQuestion | datetime | int | Mapping[str, Any]

PART1_FOLLOW_ON_TOPICS: Final = 2
PART3_SUBTHEMES: Final = 2
# Opening topics a learner who works (or studies) is not asked: tag of the other one.
_OCCUPATION_EXCLUDES: Final[dict[Occupation, str]] = {"work": "education", "study": "work"}

_T = TypeVar("_T")
# (0,) for never asked; (1, most recent time, times asked) otherwise: smaller is fresher.
Staleness = tuple[int, float, int]


class PlanError(ValueError):
    """The plan cannot be built as asked (unknown mode, missing or unknown practice id)."""


def _as_asked(value: AskedValue) -> AskedQuestion:
    if isinstance(value, AskedQuestion):
        return value
    if isinstance(value, datetime):
        return AskedQuestion(last_asked_at=value, count=1)
    if isinstance(value, int):
        return AskedQuestion(count=value)
    return AskedQuestion.model_validate(dict(value))


class _Memory:
    """The learner's question history, reduced to what ordering needs."""

    def __init__(self, asked: Mapping[str, AskedValue] | None) -> None:
        self._asked = {qid: _as_asked(value) for qid, value in (asked or {}).items()}

    def staleness(self, ids: Iterable[str]) -> Staleness:
        records = [self._asked[qid] for qid in ids if qid in self._asked]
        records = [r for r in records if r.count > 0 or r.last_asked_at is not None]
        if not records:
            return (0, 0.0, 0)
        # An unknown time counts as long ago: the question was asked, but not recently.
        latest = max(r.last_asked_at.timestamp() if r.last_asked_at else 0.0 for r in records)
        return (1, latest, sum(r.count for r in records))


def _freshest_first(
    items: Sequence[_T], rng: random.Random, key: Callable[[_T], tuple[Any, ...]]
) -> list[_T]:
    # Draws happen in the bank's order, so the same seed gives the same tie-breaks.
    draws = [rng.random() for _ in items]
    order = sorted(range(len(items)), key=lambda i: (*key(items[i]), draws[i]))
    return [items[i] for i in order]


def _topic_ids(topic: Part1Topic) -> list[str]:
    return [q.id for q in topic.questions]


def _card_ids(card: CueCard) -> list[str]:
    return [card.id, *(r.id for r in card.rounding_off), *(q.id for q in card.part3_questions)]


def _planned_topic(topic: Part1Topic) -> PlannedTopic:
    return PlannedTopic(
        id=topic.id,
        title=topic.title,
        opening=topic.opening,
        tags=topic.tags,
        questions=tuple(PlannedQuestion(id=q.id, text=q.text) for q in topic.questions),
    )


def _planned_card(card: CueCard) -> PlannedCard:
    return PlannedCard(
        id=card.id,
        theme=card.theme,
        tags=card.tags,
        task=card.task,
        prompts=card.prompts,
        closing=card.closing,
        rounding_off=tuple(PlannedQuestion(id=r.id, text=r.text) for r in card.rounding_off),
    )


def _planned_part3(
    card: CueCard, memory: _Memory, rng: random.Random
) -> tuple[PlannedSubtheme, ...]:
    groups = list(card.part3)
    ranked = _freshest_first(groups, rng, lambda g: memory.staleness(q.id for q in g.questions))
    chosen: list[Part3Group] = [g for g in groups if g in ranked[:PART3_SUBTHEMES]]
    planned = []
    for group in chosen:
        # Within a sub-theme: the bank's order among never-asked questions, then the oldest.
        order = sorted(
            range(len(group.questions)),
            key=lambda i: (memory.staleness([group.questions[i].id]), i),
        )
        questions = tuple(
            PlannedQuestion(id=group.questions[i].id, text=group.questions[i].text) for i in order
        )
        planned.append(PlannedSubtheme(subtheme=group.subtheme, questions=questions))
    return tuple(planned)


def _choose_card(bank: QuestionBank, memory: _Memory, rng: random.Random) -> CueCard:
    cards = list(bank.cue_cards())
    return _freshest_first(cards, rng, lambda c: memory.staleness(_card_ids(c)))[0]


def _choose_part1(
    bank: QuestionBank,
    memory: _Memory,
    rng: random.Random,
    card: CueCard | None,
    occupation: Occupation | None,
) -> tuple[Part1Topic, ...]:
    card_tags = set(card.tags) if card else set()
    excluded_tag = _OCCUPATION_EXCLUDES.get(occupation) if occupation else None
    openings = [t for t in bank.opening_topics() if excluded_tag not in t.tags]
    if not openings:
        raise PlanError("the bank has no opening topic for this learner")
    opening = _freshest_first(
        openings,
        rng,
        lambda t: (*memory.staleness(_topic_ids(t)), bool(card_tags & set(t.tags))),
    )[0]
    others = _freshest_first(
        [t for t in bank.part1_topics() if not t.opening],
        rng,
        lambda t: memory.staleness(_topic_ids(t)),
    )
    # Tag rules from strict to loose, so a small or exhausted bank still gives a plan.
    for avoid_card, avoid_opening in ((True, True), (True, False), (False, False)):
        chosen: list[Part1Topic] = []
        taken: set[str] = set(card_tags) if avoid_card else set()
        if avoid_opening:
            taken |= set(opening.tags)
        for topic in others:
            if not taken & set(topic.tags):
                chosen.append(topic)
                taken |= set(topic.tags)
            if len(chosen) == PART1_FOLLOW_ON_TOPICS:
                return (opening, *chosen)
    return (opening, *others[:PART1_FOLLOW_ON_TOPICS])


def build_plan(
    mode: ExamMode,
    bank: QuestionBank,
    asked: Mapping[str, AskedValue] | None = None,
    *,
    rng_seed: str | int,
    first_language: str | None = None,
    practice_id: str | None = None,
    occupation: Occupation | None = None,
    ask_name: bool | None = None,
) -> TestPlan:
    """Plan one test.

    mode: ``full`` (Parts 1-3), ``part1``, ``part2`` (long turn and rounding-off),
      ``part2_3`` (Parts 2 and 3) or ``practice`` (``practice_id``: a Part 1 topic id gives
      that topic alone; a cue card id gives that card with its Part 3).
    asked: the learner's long-term memory, question id to ``AskedQuestion`` (or the stored
      ``{"lastAskedAt", "count"}`` dict, a datetime, or a count).
    rng_seed: every choice follows from it; the service passes the session id.
    first_language: recorded for the language checks (ISO 639-1).
    occupation: "work" never opens with studies, "study" never with work; None allows both
      (only one of them is ever planned).
    ask_name: whether the opening asks what to call the learner; by default only when the
      test starts with Part 1 in ``full`` or ``part1`` mode.

    Raises PlanError for an unknown mode or a missing or unknown practice id.
    """
    if mode not in EXAM_MODES:
        raise PlanError(f"unknown mode {mode!r}; expected one of {list(EXAM_MODES)}")
    if (mode == "practice") != (practice_id is not None):
        raise PlanError("practice_id is required in practice mode and only there")
    memory = _Memory(asked)
    rng = random.Random(f"plan|{rng_seed}")
    card: CueCard | None = None
    topics: tuple[Part1Topic, ...] = ()
    with_part3 = mode in ("full", "part2_3")
    if mode == "practice" and practice_id is not None:
        try:
            if practice_id.startswith("p1."):
                topics = (bank.topic(practice_id),)
            else:
                card = bank.card(practice_id)
                with_part3 = True
        except UnknownQuestionId as exc:
            raise PlanError(f"practice id {practice_id!r}: {exc}") from None
    if mode in ("full", "part2", "part2_3"):
        card = _choose_card(bank, memory, rng)
    if mode in ("full", "part1"):
        topics = _choose_part1(bank, memory, rng, card, occupation)
    return TestPlan(
        mode=mode,
        seed=str(rng_seed),
        bank_version=bank.version,
        bank_content_hash=bank.content_hash,
        first_language=first_language,
        ask_name=mode in ("full", "part1") if ask_name is None else ask_name and bool(topics),
        practice_id=practice_id,
        part1=tuple(_planned_topic(t) for t in topics),
        card=_planned_card(card) if card else None,
        part3=_planned_part3(card, memory, rng) if card and with_part3 else (),
    )
