"""Lexical resource analyzer: range, sophistication, idioms, slips, repeats and their evidence."""

from __future__ import annotations

import tomllib

import pytest

from shared.assessment import lexis
from shared.assessment.lexis import analyze_lexis, likely_misspelling, mattr
from shared.assessment.text import compile_phrase, tokenize
from shared.models.assessment import AnswerText

RICH = (
    "I'd like to talk about a coastal village I visited last summer. The harbour was "
    "surrounded by colourful cottages, and every morning the fishermen unloaded their catch "
    "while curious tourists wandered along the pier. What struck me most was how the locals "
    "had preserved their traditions despite the growing number of visitors. It broadened my "
    "horizons and, to be honest, gave me real peace of mind, so I would gladly return."
)
POOR = (
    "I go to a place. The place is good. The place is very good and nice. I like the place "
    "because it is good. The people is nice and the people is good. I go there with my friend "
    "and my friend like the place. It is a good place. I like it very much. The place is good "
    "and nice and good. I go there again because it is good and the people is very nice."
)


def answer(text: str, turn_id: str = "t1") -> AnswerText:
    return AnswerText(turn_id=turn_id, part=2, text=text)


def test_a_richer_answer_measures_richer() -> None:
    rich = analyze_lexis([answer(RICH)]).metrics
    poor = analyze_lexis([answer(POOR)]).metrics
    assert rich["mattr"] > poor["mattr"] + 0.2
    assert rich["zipf_3_4"] + rich["zipf_lt3"] > poor["zipf_3_4"] + poor["zipf_lt3"]
    assert rich["content_zipf"] < poor["content_zipf"]  # lower Zipf: less common words
    assert rich["idiomatic_rate"] > 0 == poor["idiomatic_rate"]
    assert poor["repeat_share"] > rich["repeat_share"]
    assert poor["vague_rate"] > rich["vague_rate"]


def test_every_quote_is_verbatim_from_its_own_answer() -> None:
    answers = [answer(RICH, "t1"), answer(POOR, "t2"), answer("I did a big mistake.", "t3")]
    by_turn = {a.turn_id: a.text for a in answers}
    result = analyze_lexis(answers)
    quotes = [e for e in result.evidence if e.kind == "quote"]
    assert len(quotes) >= 5
    for evidence in quotes:
        assert evidence.quote
        assert evidence.turn_id in by_turn
        assert evidence.quote in by_turn[evidence.turn_id]
        assert evidence.criterion == "lexical_resource"


def test_less_common_words_are_quoted_as_strengths() -> None:
    result = analyze_lexis([answer(RICH)])
    words = {e.quote for e in result.evidence if e.note == "A less common word you used."}
    assert {"cottages", "wandered"} <= words
    assert all(e.positive for e in result.evidence if e.quote in words)


def test_idioms_match_any_verb_form_and_a_possessive() -> None:
    result = analyze_lexis([answer("Travelling has broadened my horizons. " * 3)])
    idioms = [e for e in result.evidence if e.quote == "broadened my horizons"]
    assert idioms
    assert idioms[0].positive


@pytest.mark.parametrize(
    ("said", "usual"),
    [
        ("Yesterday I did a mistake in the test.", "make a mistake"),
        ("She always says lies to her parents.", "tell a lie"),
        ("Could you explain me the rules?", "explain to me"),
        ("I usually listen music on the bus.", "listen to music"),
    ],
)
def test_collocation_slips_are_quoted_with_the_usual_phrase(said: str, usual: str) -> None:
    result = analyze_lexis([answer(said)])
    slips = [e for e in result.evidence if e.note.startswith("Speakers usually say")]
    assert len(slips) == 1
    assert usual in slips[0].note
    assert slips[0].quote is not None
    assert slips[0].quote in said
    assert not slips[0].positive
    assert result.metrics["slip_rate"] > 0


@pytest.mark.parametrize(
    "correct",
    [
        "Yesterday I made a mistake in the test.",
        "Learning them took me a month.",
        "Could you explain them to me?",
        "I usually listen to music on the bus.",
    ],
)
def test_correct_collocations_are_not_slips(correct: str) -> None:
    assert analyze_lexis([answer(correct)]).metrics["slip_rate"] == 0


def test_the_most_repeated_words_come_with_their_counts() -> None:
    result = analyze_lexis([answer(POOR)])
    repeats = {e.quote: e.value for e in result.evidence if e.metric == "repeats"}
    assert repeats["place"] == 7
    assert repeats["good"] == 8


def test_misspellings_are_not_rare_vocabulary() -> None:
    assert likely_misspelling("becuase")
    assert likely_misspelling("goverment")
    assert not likely_misspelling("because")
    assert not likely_misspelling("meticulous")
    assert not likely_misspelling("wary")  # short words are left alone
    result = analyze_lexis([answer("I think that the goverment should help becuase it can.")])
    assert result.metrics["unknown_share"] > 0
    assert not any(e.quote in {"goverment", "becuase"} for e in result.evidence)


def test_mattr_is_one_for_distinct_words_and_falls_with_repetition() -> None:
    distinct = [f"w{i}" for i in range(120)]
    assert mattr(distinct) == 1.0
    assert mattr(["a", "b"] * 60) == pytest.approx(2 / 50)
    assert mattr([]) == 0.0
    assert mattr(["a", "a", "b", "c"]) == 0.75  # shorter than a window: the plain ratio


def test_filled_pauses_are_not_words() -> None:
    assert [t.norm for t in tokenize("Um, I think, uh, it's erm fine")] == [
        "i",
        "think",
        "it's",
        "fine",
    ]


def test_an_answer_without_words_is_not_scored() -> None:
    result = analyze_lexis([answer("... 123 ?")])
    assert result.not_scored_reason
    assert result.sub_score is None


def test_the_word_lists_are_versioned_and_every_phrase_compiles() -> None:
    raw = tomllib.loads(lexis.DATA_FILE.read_text(encoding="utf-8"))
    assert raw["version"]
    for spec in [*raw["idioms"], *raw["collocations"], *raw["paraphrase"]]:
        compile_phrase(spec)
    data = lexis.lexis_data()
    for entry in raw["slips"]:
        compile_phrase(entry["said"])
        # The advice itself must never be flagged.
        assert not data.slips.find(tokenize(entry["better"])), entry
