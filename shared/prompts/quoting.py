"""How learner words are put in front of a language model: as delimited, escaped data.

Every ``QuotedText`` becomes one block::

    <learner_answer label="latest answer">
    I think young people should help more &lt;3
    </learner_answer>

The briefs (``shared/prompts/*.toml``) tell the model that text inside these delimiters is
data to respond to, never instructions. That only holds if the learner cannot end the block
early, so the text is escaped the way XML escapes character data: ``&``, ``<`` and ``>``
become ``&amp;``, ``&lt;`` and ``&gt;``. A raw ``<`` never reaches the model from a learner,
hence no ``</learner_answer>`` (or any other tag) can come from them. Look-alike characters
(fullwidth ``＜``, small ``﹤``) are first folded to ASCII by NFKC normalisation, so they are
escaped too instead of passing as a tag the model might read as one. Control characters
other than newline and tab are dropped: they carry no speech and can hide text from a reader.

The brief is never mixed into this text; the adapter sends it separately (Gemini's system
instruction), so the quoted blocks are the whole of the user content.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Final

from shared.models.language import QuotedText

__all__ = ["LEARNER_TAG", "NO_LEARNER_TEXT", "escape_learner_text", "quote_learner_text"]

LEARNER_TAG: Final = "learner_answer"
# The user content when a request quotes nothing (the API needs a non-empty user turn).
NO_LEARNER_TEXT: Final = f'<{LEARNER_TAG} label="none"></{LEARNER_TAG}>'

_KEEP_CONTROLS: Final = frozenset("\n\t")


def escape_learner_text(text: str) -> str:
    """``text`` folded (NFKC), without control characters, with ``& < >`` escaped."""
    folded = unicodedata.normalize("NFKC", text)
    kept = "".join(
        char
        for char in folded
        if char in _KEEP_CONTROLS or unicodedata.category(char) not in ("Cc", "Cf", "Cs")
    )
    return kept.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_label(label: str) -> str:
    # Labels are ours, but they sit in an attribute: a quote in one must not end it.
    return escape_learner_text(" ".join(label.split())).replace('"', "&quot;")


def quote_learner_text(quoted: Sequence[QuotedText]) -> str:
    """The user content for ``quoted``: one delimited, escaped block per text, in order."""
    if not quoted:
        return NO_LEARNER_TEXT
    blocks = [
        f'<{LEARNER_TAG} label="{_escape_label(item.label)}">\n'
        f"{escape_learner_text(item.text.strip())}\n"
        f"</{LEARNER_TAG}>"
        for item in quoted
    ]
    return "\n\n".join(blocks)
