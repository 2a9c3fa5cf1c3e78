"""Grammar rules as data: the lexicon, its morphology and the token-pattern language.

``grammar_rules.toml`` holds the rules (ids, categories, patterns, corrections, explanations,
first-language tags) and the word lists; this module loads and validates it once, builds the
word classes and inflections the patterns use, and compiles each pattern into a matcher over
the tokens of one sentence. Rules whose logic does not fit a pattern name a ``matcher``
implemented in ``grammar_errors``.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Literal, cast, get_args

from shared.assessment.tokens import Token

RULES_PATH: Final = Path(__file__).with_name("grammar_rules.toml")

Category = Literal[
    "article",
    "agreement",
    "tense",
    "plural_countability",
    "preposition",
    "word_order",
    "missing_subject_or_verb",
    "comparative",
    "other",
]
CATEGORIES: Final[frozenset[str]] = frozenset(get_args(Category))
MAX_REPEAT: Final = 3


class RulesError(ValueError):
    """The rules data file is malformed (a bug in the data, caught by the unit tests)."""


def words(value: object) -> frozenset[str]:
    """A white-space separated word list from the data file, lower-cased."""
    if not isinstance(value, str):
        raise RulesError(f"expected a string of words, got {value!r}")
    return frozenset(value.lower().split())


def lines(value: object) -> list[list[str]]:
    """A multi-line table (one entry per line, fields separated by spaces)."""
    if not isinstance(value, str):
        raise RulesError(f"expected a multi-line string, got {value!r}")
    return [line.lower().split() for line in value.splitlines() if line.strip()]


NUMBER_WORDS: Final = words(
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred"
)


# ---------------------------------------------------------------------------------------------
# Morphology


def _ends_cvc(word: str) -> bool:
    """Consonant-vowel-consonant ending, the shape that doubles its last letter (stop)."""
    vowels = "aeiou"
    return (
        len(word) >= 3
        and word[-1] not in vowels + "wxy"
        and word[-2] in vowels
        and word[-3] not in vowels
    )


def _one_syllable(word: str) -> bool:
    return len(re.findall(r"[aeiouy]+", word)) == 1


# Two-syllable verbs stressed on the last syllable double the consonant (prefer -> preferred).
_DOUBLING_VERBS: Final = words(
    "admit commit occur prefer refer regret permit control forget begin omit submit "
    "transfer patrol compel expel propel rebel"
)


def _doubles(word: str) -> bool:
    return _ends_cvc(word) and (_one_syllable(word) or word in _DOUBLING_VERBS)


def third_person(base: str) -> str:
    special = {"be": "is", "have": "has", "do": "does", "go": "goes"}
    if base in special:
        return special[base]
    if re.search(r"(s|x|z|ch|sh|o)$", base):
        return base + "es"
    if re.search(r"[^aeiou]y$", base):
        return base[:-1] + "ies"
    return base + "s"


def regular_past(base: str) -> str:
    if base.endswith("e"):
        return base + "d"
    if re.search(r"[^aeiou]y$", base):
        return base[:-1] + "ied"
    if _doubles(base):
        return base + base[-1] + "ed"
    return base + "ed"


def present_participle(base: str) -> str:
    if base in {"be", "see", "agree", "free", "flee", "disagree", "guarantee"}:
        return base + "ing"
    if base.endswith("ie"):
        return base[:-2] + "ying"
    if base.endswith("e") and not base.endswith("ee"):
        return base[:-1] + "ing"
    if _doubles(base):
        return base + base[-1] + "ing"
    return base + "ing"


def regular_plural(noun: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + "s"


def regular_comparative(adjective: str, suffix: str) -> str:
    """bigger/biggest, easier/easiest, nicer/nicest, taller/tallest."""
    if adjective.endswith("e"):
        return adjective + suffix[1:]
    if re.search(r"[^aeiou]y$", adjective):
        return adjective[:-1] + "i" + suffix
    if _ends_cvc(adjective) and _one_syllable(adjective):
        return adjective + adjective[-1] + suffix
    return adjective + suffix


_AGENT_SUFFIXES: Final = ("ist", "ian", "ee", "eer")
_NOT_NOUN_ENDINGS: Final = ("s", "ly", "ing", "ed", "al", "ic", "ous", "ful", "ive", "able", "est")
_NOT_VERB_ENDINGS: Final = ("s", "ly", "ing", "ed", "tion", "ment", "ness", "ity", "er", "or")


@cache
def _wordfreq() -> ModuleType | None:
    # Imported on first use (~0.3 s): the rules work without it, with smaller word lists.
    try:
        return importlib.import_module("wordfreq")
    except ImportError:
        return None


@lru_cache(maxsize=65536)  # bounded: transcripts can hold any string
def zipf(word: str) -> float:
    """How common an English word is (Zipf scale, 0 when unknown or without wordfreq)."""
    module = _wordfreq()
    if module is None:
        return 0.0
    return float(module.zipf_frequency(word, "en", wordlist="small"))


def _verb_agent(word: str, lexicon: Lexicon) -> bool:
    """ "teacher", "player", "driver", "visitor": a listed verb plus -er/-or."""
    for suffix in ("er", "or"):
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if stem in lexicon.verbs or stem + "e" in lexicon.verbs:
                return True
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[:-1] in lexicon.verbs:
                return True
    return False


@dataclass(frozen=True, slots=True)
class VerbForms:
    base: str
    third: str
    past: str
    participle: str
    ing: str


@dataclass
class Lexicon:
    """Word classes and inflection tables built from the data file's lists."""

    classes: dict[str, frozenset[str]]
    verbs: dict[str, VerbForms]
    verb_of_form: dict[str, str]
    plural_of: dict[str, str]
    singular_of: dict[str, str]
    wrong_plural_fix: dict[str, str]
    comparative_of: dict[str, str]
    superlative_of: dict[str, str]
    consonant_sound: tuple[str, ...]
    vowel_sound: tuple[str, ...]

    def _unlisted(self, word: str) -> bool:
        """A plain word none of our lists knows (open to the frequency-based guesses)."""
        return (
            word.isalpha()
            and len(word) >= 4
            and word not in self.verb_of_form
            and word not in self.classes["closed_class"]
            and word not in self.classes["adj"]
            and word not in self.classes["uncountable"]
            and word not in self.classes["mass_too"]
            and word not in self.classes["comparative_form"]
            and word not in self.singular_of
        )

    def is_count_singular(self, word: str, broad: bool = False) -> bool:
        """A singular countable noun: listed, an agent noun ("scientist", "player"), or (broad)
        a word whose regular plural is common and that shows no sign of being a verb."""
        if word in self.plural_of:
            return True
        if not self._unlisted(word):
            return False
        if word.endswith(_AGENT_SUFFIXES) or _verb_agent(word, self):
            return True
        if not broad or word.endswith(_NOT_NOUN_ENDINGS):
            return False
        return (
            zipf(regular_plural(word)) >= 3.0
            and zipf(regular_past(word)) < 2.8
            and zipf(present_participle(word)) < 3.0
        )

    def singular_of_plural(self, word: str) -> str | None:
        """The singular a plural noun comes from (listed, or a guessed regular plural)."""
        if word in self.singular_of:
            return self.singular_of[word]
        if not word.endswith("s") or word.endswith("ss"):
            return None
        if word.endswith("ies"):
            stems = [word[:-3] + "y"]
        elif word.endswith("es"):
            stems = [word[:-2], word[:-1]]
        else:
            stems = [word[:-1]]
        for stem in stems:
            if regular_plural(stem) == word and self.is_count_singular(stem, broad=True):
                return stem
        return None

    def is_count_plural(self, word: str, broad: bool = False) -> bool:
        if word in self.singular_of:
            return True
        return broad and word not in self.verb_of_form and self.singular_of_plural(word) is not None

    def third_person_base(self, word: str) -> str | None:
        """The base of a third-person -s form ("generates" -> "generate"), listed or guessed."""
        if word in self.verb_of_form:
            base = self.verb_of_form[word]
            return base if self.verbs[base].third == word and base != word else None
        if not word.endswith("s") or word.endswith("ss"):
            return None
        stems = [word[:-3] + "y"] if word.endswith("ies") else [word[:-1], word[:-2]]
        for stem in stems:
            if third_person(stem) == word and self.is_verb_base(stem):
                return stem
        return None

    def is_verb_base(self, word: str) -> bool:
        """A verb base: listed, or a word whose -ed and -ing forms are both common."""
        if word in self.verbs:
            return True
        if not self._unlisted(word) or word.endswith(_NOT_VERB_ENDINGS):
            return False
        return zipf(regular_past(word)) >= 3.0 and zipf(present_participle(word)) >= 3.0

    def lemma_forms(self, lemma: str) -> frozenset[str]:
        """Every form of a verb (and of a noun of the same spelling): ~discuss."""
        found: set[str] = {lemma}
        verb = self.verbs.get(lemma)
        if verb:
            found |= {verb.third, verb.past, verb.participle, verb.ing}
        if lemma in self.plural_of:
            found.add(self.plural_of[lemma])
        return frozenset(found)


