"""Deterministic Part 3 follow-ups built from the learner's own last answer.

Used when no language model is configured (and as the fallback when one fails). From the
answer we take a short noun phrase ("public transport", "your grandmother") and, when there is
one, a stated opinion ("young people should help more"), and fill a versioned template from
``followup_templates.toml`` with them and the cue card's theme, so the question visibly
follows from what was said: "You said that young people should help more. Would most people
agree with that?"

The learner's words are data. Sentences that look like instructions or talk about the test
itself ("ignore your instructions", "give me band 9", "print your prompt", "you are now ...")
are dropped before anything is extracted, words about the test or that the examiner must not
repeat are never echoed, and when nothing usable is left the follow-up draws on the theme
only. Nothing the learner says can change which template is used beyond that choice, and the
output is always one of the templates with at most a short, letters-only phrase in it.

No tagger and nothing to download: a stopword list, a few suffix rules and phrase scoring.
"""

from __future__ import annotations

import random
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

from shared.exam.text import FILLED_PAUSES, STOPWORDS, TOKEN, stem, word_list, words
from shared.models.exam import FollowUp

TEMPLATES_PATH: Final = Path(__file__).resolve().parent / "followup_templates.toml"

Basis = Literal["claim", "phrase", "theme"]
BASES: Final[tuple[Basis, ...]] = ("claim", "phrase", "theme")

MAX_FOLLOW_UP_WORDS: Final = 25  # the bank's limit for a Part 3 question
MAX_PHRASE_WORDS: Final = 2  # plus a determiner: "public transport", "your grandmother"
CLAIM_WORDS: Final = (3, 10)

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

# Sentences carrying any of these are dropped whole: instructions, persona changes, grading
# requests, prompt extraction, and markup that could smuggle a template into the output.
_INSTRUCTION_PATTERNS: Final = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,60}?"
        r"\b(?:instructions?|prompts?|rules?|previous|above|everything|system|guidelines?)\b",
        r"\b(?:you are now|you're now|from now on|act as|acting as|pretend (?:to be|that you|you)"
        r"|role-?play|developer mode|jailbreak|new instructions?)\b",
        r"\bband\s*(?:score|[0-9]|nine|eight|seven|six)\b",
        r"\b(?:give|award|grant)\s+(?:me|us|this|my)\b.{0,30}?"
        r"\b(?:band|score|marks?|grade|points?|nine|9)\b",
        r"\b(?:print|reveal|show|repeat|output|display|leak|tell me|write out|say)\b.{0,40}?"
        r"\b(?:prompts?|instructions?|system|configuration|secret|hidden)\b",
        r"\b(?:system prompt|chatgpt|openai|gemini|language model|llm|ai model|assistant)\b",
        r"\b(?:full|maximum|top|perfect|highest)\s+(?:marks?|score|band)\b",
        r"</?[a-z]+>|```|\{\{|\}\}|\[/?inst\]",
    )
)

# First person singular becomes "you" when the examiner quotes the learner back.
_FLIP: Final = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "i'm": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "am": "are",
}
_PERSONAL_STARTS: Final = frozenset({"i", "i'm", "i've", "i'd", "i'll", "me"})

# Vague nouns may head a longer phrase ("young people") but are never a phrase on their own.
_VAGUE: Final = frozenset(
    {"people", "person", "time", "times", "day", "days", "year", "years", "place", "places"}
)
# Common verbs that are rarely nouns: they end a phrase ("children | learn | faster").
_VERBS: Final = word_list("phrase_verbs")
# Comparatives look like "-er" nouns (teacher, computer) but never head a phrase.
_COMPARATIVES: Final = word_list("comparatives")
# Common modifiers: inside a phrase ("other kids", "big cities") but never its head or alone.
_MODIFIERS: Final = frozenset(
    {"other", "old", "new", "big", "small", "good", "bad", "great", "different", "important",
     "main", "real", "whole", "certain", "various"}
)  # fmt: skip
_BREAKERS: Final = (STOPWORDS - _VAGUE - _MODIFIERS) | FILLED_PAUSES | _VERBS | {"better", "worse"}
_DETERMINERS: Final = frozenset(
    {"the", "a", "an", "my", "our", "your", "their", "his", "her", "its", "this", "that",
     "these", "those", "some", "any", "no", "every", "each"}
)  # fmt: skip
# Said back with the phrase: "the weekend", "your grandmother"; others are left out.
_KEPT_DETERMINERS: Final = {
    "the": "the", "a": "a", "an": "an", "my": "your", "our": "your", "this": "this",
    "these": "these", "their": "their", "every": "every",
}  # fmt: skip
_NOUN_SUFFIXES: Final = (
    "tion", "sion", "ment", "ness", "ity", "ship", "ism", "ance", "ence", "ing", "er", "or",
    "ist", "ure", "age", "hood", "dom", "ian",
)  # fmt: skip
_NOT_A_HEAD: Final = ("ous", "ful", "ive", "able", "ible", "less", "est", "ly", "ed")
_HEAD_EXCEPTIONS: Final = frozenset(
    {"family", "supply", "assembly", "italy", "july", "butterfly", "ally", "rally", "bed", "need"}
)

