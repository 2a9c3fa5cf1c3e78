"""Words and sentences with their character offsets, for the text analyzers.

Built on the shared tokenizer (``shared.assessment.tokens``, also used by the grammar checker)
so that every analyzer sees the same words and sentences; this module adds what the lexis,
complexity and coherence analyzers need on top: words only (no punctuation or filled pauses),
answers as passages, content words, a crude stem and a small phrase matcher for the word lists.
Offsets matter more than linguistic finesse: every quote shown to a learner is cut from their
own text by these offsets and so is verbatim by construction.

Spoken transcripts may have no punctuation at all (the embedded recogniser writes none); a
text without sentence punctuation is one sentence per answer, and analyzers that need
sentence boundaries say so through ``Passage.punctuated``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from shared.assessment import tokens as tokens_module
from shared.models.assessment import AnswerText

FILLED_PAUSES: Final = frozenset(
    {"um", "umm", "uh", "uhm", "er", "erm", "ah", "eh", "hmm", "hm", "mm", "mhm"}
)

# Subject and object pronouns, possessives and demonstratives: closed classes several
# analyzers need (agreement, reference between sentences, content words).
SUBJECT_PRONOUNS: Final = frozenset({"i", "you", "he", "she", "it", "we", "they"})


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Function words, auxiliaries and very common verbs: what is left is "content".
FUNCTION_WORDS: Final = (
    _word_set(
        """
    a about above after again against all also although always am an and another any are
    aren't as at be because been before being below between both but by can can't cannot
    could couldn't did didn't do does doesn't doing don't down during each either even ever
    every few for from further had hadn't has hasn't have haven't having he he'd he'll he's
    her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it it's
    its itself just let's me might mine more most much must my myself neither never no nor not
    now of off on once one only or other others our ours ourselves out over own same shall she
    she'd she'll she's should shouldn't since so some such than that that's the their theirs
    them themselves then there there's these they they'd they'll they're they've this those
    though through to too under until up upon us very was wasn't we we'd we'll we're we've were
    weren't what what's when where which while who whom whose why will with won't would
    wouldn't yet you you'd you'll you're you've your yours yourself yourselves
    """
    )
    | FILLED_PAUSES
)


@dataclass(frozen=True, slots=True)
class Token:
    """A word as written, its normal form, and where it sits in the answer's text."""

    text: str
    norm: str  # lower case, curly apostrophe straightened
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    tokens: tuple[Token, ...]

    @property
    def norms(self) -> list[str]:
        return [token.norm for token in self.tokens]


@dataclass(frozen=True, slots=True)
class Passage:
    """One answer split into sentences; ``punctuated`` is False when it had no end marks."""

    turn_id: str | None
    text: str
    sentences: tuple[Sentence, ...]
    punctuated: bool

    @property
    def tokens(self) -> list[Token]:
        return [token for sentence in self.sentences for token in sentence.tokens]


def normalize(word: str) -> str:
    return word.lower().replace("’", "'")


def words(tokens: Iterable[tokens_module.Token]) -> list[Token]:
    """The words among ``tokens`` (no digits, punctuation or filled pauses)."""
    found = []
    for token in tokens:
        if not token.text[:1].isalpha():
            continue
        norm = normalize(token.text)
        if norm not in FILLED_PAUSES:
            found.append(Token(token.text, norm, token.start, token.end))
    return found