def _build_lexicon(data: Mapping[str, Any]) -> Lexicon:
    lex = data["lexicon"]
    classes: dict[str, frozenset[str]] = {}
    for name, value in lex.items():
        if name in {"irregular_verbs", "irregular_plurals", "wrong_plurals"}:
            continue
        if name in {"irregular_comparatives"}:
            continue
        classes[name] = words(value)

    verbs: dict[str, VerbForms] = {}
    for entry in lines(lex["irregular_verbs"]):
        if len(entry) != 3:
            raise RulesError(f"irregular verb needs base, past, participle: {entry}")
        base, past, participle = entry
        verbs[base] = VerbForms(
            base, third_person(base), past, participle, present_participle(base)
        )
    for base in sorted(words(lex["regular_verbs"])):
        if base in verbs:
            raise RulesError(f"verb listed twice: {base}")
        past = regular_past(base)
        verbs[base] = VerbForms(base, third_person(base), past, past, present_participle(base))

    verb_of_form: dict[str, str] = {}
    for verb in verbs.values():
        for form in (verb.base, verb.third, verb.past, verb.participle, verb.ing):
            verb_of_form.setdefault(form, verb.base)

    plural_of: dict[str, str] = {}
    for noun in words(lex["countable_nouns"]):
        plural_of[noun] = regular_plural(noun)
    for singular, plural in lines(lex["irregular_plurals"]):
        plural_of[singular] = plural
    singular_of = {plural: singular for singular, plural in plural_of.items()}
    wrong_plural_fix = {wrong: right for wrong, right in lines(lex["wrong_plurals"])}

    comparative_of: dict[str, str] = {}
    superlative_of: dict[str, str] = {}
    for adjective in words(lex["short_adjectives"]):
        comparative_of[adjective] = regular_comparative(adjective, "er")
        superlative_of[adjective] = regular_comparative(adjective, "est")
    for adjective, comparative, superlative in lines(lex["irregular_comparatives"]):
        comparative_of[adjective] = comparative
        superlative_of[adjective] = superlative

    also_other = classes["verbs_also_other"]
    nounish = set(plural_of) | set(classes["uncountable_nouns"])
    adjectival = classes["short_adjectives"] | classes["long_adjectives"]
    # Verbs whose past is spelled like the base ("put", "read") cannot show agreement.
    same_past = {base for base, verb in verbs.items() if verb.past == base}
    base_only = {
        base
        for base in verbs
        if base not in also_other
        and base not in nounish
        and base not in adjectival
        and base not in same_past
        and base not in {"be", "have", "do"}
    }
    participle_adjectives = classes["participle_adjectives"]
    # Past forms that are also other words ("found" a company, "saw" wood, "lay" a table).
    ambiguous_past = {"found", "saw", "lay", "fell", "bore", "rose", "wound", "felt", "left"}
    past_only = {
        verb.past
        for verb in verbs.values()
        if verb.past != verb.base
        and verb.past not in participle_adjectives
        and verb.past not in ambiguous_past
        and verb.past not in verb_of_form.keys() - {verb.past}
    }
    past_only |= {"was", "were"}
    past_only -= {form for form in past_only if form in verbs and form not in {"was", "were"}}
    past_not_pp = {
        verb.past
        for verb in verbs.values()
        if verb.past != verb.participle and verb.past not in ambiguous_past
    } | {"was", "were"}
    third_only = {verbs[base].third for base in base_only} - set(singular_of)

    comparatives = set(comparative_of.values()) - {"more", "less", "further"}
    superlatives = set(superlative_of.values()) - {"most", "least", "furthest"}
    adjectives = adjectival | classes["predicate_adjectives"]
    closed = frozenset().union(
        *(
            classes[name]
            for name in (
                "subject_pronouns",
                "object_pronouns",
                "possessives",
                "determiners",
                "modals",
                "do_forms",
                "be_forms",
                "have_forms",
                "prepositions",
                "conjunctions",
                "intensifiers",
                "frequency_adverbs",
            )
        )
    )
    pronoun_verbs = (
        frozenset(verbs) - classes["verbs_not_after_pronoun"] - same_past - {"be", "have", "do"}
    )
    classes.update(
        {
            "closed_class": closed
            | classes["other_function_words"]
            | {"this", "is", "was", "has", "does", "us", "yes", "always"},
            "pronoun_verbs": pronoun_verbs,
            "article_nouns": frozenset(plural_of)
            - classes["bare_singular_ok"]
            - classes["mass_too"],
            "countable_sg_strict": frozenset(plural_of) - classes["mass_too"],
            "adj_not_verb": frozenset(adjectives - set(verb_of_form)),
            "verb_base_not_pp": frozenset(
                base
                for base in base_only
                if verbs[base].participle != base and base not in {"become", "come", "run"}
            ),
            "subject_pronoun": classes["subject_pronouns"],
            "verb_base": frozenset(verbs),
            "verb_base_only": frozenset(base_only),
            "verb_3sg_only": frozenset(third_only),
            "verb_3sg": frozenset(
                verb.third for verb in verbs.values() if verb.base not in {"be", "have", "do"}
            ),
            "verb_past_only": frozenset(past_only),
            "verb_past_not_pp": frozenset(past_not_pp),
            "verb_ing": frozenset(verb.ing for verb in verbs.values()),
            "verb_lexical": frozenset(
                form
                for verb in verbs.values()
                if verb.base not in {"be", "have", "do"}
                for form in (verb.base, verb.third, verb.past)
            ),
            "countable_sg": frozenset(plural_of),
            "countable_pl": frozenset(singular_of),
            "countable_any": frozenset(plural_of) | frozenset(singular_of),
            "uncountable": classes["uncountable_nouns"],
            "short_adjective": classes["short_adjectives"],
            "short_adjective_cmp": classes["short_adjectives"] - {"far", "near", "close"},
            "long_adjective": classes["long_adjectives"],
            "adj": frozenset(adjectives),
            "comparative_form": frozenset(comparatives),
            "superlative_form": frozenset(superlatives),
            "premodifier": frozenset(
                adjectives
                | comparatives
                | superlatives
                | {"most", "more", "very", "really", "other", "only", "same", "own", "new"}
            ),
            "number_words": NUMBER_WORDS,
        }
    )
    consonant = tuple(sorted(words(lex["consonant_sound_words"])))
    vowel = tuple(sorted(words(lex["vowel_sound_words"])))
    classes["vowel_sound_uni"] = words(lex["vowel_sound_uni"])
    return Lexicon(
        classes=classes,
        verbs=verbs,
        verb_of_form=verb_of_form,
        plural_of=plural_of,
        singular_of=singular_of,
        wrong_plural_fix=wrong_plural_fix,
        comparative_of=comparative_of,
        superlative_of=superlative_of,
        consonant_sound=consonant,
        vowel_sound=vowel,
    )


