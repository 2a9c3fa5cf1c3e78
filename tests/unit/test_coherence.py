"""Coherence analyzer: discourse markers, overuse, links between sentences, variety."""

from __future__ import annotations

import tomllib

import pytest

from shared.assessment import coherence
from shared.assessment.coherence import analyze_coherence, coherence_data, marker_name
from shared.assessment.text import compile_phrase, tokenize
from shared.models.assessment import AnswerText

LINKED = (
    "Many young people move to big cities. However, this has a cost. For example, rents in "
    "the capital have doubled, so these young workers spend half their income on housing. "
    "As a result, they save very little. In conclusion, moving brings opportunities but also "
    "real financial pressure."
)
CHAINED = (
    "I like my town and I like the park and I go there because it is nice. And I go with my "
    "friends because they like it. And we play football because it is fun. And then we go "
    "home because it is late. And then I eat because I am hungry. And then I sleep."
)


def answer(text: str, turn_id: str = "t1") -> AnswerText:
    return AnswerText(turn_id=turn_id, part=3, text=text)


def markers(text: str) -> list[str]:
    return [marker_name(m) for m in coherence_data().markers.find(tokenize(text))]


def test_markers_are_found_longest_first() -> None:
    assert markers("On the other hand, it is cheap.") == ["on the other hand"]
    assert markers("Because of the rain, we stayed in.") == ["because of"]
    assert markers("For instance, my brother.") == ["for instance"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("So I decided to stay.", ["so"]),
        ("It was so good.", []),  # an intensifier, not a linker
        ("It was so good that I stayed.", []),
    ],
)
def test_so_links_only_before_a_clause(text: str, expected: list[str]) -> None:
    assert markers(text) == expected


def test_a_well_linked_answer_has_more_range_and_less_overuse() -> None:
    linked = analyze_coherence([answer(LINKED)]).metrics
    chained = analyze_coherence([answer(CHAINED)]).metrics
    assert linked["function_range"] >= 4
    assert linked["function_range"] > chained["function_range"]
    assert linked["advanced_marker_rate"] > chained["advanced_marker_rate"]
    assert chained["basic_share"] == 1.0
    assert chained["top_marker_share"] > linked["top_marker_share"]
    assert chained["and_rate"] > linked["and_rate"]
    assert linked["signposting"] == 1.0  # a conclusion in the last third
    assert chained["new_content_share"] < linked["new_content_share"]


def test_overuse_is_quoted_with_its_count() -> None:
    result = analyze_coherence([answer(CHAINED)])
    overuse = [e for e in result.evidence if e.metric == "top_marker_count"]
    assert len(overuse) == 1
    assert overuse[0].value == 5
    assert "'because' 5 times" in overuse[0].note
    assert overuse[0].quote == "because"
    assert not overuse[0].positive


def test_quotes_are_verbatim_and_advanced_markers_are_strengths() -> None:
    answers = [answer(LINKED, "a"), answer(CHAINED, "b")]
    by_turn = {a.turn_id: a.text for a in answers}
    result = analyze_coherence(answers)
    quotes = [e for e in result.evidence if e.kind == "quote"]
    assert quotes
    for evidence in quotes:
        assert evidence.quote
        assert evidence.quote in by_turn[str(evidence.turn_id)]
    strengths = {e.quote for e in quotes if e.positive}
    assert {"However", "For example", "As a result"} <= strengths


def test_links_between_sentences() -> None:
    linked = analyze_coherence([answer(LINKED)]).metrics
    unrelated = analyze_coherence(
        [answer("My cat sleeps a lot. Paris hosts many museums. Bananas grow quickly.")]
    ).metrics
    assert linked["link_share"] == 1.0
    assert unrelated["link_share"] == 0.0
    assert unrelated["overlap"] == 0.0


def test_sentence_variety_needs_punctuation() -> None:
    punctuated = analyze_coherence([answer(LINKED)]).metrics
    assert punctuated["sentence_length_sd"] > 0
    spoken = LINKED.replace(",", "").replace(".", "").lower()
    metrics = analyze_coherence([answer(spoken)]).metrics
    for name in ("link_share", "overlap", "sentence_length_sd", "opener_variety"):
        assert name not in metrics
    assert metrics["function_range"] == punctuated["function_range"]


def test_an_answer_without_words_is_not_scored() -> None:
    assert analyze_coherence([answer("   ")]).not_scored_reason


def test_the_marker_list_is_versioned_and_compiles() -> None:
    raw = tomllib.loads(coherence.DATA_FILE.read_text(encoding="utf-8"))
    assert raw["version"]
    assert set(raw["basic"]) <= {
        spec.split("=>")[0].strip() for specs in raw["markers"].values() for spec in specs
    }
    for specs in raw["markers"].values():
        for spec in specs:
            compile_phrase(spec.split("=>")[-1])
