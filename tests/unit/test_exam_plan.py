"""The test plan: shape per mode, tag rules, long-term memory and determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.exam.bank import QuestionBank, load_question_bank
from shared.exam.plan import PlanError, build_plan
from shared.models.exam import AskedQuestion, TestPlan

OPENING_IDS = {"p1.work", "p1.studies", "p1.home", "p1.hometown"}
SEEDS = [f"session-{n}" for n in range(40)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return load_question_bank()


def test_a_full_plan_has_three_part1_topics_a_card_and_two_part3_subthemes(
    bank: QuestionBank,
) -> None:
    plan = build_plan("full", bank, rng_seed="session-1")
    assert plan.mode == "full"
    assert plan.ask_name
    assert len(plan.part1) == 3
    assert plan.part1[0].id in OPENING_IDS
    assert plan.part1[0].opening
    assert not any(topic.opening for topic in plan.part1[1:])
    for planned in plan.part1:
        source = bank.topic(planned.id)
        assert [q.id for q in planned.questions] == [q.id for q in source.questions]
        assert [q.text for q in planned.questions] == [q.text for q in source.questions]
        assert 4 <= len(planned.questions) <= 5
    assert plan.card is not None
    card = bank.card(plan.card.id)
    assert (plan.card.task, plan.card.theme, plan.card.prompts) == (
        card.task,
        card.theme,
        card.prompts,
    )
    assert [r.id for r in plan.card.rounding_off] == [r.id for r in card.rounding_off]
    assert len(plan.part3) == 2
    assert {q.id for q in plan.part3_questions} <= {q.id for q in card.part3_questions}
    assert {g.subtheme for g in plan.part3} <= {g.subtheme for g in card.part3}


def test_the_plan_names_the_bank_it_came_from(bank: QuestionBank) -> None:
    plan = build_plan("full", bank, rng_seed=1)
    assert plan.bank_version == bank.version
    assert plan.bank_content_hash == bank.content_hash
    assert plan.seed == "1"


@pytest.mark.parametrize("seed", SEEDS)
def test_part1_topics_share_no_tag_with_each_other_or_the_card(
    bank: QuestionBank, seed: str
) -> None:
    plan = build_plan("full", bank, rng_seed=seed)
    assert plan.card is not None
    follow_on = plan.part1[1:]
    tags = [set(t.tags) for t in follow_on]
    assert not tags[0] & tags[1]
    for topic_tags in tags:
        assert not topic_tags & set(plan.card.tags), (seed, topic_tags, plan.card.tags)
        assert not topic_tags & set(plan.part1[0].tags)
    assert len({t.id for t in plan.part1}) == 3


def test_never_both_work_and_studies(bank: QuestionBank) -> None:
    openings_seen = set()
    for seed in SEEDS:
        ids = {t.id for t in build_plan("full", bank, rng_seed=seed).part1}
        assert not {"p1.work", "p1.studies"} <= ids
        assert len(ids & OPENING_IDS) == 1
        openings_seen |= ids & OPENING_IDS
    assert len(openings_seen) >= 3, "the opening topic varies"


def test_occupation_rules_out_the_other_opening(bank: QuestionBank) -> None:
    for seed in SEEDS[:15]:
        worker = build_plan("full", bank, rng_seed=seed, occupation="work")
        student = build_plan("full", bank, rng_seed=seed, occupation="study")
        assert worker.part1[0].id != "p1.studies"
        assert student.part1[0].id != "p1.work"


def test_the_same_seed_gives_the_same_plan_and_seeds_differ(bank: QuestionBank) -> None:
    assert build_plan("full", bank, rng_seed="a") == build_plan("full", bank, rng_seed="a")
    cards = {build_plan("full", bank, rng_seed=s).card.id for s in SEEDS}  # type: ignore[union-attr]
    assert len(cards) > 10


def _asked_now(plan: TestPlan, when: datetime) -> dict[str, AskedQuestion]:
    return {qid: AskedQuestion(last_asked_at=when, count=1) for qid in plan.question_ids()}


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_consecutive_plans_never_repeat_a_question(bank: QuestionBank, seed: str) -> None:
    first = build_plan("full", bank, rng_seed=seed)
    second = build_plan("full", bank, _asked_now(first, T0), rng_seed=seed)
    assert not set(first.question_ids()) & set(second.question_ids())
    third = build_plan(
        "full",
        bank,
        {**_asked_now(first, T0), **_asked_now(second, T0 + timedelta(days=1))},
        rng_seed=seed,
    )
    assert not set(third.question_ids()) & set(first.question_ids() + second.question_ids())


def test_never_asked_questions_come_before_asked_ones(bank: QuestionBank) -> None:
    # Every card but one has been asked: that one must be chosen whatever the seed.
    fresh = bank.cue_cards()[17]
    asked = {
        card.id: AskedQuestion(last_asked_at=T0, count=1)
        for card in bank.cue_cards()
        if card.id != fresh.id
    }
    for seed in SEEDS[:10]:
        plan = build_plan("part2", bank, asked, rng_seed=seed)
        assert plan.card is not None
        assert plan.card.id == fresh.id


def test_when_the_bank_runs_out_the_least_recently_asked_comes_first(
    bank: QuestionBank,
) -> None:
    cards = bank.cue_cards()
    oldest = cards[40]
    asked: dict[str, AskedQuestion | datetime | int | dict[str, object]] = {}
    for n, card in enumerate(cards):
        when = T0 + timedelta(days=n + 1)
        asked[card.id] = AskedQuestion(last_asked_at=when, count=2)
    asked[oldest.id] = {"lastAskedAt": T0, "count": 5}  # the stored document's shape
    plan = build_plan("part2", bank, asked, rng_seed="x")
    assert plan.card is not None
    assert plan.card.id == oldest.id


def test_asked_values_may_be_datetimes_counts_or_stored_dicts(bank: QuestionBank) -> None:
    opening_ids = [q.id for t in bank.opening_topics() for q in t.questions]
    forms: list[AskedQuestion | datetime | int | dict[str, object]] = [
        T0,
        1,
        {"lastAskedAt": T0.isoformat(), "count": 1},
    ]
    asked = {qid: forms[n % 3] for n, qid in enumerate(opening_ids)}
    # All four openings asked: still one opening topic, chosen among the asked.
    plan = build_plan("part1", bank, asked, rng_seed="y")
    assert plan.part1[0].id in OPENING_IDS


def test_part3_questions_never_asked_come_first_within_a_subtheme(bank: QuestionBank) -> None:
    plan = build_plan("part2_3", bank, rng_seed="z")
    assert plan.card is not None
    group = plan.part3[0]
    first = group.questions[0]
    again = build_plan(
        "part2_3",
        bank,
        {
            # Every other card asked later, so this card is still the least recently asked.
            **{
                c.id: AskedQuestion(last_asked_at=T0 + timedelta(days=10)) for c in bank.cue_cards()
            },
            plan.card.id: AskedQuestion(last_asked_at=T0),
            first.id: AskedQuestion(last_asked_at=T0 + timedelta(days=3)),
        },
        rng_seed="z",
    )
    assert again.card is not None
    assert again.card.id == plan.card.id
    reordered = next(g for g in again.part3 if g.subtheme == group.subtheme)
    assert reordered.questions[-1].id == first.id
    assert {q.id for q in reordered.questions} == {q.id for q in group.questions}


@pytest.mark.parametrize(
    ("mode", "part1", "card", "part3", "ask_name"),
    [
        ("full", 3, True, True, True),
        ("part1", 3, False, False, True),
        ("part2", 0, True, False, False),
        ("part2_3", 0, True, True, False),
    ],
)
def test_each_mode_plans_its_parts(
    bank: QuestionBank, mode: str, part1: int, card: bool, part3: bool, ask_name: bool
) -> None:
    plan = build_plan(mode, bank, rng_seed="m")  # type: ignore[arg-type]
    assert len(plan.part1) == part1
    assert (plan.card is not None) == card
    assert bool(plan.part3) == part3
    assert plan.ask_name == ask_name


def test_practice_takes_a_topic_or_a_card(bank: QuestionBank) -> None:
    topic = build_plan("practice", bank, rng_seed="p", practice_id="p1.music")
    assert [t.id for t in topic.part1] == ["p1.music"]
    assert topic.card is None
    assert not topic.ask_name
    assert topic.practice_id == "p1.music"
    card_id = bank.cue_cards()[3].id
    card = build_plan("practice", bank, rng_seed="p", practice_id=card_id)
    assert card.card is not None
    assert card.card.id == card_id
    assert card.part1 == ()
    assert len(card.part3) == 2


@pytest.mark.parametrize(
    ("mode", "practice_id", "message"),
    [
        ("practice", None, "practice_id is required"),
        ("full", "p1.music", "only there"),
        ("practice", "p1.unknown", "p1.unknown"),
        ("practice", "p2.unknown", "p2.unknown"),
        ("everything", None, "unknown mode"),
    ],
)
def test_bad_requests_are_refused(
    bank: QuestionBank, mode: str, practice_id: str | None, message: str
) -> None:
    with pytest.raises(PlanError, match=message):
        build_plan(mode, bank, rng_seed="e", practice_id=practice_id)  # type: ignore[arg-type]


def test_the_plan_round_trips_as_json_and_keeps_the_first_language(bank: QuestionBank) -> None:
    plan = build_plan("full", bank, rng_seed="j", first_language="uz")
    assert plan.first_language == "uz"
    assert TestPlan.model_validate(plan.model_dump(mode="json")) == plan
