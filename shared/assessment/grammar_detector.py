"""Tentative grammar checks: a small fitted detector of words that may need another look.

The rules of ``grammar_errors`` find errors they can correct and explain, with high precision
and low recall. This detector widens the net without pretending to certainty: for each word
it measures how an English trigram language model (pocketsphinx's, as in ``naturalness``)
sees it and its neighbours, whether the sentence reads better with the word dropped, replaced
by a member of its confusion set or another form of itself, or preceded by a commonly
forgotten word (``grammar_detector.toml``), plus the rules' own candidates at any confidence,
word frequency and closed-class membership. A logistic regression over those features
(weights in ``calibration/grammar_detector_v1.json``, fitted by
``bench.grammar_detector_fit`` on one half of JFLEG dev, reported on the other) gives each
word a probability that a careful editor would change it.

Words at or above the shipped threshold are grouped into phrases and returned as
``GrammarCheck`` items: "check this phrase", with a confidence, never a correction and never
counted as an error. The detector needs the language model: without pocketsphinx it returns
nothing and ``available()`` says so.
"""

from __future__ import annotations

import json
import math
import threading
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import numpy as np
from wordfreq import zipf_frequency

from shared.assessment import grammar_errors, naturalness
from shared.assessment.grammar_rules import Lexicon, load_rule_book, words
from shared.assessment.tokens import Token, split_sentences, tokenize
from shared.logging import get_logger
from shared.models.assessment import GrammarCheck, GrammarIssue

__all__ = [
    "FEATURES",
    "DetectorError",
    "available",
    "check_phrases",
    "detector_version",
    "load_detector",
    "word_features",
    "word_scores",
]

log = get_logger(__name__)

DATA_PATH: Final = Path(__file__).with_name("grammar_detector.toml")
WEIGHTS_PATH: Final = Path(__file__).parent / "calibration" / "grammar_detector_v1.json"
NOTE: Final = (
    "Check this phrase: an automatic, tentative signal that a careful editor might change "
    "something here. It is not a confirmed error."
)

# log10 probability given to a word the language model does not know (a name, a misspelling).
_UNKNOWN_LOGPROB: Final = -7.0
_LOG10_PER_UNIT: Final = math.log10(1.0001)
_UNKNOWN_BELOW: Final = -100_000_000
_CLIP: Final = 8.0  # log10 gains beyond this say nothing more
_CLOSED_CLASSES: Final = (
    "articles",
    "determiners",
    "prepositions",
    "subject_pronouns",
    "object_pronouns",
    "possessives",
    "modals",
    "be_forms",
    "have_forms",
    "do_forms",
    "conjunctions",
)
FEATURES: Final[tuple[str, ...]] = (
    "lm_gain",
    "lm_gain_next",
    "lm_gain_next2",
    "lm_gain_prev",
    "lm_logprob",
    "lm_unigram",
    "lm_unknown",
    "delete_gain",
    "replace_gain",
    "morph_gain",
    "insert_gain",
    "best_gain",
    "best_gain_prev",
    "best_gain_next",
    "insert_gain_next",
    "zipf",
    "rule",
    "rule_near",
    "sentence_gain",
    "sentence_odd",
    "sentence_best",
    "log_words",
    "first",
    "last",
    *(f"class_{name}" for name in _CLOSED_CLASSES),
)


class DetectorError(ValueError):
    """The detector's data or weights file is malformed (caught by the unit tests)."""


@dataclass(frozen=True)
class DetectorData:
    version: str
    confusions: dict[str, frozenset[str]]
    insertions: tuple[str, ...]


@dataclass(frozen=True)
class Detector:
    version: str
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    threshold: float
    data_version: str

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        if rows.size == 0:
            return np.zeros(0)
        z = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-z))
        return probabilities


