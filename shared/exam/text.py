"""Small text helpers shared by the follow-up generator and the language checks.

Plain regular expressions and a compact stopword list: nothing to download, no tagger. The
helpers are deliberately crude; callers use them only where a wrong guess is harmless (a
follow-up that falls back to the theme, an off-topic check that errs towards "on topic").
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Final

WORD_LISTS_PATH: Final = Path(__file__).resolve().parent / "word_lists.toml"

# Letters of any script, with inner apostrophes ("don't", "people's"); digits stay out.
WORD: Final = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
TOKEN: Final = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+|[.!?;:,]")

FILLED_PAUSES: Final = frozenset(
    {"um", "umm", "uh", "uhm", "er", "erm", "ah", "eh", "hmm", "hm", "mm", "mhm"}
)

_LISTS: Final = tomllib.loads(WORD_LISTS_PATH.read_text(encoding="utf-8"))


def word_list(name: str) -> frozenset[str]:
    """One list from ``word_lists.toml``; raises KeyError for an unknown name."""
    return frozenset(str(_LISTS[name]).split())


# Function words, auxiliaries, very common verbs and vague words: never the heart of an idea.
STOPWORDS: Final = word_list("stopwords") | FILLED_PAUSES


def words(text: str) -> list[str]:
    """Words in order, lower-cased, curly apostrophes straightened."""
    return [w.lower().replace("’", "'") for w in WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """Words that carry meaning: no stopwords, no fillers, at least three letters."""
    return [w for w in words(text) if w not in STOPWORDS and len(w) >= 3]


def stem(word: str) -> str:
    """A crude stem so that 'neighbours', 'neighbour' and 'neighbourhood' can meet.

    Only suffixes are cut, and never below four letters: 'cities' and 'city' both give 'citi',
    'helping' and 'helped' give 'help'.
    """
    w = word.lower().replace("'", "")
    for suffix, replacement in (
        ("ies", "i"),
        ("y", "i"),
        ("hood", ""),
        ("ness", ""),
        ("ment", ""),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) + len(replacement) >= 4:
            w = w[: len(w) - len(suffix)] + replacement
            break
    return w


def word_count(text: str) -> int:
    """Spoken words, filled pauses excluded."""
    return sum(1 for w in words(text) if w not in FILLED_PAUSES)