# ---------------------------------------------------------------------------------------------
# Pattern language


def _plural_looking(word: str, lexicon: Lexicon) -> bool:
    """A word outside our lists that looks like a plural noun ("water bottles")."""
    return (
        len(word) > 3
        and word.endswith("s")
        and not word.endswith("ss")
        and word not in lexicon.verb_of_form
        and word not in lexicon.classes["closed_class"]
    )


PREDICATES: Final[dict[str, Callable[[str, Lexicon], bool]]] = {
    "plural_looking": _plural_looking,
    "count_sg": lambda word, lexicon: lexicon.is_count_singular(word, broad=True),
    "count_pl": lambda word, lexicon: lexicon.is_count_plural(word, broad=True),
    "verb_base_guess": lambda word, lexicon: lexicon.is_verb_base(word),
}


@dataclass(frozen=True, slots=True)
class Element:
    """One position of a pattern: the words a token must (or must not) be."""

    words: frozenset[str] = frozenset()
    predicates: tuple[str, ...] = ()
    number: bool = False
    start_anchor: bool = False
    end_anchor: bool = False
    negated: bool = False
    optional: bool = False
    repeat: bool = False

    def matches(self, lower: str, token: Token, lexicon: Lexicon) -> bool:
        hit = (
            lower in self.words
            or (self.number and (token.is_number or lower in NUMBER_WORDS))
            or any(PREDICATES[name](lower, lexicon) for name in self.predicates)
        )
        if self.negated:
            return token.is_word and not hit
        return hit

    def token_matches(self, token: Token, lexicon: Lexicon) -> bool:
        return self.matches(token.lower, token, lexicon)

    @property
    def consumes(self) -> bool:
        return bool(self.words or self.predicates or self.number or self.negated)