@cache
def load_data(path: Path = DATA_PATH) -> DetectorData:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    version = raw.get("version")
    sets = raw.get("confusion_sets")
    if not isinstance(version, str) or not version:
        raise DetectorError("grammar_detector.toml needs a version")
    if not isinstance(sets, list) or not sets:
        raise DetectorError("confusion_sets must be a non-empty list")
    confusions: dict[str, set[str]] = {}
    for entry in sets:
        members = words(entry)
        if len(members) < 2:
            raise DetectorError(f"a confusion set needs two words or more: {entry!r}")
        for word in members:
            confusions.setdefault(word, set()).update(members - {word})
    insertions = tuple(sorted(words(raw.get("insertions"))))
    if not insertions:
        raise DetectorError("insertions must list at least one word")
    return DetectorData(
        version, {word: frozenset(others) for word, others in confusions.items()}, insertions
    )


def _floats(value: object, name: str, length: int) -> np.ndarray:
    if not isinstance(value, list) or len(value) != length:
        raise DetectorError(f"{name} must be a list of {length} numbers")
    if not all(isinstance(item, int | float) and math.isfinite(item) for item in value):
        raise DetectorError(f"{name} must hold finite numbers")
    return np.array(value, dtype=float)


def parse_detector(raw: Any) -> Detector:
    """Validate a weights document (see ``calibration/grammar_detector_v1.json``)."""
    if not isinstance(raw, dict):
        raise DetectorError("the weights file must hold an object")
    features = raw.get("features")
    if not isinstance(features, list) or tuple(features) != FEATURES:
        raise DetectorError("the weights file's features differ from the code's FEATURES")
    count = len(FEATURES)
    scale = _floats(raw.get("scale"), "scale", count)
    if np.any(scale <= 0):
        raise DetectorError("scale must be positive")
    bias = raw.get("bias")
    threshold = raw.get("threshold")
    if not isinstance(bias, int | float) or not math.isfinite(bias):
        raise DetectorError("bias must be a finite number")
    if not isinstance(threshold, int | float) or not 0.0 < threshold < 1.0:
        raise DetectorError("threshold must lie strictly between 0 and 1")
    version = raw.get("version")
    data_version = raw.get("data_version")
    if not isinstance(version, str) or not isinstance(data_version, str):
        raise DetectorError("version and data_version must be strings")
    if not isinstance(raw.get("provenance"), dict):
        raise DetectorError("the weights file must say where the weights come from")
    return Detector(
        version=version,
        features=FEATURES,
        mean=_floats(raw.get("mean"), "mean", count),
        scale=scale,
        weights=_floats(raw.get("weights"), "weights", count),
        bias=float(bias),
        threshold=float(threshold),
        data_version=data_version,
    )


@cache
def load_detector(path: Path = WEIGHTS_PATH) -> Detector:
    detector = parse_detector(json.loads(path.read_text(encoding="utf-8")))
    data = load_data()
    if detector.data_version != data.version:
        raise DetectorError(
            f"weights fitted with word lists {detector.data_version}, data file is {data.version}"
        )
    return detector


def available() -> bool:
    """Whether the detector can run (it needs pocketsphinx's language model)."""
    return naturalness.available()


def detector_version() -> str:
    return f"{load_detector().version} (lists {load_data().version})"


# ---------------------------------------------------------------------------------------------
# Features

_lock = threading.Lock()


