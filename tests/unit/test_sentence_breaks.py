"""The trigram model's view of a sentence break between two stretches of words."""

from __future__ import annotations

import pytest

from shared.assessment.naturalness import sentence_break_odds


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("when i was young", "the library"),
        ("a neighbour last summer", "football is"),
        ("stressful", "most people"),
    ],
)
def test_a_break_between_sentences_is_likelier_than_inside_a_clause(
    before: str, after: str
) -> None:
    inside = sentence_break_odds(["my", "sister"], ["lives", "in"])
    between = sentence_break_odds(before.split(), after.split())

    assert inside is not None
    assert between is not None
    assert between > inside + 1.0  # at least ten times likelier


def test_only_the_two_words_either_side_count() -> None:
    far = sentence_break_odds(["long", "ago", "when", "i", "was", "young"], ["the", "library"])

    assert far is not None
    assert far == sentence_break_odds(["was", "young"], ["the", "library", "near", "my"])


@pytest.mark.parametrize(
    ("before", "after"),
    [([], ["the"]), (["young"], []), (["qwzxv"], ["the"]), (["young"], ["qwzxv"])],
)
def test_no_answer_without_known_words_either_side(before: list[str], after: list[str]) -> None:
    assert sentence_break_odds(before, after) is None


def test_an_unknown_word_further_out_is_left_out() -> None:
    with_unknown = sentence_break_odds(["qwzxv", "young"], ["the", "qwzxv"])

    assert with_unknown == sentence_break_odds(["young"], ["the"])
