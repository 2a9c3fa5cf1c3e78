"""A small English tokenizer that keeps character offsets into the original text.

Words keep their inner apostrophes and hyphens ("don't", "it's", "well-known") so rules can
match contractions as one token; digits, punctuation and symbols become their own tokens.
Transcripts often lack punctuation, so sentence splitting is a convenience, not a promise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A word: letters/digits with inner apostrophes or hyphens; or a single non-space symbol.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['’\-][^\W_]+)*|[^\w\s]", re.UNICODE)
_SENTENCE_END = frozenset({".", "!", "?", ";"})


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its text, its offsets in the original string and a normalized form."""

    text: str
    start: int
    end: int
    index: int

    @property
    def lower(self) -> str:
        """Lower case with typographic apostrophes made plain, for dictionary look-ups."""
        return self.text.lower().replace("’", "'")

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()

    @property
    def is_number(self) -> bool:
        return self.text.replace(",", "").isdigit()


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens with offsets (``text[t.start:t.end] == t.text``)."""
    return [
        Token(match.group(), match.start(), match.end(), index)
        for index, match in enumerate(_TOKEN.finditer(text))
    ]


def split_sentences(tokens: list[Token], text: str) -> list[list[Token]]:
    """Group tokens into sentences at . ! ? ; and at line breaks (speech has no full stops)."""
    sentences: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        if current and "\n" in text[current[-1].end : token.start]:
            sentences.append(current)
            current = []
        current.append(token)
        if token.text in _SENTENCE_END:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences
