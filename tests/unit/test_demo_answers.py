"""The scripted learner's answers: schema, coverage of the bank, and two levels that differ."""

from __future__ import annotations

import copy
import tomllib
from collections import Counter
from typing import Any

import pytest
import wordfreq

from devstack.demo_answers import (
    ANSWER_STAGES,
    ANSWERS_PATH,
    ANY,
    LEVELS,
    WORD_LIMITS,
    AnswerStage,
    DemoAnswer,
    DemoAnswers,
    DemoAnswersError,
    check_answers,
    load_demo_answers,
    mean,
    moving_average_ttr,
    opening_words,
    parse_answers,
    plain_text,
    spoken_parts,
    spoken_word_count,
)
from shared.exam.bank import ALLOWED_TAGS, CARD_CATEGORIES, load_question_bank
from shared.exam.text import FILLED_PAUSES, words

# Zipf 4 is about once in 10,000 words: roughly beyond the 3,000 most frequent English words.
LESS_COMMON_ZIPF = 4.0


def _raw() -> dict[str, Any]:
    return tomllib.loads(ANSWERS_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def answers() -> DemoAnswers:
    return load_demo_answers()


def _less_common_share(text: str) -> float:
    said = [w for w in words(text) if w not in FILLED_PAUSES]
    return sum(1 for w in said if wordfreq.zipf_frequency(w, "en") < LESS_COMMON_ZIPF) / len(said)


# --- schema -----------------------------------------------------------------------------------
def test_the_file_is_valid() -> None:
    assert check_answers(_raw()) == []


def test_ids_are_unique(answers: DemoAnswers) -> None:
    counts = Counter(a.id for a in answers.answers)
    assert [answer_id for answer_id, n in counts.items() if n > 1] == []


def test_levels_are_5_or_7(answers: DemoAnswers) -> None:
    assert {a.level for a in answers.answers} == set(LEVELS) == {5, 7}


@pytest.mark.parametrize("stage", ANSWER_STAGES)
@pytest.mark.parametrize("level", LEVELS)
def test_word_counts_are_in_range(answers: DemoAnswers, level: int, stage: str) -> None:
    low, high = WORD_LIMITS[(stage, level)]  # type: ignore[index]
    pool = answers.of(level, stage)  # type: ignore[arg-type]
    assert pool, f"no band-{level} {stage} answer"
    outside = {a.id: a.word_count for a in pool if not low <= a.word_count <= high}
    assert outside == {}


def test_fits_name_bank_tags_or_any(answers: DemoAnswers) -> None:
    unknown = {a.id: tag for a in answers.answers for tag in a.fits if tag not in ALLOWED_TAGS}
    assert {k: v for k, v in unknown.items() if v != ANY} == {}


def test_enough_distinct_answers_per_level_for_the_evaluation(answers: DemoAnswers) -> None:
    for level in LEVELS:
        texts = {a.text for a in answers.answers if a.level == level and a.stage != "intro"}
        assert len(texts) >= 10, f"band {level}"


# --- coverage of the question bank ------------------------------------------------------------
def test_every_card_category_has_a_long_turn_and_part3_answers(answers: DemoAnswers) -> None:
    for level in LEVELS:
        for category in CARD_CATEGORIES:
            long_turns = [a for a in answers.of(level, "long_turn") if category in a.fits]
            part3 = [a for a in answers.of(level, "part3") if category in a.fits]
            assert long_turns, f"band {level} has no {category} long turn"
            assert len(part3) >= 2, f"band {level} has under two {category} Part 3 answers"


def test_every_part1_topic_has_a_fitting_answer(answers: DemoAnswers) -> None:
    for topic in load_question_bank().part1_topics():
        for level in LEVELS:
            fitting = [a for a in answers.of(level, "part1") if set(a.fits) & set(topic.tags)]
            assert fitting, f"{topic.id} ({topic.tags}) has no band-{level} answer"


def test_pool_puts_the_main_tag_first_then_generic_answers(answers: DemoAnswers) -> None:
    pool = answers.pool(7, "part1", ("food", "home"))
    assert pool[0].id == "b7.part1.food.1"
    assert [a.fits[0] for a in pool[:2]] == ["food", "food"]
    assert pool[-1].fits == (ANY,)
    assert all(a.level == 7 and a.stage == "part1" for a in pool)


# --- the two levels differ the way the band descriptors say ----------------------------------
def test_band_7_answers_are_longer_on_average(answers: DemoAnswers) -> None:
    for stage in ANSWER_STAGES:
        band5 = mean(a.word_count for a in answers.of(5, stage))
        band7 = mean(a.word_count for a in answers.of(7, stage))
        assert band7 > band5, stage
    part2 = [mean(a.word_count for a in answers.of(lv, "long_turn")) for lv in LEVELS]
    assert part2[1] >= 1.5 * part2[0]


def test_band_7_answers_are_lexically_richer(answers: DemoAnswers) -> None:
    scored = [a for a in answers.answers if a.stage != "intro"]
    mattr = {lv: mean(moving_average_ttr(a.text) for a in scored if a.level == lv) for lv in LEVELS}
    rare = {lv: mean(_less_common_share(a.text) for a in scored if a.level == lv) for lv in LEVELS}
    assert mattr[7] > mattr[5] + 0.03, mattr
    assert rare[7] > 2 * rare[5], rare


def test_band_5_answers_hesitate_far_more_than_band_7(answers: DemoAnswers) -> None:
    def per_100_words(level: int, count: Any) -> float:
        pool = [
            a
            for a in answers.answers
            if a.level == level and a.stage in ("part1", "long_turn", "part3")
        ]
        return 100 * sum(count(a) for a in pool) / sum(a.word_count for a in pool)

    def fillers(answer: DemoAnswer) -> int:
        return sum(1 for w in words(answer.text) if w in FILLED_PAUSES)

    def pauses(answer: DemoAnswer) -> int:
        return sum(isinstance(part, float) for part in answer.parts)

    assert per_100_words(5, fillers) >= 1.0
    assert per_100_words(5, fillers) > 3 * per_100_words(7, fillers)
    assert per_100_words(5, pauses) >= 1.0
    assert per_100_words(5, pauses) > 3 * per_100_words(7, pauses)


@pytest.mark.parametrize("stage", ["part1", "long_turn", "part3"])
def test_band_5_evaluation_answers_hesitate_at_intermediate_learner_rates(
    answers: DemoAnswers, stage: AnswerStage
) -> None:
    # bench.band_levels speaks the first five of each stage; the header of the file gives the
    # rates (from fluency research on intermediate learners).
    evaluated = answers.of(5, stage)[:5]
    said = sum(a.word_count for a in evaluated)
    pauses = sum(isinstance(part, float) for a in evaluated for part in a.parts)
    fillers = sum(1 for a in evaluated for w in words(a.text) if w in FILLED_PAUSES)

    assert 10 <= said / pauses <= 18
    assert 4 <= 100 * fillers / said <= 9


def test_pause_markup_is_spoken_as_silences_between_words() -> None:
    assert spoken_parts("I went [pause 0.8] to the [pause 1.5] park.") == (
        "I went",
        0.8,
        "to the",
        1.5,
        "park.",
    )
    assert plain_text("I went [pause 0.8] to the park.") == "I went to the park."
    assert spoken_word_count(plain_text("in a [pause 0.9] small flat")) == 4


# --- the checks can fail ----------------------------------------------------------------------
def _broken(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(_raw())
    raw["answers"][0].update(changes)
    return raw


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"level": 6}, "level 6"),
        ({"stage": "part4"}, "stage 'part4'"),
        ({"fits": []}, "fits must be"),
        ({"text": "Um, Linh."}, "1 words"),
        ({"text": "My name is Zoë Brontë, call me Zoë."}, "ASCII"),
        ({"id": "b7.intro.any.1"}, "id used twice"),
        ({"id": "b5.part1.any.9"}, "repeat the answer's level"),
        ({"colour": "blue"}, "unknown keys"),
        ({"text": "My name is [laughs] Linh Tran, call me Linh."}, "the only markup"),
        ({"text": "My name is [pause 9] Linh Tran, call me Linh."}, "pauses last"),
    ],
)
def test_check_answers_reports_each_problem(changes: dict[str, Any], problem: str) -> None:
    problems = check_answers(_broken(**changes))
    assert any(problem in p for p in problems), problems