def tokenize(text: str) -> list[Token]:
    """Words in order with their offsets into ``text``; filled pauses left out."""
    return words(tokens_module.tokenize(text))


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with at least one word, split by ``tokens.split_sentences`` (at end marks and
    line breaks); a text without either is a single sentence."""
    sentences = []
    for group in tokens_module.split_sentences(tokens_module.tokenize(text), text):
        found = words(group)
        if found:
            sentences.append(Sentence(group[0].start, group[-1].end, tuple(found)))
    return sentences


def has_end_marks(text: str) -> bool:
    return re.search(r"[.!?]", text) is not None


@functools.lru_cache(maxsize=64)
def passage(text: str, turn_id: str | None = None) -> Passage:
    """One answer as a passage; cached because the three analyzers read the same answers."""
    return Passage(turn_id, text, tuple(split_sentences(text)), has_end_marks(text))


def passages(answers: Iterable[AnswerText]) -> list[Passage]:
    return [passage(answer.text, answer.turn_id) for answer in answers]


def all_tokens(parts: Sequence[Passage]) -> list[Token]:
    return [token for part in parts for token in part.tokens]


def content_words(tokens: Iterable[Token]) -> list[Token]:
    """Tokens that carry meaning: not a function word, at least three letters."""
    return [t for t in tokens if t.norm not in FUNCTION_WORDS and len(t.norm) >= 3]


def stem(word: str) -> str:
    """A crude stem so 'cities'/'city' or 'helping'/'helped' meet; never below four letters."""
    w = word.replace("'", "")
    for suffix, replacement in (
        ("ies", "i"),
        ("y", "i"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) + len(replacement) >= 4:
            return w[: len(w) - len(suffix)] + replacement
    return w


# Irregular forms for the verbs the phrase lists name as ``{verb}``; others are inflected by
# the regular spelling rules below.
_IRREGULAR: Final = {
    "be": ("am", "is", "are", "was", "were", "been", "being", "'m", "'s", "'re"),
    "have": ("has", "had", "having", "'ve"),
    "do": ("does", "did", "done", "doing"),
    "make": ("made",),
    "take": ("took", "taken"),
    "give": ("gave", "given"),
    "get": ("got", "gotten", "getting"),
    "go": ("goes", "went", "gone"),
    "come": ("came",),
    "say": ("said",),
    "tell": ("told",),
    "pay": ("paid",),
    "keep": ("kept",),
    "bear": ("bore", "borne"),
    "break": ("broke", "broken"),
    "catch": ("caught",),
    "win": ("won", "winning"),
    "lose": ("lost",),
    "spend": ("spent",),
    "put": ("put", "putting"),
    "run": ("ran", "running"),
    "hit": ("hit", "hitting"),
    "think": ("thought",),
    "bring": ("brought",),
    "buy": ("bought",),
    "learn": ("learnt",),
    "burn": ("burnt",),
    "feel": ("felt",),
    "find": ("found",),
    "see": ("saw", "seen"),
    "sit": ("sat", "sitting"),
    "stand": ("stood",),
    "throw": ("threw", "thrown"),
    "draw": ("drew", "drawn"),
    "speak": ("spoke", "spoken"),
    "lend": ("lent",),
    "open": ("opened", "opening"),
    "visit": ("visited", "visiting"),
    "meet": ("met",),
}


def verb_forms(base: str) -> frozenset[str]:
    """Base, -s, -ed and -ing forms of a verb (regular rules plus ``_IRREGULAR``)."""
    forms = {base, *_IRREGULAR.get(base, ())}
    if base in {"be", "have", "do"}:
        return frozenset(forms)
    if base.endswith(("s", "sh", "ch", "x", "o")):
        forms.add(base + "es")
    elif base.endswith("y") and base[-2:-1] not in set("aeiou"):
        forms.add(base[:-1] + "ies")
    else:
        forms.add(base + "s")
    if not any(form.endswith("ing") for form in forms):
        forms.add(base[:-1] + "ing" if base.endswith("e") and base != "see" else base + "ing")
    if base not in _IRREGULAR:
        if base.endswith("e"):
            forms.add(base + "d")
        elif base.endswith("y") and base[-2:-1] not in set("aeiou"):
            forms.add(base[:-1] + "ied")
        else:
            forms.add(base + "ed")
    return frozenset(forms)


# ``~`` in a phrase stands for at most one of these (or nothing): "make ~ decision" matches
# "make a decision", "made the decision", "make decisions"... up to the phrase's last word.
_DETERMINERS: Final = frozenset(
    {"a", "an", "the", "my", "your", "his", "her", "its", "our", "their", "this", "that",
     "these", "those", "some", "any"}
)  # fmt: skip
_GAP: Final = 2  # ``*`` stands for up to two words of any kind ("take it for granted")


@dataclass(frozen=True, slots=True)
class Phrase:
    """A phrase from a word list, compiled: one set of accepted words (or a gap) per slot."""

    label: str
    slots: tuple[frozenset[str] | str, ...]  # a str slot is "~" or "*"


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    phrase: Phrase
    tokens: tuple[Token, ...]


def compile_phrase(spec: str, label: str | None = None) -> Phrase:
    """``"{make} ~ mistake|mistakes"`` -> a Phrase. ``{v}`` means any form of the verb v,
    ``a|b`` either word, ``~`` an optional determiner, ``*`` up to two words of any kind."""
    slots: list[frozenset[str] | str] = []
    for part in spec.lower().split():
        if part in {"~", "*"}:
            slots.append(part)
        elif part.startswith("{") and part.endswith("}"):
            slots.append(verb_forms(part[1:-1]))
        else:
            slots.append(frozenset(part.split("|")))
    if not slots or isinstance(slots[0], str) or isinstance(slots[-1], str):
        raise ValueError(f"a phrase starts and ends with a word: {spec!r}")
    return Phrase(label or spec, tuple(slots))


class PhraseIndex:
    """Phrases indexed by their first word, matched left to right without overlaps."""

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self._by_first: dict[str, list[Phrase]] = {}
        for phrase in phrases:
            first = phrase.slots[0]
            assert not isinstance(first, str)  # compile_phrase guarantees a word first
            for word in first:
                self._by_first.setdefault(word, []).append(phrase)
        for candidates in self._by_first.values():
            candidates.sort(key=lambda p: -len(p.slots))  # the longest phrase wins

    def find(self, tokens: Sequence[Token]) -> list[PhraseMatch]:
        norms = [token.norm for token in tokens]
        found: list[PhraseMatch] = []
        index = 0
        while index < len(norms):
            end = None
            for phrase in self._by_first.get(norms[index], ()):
                end = _match(phrase.slots, norms, index)
                if end is not None:
                    found.append(PhraseMatch(phrase, tuple(tokens[index:end])))
                    break
            index = end if end is not None else index + 1
        return found


def _match(slots: Sequence[frozenset[str] | str], norms: Sequence[str], at: int) -> int | None:
    """The end index of a match of ``slots`` at ``at``, or None (short backtracking search)."""
    if not slots:
        return at
    slot, rest = slots[0], slots[1:]
    if slot == "~":
        if at < len(norms) and norms[at] in _DETERMINERS:
            end = _match(rest, norms, at + 1)
            if end is not None:
                return end
        return _match(rest, norms, at)
    if slot == "*":
        for skip in range(_GAP + 1):
            end = _match(rest, norms, at + skip) if at + skip <= len(norms) else None
            if end is not None:
                return end
        return None
    if at < len(norms) and norms[at] in slot:
        return _match(rest, norms, at + 1)
    return None
