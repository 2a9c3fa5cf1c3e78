"""Lexical resource from the transcript: range, sophistication, idiomatic items, slips.

What it measures (the metric names are also the features ``text_scoring`` reads):

- ``mattr``: moving-average type-token ratio over windows of 50 words (Covington and McFall):
  range without the plain ratio's bias against long answers.
- ``zipf_lt3`` / ``zipf_3_4`` / ``zipf_4_5``: the share of words in each word-frequency band
  (wordfreq's Zipf scale: 3 is once per million words, 6 once per thousand). Words wordfreq
  does not know (names, misspellings) and likely misspellings (``likely_misspelling``) are not
  "rare": they go to ``unknown_share`` instead (a writing-only measure, never scored).
- ``content_zipf``: the mean Zipf frequency of content words (lower = less common words);
  ``less_common_content``: the share of content words below Zipf 3.8.
- ``log_types``: the log of the number of different words (range that grows with length).
- ``mean_word_length``, ``lexical_density`` (content words / words).
- ``idiomatic_rate``: idioms and strong collocations from ``lexis_data.toml`` per 100 words.
- ``slip_rate``: collocation slips ("do a mistake") per 100 words.
- ``vague_rate``: "thing", "stuff", "nice" ... per 100 words.
- ``repeat_share``: the share of content words taken by the three most repeated ones.
- ``bigram_novelty``: moving-average share of new word pairs (repeated chunks lower it).
- ``paraphrase_signals``: "in other words", "what I mean is" ... (a count; not scored).

Evidence a learner can check: less common words and idiomatic phrases quoted from their
answers, collocation slips with the usual phrase, the most repeated words with their counts,
and the headline numbers. The sub-score comes from ``text_scoring`` (calibrated); this module
only measures.
"""

from __future__ import annotations

import functools
import itertools
import math
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from shared.assessment.text import (
    Passage,
    PhraseIndex,
    PhraseMatch,
    Token,
    compile_phrase,
    content_words,
    passages,
    stem,
)
from shared.models.assessment import AnalyzerResult, AnswerText, Evidence

ANALYZER: Final = "lexis"
VERSION: Final = "1.0.0"
DATA_FILE: Final = Path(__file__).with_name("lexis_data.toml")

MATTR_WINDOW: Final = 50
# Shown as a strength from here: about one standard deviation above the mean of the learner
# essays the scores are calibrated on (0.74, sd 0.05).
VARIED_MATTR: Final = 0.79
LESS_COMMON_ZIPF: Final = 3.8  # below this a content word is "less common" for the learner
# wordfreq knows many misspellings at the very bottom of its scale; a quoted "less common
# word" must be a real word, so quotes start above this floor.
QUOTE_ZIPF_FLOOR: Final = 2.0
MAX_WORD_QUOTES: Final = 6
# A rare word (Zipf below 3.3, longer than four letters) is taken for a misspelling when a
# word one edit away is common (Zipf 4 or more) and 1.5 points more frequent.
MISSPELLING_MIN_ZIPF: Final = 0.0
MISSPELLING_MAX_ZIPF: Final = 3.3
MISSPELLING_MIN_LENGTH: Final = 5
MISSPELLING_NEIGHBOUR_ZIPF: Final = 4.0
MISSPELLING_MARGIN: Final = 1.5
MAX_PHRASE_QUOTES: Final = 5
REPEAT_MIN_COUNT: Final = 4
REPEAT_MIN_SHARE: Final = 0.03


@dataclass(frozen=True)
class LexisData:
    version: str
    idioms: PhraseIndex
    slips: PhraseIndex
    better: dict[str, str]  # slip pattern -> the usual phrase
    vague: frozenset[str]
    paraphrase: PhraseIndex


@functools.cache
def lexis_data() -> LexisData:
    raw = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    idioms = [compile_phrase(spec, "idiom") for spec in raw["idioms"]]
    idioms += [compile_phrase(spec, "collocation") for spec in raw["collocations"]]
    slips = [compile_phrase(entry["said"]) for entry in raw["slips"]]
    return LexisData(
        version=str(raw["version"]),
        idioms=PhraseIndex(idioms),
        slips=PhraseIndex(slips),
        better={str(entry["said"]): str(entry["better"]) for entry in raw["slips"]},
        vague=frozenset(raw["vague"]),
        paraphrase=PhraseIndex(compile_phrase(spec, "paraphrase") for spec in raw["paraphrase"]),
    )


@functools.cache
def _zipf_function() -> Callable[[str, str], float] | None:
    # Imported here: wordfreq loads its frequency tables on first use, which a cold start that
    # never scores should not pay for.
    try:
        from wordfreq import zipf_frequency
    except ModuleNotFoundError:
        return None
    return zipf_frequency


@functools.cache
def _frequencies() -> dict[str, float]:
    """wordfreq's English table as a dict: a plain look-up is ~30x faster than
    ``zipf_frequency`` for the hundreds of candidate spellings a misspelling check tries."""
    try:
        from wordfreq import get_frequency_dict
    except ModuleNotFoundError:
        return {}
    return get_frequency_dict("en")