def test_an_invalid_file_is_refused_with_every_problem() -> None:
    raw = _broken(level=6)
    raw["answers"][1]["text"] = ""
    with pytest.raises(DemoAnswersError) as error:
        parse_answers(raw)
    assert "level 6" in str(error.value)
    assert "text is empty" in str(error.value)


# --- helpers ----------------------------------------------------------------------------------
def test_spoken_word_count_leaves_out_fillers() -> None:
    assert spoken_word_count("Um, I think, er, it's fine.") == 4


def test_opening_words_keeps_whole_sentences_up_to_the_count() -> None:
    text = "One two three. Four five six seven. Eight nine."
    assert opening_words(text, 3) == "One two three."
    assert opening_words(text, 5) == "One two three. Four five six seven."
    # Whole sentences would run far past the count: cut there, with a full stop.
    assert opening_words(text, 4) == "One two three. Four."
    assert opening_words(text, 1) == "One."
    assert opening_words(text, 99) == text


def test_opening_words_cuts_a_long_first_sentence() -> None:
    text = "Um, I think, er, that it depends on a great many things, really. Yes."
    assert opening_words(text, 4) == "Um, I think, er, that it."
    assert spoken_word_count(opening_words(text, 4)) == 4


def test_moving_average_ttr_does_not_reward_repetition() -> None:
    varied = "the quick brown fox jumps over a lazy dog near our quiet river bank today"
    repeated = "I like it I like it very very much I like it very much I like it"
    assert moving_average_ttr(varied, window=10) > moving_average_ttr(repeated, window=10)