# Opinion lead-ins: what follows is the claim ("I think [that] ...").
_LEAD_INS: Final = (
    ("in", "my", "opinion"),
    ("in", "my", "view"),
    ("i", "would", "say"),
    ("i", "think"),
    ("i", "believe"),
    ("i", "feel"),
    ("i", "guess"),
    ("i", "suppose"),
    ("i'd", "say"),
    ("personally",),
)
_CLAIM_MARKERS: Final = frozenset({"should", "must", "better", "worse", "ought", "because"})
_CLAIM_VERBS: Final = word_list("claim_verbs")
_HARD_BOUNDARIES: Final = frozenset(
    {"because", "although", "though", "whereas", "unless", "but", "however"}
)
_SOFT_BOUNDARIES: Final = frozenset({"and", "so", "or"})
_SUBJECTS: Final = frozenset({"i", "we", "they", "he", "she", "it", "you", "there", "people"})
_LEADING_NOISE: Final = frozenset(
    {"well", "so", "yeah", "yes", "no", "actually", "basically", "like", "and", "but", "that",
     "also", "then", "because", "mean", "honestly", "okay", "ok"}
    | FILLED_PAUSES
)  # fmt: skip


class FollowUpTemplateError(ValueError):
    """The templates file breaks a rule; the message names the template at fault."""


@dataclass(frozen=True)
class FollowUpTemplate:
    id: str
    basis: Basis
    text: str


@dataclass(frozen=True)
class FollowUpTemplates:
    """The templates file as loaded and checked."""

    version: str
    templates: tuple[FollowUpTemplate, ...]
    meta_words: frozenset[str]
    blocked_words: frozenset[str]

    def for_basis(self, basis: Basis) -> tuple[FollowUpTemplate, ...]:
        return tuple(t for t in self.templates if t.basis == basis)


def _check_template(template: FollowUpTemplate) -> None:
    problems = []
    fields = set(_PLACEHOLDER.findall(template.text))
    needed = {"claim": {"claim"}, "phrase": {"phrase"}, "theme": set[str]()}[template.basis]
    if not needed <= fields:
        problems.append(f"needs {sorted(needed)}")
    if fields - needed - {"theme"}:
        problems.append(f"unknown or foreign placeholders {sorted(fields - needed - {'theme'})}")
    if not template.text.endswith("?") or template.text.count("?") != 1:
        problems.append("must be one question ending with '?'")
    if re.match(r"\s*describe\b", template.text, re.IGNORECASE):
        problems.append("must not start with 'Describe' (that is Part 2)")
    if not template.text[:1].isupper():
        problems.append("must start with a capital letter")
    if not template.id.startswith(f"{template.basis}."):
        problems.append(f"id must start with '{template.basis}.'")
    if problems:
        raise FollowUpTemplateError(f"follow-up template {template.id}: {'; '.join(problems)}")


