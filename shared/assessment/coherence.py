"""Coherence from the transcript: linking words, ties between sentences, sentence variety.

This is the text half of Fluency and Coherence; speed, pauses and hesitation come from the
audio elsewhere. What it measures (the metric names are also the features ``text_scoring``
reads):

- ``marker_rate``, ``advanced_marker_rate``: discourse markers from ``coherence_data.toml``
  per 100 words, all and beyond the basic five (but, so, because, then, also; "and" is
  measured on its own, as ``and_rate``).
- ``marker_range`` (different markers) and ``function_range`` (different functions: addition,
  contrast, cause, result, example, sequence, conclusion, opinion, clarification, emphasis,
  comparison).
- ``basic_share`` and ``top_marker_share``: how much of the linking the basic markers, and the
  single most used marker, carry (overuse).
- ``and_rate``: "and" per 100 words (chains of "and ... and ...").
- ``reference_rate``: words that point back (this, these, it, they ...) per 100 words.
- ``signposting``: per answer of 30 words or more, a point for a concluding phrase in its last
  third and one for two or more sequence markers (first ... then ... finally), averaged.
- ``new_content_share``: per stretch of 20 words, the share of content words not used
  before in the answer: low when an answer goes round in circles, high when ideas develop.
- Punctuated text only: ``opener_variety`` (different first words / sentences: "I think
  ... I think ...") and ``initial_marker_share`` (sentences opening with a linker).
- Between consecutive sentences of an answer (punctuated text only, so left out otherwise):
  ``link_share`` (the next sentence repeats a content word of the last, or opens with a
  reference word or a marker) and ``overlap`` (mean Jaccard overlap of their content words);
  ``sentence_length_sd`` and ``mean_sentence_length`` for variety, ``long_sentence_share``
  for sentences of more than 35 words (usually several run together).

Evidence: the markers used (quoted), the overused one with its count, the share of linked
sentences and the spread of sentence lengths.
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from shared.assessment.text import (
    Passage,
    PhraseIndex,
    PhraseMatch,
    compile_phrase,
    content_words,
    passages,
    stem,
)
from shared.models.assessment import AnalyzerResult, AnswerText, Evidence

ANALYZER: Final = "coherence"
VERSION: Final = "1.0.0"
DATA_FILE: Final = Path(__file__).with_name("coherence_data.toml")

OPENING_WORDS: Final = 3  # a marker or reference word this close to the start opens a sentence
OVERUSE_MIN_COUNT: Final = 5
OVERUSE_SHARE: Final = 0.3
MAX_QUOTES: Final = 6
WINDOW: Final = 20  # words per window for new_content_share
MIN_SENTENCES_FOR_OPENERS: Final = 3
SIGNPOST_MIN_WORDS: Final = 30
LONG_SENTENCE: Final = 35  # words: beyond this a sentence is usually several run together


@dataclass(frozen=True)
class CoherenceData:
    version: str
    markers: PhraseIndex  # labels are "function:marker"
    basic: frozenset[str]
    functions: tuple[str, ...]
    reference: frozenset[str]


def _label(spec: str) -> tuple[str, str]:
    """``"so => so i|you"`` -> ("so", "so i|you"); a plain phrase is its own label."""
    if "=>" in spec:
        label, phrase = spec.split("=>", 1)
        return label.strip(), phrase.strip()
    return spec, spec


@functools.cache
def coherence_data() -> CoherenceData:
    raw = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    phrases = []
    for function, specs in raw["markers"].items():
        for spec in specs:
            label, phrase = _label(spec)
            phrases.append(compile_phrase(phrase, f"{function}:{label}"))
    return CoherenceData(
        version=str(raw["version"]),
        markers=PhraseIndex(phrases),
        basic=frozenset(raw["basic"]),
        functions=tuple(raw["markers"]),
        reference=frozenset(raw["reference"]),
    )


def marker_name(match: PhraseMatch) -> str:
    return match.phrase.label.split(":", 1)[1]


def _function(match: PhraseMatch) -> str:
    return match.phrase.label.split(":", 1)[0]


@dataclass(frozen=True)
class _Marker:
    part: Passage
    match: PhraseMatch
    sentence_index: int
    position: int  # index of its first word in the sentence


def _per_100(count: float, words: int) -> float:
    return 100.0 * count / words if words else 0.0


def _links(
    parts: Sequence[Passage], markers: Sequence[_Marker], data: CoherenceData
) -> list[tuple[bool, float]]:
    """(linked, content overlap) for every pair of consecutive sentences within an answer."""
    opening = {(id(m.part), m.sentence_index) for m in markers if m.position < OPENING_WORDS}
    pairs = []
    for part in parts:
        if not part.punctuated:
            continue
        stems = [{stem(t.norm) for t in content_words(s.tokens)} for s in part.sentences]
        for index in range(1, len(part.sentences)):
            before, after = stems[index - 1], stems[index]
            union = before | after
            overlap = len(before & after) / len(union) if union else 0.0
            opener = [t.norm for t in part.sentences[index].tokens[:OPENING_WORDS]]
            linked = (
                bool(before & after)
                or any(word in data.reference for word in opener)
                or (id(part), index) in opening
            )
            pairs.append((linked, overlap))
    return pairs


def _signposting(parts: Sequence[Passage], markers: Sequence[_Marker]) -> float | None:
    """Per answer of ``SIGNPOST_MIN_WORDS`` words or more: one point for a concluding phrase in
    its last third ("so overall ...", "in conclusion"), one for two or more different sequence
    markers (first ... then ... finally). The mean over those answers; None without any."""
    long_parts = [part for part in parts if len(part.tokens) >= SIGNPOST_MIN_WORDS]
    if not long_parts:
        return None
    points = 0
    for part in long_parts:
        own = [m for m in markers if m.part is part]
        if any(
            _function(m.match) == "conclusion" and m.match.tokens[0].start >= 2 * len(part.text) / 3
            for m in own
        ):
            points += 1
        if len({marker_name(m.match) for m in own if _function(m.match) == "sequence"}) >= 2:
            points += 1
    return points / len(long_parts)


def _new_content(parts: Sequence[Passage]) -> list[float]:
    """Per window of ``WINDOW`` words after an answer's first: the share of its content words
    (stemmed) not used earlier in the answer. Windows, not sentences, so that it works on
    unpunctuated transcripts too."""
    shares = []
    for part in parts:
        tokens = part.tokens
        seen: set[str] = set()
        for start in range(0, len(tokens), WINDOW):
            stems = [stem(t.norm) for t in content_words(tokens[start : start + WINDOW])]
            if start > 0 and stems:
                shares.append(sum(1 for s in stems if s not in seen) / len(stems))
            seen.update(stems)
    return shares


def analyze_coherence(answers: Sequence[AnswerText]) -> AnalyzerResult:
    """Metrics and evidence for the text side of coherence over a learner's scored answers."""
    data = coherence_data()
    version = f"{VERSION}+data.{data.version}"
    parts = passages(answers)
    words = sum(len(part.tokens) for part in parts)
    if words == 0:
        return AnalyzerResult(
            analyzer=ANALYZER,
            version=version,
            criterion="fluency_coherence",
            not_scored_reason="no words to judge",
        )

    markers: list[_Marker] = []
    for part in parts:
        for index, sentence in enumerate(part.sentences):
            positions = {token.start: i for i, token in enumerate(sentence.tokens)}
            for match in data.markers.find(sentence.tokens):
                markers.append(_Marker(part, match, index, positions[match.tokens[0].start]))
    names = Counter(marker_name(m.match) for m in markers)
    basic = sum(count for name, count in names.items() if name in data.basic)
    norms = [token.norm for part in parts for token in part.tokens]

    metrics = {
        "marker_rate": _per_100(len(markers), words),
        "advanced_marker_rate": _per_100(len(markers) - basic, words),
        "marker_range": float(len(names)),
        "function_range": float(len({_function(m.match) for m in markers})),
        "basic_share": basic / len(markers) if markers else 0.0,
        "top_marker_share": names.most_common(1)[0][1] / len(markers) if markers else 0.0,
        "and_rate": _per_100(norms.count("and"), words),
        "reference_rate": _per_100(sum(1 for w in norms if w in data.reference), words),
    }
    signposted = _signposting(parts, markers)
    if signposted is not None:
        metrics["signposting"] = signposted
    windows = _new_content(parts)
    if windows:
        metrics["new_content_share"] = sum(windows) / len(windows)
    openers = [
        (id(part), index, sentence.tokens[0].norm)
        for part in parts
        if part.punctuated
        for index, sentence in enumerate(part.sentences)
    ]
    if len(openers) >= MIN_SENTENCES_FOR_OPENERS:
        opening = {(id(m.part), m.sentence_index) for m in markers if m.position < OPENING_WORDS}
        metrics["opener_variety"] = len({word for _, _, word in openers}) / len(openers)
        metrics["initial_marker_share"] = sum(
            1 for part_id, index, _ in openers if (part_id, index) in opening
        ) / len(openers)
    pairs = _links(parts, markers, data)
    if pairs:
        metrics["link_share"] = sum(1 for linked, _ in pairs if linked) / len(pairs)
        metrics["overlap"] = sum(overlap for _, overlap in pairs) / len(pairs)
    lengths = [len(s.tokens) for part in parts if part.punctuated for s in part.sentences]
    if len(lengths) >= 2:
        mean = sum(lengths) / len(lengths)
        metrics["mean_sentence_length"] = mean
        metrics["sentence_length_sd"] = math.sqrt(
            sum((n - mean) ** 2 for n in lengths) / len(lengths)
        )
        metrics["long_sentence_share"] = sum(1 for n in lengths if n > LONG_SENTENCE) / len(lengths)
    return AnalyzerResult(
        analyzer=ANALYZER,
        version=version,
        criterion="fluency_coherence",
        metrics=metrics,
        evidence=tuple(_evidence(metrics, markers, names, data)),
    )