def word_frequencies_available() -> bool:
    return _zipf_function() is not None


@functools.lru_cache(maxsize=65536)
def zipf(word: str) -> float:
    """wordfreq's Zipf frequency of an English word; 0.0 when unknown or wordfreq is absent."""
    lookup = _zipf_function()
    return lookup(word, "en") if lookup is not None else 0.0


_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"


def _edits(word: str) -> set[str]:
    """Every string one deletion, swap, substitution or insertion away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return {
        *(a + b[1:] for a, b in splits if b),
        *(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1),
        *(a + c + b[1:] for a, b in splits if b for c in _LETTERS),
        *(a + c + b for a, b in splits for c in _LETTERS),
    }


@functools.lru_cache(maxsize=16384)
def likely_misspelling(word: str) -> bool:
    """True for a rare word one edit away from a much more common one ("becuase", "thier").

    wordfreq knows many misspellings and puts them between Zipf 2 and 3, where genuinely rare
    words live too; counting them as sophisticated vocabulary would reward bad spelling (and a
    speech transcript has no spelling to reward). Short words are left alone: "wary" is one
    edit from "way" and is no misspelling.
    """
    z = zipf(word)
    if not MISSPELLING_MIN_ZIPF < z < MISSPELLING_MAX_ZIPF or len(word) < MISSPELLING_MIN_LENGTH:
        return False
    target = 10 ** (max(MISSPELLING_NEIGHBOUR_ZIPF, z + MISSPELLING_MARGIN) - 9)  # Zipf -> share
    table = _frequencies()
    return any(table.get(candidate, 0.0) >= target for candidate in _edits(word))


def mattr(words: Sequence[str], window: int = MATTR_WINDOW) -> float:
    """Moving-average type-token ratio; the plain ratio when the text is shorter than a window."""
    if not words:
        return 0.0
    if len(words) <= window:
        return len(set(words)) / len(words)
    counts = Counter(words[:window])
    total = len(counts)
    for index in range(window, len(words)):
        counts[words[index]] += 1
        leaving = words[index - window]
        counts[leaving] -= 1
        if counts[leaving] == 0:
            del counts[leaving]
        total += len(counts)
    return total / (len(words) - window + 1) / window


def bigram_novelty(parts: Sequence[Passage], window: int = MATTR_WINDOW) -> float:
    """MATTR over word pairs (pairs never cross answers): low when chunks keep coming back."""
    pairs = []
    for part in parts:
        norms = [token.norm for token in part.tokens]
        pairs += [f"{a} {b}" for a, b in itertools.pairwise(norms)]
    return mattr(pairs, window)


def _quote(part: Passage, tokens: Sequence[Token]) -> str:
    return part.text[tokens[0].start : tokens[-1].end]


def _per_100(count: int, words: int) -> float:
    return 100.0 * count / words if words else 0.0


@dataclass(frozen=True)
class _Found:
    part: Passage
    match: PhraseMatch


def analyze_lexis(answers: Sequence[AnswerText]) -> AnalyzerResult:
    """Metrics and evidence for lexical resource over all of a learner's scored answers."""
    data = lexis_data()
    version = f"{VERSION}+data.{data.version}"
    parts = passages(answers)
    tokens = [token for part in parts for token in part.tokens]
    if not tokens:
        return AnalyzerResult(
            analyzer=ANALYZER,
            version=version,
            criterion="lexical_resource",
            not_scored_reason="no words to judge",
        )
    if not word_frequencies_available():
        return AnalyzerResult(
            analyzer=ANALYZER,
            version=version,
            criterion="lexical_resource",
            not_scored_reason="word frequencies (wordfreq) are not installed",
        )

    norms = [token.norm for token in tokens]
    n = len(norms)
    # Unknown words and likely misspellings count as 0: neither is vocabulary range.
    zipfs = [0.0 if likely_misspelling(word) else zipf(word) for word in norms]
    content = content_words(tokens)
    content_set = set(content)
    content_zipfs = [z for t, z in zip(tokens, zipfs, strict=True) if t in content_set and z > 0]

    idioms: list[_Found] = []
    slips: list[_Found] = []
    paraphrases = 0
    for part in parts:
        for sentence in part.sentences:
            idioms += [_Found(part, m) for m in data.idioms.find(sentence.tokens)]
            slips += [_Found(part, m) for m in data.slips.find(sentence.tokens)]
            paraphrases += len(data.paraphrase.find(sentence.tokens))

    stems = Counter(stem(token.norm) for token in content)
    top_three = sum(count for _, count in stems.most_common(3))

    metrics = {
        "words": float(n),
        "log_words": math.log(n),
        "log_types": math.log(len(set(norms))),
        "mattr": mattr(norms),
        "mean_word_length": sum(len(w) for w in norms) / n,
        "zipf_lt3": sum(1 for z in zipfs if 0 < z < 3) / n,
        "zipf_3_4": sum(1 for z in zipfs if 3 <= z < 4) / n,
        "zipf_4_5": sum(1 for z in zipfs if 4 <= z < 5) / n,
        "unknown_share": sum(1 for z in zipfs if z == 0) / n,
        "content_zipf": sum(content_zipfs) / len(content_zipfs) if content_zipfs else 0.0,
        "less_common_content": (
            sum(1 for z in content_zipfs if z < LESS_COMMON_ZIPF) / len(content_zipfs)
            if content_zipfs
            else 0.0
        ),
        "lexical_density": len(content) / n,
        "idiomatic_rate": _per_100(len(idioms), n),
        "slip_rate": _per_100(len(slips), n),
        "vague_rate": _per_100(sum(1 for w in norms if w in data.vague), n),
        "repeat_share": top_three / len(content) if content else 0.0,
        "bigram_novelty": bigram_novelty(parts),
        "paraphrase_signals": float(paraphrases),
    }
    evidence = _evidence(parts, metrics, idioms, slips, stems, len(content), data)
    return AnalyzerResult(
        analyzer=ANALYZER,
        version=version,
        criterion="lexical_resource",
        metrics=metrics,
        evidence=tuple(evidence),
    )