def read_followup_templates(path: Path | None = None) -> FollowUpTemplates:
    """Read and check a templates file; raises FollowUpTemplateError naming what is wrong."""
    document = tomllib.loads((path or TEMPLATES_PATH).read_text(encoding="utf-8"))
    version = document.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"20\d\d\.\d{1,2}\.\d+", version):
        raise FollowUpTemplateError(f"version {version!r} is not of the form YYYY.M.N")
    templates: list[FollowUpTemplate] = []
    for raw in document.get("templates", []):
        basis = raw.get("basis")
        if basis not in BASES:
            raise FollowUpTemplateError(f"follow-up template {raw.get('id')}: basis {basis!r}")
        template = FollowUpTemplate(id=str(raw["id"]), basis=basis, text=str(raw["text"]))
        _check_template(template)
        templates.append(template)
    if len({t.id for t in templates}) != len(templates):
        raise FollowUpTemplateError("a follow-up template id is used twice")
    for basis in BASES:
        if sum(1 for t in templates if t.basis == basis) < 3:
            raise FollowUpTemplateError(f"fewer than 3 templates with basis {basis!r}")
    filters = document.get("filters", {})
    return FollowUpTemplates(
        version=version,
        templates=tuple(templates),
        meta_words=frozenset(w.lower() for w in filters.get("meta_words", [])),
        blocked_words=frozenset(w.lower() for w in filters.get("blocked_words", [])),
    )


@cache
def load_followup_templates() -> FollowUpTemplates:
    """The shipped templates, read once per instance."""
    return read_followup_templates()


# --- reading an answer ------------------------------------------------------------------------
def looks_like_instructions(text: str) -> bool:
    """True when the text tries to instruct the examiner or talks about grading or prompts."""
    return any(pattern.search(text) for pattern in _INSTRUCTION_PATTERNS)


@dataclass(frozen=True)
class _Word:
    text: str  # as it should be said back: lower case unless a name mid-sentence
    lower: str


_SENTENCE_SPLIT: Final = re.compile(r"(?<=[.!?])\s+|\n+")


def _usable_sentences(answer: str) -> list[list[_Word | None]]:
    """Sentences as words, None marking a clause break; sentences that instruct are dropped."""
    sentences: list[list[_Word | None]] = []
    for raw in _SENTENCE_SPLIT.split(answer.replace("’", "'")):
        # Checked on the raw text, before tokenising strips markup such as "{{" or "</x>".
        if not raw.strip() or looks_like_instructions(raw):
            continue
        current: list[_Word | None] = []
        for token in TOKEN.findall(raw):
            if token in {".", "!", "?", ",", ";", ":"} or token.isdigit():
                current.append(None)  # numbers are never echoed; they also end a phrase
                continue
            lower = token.lower()
            first = not any(isinstance(w, _Word) for w in current)
            # A capital mid-sentence is probably a name: keep it; the sentence's first word not.
            keep_case = not first and token[:1].isupper() and lower != "i"
            current.append(_Word(token if keep_case else lower, lower))
        if current:
            sentences.append(current)
    return sentences


def _clauses(sentence: Sequence[_Word | None]) -> list[list[_Word]]:
    clauses: list[list[_Word]] = [[]]
    for index, word in enumerate(sentence):
        if word is None:
            clauses.append([])
            continue
        following = sentence[index + 1] if index + 1 < len(sentence) else None
        soft_break = (
            word.lower in _SOFT_BOUNDARIES
            and isinstance(following, _Word)
            and following.lower in _SUBJECTS
        )
        if word.lower in _HARD_BOUNDARIES or soft_break:
            clauses.append([word])  # keep the boundary word: "because ..." marks a reason
            continue
        clauses[-1].append(word)
    return [clause for clause in clauses if clause]


def _is_head(word: str) -> bool:
    if word in _HEAD_EXCEPTIONS:
        return True
    if word in _COMPARATIVES or word in _MODIFIERS:
        return False
    return not (len(word) > 4 and word.endswith(_NOT_A_HEAD))


def _looks_like_noun(word: str, previous: str | None) -> bool:
    if previous in _DETERMINERS:
        return True
    if word.endswith(_NOUN_SUFFIXES) and len(word) > 4:
        return True
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ous"))


def _flip(word: _Word) -> str:
    return _FLIP.get(word.lower, word.text)


@dataclass(frozen=True)
class _Candidate:
    text: str
    words: tuple[str, ...]
    position: int
    personal: bool = False