def _evidence(
    metrics: dict[str, float],
    markers: Sequence[_Marker],
    names: Counter[str],
    data: CoherenceData,
) -> list[Evidence]:
    evidence = [
        Evidence(
            kind="metric",
            criterion="fluency_coherence",
            note=f"Different linking words and phrases you used (out of {len(data.functions)} "
            "kinds of link: adding, contrasting, giving reasons, examples, results ...).",
            metric="function_range",
            value=metrics["function_range"],
            positive=metrics["function_range"] >= len(data.functions) / 2,
        )
    ]
    quoted: set[str] = set()
    # Less basic markers first: they are what a learner can be shown as a strength.
    for marker in sorted(markers, key=lambda m: marker_name(m.match) in data.basic):
        name = marker_name(marker.match)
        if name in quoted or len(quoted) >= MAX_QUOTES:
            continue
        quoted.add(name)
        tokens = marker.match.tokens
        evidence.append(
            Evidence(
                kind="quote",
                criterion="fluency_coherence",
                note=f"A linking phrase ({_function(marker.match)}).",
                quote=marker.part.text[tokens[0].start : tokens[-1].end],
                turn_id=marker.part.turn_id,
                positive=name not in data.basic,
            )
        )
    if names:
        name, count = names.most_common(1)[0]
        if count >= OVERUSE_MIN_COUNT and count / sum(names.values()) >= OVERUSE_SHARE:
            first = next(m for m in markers if marker_name(m.match) == name)
            tokens = first.match.tokens
            evidence.append(
                Evidence(
                    kind="quote",
                    criterion="fluency_coherence",
                    note=f"You used '{name}' {count} times, {count / sum(names.values()):.0%} "
                    "of your linking words; vary it.",
                    quote=first.part.text[tokens[0].start : tokens[-1].end],
                    turn_id=first.part.turn_id,
                    metric="top_marker_count",
                    value=float(count),
                )
            )
    if "link_share" in metrics:
        evidence.append(
            Evidence(
                kind="metric",
                criterion="fluency_coherence",
                note="Sentences that connect to the one before (a shared idea word, a word like "
                "'this' or 'they', or a linking phrase).",
                metric="link_share",
                value=round(metrics["link_share"], 3),
                positive=metrics["link_share"] >= 0.7,
            )
        )
    if "sentence_length_sd" in metrics:
        evidence.append(
            Evidence(
                kind="metric",
                criterion="fluency_coherence",
                note="How much your sentence lengths vary (standard deviation in words).",
                metric="sentence_length_sd",
                value=round(metrics["sentence_length_sd"], 2),
            )
        )
    return evidence