def parse_element(text: str, lexicon: Lexicon) -> Element:
    negated = text.startswith("!")
    if negated:
        text = text[1:]
    optional = text.endswith("?") and len(text) > 1
    repeat = text.endswith("*") and len(text) > 1
    if optional or repeat:
        text = text[:-1]
    found: set[str] = set()
    predicates: list[str] = []
    number = start_anchor = end_anchor = False
    for alternative in text.split("|"):
        if not alternative:
            raise RulesError(f"empty alternative in {text!r}")
        if alternative == "^":
            start_anchor = True
        elif alternative == "$":
            end_anchor = True
        elif alternative == "#":
            number = True
        elif alternative.startswith("@"):
            name = alternative[1:]
            if name in PREDICATES:
                predicates.append(name)
            elif name in lexicon.classes:
                found |= lexicon.classes[name]
            else:
                raise RulesError(f"unknown word class @{name}")
        elif alternative.startswith("~"):
            lemma = alternative[1:]
            if lemma not in lexicon.verbs and lemma not in lexicon.plural_of:
                raise RulesError(f"unknown lemma ~{lemma}")
            found |= lexicon.lemma_forms(lemma)
        else:
            found.add(alternative.lower())
    return Element(
        words=frozenset(found),
        predicates=tuple(predicates),
        number=number,
        start_anchor=start_anchor,
        end_anchor=end_anchor,
        negated=negated,
        optional=optional,
        repeat=repeat,
    )