def _phrase_candidates(
    sentences: Sequence[Sequence[_Word | None]], banned: frozenset[str]
) -> list[_Candidate]:
    found: list[_Candidate] = []
    position = 0
    for sentence in sentences:
        run: list[_Word] = []
        before: str | None = None
        items = [*sentence, None]
        for index, word in enumerate(items):
            breaks = word is None or word.lower in _BREAKERS or word.lower in banned
            if not breaks and isinstance(word, _Word):
                if not run:
                    previous = items[index - 1] if index > 0 else None
                    before = previous.lower if isinstance(previous, _Word) else None
                run.append(word)
                continue
            if run:
                # A long run keeps its last words (the head); its determiner no longer applies.
                if len(run) > MAX_PHRASE_WORDS:
                    run, before = run[-MAX_PHRASE_WORDS:], None
                candidate = _candidate(run, before, position)
                if candidate is not None:
                    found.append(candidate)
                position += 1
            run = []
    return found


def _candidate(run: Sequence[_Word], before: str | None, position: int) -> _Candidate | None:
    lowers = tuple(w.lower for w in run)
    if all(w in _VAGUE or w in _MODIFIERS for w in lowers) or sum(len(w) for w in lowers) < 3:
        return None
    if not all(w.isalpha() or "'" in w for w in lowers) or not _is_head(lowers[-1]):
        return None
    if len(lowers) == 1 and not _looks_like_noun(lowers[0], before):
        return None
    text = " ".join(w.text for w in run)
    determiner = _KEPT_DETERMINERS.get(before or "")
    if determiner:
        text = f"{determiner} {text}"
    return _Candidate(text=text, words=lowers, position=position, personal=before in {"my", "our"})


def extract_phrase(answer: str, *, question: str = "", theme: str = "") -> str | None:
    """The noun phrase a follow-up should pick up, or None when the answer offers none.

    Prefers phrases with words the question did not already use (the learner's own idea),
    then longer ones, then ones sharing a word with the theme, then the earliest.
    """
    templates = load_followup_templates()
    banned = templates.meta_words | templates.blocked_words
    candidates = _phrase_candidates(_usable_sentences(answer), banned)
    if not candidates:
        return None
    asked = {stem(w) for w in words(question)}
    themed = {stem(w) for w in words(theme)}
    counts: dict[str, int] = {}
    for candidate in candidates:
        counts[candidate.text.lower()] = counts.get(candidate.text.lower(), 0) + 1

    def score(candidate: _Candidate) -> tuple[float, int]:
        stems = [stem(w) for w in candidate.words]
        new = sum(1 for s in stems if s not in asked and s not in themed)
        on_theme = sum(1 for s in stems if s in themed)
        repeated = counts[candidate.text.lower()] - 1
        mine = 0.5 if candidate.personal else 0.0  # "your grandmother": their own example
        return (2.0 * new + 0.5 * on_theme + 0.5 * min(repeated, 2) + mine, -candidate.position)

    best = max(candidates, key=score)
    return best.text


def _strip_leading_noise(clause: Sequence[_Word]) -> list[_Word]:
    start = 0
    while start < len(clause) and clause[start].lower in _LEADING_NOISE:
        start += 1
    return list(clause[start:])


def _after_lead_in(clause: Sequence[_Word]) -> list[_Word] | None:
    lowers = [w.lower for w in clause]
    for lead in _LEAD_INS:
        for start in range(len(lowers) - len(lead) + 1):
            if tuple(lowers[start : start + len(lead)]) == lead:
                rest = list(clause[start + len(lead) :])
                if rest and rest[0].lower == "that":
                    rest = rest[1:]
                return rest
    return None


def _valid_claim(claim: Sequence[_Word], banned: frozenset[str]) -> bool:
    lowers = [w.lower for w in claim]
    low, high = CLAIM_WORDS
    if not low <= len(lowers) <= high or lowers[0] in _PERSONAL_STARTS:
        return False
    if any(w in banned or w in FILLED_PAUSES for w in lowers):
        return False
    return any(w in _CLAIM_VERBS for w in lowers)


