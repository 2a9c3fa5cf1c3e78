"""The tentative grammar detector: its word lists, its weights file and its behaviour on our
own sentences (never on JFLEG: accuracy is bench.grammar_detector_fit's job)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from shared.assessment import grammar_detector, grammar_errors, naturalness
from shared.assessment.grammar_detector import (
    FEATURES,
    WEIGHTS_PATH,
    DetectorError,
    check_phrases,
    load_data,
    load_detector,
    parse_detector,
    word_features,
    word_scores,
)
from shared.models.assessment import AnswerText, GrammarCheck, TimedWord
from shared.scoring import analyzers, phase2
from shared.scoring.analyzers import AnalyzerMissing


def _shipped() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    return raw


# --- the data files ---------------------------------------------------------------------------


def test_word_lists_load_and_every_confusion_is_symmetric() -> None:
    data = load_data()
    assert data.version
    assert "the" in data.insertions
    assert {"an", "the"} <= data.confusions["a"]
    for word, others in data.confusions.items():
        assert word not in others
        for other in others:
            assert word in data.confusions[other]


def test_a_confusion_set_of_one_word_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "lists.toml"
    path.write_text('version = "x"\nconfusion_sets = ["a"]\ninsertions = "the"\n')
    with pytest.raises(DetectorError, match="two words"):
        load_data(path)


def test_shipped_weights_validate_and_name_their_provenance() -> None:
    raw = _shipped()
    detector = parse_detector(raw)
    assert detector.features == FEATURES
    assert 0.5 <= detector.threshold < 1.0
    assert detector.data_version == load_data().version
    assert "half A" in raw["provenance"]["fitted_on"]
    assert "half B" in raw["provenance"]["held_out"]
    assert load_detector().version == raw["version"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["features"].reverse(), "features differ"),
        (lambda raw: raw["weights"].pop(), "weights must be a list"),
        (lambda raw: raw["mean"].__setitem__(0, math.inf), "finite"),
        (lambda raw: raw["scale"].__setitem__(0, 0.0), "positive"),
        (lambda raw: raw.__setitem__("threshold", 1.0), "threshold"),
        (lambda raw: raw.__setitem__("bias", "high"), "bias"),
        (lambda raw: raw.pop("provenance"), "where the weights come from"),
    ],
)
def test_malformed_weights_are_rejected(change: Any, message: str) -> None:
    raw = copy.deepcopy(_shipped())
    change(raw)
    with pytest.raises(DetectorError, match=message):
        parse_detector(raw)


def test_weights_fitted_on_other_word_lists_are_rejected(tmp_path: Path) -> None:
    raw = _shipped()
    raw["data_version"] = "not-" + raw["data_version"]
    path = tmp_path / "weights.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(DetectorError, match="word lists"):
        load_detector(path)


# --- behaviour --------------------------------------------------------------------------------


def test_one_row_of_features_per_word() -> None:
    tokens, rows = word_features("Yesterday he go to the school, and buyed two apple.")
    assert [t.text for t in tokens][:4] == ["Yesterday", "he", "go", "to"]
    assert rows.shape == (10, len(FEATURES))


@pytest.mark.parametrize(
    ("sentence", "word"),
    [
        ("People is very happy because they has many money.", "has"),
        ("Yesterday he go to the school and buyed two apple.", "buyed"),
        ("We discussed about the problem for long time.", "about"),
        ("She can to swim very good.", "to"),
    ],
)
def test_words_a_careful_editor_would_change_score_high(sentence: str, word: str) -> None:
    scores = dict((token.text, p) for token, p in word_scores(sentence))
    assert scores[word] >= load_detector().threshold


@pytest.mark.parametrize(
    "sentence",
    [
        "I usually walk to work in the morning.",
        "My brother is a doctor and he works in a big hospital.",
        "When I was a child I usually spent my summers with my grandparents in the countryside.",
        "In my opinion governments should invest more money in public transport.",
    ],
)
def test_fluent_sentences_get_no_checks(sentence: str) -> None:
    assert check_phrases(sentence) == []


def test_checks_are_tentative_phrases_with_a_confidence() -> None:
    text = "Yesterday he go to the school and buyed two apple."
    checks = check_phrases(text, turn_id="t1")
    assert checks
    for check in checks:
        assert isinstance(check, GrammarCheck)
        assert check.tentative is True
        assert check.turn_id == "t1"
        assert text[check.start : check.end] == check.text
        assert load_detector().threshold <= check.confidence <= 1.0
        assert "not a confirmed error" in check.note


def test_phrases_the_rules_already_report_are_left_out() -> None:
    text = "People is very happy because they has many money."
    everything = check_phrases(text)
    reported = grammar_errors.find_grammar_issues(text)
    assert reported
    remaining = check_phrases(text, reported=reported)
    assert len(remaining) < len(everything)
    for check in remaining:
        assert all(check.end <= i.start or check.start >= i.end for i in reported)


def test_a_lower_threshold_flags_more_and_adjacent_words_join_one_phrase() -> None:
    text = "People is very happy because they has many money."
    strict = check_phrases(text, threshold=0.99)
    loose = check_phrases(text, threshold=0.01)
    assert sum(len(c.text) for c in loose) > sum(len(c.text) for c in strict)
    assert [c.text for c in loose] == ["People is very happy because they has many money"]


def test_without_the_language_model_there_is_nothing_to_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(naturalness, "_model", lambda: None)
    assert grammar_detector.available() is False
    assert check_phrases("People is very happy.") == []
    tokens, rows = word_features("People is very happy.")
    assert tokens == []
    assert rows.shape == (0, len(FEATURES))


# --- in the deep analysis ---------------------------------------------------------------------


def _inputs(text: str) -> Any:
    words = tuple(
        TimedWord(text=word, start=float(i), end=i + 0.8) for i, word in enumerate(text.split())
    )
    answer = AnswerText(turn_id="t1", part=1, text=text, words=words, duration_seconds=12.0)
    return SimpleNamespace(answers=(answer,), first_language=None)


def test_phase_two_lists_checks_with_times_away_from_the_errors() -> None:
    inputs = _inputs("Yesterday he go to the school and buyed two apple")
    errors = phase2._grammar_errors(inputs)
    checks = phase2._grammar_checks(inputs, errors)
    assert [check.text for check in checks] == ["buyed"]
    assert checks[0].turn_id == "t1"
    assert (checks[0].start_seconds, checks[0].end_seconds) == (7.0, 7.8)
    assert all(e.end <= checks[0].start or e.start >= checks[0].end for e in errors)


def test_phase_two_has_no_checks_without_the_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*_: object, **__: object) -> list[GrammarCheck]:
        raise AnalyzerMissing("grammar_detector analyzer unavailable (pocketsphinx)")

    monkeypatch.setattr(analyzers, "grammar_checks", missing)
    assert phase2._grammar_checks(_inputs("He go to school"), []) == []