@dataclass(frozen=True, slots=True)
class Pattern:
    elements: tuple[Element, ...]
    span_first: int
    span_last: int
    correction: str
    # The words of the pattern's most selective required element: a sentence with none of
    # them cannot match, which saves trying the pattern at every position.
    required: frozenset[str] | None = None
    # How many tokens before the required element a match can start.
    reach: int = 0


@dataclass(frozen=True, slots=True)
class Match:
    """A pattern matched at token positions: ``groups[k]`` holds element k's (start, end)."""

    groups: tuple[tuple[int, int], ...]
    pattern: Pattern

    @property
    def start(self) -> int:
        return self.groups[0][0]

    @property
    def end(self) -> int:
        return self.groups[-1][1]

    @property
    def span(self) -> tuple[int, int]:
        return self.groups[self.pattern.span_first][0], self.groups[self.pattern.span_last][1]


def compile_pattern(source: str, correction: str, lexicon: Lexicon) -> Pattern:
    elements: list[Element] = []
    span_first: int | None = None
    span_last: int | None = None
    for raw in source.split():
        text = raw
        opens = text.startswith("[")
        closes = text.endswith("]")
        text = text.strip("[]")
        if not text:
            raise RulesError(f"stray bracket in pattern {source!r}")
        if opens and span_first is None:
            span_first = len(elements)
        if closes:
            span_last = len(elements)
        elements.append(parse_element(text, lexicon))
    if span_first is None and span_last is None:
        span_first, span_last = 0, len(elements) - 1
    if span_first is None or span_last is None or span_last < span_first:
        raise RulesError(f"unbalanced span brackets in pattern {source!r}")
    for index in range(span_first, span_last + 1):
        if not elements[index].consumes:
            raise RulesError(f"anchors cannot be inside the span: {source!r}")
    for reference in re.findall(r"\$(\d+)", correction):
        if not 1 <= int(reference) <= len(elements):
            raise RulesError(f"correction refers to ${reference} beyond the pattern {source!r}")
    plain = [
        element.words
        for element in elements
        if element.words
        and not (element.optional or element.repeat or element.negated)
        and not (element.predicates or element.number or element.start_anchor)
        and not element.end_anchor
    ]
    required = min(plain, key=len) if plain else None
    reach = 0
    if required is not None:
        anchor = next(index for index, element in enumerate(elements) if element.words is required)
        reach = sum(MAX_REPEAT if element.repeat else 1 for element in elements[:anchor])
    return Pattern(tuple(elements), span_first, span_last, correction, required, reach)


def _is_end(tokens: Sequence[Token], position: int) -> bool:
    return all(not token.is_word for token in tokens[position:])