def _evidence(
    parts: Sequence[Passage],
    metrics: dict[str, float],
    idioms: Sequence[_Found],
    slips: Sequence[_Found],
    stems: Counter[str],
    content_count: int,
    data: LexisData,
) -> list[Evidence]:
    evidence = [
        Evidence(
            kind="metric",
            criterion="lexical_resource",
            note="How varied your words are: the share of different words in every stretch of "
            "50 words.",
            metric="mattr",
            value=round(metrics["mattr"], 3),
            positive=metrics["mattr"] >= VARIED_MATTR,
        ),
        Evidence(
            kind="metric",
            criterion="lexical_resource",
            note="The share of your words that are less common (fewer than 10 in a million "
            "words of everyday English).",
            metric="less_common_share",
            value=round(metrics["zipf_lt3"] + metrics["zipf_3_4"], 3),
        ),
    ]
    # Less common words, rarest first, one per stem; names (capitalised inside a sentence)
    # are left out because using a name is not vocabulary.
    seen: set[str] = set()
    candidates: list[tuple[float, Passage, Token]] = []
    for part in parts:
        for sentence in part.sentences:
            for position, token in enumerate(sentence.tokens):
                if token.norm in seen or (position > 0 and token.text[:1].isupper()):
                    continue
                z = zipf(token.norm)
                if (
                    QUOTE_ZIPF_FLOOR <= z < LESS_COMMON_ZIPF
                    and len(token.norm) >= 4
                    and not likely_misspelling(token.norm)
                ):
                    seen.add(token.norm)
                    candidates.append((z, part, token))
    used_stems: set[str] = set()
    for z, part, token in sorted(candidates, key=lambda c: c[0]):
        if stem(token.norm) in used_stems:
            continue
        used_stems.add(stem(token.norm))
        evidence.append(
            Evidence(
                kind="quote",
                criterion="lexical_resource",
                note="A less common word you used.",
                quote=token.text,
                turn_id=part.turn_id,
                metric="zipf",
                value=round(z, 2),
                positive=True,
            )
        )
        if len(used_stems) >= MAX_WORD_QUOTES:
            break
    for found in idioms[:MAX_PHRASE_QUOTES]:
        kind = found.match.phrase.label
        evidence.append(
            Evidence(
                kind="quote",
                criterion="lexical_resource",
                note="An idiomatic expression you used."
                if kind == "idiom"
                else "A natural word partnership (collocation) you used.",
                quote=_quote(found.part, found.match.tokens),
                turn_id=found.part.turn_id,
                positive=True,
            )
        )
    for found in slips[:MAX_PHRASE_QUOTES]:
        evidence.append(
            Evidence(
                kind="quote",
                criterion="lexical_resource",
                note=f"Speakers usually say '{data.better[found.match.phrase.label]}'.",
                quote=_quote(found.part, found.match.tokens),
                turn_id=found.part.turn_id,
            )
        )
    for word_stem, count in stems.most_common(3):
        if count < REPEAT_MIN_COUNT or count < REPEAT_MIN_SHARE * content_count:
            break
        first = _first_with_stem(parts, word_stem)
        if first is None:
            continue
        part, token = first
        evidence.append(
            Evidence(
                kind="quote",
                criterion="lexical_resource",
                note=f"You used '{token.text}' (or a form of it) {count} times; "
                "a synonym or a paraphrase now and then shows range.",
                quote=token.text,
                turn_id=part.turn_id,
                metric="repeats",
                value=float(count),
            )
        )
    return evidence


def _first_with_stem(parts: Sequence[Passage], word_stem: str) -> tuple[Passage, Token] | None:
    for part in parts:
        for token in content_words(part.tokens):
            if stem(token.norm) == word_stem:
                return part, token
    return None