def extract_claim(answer: str) -> str | None:
    """An opinion the learner stated, turned to address them ("you"), or None.

    Looks first for a lead-in ("I think ...", "in my opinion ..."), then for a clause with
    should, must, better or worse, then for the clause a "because" justifies. Personal
    statements ("I like ...") are not claims: Part 3 discusses ideas.
    """
    templates = load_followup_templates()
    banned = templates.meta_words | templates.blocked_words
    led: list[list[_Word]] = []
    marked: list[list[_Word]] = []
    for sentence in _usable_sentences(answer):
        clauses = _clauses(sentence)
        for index, clause in enumerate(clauses):
            rest = _after_lead_in(clause)
            if rest is not None:
                led.append(_strip_leading_noise(rest))
                continue
            body = _strip_leading_noise(clause)
            lowers = {w.lower for w in body}
            justified = index + 1 < len(clauses) and clauses[index + 1][0].lower == "because"
            if clause[0].lower != "because" and (lowers & _CLAIM_MARKERS or justified):
                marked.append(body)
    for claim in (*led, *marked):
        if _valid_claim(claim, banned):
            return " ".join(_flip(w) for w in claim)
    return None


# --- the follow-up ----------------------------------------------------------------------------
# Praise or judgement of the answer; "Is it a good thing that ...?" is still a fair question.
_FEEDBACK_WORDS: Final = re.compile(
    r"\b(?:(?:good|great|excellent|perfect|nice|interesting)\s+(?:answer|point|job|example)"
    r"|well done|correct|incorrect|mistakes?|errors?|band|score|grammar|vocabulary"
    r"|pronunciation|fluency)\b",
    re.IGNORECASE,
)


def acceptable_follow_up(text: str) -> bool:
    """Whether a follow-up written elsewhere (a language model) may be said as it is.

    One short question ending with "?", on one line, not a Part 2 "Describe" task, no
    feedback or talk of bands, nothing that reads as instructions, no blocked words.
    """
    if not text or text != text.strip() or not text.isprintable():
        return False
    if not text[:1].isupper() or not text.endswith("?") or text.count("?") != 1:
        return False
    if not 4 <= len(text.split()) <= MAX_FOLLOW_UP_WORDS:
        return False
    if re.match(r"describe\b", text, re.IGNORECASE) or _FEEDBACK_WORDS.search(text):
        return False
    blocked = load_followup_templates().blocked_words
    return not looks_like_instructions(text) and not blocked & set(words(text))


def _fill(template: FollowUpTemplate, *, phrase: str, claim: str, theme: str) -> str:
    return template.text.format(phrase=phrase, claim=claim, theme=theme)


def follow_up_question(
    answer: str,
    *,
    theme: str,
    question: str = "",
    seed: str | int = 0,
    recent: Sequence[str] = (),
) -> FollowUp:
    """A short, open Part 3 follow-up on ``answer`` (the learner's words, treated as data).

    ``theme`` is the cue card's theme, ``question`` the question just answered (its words are
    not worth echoing), ``seed`` makes the choice repeatable, and ``recent`` lists template ids
    already used in this test so the same wording is not heard twice in a row. The result
    always ends with "?", never starts with "Describe" and has at most 25 words.
    """
    templates = load_followup_templates()
    rng = random.Random(f"followup|{seed}")
    claim = extract_claim(answer)
    phrase = extract_phrase(answer, question=question, theme=theme)
    order: list[Basis] = []
    if claim and phrase:
        order = ["claim", "phrase"] if rng.random() < 0.5 else ["phrase", "claim"]
    elif claim:
        order = ["claim"]
    elif phrase:
        order = ["phrase"]
    order.append("theme")
    for basis in order:
        options = templates.for_basis(basis)
        fresh = [t for t in options if t.id not in recent] or list(options)
        rng.shuffle(fresh)
        for template in fresh:
            text = _fill(template, phrase=phrase or "", claim=claim or "", theme=theme)
            if len(text.split()) <= MAX_FOLLOW_UP_WORDS and not looks_like_instructions(text):
                return FollowUp(
                    text=text,
                    basis=basis,
                    phrase=phrase if "{phrase}" in template.text else None,
                    claim=claim if "{claim}" in template.text else None,
                    template_id=template.id,
                )
    # Only reached with a theme so long that no template fits: still a Part 3 question.
    fallback = templates.for_basis("theme")[0]
    return FollowUp(
        text=_fill(fallback, phrase="", claim="", theme=theme),
        basis="theme",
        template_id=fallback.id,
    )
