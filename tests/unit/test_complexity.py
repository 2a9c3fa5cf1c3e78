"""Grammatical range analyzer: clauses, structures, accuracy signals and their evidence."""

from __future__ import annotations

import tomllib

import pytest

from shared.assessment import complexity
from shared.assessment.complexity import (
    STRUCTURES,
    _structures,
    accuracy_signals,
    analyze_complexity,
    complexity_data,
)
from shared.assessment.text import tokenize
from shared.models.assessment import AnswerText

SIMPLE = (
    "I live in a flat. It is small. I like it. My street is quiet. I walk to work. "
    "I see my friends at the weekend. We eat together. The food is nice. I go home late."
)
COMPLEX = (
    "I live in a flat which my parents bought before I was born. Although it is small, it "
    "has been renovated twice, so it feels modern. If I had more money, I would move to a "
    "bigger place that is closer to the city centre, because commuting is getting more "
    "expensive than it used to be. I think that most people in my city are looking for the "
    "same thing."
)


def answer(text: str, turn_id: str = "t1") -> AnswerText:
    return AnswerText(turn_id=turn_id, part=3, text=text)


def structures(sentence: str) -> set[str]:
    norms = [t.norm for t in tokenize(sentence)]
    return {name for name, _ in _structures(norms, complexity_data())}


@pytest.mark.parametrize(
    ("sentence", "structure"),
    [
        ("If it rains tomorrow, we will stay at home.", "conditional"),
        ("If I were rich, I would travel the world.", "conditional"),
        ("The bridge was built in 1990.", "passive"),
        ("Mistakes are often made by beginners.", "passive"),
        ("I have lived here for ten years.", "perfect"),
        ("She has never seen the sea.", "perfect"),
        ("They were playing football when it started.", "continuous"),
        ("You should try the local food.", "modal"),
        ("The city is busier than my village.", "comparative"),
        ("It was the best day of my life.", "superlative"),
        ("I'm going to study medicine.", "going_to"),
        ("We used to climb that tree.", "used_to"),
        ("I wish I could speak French.", "hypothetical"),
    ],
)
def test_each_structure_is_recognised(sentence: str, structure: str) -> None:
    assert structure in structures(sentence)


@pytest.mark.parametrize(
    ("sentence", "absent"),
    [
        ("The film was interesting.", "continuous"),  # an adjective, not a tense
        ("I am interested in history.", "passive"),  # an -ed adjective
        ("If you like it, take it.", "conditional"),  # no will/would: not counted
        ("I am used to the noise.", "used_to"),  # accustomed, not a past habit
        ("I have two brothers.", "perfect"),
    ],
)
def test_look_alikes_are_not_structures(sentence: str, absent: str) -> None:
    assert absent not in structures(sentence)


def test_a_complex_answer_has_more_range_than_a_simple_one() -> None:
    simple = analyze_complexity([answer(SIMPLE)]).metrics
    rich = analyze_complexity([answer(COMPLEX)]).metrics
    assert rich["structure_range"] >= simple["structure_range"] + 4
    assert rich["subordinate_rate"] > simple["subordinate_rate"]
    assert rich["relative_rate"] > simple["relative_rate"] == 0
    assert rich["clauses_per_sentence"] > 2 > simple["clauses_per_sentence"]
    assert rich["complex_sentence_share"] == 1.0
    assert simple["complex_sentence_share"] == 0.0


@pytest.mark.parametrize(
    ("wrong", "right", "kind"),
    [
        ("He have a car.", "He has a car.", "agreement"),
        ("They has two dogs.", "They have two dogs.", "agreement"),
        ("People is friendly.", "People are friendly.", "agreement"),
        ("You can to go now.", "You can go now.", "verb_form"),
        ("I didn't wanted it.", "I didn't want it.", "verb_form"),
        ("It is more better.", "It is much better.", "comparative"),
        ("She ate a apple.", "She ate an apple.", "article"),
        ("He gave me an book.", "He gave me a book.", "article"),
        ("She gave me an advice.", "She gave me some advice.", "countability"),
        ("I like it because is cheap.", "I like it because it is cheap.", "missing_subject"),
        ("I not like it.", "I do not like it.", "missing_auxiliary"),
        ("I went with they.", "I went with them.", "pronoun_case"),
        ("The life is short.", "Life is short.", "generic_article"),
    ],
)
def test_accuracy_signals_catch_slips_and_spare_the_correction(
    wrong: str, right: str, kind: str
) -> None:
    data = complexity_data()
    assert accuracy_signals([t.norm for t in tokenize(wrong)], data)[kind] == 1
    assert sum(accuracy_signals([t.norm for t in tokenize(right)], data).values()) == 0


@pytest.mark.parametrize(
    "correct",
    [
        "Does it work?",
        "Let it go.",
        "I wonder what he thinks.",
        "They not only sang but danced.",
        "An hour later we left.",
        "It was a useful tool.",
    ],
)
def test_correct_sentences_raise_no_accuracy_signal(correct: str) -> None:
    assert (
        sum(accuracy_signals([t.norm for t in tokenize(correct)], complexity_data()).values()) == 0
    )


def test_quotes_are_verbatim_and_one_per_structure() -> None:
    answers = [answer(COMPLEX, "p3-1"), answer(SIMPLE, "p1-2")]
    by_turn = {a.turn_id: a.text for a in answers}
    result = analyze_complexity(answers)
    quotes = [e for e in result.evidence if e.kind == "quote"]
    assert quotes
    assert len({e.note for e in quotes}) == len(quotes)
    for evidence in quotes:
        assert evidence.quote
        assert evidence.quote in by_turn[str(evidence.turn_id)]
        assert evidence.positive


def test_structures_not_heard_are_named() -> None:
    result = analyze_complexity([answer(SIMPLE)])
    missing = [e for e in result.evidence if e.metric == "structures_not_heard"]
    assert len(missing) == 1
    assert "a conditional" in missing[0].note
    assert missing[0].value == len(STRUCTURES) - result.metrics["structure_range"]


def test_an_unpunctuated_transcript_has_no_per_sentence_measures() -> None:
    spoken = COMPLEX.replace(",", "").replace(".", "").lower()
    metrics = analyze_complexity([answer(spoken)]).metrics
    assert "clauses_per_sentence" not in metrics
    assert "complex_sentence_share" not in metrics
    # Per-100-word measures do not need punctuation.
    assert metrics["subordinate_rate"] > 0
    assert metrics["structure_range"] >= 5


def test_an_answer_without_words_is_not_scored() -> None:
    assert analyze_complexity([answer("")]).not_scored_reason


def test_the_word_lists_are_versioned() -> None:
    raw = tomllib.loads(complexity.DATA_FILE.read_text(encoding="utf-8"))
    assert raw["version"]
    data = complexity_data()
    assert {"because", "although"} <= {w for w in raw["subordinators"]}
    assert "goes" in data.third_person
    assert "studies" in data.third_person
    assert "wanted" in data.past_forms
    assert "went" in data.past_forms