class _Scorer:
    """Trigram log10 probabilities of one sentence and of its one-word variants."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self._known: dict[str, bool] = {}

    def known(self, word: str) -> bool:
        if word not in self._known:
            self._known[word] = self.model.prob([word]) >= _UNKNOWN_BELOW
        return self._known[word]

    def logprob(self, word: str, history: Sequence[str]) -> float:
        if not self.known(word):
            return _UNKNOWN_LOGPROB
        context = [w for w in history[-2:] if w == "<s>" or self.known(w)][::-1]
        return float(self.model.prob([word, *context])) * _LOG10_PER_UNIT

    def window(self, seq: Sequence[str], lo: int, hi: int) -> float:
        """Sum of log10 P(seq[k] | two before) for k in lo..hi-1 (clipped to the sequence)."""
        return sum(
            self.logprob(seq[k], seq[max(0, k - 2) : k]) for k in range(lo, min(hi, len(seq)))
        )


def _morph_forms(word: str, lexicon: Lexicon, scorer: _Scorer) -> set[str]:
    """Other inflections of ``word``: listed ones, then regular guesses the model knows."""
    if not word.isalpha() or len(word) < 2:
        return set()
    forms: set[str] = set()
    base = lexicon.verb_of_form.get(word, word)
    forms |= lexicon.lemma_forms(base)
    for table in (lexicon.plural_of, lexicon.singular_of):
        if word in table:
            forms.add(table[word])
    guesses = {word + "s", word + "es", word + "ed", word + "d", word + "ing"}
    if word.endswith("s"):
        guesses.add(word[:-1])
    if word.endswith("es"):
        guesses.add(word[:-2])
    if word.endswith("ies"):
        guesses.add(word[:-3] + "y")
    if word.endswith("y"):
        guesses |= {word[:-1] + "ies", word[:-1] + "ied"}
    if word.endswith("ed"):
        guesses |= {word[:-2], word[:-1]}
    if word.endswith("ing"):
        guesses |= {word[:-3], word[:-3] + "e"}
    forms |= {form for form in guesses if zipf_frequency(form, "en") >= 2.5}
    forms.discard(word)
    return {form for form in forms if scorer.known(form)}


def _clip(value: float) -> float:
    return max(-_CLIP, min(_CLIP, value))


def _rule_confidence(tokens: Sequence[Token], issues: Sequence[GrammarIssue]) -> list[float]:
    found = [0.0] * len(tokens)
    for index, token in enumerate(tokens):
        for issue in issues:
            if token.start < issue.end and issue.start < token.end:
                found[index] = max(found[index], issue.confidence)
    return found


def _sentence_rows(
    words_: Sequence[Token],
    rule: Sequence[float],
    scorer: _Scorer,
    data: DetectorData,
    lexicon: Lexicon,
) -> list[list[float]]:
    lowers = [token.lower for token in words_]
    n = len(lowers)
    if n == 0:
        return []
    seq = ["<s>", *lowers, "</s>"]
    uni = [scorer.logprob(word, []) for word in lowers]
    cond = [scorer.logprob(seq[k], seq[max(0, k - 2) : k]) for k in range(1, n + 2)]
    gain = [0.0 if not scorer.known(lowers[i]) else cond[i] - uni[i] for i in range(n)]  # per word
    end_gain = cond[n] - scorer.logprob("</s>", [])
    delete, replace, morph, insert = [], [], [], []
    for i in range(n):
        k = i + 1  # position in seq
        said = scorer.window(seq, k, k + 3)
        dropped = [*seq[:k], *seq[k + 1 :]]
        delete.append(_clip(scorer.window(dropped, k, k + 2) - said))
        best = -_CLIP
        for other in data.confusions.get(lowers[i], ()):
            swapped = [*seq[:k], other, *seq[k + 1 :]]
            best = max(best, scorer.window(swapped, k, k + 3) - said)
        replace.append(_clip(best) if best > -_CLIP else 0.0)
        best = -_CLIP
        for other in _morph_forms(lowers[i], lexicon, scorer):
            swapped = [*seq[:k], other, *seq[k + 1 :]]
            best = max(best, scorer.window(swapped, k, k + 3) - said)
        morph.append(_clip(best) if best > -_CLIP else 0.0)
        before = scorer.window(seq, k, k + 2)
        best = -_CLIP
        for extra in data.insertions:
            if extra == lowers[i] or extra == seq[k - 1]:
                continue
            longer = [*seq[:k], extra, *seq[k:]]
            best = max(best, scorer.window(longer, k, k + 3) - before)
        insert.append(_clip(best))
    best_any = [max(delete[i], replace[i], morph[i]) for i in range(n)]
    gains = np.array(gain)
    rows = []
    classes = lexicon.classes
    for i in range(n):
        row = [
            gain[i],
            gain[i + 1] if i + 1 < n else end_gain,
            gain[i + 2] if i + 2 < n else 0.0,
            gain[i - 1] if i > 0 else 0.0,
            cond[i],
            uni[i],
            float(not scorer.known(lowers[i])),
            delete[i],
            replace[i],
            morph[i],
            insert[i],
            best_any[i],
            best_any[i - 1] if i > 0 else 0.0,
            best_any[i + 1] if i + 1 < n else 0.0,
            insert[i + 1] if i + 1 < n else 0.0,
            zipf_frequency(lowers[i], "en"),
            rule[i],
            max(rule[max(0, i - 1) : i + 2]),
            float(gains.mean()),
            float((gains < naturalness.ODD_GAIN).mean()),
            max(best_any),
            math.log(n + 1),
            float(i == 0),
            float(i == n - 1),
            *(float(lowers[i] in classes[name]) for name in _CLOSED_CLASSES),
        ]
        rows.append(row)
    return rows


def word_features(
    text: str, rule_issues: Sequence[GrammarIssue] | None = None
) -> tuple[list[Token], np.ndarray]:
    """The words of ``text`` and one row of ``FEATURES`` per word (empty without the model).

    ``rule_issues``: the rules' candidates at any confidence; computed when not given.
    """
    loaded = naturalness._model()
    if loaded is None:
        return [], np.zeros((0, len(FEATURES)))
    if rule_issues is None:
        rule_issues = grammar_errors.find_grammar_issues(text, min_confidence=0.0, use_parser=False)
    data = load_data()
    lexicon = load_rule_book().lexicon
    tokens: list[Token] = []
    rows: list[list[float]] = []
    with _lock:  # one model shared by the request threads of an instance
        scorer = _Scorer(loaded[0])
        for sentence in split_sentences(tokenize(text), text):
            sentence_words = [token for token in sentence if token.is_word]
            rule = _rule_confidence(sentence_words, rule_issues)
            rows += _sentence_rows(sentence_words, rule, scorer, data, lexicon)
            tokens += sentence_words
    return tokens, np.array(rows, dtype=float).reshape(len(rows), len(FEATURES))


def word_scores(
    text: str, rule_issues: Sequence[GrammarIssue] | None = None
) -> list[tuple[Token, float]]:
    """Each word of ``text`` with the detector's probability that it needs another look."""
    tokens, rows = word_features(text, rule_issues)
    if not tokens:
        return []
    return list(zip(tokens, load_detector().probabilities(rows).tolist(), strict=True))


def check_phrases(
    text: str,
    *,
    turn_id: str | None = None,
    threshold: float | None = None,
    reported: Sequence[GrammarIssue] = (),
) -> list[GrammarCheck]:
    """Phrases of ``text`` worth checking: runs of words at or above the threshold (the
    weights file's by default), each with its highest word probability as the confidence.

    ``reported``: issues already shown as errors; phrases overlapping one are left out, since
    the learner already has a correction there.
    """
    if not available():
        return []
    detector = load_detector()
    limit = detector.threshold if threshold is None else threshold
    scored = word_scores(text)
    runs: list[list[tuple[Token, float]]] = []
    for token, probability in scored:
        if probability < limit:
            continue
        if runs and runs[-1][-1][0].index == token.index - 1:
            runs[-1].append((token, probability))
        else:
            runs.append([(token, probability)])
    checks = []
    for run in runs:
        start, end = run[0][0].start, run[-1][0].end
        if any(start < issue.end and issue.start < end for issue in reported):
            continue
        checks.append(
            GrammarCheck(
                turn_id=turn_id,
                start=start,
                end=end,
                text=text[start:end],
                confidence=round(max(p for _, p in run), 3),
                note=NOTE,
            )
        )
    return checks