def match_at(
    pattern: Pattern,
    tokens: Sequence[Token],
    position: int,
    lexicon: Lexicon,
    lowers: Sequence[str] | None = None,
) -> Match | None:
    """The first way ``pattern`` matches the tokens starting at ``position``, if any."""
    words = lowers if lowers is not None else [token.lower for token in tokens]

    def accepts(element: Element, at: int) -> bool:
        return element.matches(words[at], tokens[at], lexicon)

    def step(index: int, at: int, groups: tuple[tuple[int, int], ...]) -> Match | None:
        if index == len(pattern.elements):
            return Match(groups, pattern)
        element = pattern.elements[index]
        options: list[int] = []
        if element.start_anchor and at == 0:
            options.append(at)
        if element.end_anchor and _is_end(tokens, at):
            options.append(at)
        if element.consumes:
            if element.repeat:
                end = at
                while end < len(tokens) and end - at < MAX_REPEAT:
                    if not accepts(element, end):
                        break
                    end += 1
                options.extend(range(end, at - 1, -1))
            else:
                if at < len(tokens) and accepts(element, at):
                    options.append(at + 1)
                if element.optional:
                    options.append(at)
        for end in options:
            found = step(index + 1, end, (*groups, (at, end)))
            if found:
                return found
        return None

    return step(0, position, ())


# ---------------------------------------------------------------------------------------------
# Corrections

_OBJECT_OF: Final = {"i": "me", "he": "him", "she": "her", "we": "us", "they": "them"}
_BE_OF: Final = {"i": "am", "he": "is", "she": "is", "it": "is", "this": "is", "that": "is"}
_BE_PAST_OF: Final = {"i": "was", "he": "was", "she": "was", "it": "was"}
_PLURAL_VERB: Final = {
    "is": "are",
    "was": "were",
    "has": "have",
    "isn't": "aren't",
    "wasn't": "weren't",
    "hasn't": "haven't",
    "doesn't": "don't",
    "does": "do",
}
_SINGULAR_VERB: Final = {value: key for key, value in _PLURAL_VERB.items()}
_NEGATIVE_ANY: Final = {
    "nothing": "anything",
    "nobody": "anybody",
    "nowhere": "anywhere",
    "never": "ever",
    "none": "any",
}
_TELL: Final = {"say": "tell", "says": "tells", "said": "told", "saying": "telling"}
_FIX_COMPARATIVE: Final = {
    "gooder": "better",
    "goodest": "best",
    "badder": "worse",
    "baddest": "worst",
    "worser": "worse",
    "worsest": "worst",
    "bestest": "best",
    "funner": "more fun",
}
_SINGULAR_QUANTIFIERS: Final = frozenset({"a", "an", "much", "one", "no"})
_CONTRACTED_BE: Final = re.compile(r"^(.*?)'(s|re|m)$")


def starts_with_vowel_sound(word: str, lexicon: Lexicon) -> bool:
    lower = word.lower()
    if lower in lexicon.classes["vowel_sound_uni"]:
        return True

    def listed(entries: tuple[str, ...]) -> bool:
        return any(
            lower.startswith(entry[:-1]) if entry.endswith("*") else lower == entry
            for entry in entries
        )

    if listed(lexicon.consonant_sound):
        return False
    if listed(lexicon.vowel_sound):
        return True
    return lower[:1] in set("aeiou")


def inflect(word: str, form: str, lexicon: Lexicon, following: str = "") -> str:
    """``word`` in the named form; unknown words come back unchanged."""
    lower = word.lower()
    base = lexicon.verb_of_form.get(lower, lower)
    verb = lexicon.verbs.get(base)
    simple: dict[str, Callable[[], str]] = {
        "base": lambda: base,
        "3sg": lambda: verb.third if verb else third_person(base),
        "past": lambda: verb.past if verb else regular_past(base),
        "pp": lambda: verb.participle if verb else regular_past(base),
        "ing": lambda: verb.ing if verb else present_participle(base),
        "plural": lambda: lexicon.plural_of.get(lower, regular_plural(lower)),
        "singular": lambda: lexicon.singular_of_plural(lower) or lower,
        "comparative": lambda: lexicon.comparative_of.get(lower, lower),
        "superlative": lambda: lexicon.superlative_of.get(lower, lower),
        "an": lambda: "an" if starts_with_vowel_sound(following, lexicon) else "a",
        "be": lambda: _BE_OF.get(_subject_of(lower), "are"),
        "be_past": lambda: _BE_PAST_OF.get(_subject_of(lower), "were"),
        "have": lambda: "has" if _subject_of(lower) in {"he", "she", "it"} else "have",
        "do": lambda: "does" if _subject_of(lower) in {"he", "she", "it"} else "do",
        "dont": lambda: "doesn't" if _subject_of(lower) in {"he", "she", "it"} else "don't",
        "plural_verb": lambda: _PLURAL_VERB.get(lower, lower),
        "singular_verb": lambda: _SINGULAR_VERB.get(lower, lower),
        "there_be": lambda: "is" if lower in _SINGULAR_QUANTIFIERS else "are",
        "subject": lambda: _subject_of(lower) if _CONTRACTED_BE.match(lower) else "",
        "negative_any": lambda: _NEGATIVE_ANY.get(lower, lower),
        "tell_form": lambda: _TELL.get(lower, lower),
        "fix_comparative": lambda: _FIX_COMPARATIVE.get(lower, lower),
        "lower": lambda: lower,
        "object": lambda: _OBJECT_OF.get(lower, lower),
    }
    if form not in simple:
        raise RulesError(f"unknown form :{form}")
    return simple[form]()


def _subject_of(word: str) -> str:
    contracted = _CONTRACTED_BE.match(word)
    return contracted.group(1) if contracted else word


CORRECTION_FORMS: Final = words(
    "base 3sg past pp ing plural singular comparative superlative an be be_past have do dont "
    "plural_verb singular_verb there_be subject negative_any tell_form fix_comparative lower object"
)
_REFERENCE = re.compile(r"\$(\d+|L)(?::([a-z0-9_]+))?")


def render_correction(match: Match, tokens: Sequence[Token], lexicon: Lexicon) -> str:
    """The correction template filled from the matched tokens, in the span's letter case."""

    def shown(position: int) -> str:
        # A capitalised first word that moves inside the sentence loses its capital.
        text = tokens[position].text
        if position == 0 and text != "I" and text[1:].islower():
            return text.lower()
        return text

    def group_text(index: int) -> tuple[str, str]:
        start, end = match.groups[index]
        text = " ".join(shown(position) for position in range(start, end))
        following = tokens[end].text if end < len(tokens) else ""
        return text, following

    def substitute(reference: re.Match[str]) -> str:
        which, form = reference.group(1), reference.group(2)
        index = len(match.groups) - 1 if which == "L" else int(which) - 1
        text, following = group_text(index)
        if not text or form is None:
            return text
        return inflect(text, form, lexicon, following)

    rewritten = " ".join(_REFERENCE.sub(substitute, match.pattern.correction).split())
    return match_case(tokens[match.span[0]].text, rewritten)


def match_case(original: str, rewritten: str) -> str:
    """Capitalise the rewrite when the original started a sentence with a capital."""
    if original[:1].isupper() and rewritten[:1].islower() and original.lower() != "i":
        return rewritten[:1].upper() + rewritten[1:]
    if original[:1].islower() and rewritten[:1].isupper() and not rewritten.startswith("I "):
        return rewritten[:1].lower() + rewritten[1:]
    return rewritten


# ---------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class Rule:
    """One rule from the data file."""

    id: str
    category: Category
    confidence: float
    explanation: str
    first_languages: frozenset[str]
    patterns: tuple[Pattern, ...] = ()
    matcher: str | None = None
    parser_confirms: bool = False
    not_after: Element | None = None
    not_before: Element | None = None
    unless_previous: frozenset[str] = frozenset()
    unless_next: frozenset[str] = frozenset()
    statement_only: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)

    def setting_words(self, key: str) -> frozenset[str]:
        return words(self.settings[key])


@dataclass(frozen=True)
class Thresholds:
    report: float
    first_language_boost: float
    parser_boost: float
    parser_max_words: int


@dataclass(frozen=True)
class RuleBook:
    version: str
    thresholds: Thresholds
    languages: Mapping[str, str]
    lexicon: Lexicon
    rules: tuple[Rule, ...]

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


_RULE_KEYS: Final = frozenset(
    {
        "id",
        "category",
        "confidence",
        "explanation",
        "first_languages",
        "pattern",
        "correction",
        "variants",
        "matcher",
        "parser",
        "not_after",
        "not_before",
        "unless_previous",
        "unless_next",
        "statement_only",
    }
)
_RULE_ID = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")


def _rule(raw: Mapping[str, Any], lexicon: Lexicon, languages: Mapping[str, str]) -> Rule:
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
        raise RulesError(f"bad rule id {rule_id!r}")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise RulesError(f"{rule_id}: unknown category {category!r}")
    confidence = raw.get("confidence")
    if not isinstance(confidence, float) or not 0 < confidence <= 1:
        raise RulesError(f"{rule_id}: confidence must be a number in (0, 1]")
    explanation = raw.get("explanation")
    if not isinstance(explanation, str) or not 10 <= len(explanation) <= 120:
        raise RulesError(f"{rule_id}: needs a one-line explanation (10-120 characters)")
    first_languages = frozenset(raw.get("first_languages", ()))
    unknown = first_languages - set(languages)
    if unknown:
        raise RulesError(f"{rule_id}: unknown language codes {sorted(unknown)}")
    patterns: list[Pattern] = []
    if "pattern" in raw:
        patterns.append(compile_pattern(raw["pattern"], raw.get("correction", ""), lexicon))
    for variant in raw.get("variants", ()):
        patterns.append(compile_pattern(variant["pattern"], variant["correction"], lexicon))
    matcher = raw.get("matcher")
    if bool(patterns) == bool(matcher):
        raise RulesError(f"{rule_id}: needs exactly one of pattern(s) or matcher")
    for pattern in patterns:
        for _, form in re.findall(r"\$(\d+|L)(?::([a-z0-9_]+))?", pattern.correction):
            if form and form not in CORRECTION_FORMS:
                raise RulesError(f"{rule_id}: unknown correction form :{form}")
    parser = raw.get("parser")
    if parser not in (None, "confirm"):
        raise RulesError(f"{rule_id}: parser must be 'confirm' when given")
    settings = {key: value for key, value in raw.items() if key not in _RULE_KEYS}
    if patterns and settings:
        raise RulesError(f"{rule_id}: unknown keys {sorted(settings)}")

    def element(key: str) -> Element | None:
        return parse_element(raw[key], lexicon) if key in raw else None

    def word_set(key: str) -> frozenset[str]:
        return frozenset(raw.get(key, "").replace("|", " ").lower().split())

    return Rule(
        id=rule_id,
        category=cast(Category, category),
        confidence=confidence,
        explanation=explanation,
        first_languages=first_languages,
        patterns=tuple(patterns),
        matcher=matcher,
        parser_confirms=parser == "confirm",
        not_after=element("not_after"),
        not_before=element("not_before"),
        unless_previous=word_set("unless_previous"),
        unless_next=word_set("unless_next"),
        statement_only=bool(raw.get("statement_only", False)),
        settings=settings,
    )


def parse_rule_book(data: Mapping[str, Any]) -> RuleBook:
    """Validate the data file's content and build the rule book (raises ``RulesError``)."""
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise RulesError("the rules file needs a version")
    languages = dict(data["languages"])
    if set(data["categories"]["names"]) != CATEGORIES:
        raise RulesError("categories in the data file differ from GrammarIssue's")
    lexicon = _build_lexicon(data)
    rules = tuple(_rule(raw, lexicon, languages) for raw in data["rules"])
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RulesError(f"duplicate rule id {rule.id}")
        seen.add(rule.id)
    limits = data["thresholds"]
    thresholds = Thresholds(
        report=float(limits["report"]),
        first_language_boost=float(limits["first_language_boost"]),
        parser_boost=float(limits["parser_boost"]),
        parser_max_words=int(limits["parser_max_words"]),
    )
    return RuleBook(version, thresholds, languages, lexicon, rules)


@cache
def load_rule_book(path: Path = RULES_PATH) -> RuleBook:
    """The rule book, parsed once per process (about 20 ms, on first use, not at import)."""
    with path.open("rb") as handle:
        return parse_rule_book(tomllib.load(handle))


def iter_pattern_matches(
    rule: Rule,
    tokens: Sequence[Token],
    lexicon: Lexicon,
    lowers: Sequence[str] | None = None,
) -> Iterator[Match]:
    """Every place in one sentence where one of the rule's patterns matches."""
    words = lowers if lowers is not None else [token.lower for token in tokens]
    present = frozenset(words)
    for pattern in rule.patterns:
        if pattern.required is None:
            starts: Sequence[int] = range(len(tokens))
        elif present.isdisjoint(pattern.required):
            continue
        else:
            starts = sorted(
                {
                    start
                    for at, word in enumerate(words)
                    if word in pattern.required
                    for start in range(max(0, at - pattern.reach), at + 1)
                }
            )
        resume = 0
        for position in starts:
            if position < resume:
                continue
            found = match_at(pattern, tokens, position, lexicon, words)
            if found is not None:
                yield found
                resume = max(found.span[1], position + 1)
