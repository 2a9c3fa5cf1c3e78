"""Rule-based grammar error detection with corrections, explanations and first-language hints.

``find_grammar_issues`` runs the rules of ``grammar_rules.toml`` over each sentence of a
transcript and returns the errors it is confident about. Precision comes first: a learner
who sees correct English flagged stops trusting the feedback, so every rule has a confidence
and only those at or above the report threshold are returned. A learner's first language
raises the rules typical of it, which is how medium-precision rules get switched on.

Link-grammar (Debian ``python3-link-grammar``) is used when it can be imported: for rules
marked ``parser = "confirm"`` whose confidence falls just short of the threshold, it parses
the sentence as said and as corrected, and a sentence it rejects before and accepts after
lifts the candidate over the threshold. Without it the rules run on their own.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Final

from shared.assessment.grammar_rules import (
    NUMBER_WORDS,
    PREDICATES,
    Lexicon,
    Rule,
    RuleBook,
    inflect,
    iter_pattern_matches,
    load_rule_book,
    match_case,
    render_correction,
    starts_with_vowel_sound,
    words,
)
from shared.assessment.tokens import Token, split_sentences, tokenize
from shared.models.assessment import GrammarIssue

__all__ = ["find_grammar_issues", "parser_status", "rule_book_version"]

# Rules are never certain; a cap below 1 keeps a raised confidence from reading as a fact.
_MAX_CONFIDENCE: Final = 0.97


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible error: tokens ``first..last`` (inclusive) of one sentence and their rewrite."""

    rule: Rule
    first: int
    last: int
    correction: str
    confidence: float = 0.0


class Sentence:
    """One sentence's tokens with the look-ups the matchers share."""

    def __init__(self, tokens: Sequence[Token], lexicon: Lexicon) -> None:
        self.tokens = tokens
        self.lexicon = lexicon
        self.lowers = [token.lower for token in tokens]

    def lower(self, index: int) -> str:
        return self.lowers[index] if 0 <= index < len(self.lowers) else ""

    def has(self, index: int, name: str) -> bool:
        return self.lower(index) in self.lexicon.classes[name]

    def is_word(self, index: int) -> bool:
        return 0 <= index < len(self.tokens) and self.tokens[index].is_word

    def clause_start(self, index: int) -> bool:
        """No word before ``index``, or a comma, semicolon or clause-joining word right before."""
        return index == 0 or not self.is_word(index - 1) or self.has(index - 1, "clause_starters")

    @cached_property
    def is_question(self) -> bool:
        return bool(self.tokens) and self.tokens[-1].text == "?"

    @cached_property
    def word_set(self) -> frozenset[str]:
        return frozenset(self.lowers)

    def candidate(self, rule: Rule, first: int, last: int, correction: str) -> Candidate:
        return Candidate(rule, first, last, match_case(self.tokens[first].text, correction))


Matcher = Callable[[Rule, Sentence], Iterable[Candidate]]
MATCHERS: dict[str, Matcher] = {}


def matcher(name: str) -> Callable[[Matcher], Matcher]:
    def register(function: Matcher) -> Matcher:
        MATCHERS[name] = function
        return function

    return register


# ---------------------------------------------------------------------------------------------
# Articles


def _article_target(sentence: Sentence, index: int) -> bool:
    """Whether the word after a/an is one we can judge by its sound (not a letter or acronym)."""
    if not sentence.is_word(index):
        return False
    text = sentence.tokens[index].text
    return text.isalpha() and len(text) > 1 and not text.isupper()


@matcher("a_an")
def a_an(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    lexicon = sentence.lexicon
    wanted = "a" if rule.id.endswith("vowel_sound") else "an"
    for index, lower in enumerate(sentence.lowers):
        if lower != wanted or not _article_target(sentence, index + 1):
            continue
        vowel = starts_with_vowel_sound(sentence.tokens[index + 1].text, lexicon)
        if (wanted == "a") == vowel:
            yield sentence.candidate(rule, index, index, "an" if vowel else "a")


def _is_noun_like(sentence: Sentence, index: int) -> bool:
    return (
        sentence.has(index, "countable_any")
        or sentence.has(index, "uncountable")
        or sentence.lower(index) in {"people", "things"}
    )


def _looks_plural(sentence: Sentence, index: int) -> bool:
    lower = sentence.lower(index)
    return PREDICATES["plural_looking"](lower, sentence.lexicon) if lower else False


def _premodifiers_end(sentence: Sentence, index: int, limit: int = 3) -> int:
    """Index of the first token from ``index`` that is not an adjective-like premodifier."""
    end = index
    while end - index < limit and sentence.has(end, "premodifier"):
        end += 1
    return end


_ADJECTIVE_ENDINGS: Final = ("ous", "ful", "less", "ible", "ive")
_INTENSIFYING: Final = words("very really quite so too most more less rather fairly")
_FINITE_AFTER_SUBJECT: Final = ("be_forms", "modals", "modals_negative", "have_forms", "do_forms")
_OPEN_AFTER_NOUN: Final = words(
    "that which who where when whose whom to because and but or so if than as"
)


def _adjective_like(sentence: Sentence, index: int) -> bool:
    lower = sentence.lower(index)
    if sentence.has(index, "premodifier") or lower in _INTENSIFYING:
        return True
    return (
        len(lower) >= 6
        and lower.endswith(_ADJECTIVE_ENDINGS)
        and not _is_noun_like(sentence, index)
        and lower not in sentence.lexicon.verb_of_form
    )


def _noun_phrase_start(sentence: Sentence, noun: int) -> int:
    """Leftmost index of the adjectives and intensifiers in front of ``noun``."""
    start = noun
    while start > 0 and start > noun - 4 and _adjective_like(sentence, start - 1):
        start -= 1
    return start


def _closed_after_noun(sentence: Sentence, index: int) -> bool:
    """Whether the word after a noun shows the noun phrase ends there (no compound noun)."""
    if not sentence.is_word(index):
        return True
    lower = sentence.lower(index)
    return (
        lower in _OPEN_AFTER_NOUN
        or sentence.has(index, "prepositions")
        or any(sentence.has(index, name) for name in _FINITE_AFTER_SUBJECT)
        or sentence.has(index, "verb_3sg_only")
        or sentence.has(index, "verb_past_only")
        or lower in _MID_ADVERBS
    )


_DETERMINER_CLASSES: Final = ("determiners", "possessives", "quantifiers_plural", "number_words")


@matcher("missing_article")
def missing_article(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    context = str(rule.settings["context"])
    governors = rule.setting_words("governors") if "governors" in rule.settings else frozenset()
    fixed = {phrase.strip() for phrase in str(rule.settings.get("fixed_phrases", "")).split("|")}
    definite = rule.setting_words("definite_after") if "definite_after" in rule.settings else None
    lexicon = sentence.lexicon
    broad = bool(rule.settings.get("broad", False))
    for noun, lower in enumerate(sentence.lowers):
        listed = sentence.has(noun, "article_nouns") or (
            lower not in lexicon.plural_of and lexicon.is_count_singular(lower)
        )
        if broad:
            # Only the words the lists do not know: the listed ones have their own rules.
            if listed or lower in lexicon.plural_of or not lexicon.is_count_singular(lower, True):
                continue
        elif not listed:
            continue
        if noun > 0 and sentence.tokens[noun].text[:1].isupper():
            continue  # a name or a title
        following = sentence.lower(noun + 1)
        if not _closed_after_noun(sentence, noun + 1) or following in {"and", "or"}:
            continue
        if following == "of" and lower in sentence.lexicon.classes["bare_before_of"]:
            continue
        start = _noun_phrase_start(sentence, noun)
        governor = start - 1
        before = sentence.lower(governor)
        if any(sentence.has(governor, name) for name in _DETERMINER_CLASSES):
            continue
        bare_left = before.endswith("'s") or before in {"'", "and", "or", "of", ""}
        if bare_left and context != "subject":
            continue
        if sentence.is_word(governor) and sentence.tokens[governor].is_number:
            continue
        if context == "subject":
            if not sentence.clause_start(start) or sentence.has(governor, "prepositions"):
                continue
            after = noun + 1
            if not any(sentence.has(after, name) for name in _FINITE_AFTER_SUBJECT) and not (
                sentence.has(after, "verb_3sg_only") or sentence.has(after, "verb_past_only")
            ):
                continue
            article = "the"
        else:
            if before not in governors or f"{before} {lower}" in fixed:
                continue
            article = "the" if definite is not None and before in definite else "a"
        if sentence.lower(start) == "more":
            continue  # "get more chance": the plural is the likelier fix
        if before == "to" and start == noun and lower in lexicon.verbs:
            continue  # "to benefit the society": an infinitive
        if context == "subject" and sentence.lower(start) == "most":
            continue  # "most student": the plural is the fix
        if sentence.lower(start) == "most" or sentence.has(start, "superlative_form"):
            article = "the"
        if lower.endswith("ing") and sentence.has(governor, "be_forms"):
            continue  # "how she is feeling": a verb, not a noun
        first = sentence.tokens[start].text
        if start == 0 and first[1:].islower():
            first = first.lower()
        if article == "a" and starts_with_vowel_sound(first, sentence.lexicon):
            article = "an"
        yield sentence.candidate(rule, start, start, f"{article} {first}")


@matcher("a_with_plural")
def a_with_plural(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    for index, lower in enumerate(sentence.lowers):
        if lower not in {"a", "an"}:
            continue
        noun = _premodifiers_end(sentence, index + 1)
        word = sentence.lower(noun)
        if word == "people" or not sentence.lexicon.is_count_plural(word, broad=True):
            continue
        if _is_noun_like(sentence, noun + 1) or sentence.lower(noun + 1).startswith("'"):
            continue
        if noun == index + 1:
            singular = inflect(sentence.tokens[noun].text, "singular", sentence.lexicon)
            article = "an" if starts_with_vowel_sound(singular, sentence.lexicon) else "a"
            yield sentence.candidate(rule, index, noun, f"{article} {singular}")
        else:
            yield sentence.candidate(rule, index, index, "")


# ---------------------------------------------------------------------------------------------
# Agreement

_SUBJUNCTIVE_TRIGGERS: Final = words(
    "suggest suggested suggests recommend recommended insist insisted demand demanded "
    "request requested propose proposed require required essential vital imperative"
)
_CLAUSE_VERBS: Final = words(
    "think thinks thought believe believes believed know knows knew guess hope hoped say "
    "says said mean means sure realize realise"
)
_MID_ADVERBS: Final = words(
    "always usually often sometimes never also really still just only rarely seldom "
    "normally generally even"
)


def _subject_position(sentence: Sentence, index: int) -> bool:
    """Whether a pronoun at ``index`` is a subject, not the object of a verb or preposition."""
    previous = sentence.lower(index - 1)
    if sentence.has(index - 1, "modals") or sentence.has(index - 1, "modals_negative"):
        return False
    if sentence.has(index - 1, "do_forms") or sentence.has(index - 1, "be_forms"):
        return False
    if sentence.has(index - 1, "have_forms") or previous in {"to", "or", "nor"}:
        return False
    if previous == "and" and sentence.lower(index) in {"i", "you"}:
        return False  # "you and I are"
    if sentence.has(index - 1, "bare_infinitive_triggers"):
        return False
    # Object pronouns look the same: "it" and "you" right after a verb or a preposition are
    # objects ("I like it", "for you").
    after_verb = sentence.has(index - 1, "verb_lexical") or sentence.has(index - 1, "prepositions")
    if sentence.lower(index) in {"it", "you"} and previous not in _CLAUSE_VERBS and after_verb:
        return previous in {"that", "because", "if"}
    return not sentence.has(index - 1, "prepositions") or previous in {"that", "because", "if"}


def _verb_after(sentence: Sentence, index: int) -> int:
    """Index of the verb after a subject, skipping one mid-position adverb ("she always go")."""
    return index + 2 if sentence.lower(index + 1) in _MID_ADVERBS else index + 1


@matcher("third_person_base_verb")
def third_person_base_verb(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    if sentence.word_set & _SUBJUNCTIVE_TRIGGERS:
        return
    for index, lower in enumerate(sentence.lowers):
        if lower not in {"he", "she", "it"} or not _subject_position(sentence, index):
            continue
        verb = _verb_after(sentence, index)
        if not _pronoun_verb(sentence, verb):
            continue
        if sentence.lower(verb) == "need" and sentence.lower(verb + 1) == "not":
            continue
        text = sentence.tokens[verb].text
        yield sentence.candidate(rule, verb, verb, inflect(text, "3sg", sentence.lexicon))


def _pronoun_verb(sentence: Sentence, index: int) -> bool:
    """A verb base right after a subject pronoun (where a noun cannot stand)."""
    if sentence.has(index, "pronoun_verbs"):
        return True
    word = sentence.lower(index)
    lexicon = sentence.lexicon
    return (
        word not in lexicon.verbs
        and word not in lexicon.classes["verbs_not_after_pronoun"]
        and lexicon.is_verb_base(word)
    )


_PLURAL_SUBJECT_NOUNS: Final = frozenset({"people", "children", "men", "women", "police"})


@matcher("plural_subject_s_verb")
def plural_subject_s_verb(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    for index, lower in enumerate(sentence.lowers):
        if lower in {"i", "you", "we", "they"}:
            if not _subject_position(sentence, index):
                continue
        elif lower in _PLURAL_SUBJECT_NOUNS or sentence.has(index, "countable_pl"):
            window = sentence.lowers[max(0, index - 4) : index]
            if "of" in window or {"who", "that", "which"} & set(window):
                continue
            previous = index - 1
            if not (
                sentence.clause_start(index)
                or sentence.has(previous, "determiners")
                or sentence.has(previous, "quantifiers_plural")
                or sentence.has(previous, "adj")
                or sentence.lower(previous) in {"most", "some", "all", "many", "other"}
            ):
                continue
        else:
            continue
        verb = _verb_after(sentence, index)
        pronoun = lower in {"i", "you", "we", "they"}
        # After a pronoun no noun can stand, so "they needs" counts although "needs" is
        # also a plural noun.
        if sentence.has(verb, "verb_3sg_only") or (pronoun and sentence.has(verb, "verb_3sg")):
            base = inflect(sentence.tokens[verb].text, "base", sentence.lexicon)
        elif pronoun and sentence.lower(verb) not in (sentence.lexicon.verb_of_form):
            guessed = sentence.lexicon.third_person_base(sentence.lower(verb))
            if guessed is None:
                continue
            base = match_case(sentence.tokens[verb].text, guessed)
        else:
            continue
        yield sentence.candidate(rule, verb, verb, base)


_BE_FOR: Final = {
    "i": {"is": "am", "are": "am", "'re": "am", "was": "", "were": "was"},
    "he": {"are": "is", "am": "is", "were": "was"},
    "she": {"are": "is", "am": "is", "were": "was"},
    "it": {"are": "is", "am": "is", "were": "was"},
    "we": {"is": "are", "am": "are", "was": "were"},
    "you": {"is": "are", "am": "are", "was": "were"},
    "they": {"is": "are", "am": "are", "was": "were"},
}
_HYPOTHETICAL: Final = frozenset({"if", "wish", "though", "suppose", "imagine", "would"})


@matcher("be_form")
def be_form(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    for index, lower in enumerate(sentence.lowers):
        fixes = _BE_FOR.get(lower)
        verb = sentence.lower(index + 1)
        if not fixes or not fixes.get(verb):
            continue
        previous = sentence.lower(index - 1)
        if previous in {"and", "or", "nor", "than", "as"} or sentence.has(
            index - 1, "prepositions"
        ):
            continue
        object_like = lower in {"it", "you"} and not sentence.clause_start(index)
        if object_like and previous not in _CLAUSE_VERBS:
            continue
        if verb == "were" and set(sentence.lowers[:index]) & _HYPOTHETICAL:
            continue
        if sentence.has(index - 1, "modals") or sentence.has(index - 1, "do_forms"):
            continue
        yield sentence.candidate(rule, index + 1, index + 1, fixes[verb])


@matcher("have_has")
def have_has(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    if sentence.word_set & _SUBJUNCTIVE_TRIGGERS:
        return
    for index, lower in enumerate(sentence.lowers):
        verb = _verb_after(sentence, index)
        target = sentence.lower(verb)
        if lower in {"he", "she", "it"} and target == "have":
            fix = "has"
        elif lower in {"i", "you", "we", "they"} and target == "has":
            fix = "have"
        else:
            continue
        if not _subject_position(sentence, index):
            continue
        yield sentence.candidate(rule, verb, verb, fix)


@matcher("do_does")
def do_does(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    third = {"he", "she", "it"}
    others = {"i", "you", "we", "they"}
    for index, lower in enumerate(sentence.lowers):
        following = sentence.lower(index + 1)
        if lower in third and following in {"don't", "do"}:
            if following == "do" and sentence.lower(index + 2) != "not":
                continue
            fix = "doesn't" if following == "don't" else "does"
        elif lower in others and following in {"doesn't", "does"}:
            if following == "does" and sentence.lower(index + 2) != "not":
                continue
            fix = "don't" if following == "doesn't" else "do"
        else:
            continue
        if not _subject_position(sentence, index):
            continue
        yield sentence.candidate(rule, index + 1, index + 1, fix)
    # Questions and tags: "why don't he", "doesn't they?"
    for index, lower in enumerate(sentence.lowers[:-1]):
        subject = sentence.lower(index + 1)
        if lower == "don't" and subject in third:
            yield sentence.candidate(rule, index, index, "doesn't")
        elif lower == "doesn't" and subject in others:
            yield sentence.candidate(rule, index, index, "don't")


_MANY_WORDS: Final = words(
    "many several few various numerous two three four five six seven eight nine ten "
    "twenty hundreds thousands millions lots some no"
)


@matcher("there_is_plural")
def there_is_plural(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    for index, lower in enumerate(sentence.lowers):
        if lower == "there's":
            be, after = index, index + 1
            fix = "there are"
        elif lower == "there" and sentence.lower(index + 1) in {"is", "was"}:
            be, after = index + 1, index + 2
            fix = "are" if sentence.lower(be) == "is" else "were"
        else:
            continue
        placed = sentence.has(index - 1, "verb_lexical") or sentence.has(index - 1, "prepositions")
        if placed and sentence.lower(index - 1) not in _CLAUSE_VERBS | {"that", "because", "if"}:
            continue  # "go there is", "over there": the place, not "there is"
        word = sentence.lower(after)
        if word in {"some", "no", "lots"} or word in _MANY_WORDS:
            noun = _premodifiers_end(sentence, after + 1)
            plural = sentence.has(noun, "countable_pl") or sentence.lower(noun) == "of"
            if word in {"some", "no"} and not sentence.has(noun, "countable_pl"):
                continue
            if word == "lots" and sentence.lower(after + 1) != "of":
                continue
            counted = word not in {"some", "no", "lots"}
            if counted and not plural and not sentence.has(noun, "countable_sg"):
                continue
        elif sentence.tokens[after].is_number if after < len(sentence.tokens) else False:
            if sentence.lower(after) == "1":
                continue
        else:
            noun = _premodifiers_end(sentence, after)
            if not sentence.has(noun, "countable_pl") or noun > after + 1:
                continue
            if _is_noun_like(sentence, noun + 1):
                continue
        yield sentence.candidate(rule, be, be, fix)


_NOT_SUBJECT_NOUNS: Final = words(
    "day week month year time weekend night morning evening afternoon hour minute moment "
    "period season decade century summer winter spring autumn"
)
_SUBJECT_DETERMINERS: Final = words("the my your his her our their this that every each a an")


def _clause_subject_head(sentence: Sentence, index: int) -> int | None:
    """The head noun of a noun phrase that starts a clause at ``index``, if it is one."""
    if not sentence.clause_start(index):
        return None
    head = index
    if sentence.lower(index) in _SUBJECT_DETERMINERS:
        head = index + 1
    head = _premodifiers_end(sentence, head)
    return head if head > index or sentence.has(head, "uncountable") else None


@matcher("noun_subject_base_verb")
def noun_subject_base_verb(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    if sentence.word_set & _SUBJUNCTIVE_TRIGGERS:
        return
    for index, lower in enumerate(sentence.lowers):
        determined = lower in _SUBJECT_DETERMINERS
        if not determined and not sentence.has(index, "uncountable"):
            continue
        head = _clause_subject_head(sentence, index)
        if head is None:
            continue
        singular = sentence.has(head, "countable_sg") and determined
        if not (singular or sentence.has(head, "uncountable")):
            continue
        if sentence.lower(head) in _NOT_SUBJECT_NOUNS:
            continue
        verb = _verb_after(sentence, head)
        if not sentence.has(verb, "verb_base_only"):
            # "the school try to", "my country need more": a verb that is also a noun counts
            # only when an object or "to" follows it.
            word = sentence.lower(verb)
            if word not in sentence.lexicon.verbs or word in {"be", "have", "do"}:
                continue
            if sentence.has(verb, "verbs_not_after_pronoun") and word != "need":
                continue
            after = verb + 1
            if not (
                sentence.lower(after) in {"to", "it", "you"}
                or sentence.has(after, "articles")
                or sentence.has(after, "possessives")
                or sentence.has(after, "object_pronouns")
            ):
                continue
        text = sentence.tokens[verb].text
        yield sentence.candidate(rule, verb, verb, inflect(text, "3sg", sentence.lexicon))


_PLURAL_BE_FIX: Final = {
    "is": "are",
    "was": "were",
    "has": "have",
    "isn't": "aren't",
    "wasn't": "weren't",
    "hasn't": "haven't",
    "doesn't": "don't",
}
_SINGULAR_BE_FIX: Final = {value: key for key, value in _PLURAL_BE_FIX.items()}
_MEASURE_NOUNS: Final = words(
    "dollars pounds euros kilometers kilometres miles meters metres percent"
)


@matcher("noun_subject_be")
def noun_subject_be(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    """ "The students is", "my friend are": a clause-initial noun phrase and its verb."""
    lexicon = sentence.lexicon
    for index in range(len(sentence.tokens)):
        head = _clause_subject_head(sentence, index)
        if head is None or head != _premodifiers_end(sentence, head):
            continue
        verb = head + 1
        word = sentence.lower(verb)
        noun = sentence.lower(head)
        plural = noun in _PLURAL_SUBJECT_NOUNS or lexicon.is_count_plural(noun, broad=True)
        if plural and word in _PLURAL_BE_FIX:
            if sentence.has(head, "time_units") or noun in _MEASURE_NOUNS:
                continue  # "two years is a long time"
            fix = _PLURAL_BE_FIX[word]
        elif (
            sentence.lower(index) in _SUBJECT_DETERMINERS
            and sentence.lower(index) not in {"a", "an"}
            and lexicon.is_count_singular(noun, broad=True)
            and noun not in lexicon.classes["collective_nouns"]
            and word in _SINGULAR_BE_FIX
        ):
            fix = _SINGULAR_BE_FIX[word]
        else:
            continue
        if "and" in sentence.lowers[max(0, index - 1) : head]:
            continue
        yield sentence.candidate(rule, verb, verb, fix)


# ---------------------------------------------------------------------------------------------
# Tense

_PAST_OF_AUX: Final = {
    "am": "was",
    "is": "was",
    "are": "were",
    "have": "had",
    "has": "had",
    "don't": "didn't",
    "doesn't": "didn't",
    "do": "did",
    "does": "did",
    "can": "could",
    "can't": "couldn't",
    "isn't": "wasn't",
    "aren't": "weren't",
}
_CLAUSE_BREAKERS: Final = words(
    "and but because so when if that which who while although though after before until "
    "since now then"
)


def _clause_bounds(sentence: Sentence, index: int) -> tuple[int, int]:
    """The tokens around ``index`` up to punctuation or a clause-joining word."""
    start = index
    while (
        start > 0
        and sentence.is_word(start - 1)
        and sentence.lower(start - 1) not in (_CLAUSE_BREAKERS)
    ):
        start -= 1
    end = index
    while (
        end + 1 < len(sentence.tokens)
        and sentence.is_word(end + 1)
        and sentence.lower(end + 1) not in _CLAUSE_BREAKERS
    ):
        end += 1
    return start, end


def _past_marker_positions(rule: Rule, sentence: Sentence) -> list[int]:
    markers = rule.setting_words("markers")
    last_nouns = rule.setting_words("last_nouns")
    found = []
    for index, lower in enumerate(sentence.lowers):
        if lower == "yesterday" or (
            lower == "ago" and index > 0 and sentence.has(index - 1, "time_units")
        ):
            found.append(index)
        elif lower == "last" and sentence.lower(index + 1) in last_nouns:
            if sentence.lower(index - 1) not in {
                "the",
                "this",
                "my",
                "his",
                "her",
                "our",
                "their",
                "your",
                "at",
                "for",
                "since",
            }:
                found.append(index)
        elif lower in markers and lower not in {"yesterday", "ago"}:
            found.append(index)
    return found


@matcher("past_marker_present_verb")
def past_marker_present_verb(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    blockers = rule.setting_words("blockers")
    # The subject starts its clause or follows the time words ("Last year we visit").
    after_marker = rule.setting_words("last_nouns") | {"yesterday", "ago", "then"}
    if sentence.word_set & {"will", "going", "tomorrow", "next", "'ll"}:
        return
    for marker in _past_marker_positions(rule, sentence):
        start, end = _clause_bounds(sentence, marker)
        clause = set(sentence.lowers[start : end + 1])
        if clause & blockers:
            continue
        for index in range(start, end + 1):
            if sentence.lower(index) not in {"i", "you", "he", "she", "we", "they"}:
                continue
            if index > start and not (
                sentence.has(index - 1, "time_units") or sentence.lower(index - 1) in after_marker
            ):
                continue
            verb = index + 1
            lower = sentence.lower(verb)
            if lower in _PAST_OF_AUX:
                fix = _PAST_OF_AUX[lower]
            elif sentence.has(verb, "pronoun_verbs") or sentence.has(verb, "verb_3sg_only"):
                fix = inflect(sentence.tokens[verb].text, "past", sentence.lexicon)
            else:
                continue
            yield sentence.candidate(rule, verb, verb, fix)


_HABITUAL: Final = words(
    "every each usually often always sometimes never per daily weekly next will tomorrow going soon"
)


def _since_point(sentence: Sentence, index: int) -> bool:
    """ "since 2010", "since last year", "since I was a child", "since my childhood"."""
    following = sentence.lower(index + 1)
    if sentence.is_word(index + 1) and sentence.tokens[index + 1].is_number:
        return True
    if following in {"i", "we", "he", "she", "they"}:
        return sentence.lower(index + 2) in {"was", "were"}
    if following in {"my", "the"}:
        return sentence.lower(index + 2) in {"childhood", "beginning", "age", "start"}
    if following in sentence.lexicon.classes["weekdays_months"]:
        return True
    return following in {"last", "childhood", "then", "birth", "yesterday"}


def _for_duration(sentence: Sentence, index: int) -> bool:
    """ "for three years", "for many years", "for a long time"."""
    amount = sentence.lower(index + 1)
    unit = sentence.lower(index + 2)
    if amount == "a" and unit == "long" and sentence.lower(index + 3) == "time":
        return True
    counted = amount in {"many", "several", "two", "three", "four", "five", "six", "ten"} or (
        sentence.is_word(index + 1) and sentence.tokens[index + 1].is_number
    )
    return counted and unit in sentence.lexicon.classes["time_units_plural"]


@matcher("since_present_simple")
def since_present_simple(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    verbs = rule.setting_words("verbs")
    if sentence.word_set & _HABITUAL:
        return
    for index, lower in enumerate(sentence.lowers):
        if lower not in {"since", "for"}:
            continue
        if lower == "since" and not _since_point(sentence, index):
            continue
        if lower == "for" and not _for_duration(sentence, index):
            continue
        # The verb comes before "since/for" in the same clause: "I live here since 2010".
        start = index
        while (
            start > 0
            and sentence.is_word(start - 1)
            and sentence.lower(start - 1) not in (_CLAUSE_BREAKERS - {"since"})
        ):
            start -= 1
        for verb in range(start + 1, index):
            subject = sentence.lower(verb - 1)
            if subject not in {"i", "you", "he", "she", "we", "they", "it"}:
                continue
            word = sentence.lower(verb)
            if word not in verbs:
                continue
            if lower == "for" and word in {"play", "plays", "use", "uses"}:
                continue
            if word in {"have", "has"} and not (
                sentence.has(verb + 1, "determiners")
                or sentence.has(verb + 1, "possessives")
                or _is_noun_like(sentence, verb + 1)
            ):
                continue  # "she has lived here since 2015" is already right
            have = "has" if subject in {"he", "she", "it"} else "have"
            if word in {"am", "is", "are"}:
                participle = "been"
            else:
                participle = inflect(word, "pp", sentence.lexicon)
            yield sentence.candidate(rule, verb, verb, f"{have} {participle}")
            break


_BE_PRESENT_3SG: Final = frozenset({"is", "'s", "it's", "he's", "she's", "that's", "isn't"})
_BE_PRESENT_OTHER: Final = frozenset(
    {"am", "are", "'m", "'re", "i'm", "you're", "we're", "they're", "aren't"}
)
_BE_PAST: Final = frozenset({"was", "were", "wasn't", "weren't"})
_DO_SO: Final = frozenset({"do", "did", "does", "done"})


def _bare_after_be(sentence: Sentence, verb: int) -> bool:
    """ "would be decrease": a verb that is also a noun, where a bare noun would be odd."""
    word = sentence.lower(verb)
    lexicon = sentence.lexicon
    return (
        word in lexicon.verbs
        and lexicon.verbs[word].participle != word
        and not any(
            sentence.has(verb, name)
            for name in ("mass_too", "uncountable", "bare_singular_ok", "adj", "closed_class")
        )
        and word not in {"be", "have", "do"}
    )


@matcher("be_bare_verb")
def be_bare_verb(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    """ "It is make me happy", "they are live here", "it was went": one verb too many."""
    lexicon = sentence.lexicon
    intransitive = lexicon.classes["intransitive_verbs"]
    for index, lower in enumerate(sentence.lowers):
        if lower not in _BE_PRESENT_3SG | _BE_PRESENT_OTHER | _BE_PAST | {"be", "been"}:
            continue
        verb = index + 1
        word = sentence.lower(verb)
        if set(sentence.lowers[:index]) & _DO_SO:
            continue  # "all you have to do is follow the rules"
        text = sentence.tokens[verb].text if verb < len(sentence.tokens) else ""
        subject = inflect(sentence.tokens[index].text, "subject", lexicon)
        if sentence.has(verb, "verb_3sg_only") and lower in _BE_PRESENT_3SG:
            fix = f"{subject} {text}".strip()
        elif sentence.has(verb, "verb_past_not_pp") and lower in _BE_PAST:
            fix = text
        elif (
            sentence.has(verb, "verb_base_only")
            or (lower in {"be", "been"} and _bare_after_be(sentence, verb))
            or (
                # A verb we only guess from word frequencies may be an adjective ("is
                # secure"): trust it only with an object or "by" after it.
                word not in lexicon.verbs
                and lexicon.is_verb_base(word)
                and (
                    sentence.lower(verb + 1) == "by"
                    or sentence.has(verb + 1, "determiners")
                    or sentence.has(verb + 1, "object_pronouns")
                )
            )
        ):
            following = sentence.lower(verb + 1)
            active = (
                word in intransitive
                or _is_noun_like(sentence, verb + 1)
                or sentence.has(verb + 1, "determiners")
                or sentence.has(verb + 1, "object_pronouns")
                or following in {"it", "you"}
            )
            if following == "by" or not active or lower in {"be", "been"}:
                yield sentence.candidate(rule, verb, verb, inflect(text, "pp", lexicon))
                continue
            if lower in _BE_PAST:
                form = "past"
            elif lower in _BE_PRESENT_3SG:
                form = "3sg"
            else:
                form = "base"
            fix = f"{subject} {inflect(text, form, lexicon)}".strip()
        else:
            continue
        yield sentence.candidate(rule, index, verb, fix)


_FUTURE_UNITS: Final = words("years year months month weeks week days decades century centuries")
_ATTITUDE_VERBS: Final = words(
    "hope hopes think thinks believe believes want wants expect expects plan plans wish "
    "wishes know knows guess suppose predict imagine feel feels need needs bet doubt "
    "am is are"
)
_TIME_CLAUSE: Final = words(
    "if when unless until before after once whether as while wherever whenever"
)


def _future_marker_positions(sentence: Sentence) -> list[int]:
    found = []
    for index, lower in enumerate(sentence.lowers):
        if lower == "tomorrow":
            found.append(index)
        elif lower == "next" and sentence.lower(index + 1) in _FUTURE_UNITS | {
            "summer",
            "winter",
            "time",
            "generation",
        }:
            if sentence.lower(index - 1) not in {"the", "for", "over", "in", "during"}:
                found.append(index)
        elif (
            lower == "future"
            and sentence.lower(index - 1) == "the"
            and sentence.lower(index - 2) in {"in", "near"}
        ):
            found.append(index)
        elif lower == "in" and sentence.lower(index + 2) in _FUTURE_UNITS:
            amount = sentence.lower(index + 1)
            if (amount in NUMBER_WORDS or amount.isdigit() or amount in {"a", "few"}) and (
                sentence.lower(index + 3) not in {"ago", "time", "old"}
            ):
                found.append(index)
    return found


@matcher("future_marker_present")
def future_marker_present(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    if sentence.word_set & {"will", "'ll", "going", "would", "ago", "yesterday", "last"}:
        return
    markers = _future_marker_positions(sentence)
    if not markers:
        return
    for marker in markers:
        start, end = _clause_bounds(sentence, marker)
        if start > 0 and sentence.lower(start - 1) in _TIME_CLAUSE:
            continue
        if sentence.lower(start) in _TIME_CLAUSE:
            continue
        for index in range(start, end + 1):
            subject = sentence.lower(index)
            if subject == "there" and sentence.lower(index + 1) in {"is", "are"}:
                yield sentence.candidate(rule, index + 1, index + 1, "will be")
                break
            pronoun = subject in {"i", "you", "he", "she", "we", "they", "it"}
            if not pronoun and not (
                subject == "people" or sentence.lexicon.is_count_plural(subject, broad=True)
            ):
                continue
            verb = index + 1
            if not pronoun and not sentence.has(verb, "verb_base_only"):
                continue
            word = sentence.lower(verb)
            if word in _ATTITUDE_VERBS or sentence.has(verb + 1, "verb_ing"):
                continue
            if not (sentence.has(verb, "pronoun_verbs") or sentence.has(verb, "verb_3sg_only")):
                continue
            base = inflect(sentence.tokens[verb].text, "base", sentence.lexicon)
            yield sentence.candidate(rule, verb, verb, f"will {base}")
            break


# ---------------------------------------------------------------------------------------------
# Plurals


@matcher("wrong_plural")
def wrong_plural(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    fixes = sentence.lexicon.wrong_plural_fix
    for index, lower in enumerate(sentence.lowers):
        if lower in fixes:
            yield sentence.candidate(rule, index, index, fixes[lower])


_PLURAL_QUANTIFIERS: Final = words(
    "many several few various numerous both these those multiple countless"
) | words(
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty "
    "fifty hundred hundreds thousands millions"
)


def _plural_quantifier_end(sentence: Sentence, index: int) -> int | None:
    """Where the noun phrase starts when a plural quantifier starts at ``index``."""
    lower = sentence.lower(index)
    if lower in _PLURAL_QUANTIFIERS:
        if lower == "few" and sentence.lower(index - 1) not in {"a", "very", "quite"}:
            return None
        # "these/those" as a pronoun object ("I like those"), not a determiner, is fine.
        after_object_slot = sentence.has(index - 1, "verb_lexical") or sentence.has(
            index - 1, "prepositions"
        )
        if (
            lower in {"these", "those"}
            and not sentence.clause_start(index)
            and not (after_object_slot)
        ):
            return None
        return index + 1
    if sentence.is_word(index) and sentence.tokens[index].is_number:
        value = sentence.tokens[index].text.replace(",", "")
        if value.isdigit() and 2 <= int(value) < 1000:
            return index + 1
        return None
    if lower == "lot" and sentence.lower(index - 1) == "a" and sentence.lower(index + 1) == "of":
        return index + 2
    if lower in {"lots", "plenty", "number", "couple"} and sentence.lower(index + 1) == "of":
        if lower in {"number", "couple"} and sentence.lower(index - 1) != "a":
            return None
        return index + 2
    return None


@matcher("quantifier_singular_noun")
def quantifier_singular_noun(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    for index in range(len(sentence.tokens)):
        start = _plural_quantifier_end(sentence, index)
        if start is None:
            continue
        noun = (
            start
            if sentence.lower(start) in {"kind", "type", "sort"}
            else (_premodifiers_end(sentence, start))
        )
        word = sentence.lower(noun)
        if word in {"kind", "type", "sort"}:
            if sentence.lower(index) not in {"these", "those"}:
                continue
        elif sentence.lower(start - 1) == "of":
            # "a lot of", "plenty of" also take uncountables: only nouns we know are counted.
            if not sentence.has(noun, "countable_sg_strict"):
                continue
        elif not sentence.lexicon.is_count_singular(word, broad=True):
            continue
        following = sentence.lower(noun + 1)
        if _is_noun_like(sentence, noun + 1) or following in {"old", "'s"}:
            continue
        if sentence.lexicon.is_count_plural(following, broad=True) or _looks_plural(
            sentence, noun + 1
        ):
            continue  # "these tooth pastes": a compound noun
        text = sentence.tokens[noun].text
        yield sentence.candidate(rule, noun, noun, inflect(text, "plural", sentence.lexicon))


@matcher("singular_determiner_plural_noun")
def singular_determiner_plural_noun(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    for index, lower in enumerate(sentence.lowers):
        if lower not in {"this", "each", "every", "another"}:
            continue
        noun = _premodifiers_end(sentence, index + 1)
        if not sentence.lexicon.is_count_plural(sentence.lower(noun), broad=True):
            continue
        if _is_noun_like(sentence, noun + 1) or sentence.lower(noun + 1).startswith("'"):
            continue
        if lower == "this":
            if not _closed_after_noun(sentence, noun + 1):
                continue  # "this offers you": a verb, not a plural noun
            yield sentence.candidate(rule, index, index, "these")
        else:
            text = sentence.tokens[noun].text
            yield sentence.candidate(rule, noun, noun, inflect(text, "singular", sentence.lexicon))


# ---------------------------------------------------------------------------------------------
# Word order and linking words

_WH_WORDS: Final = frozenset({"what", "where", "when", "why", "how", "who", "which"})
_QUESTION_AUX: Final = words("am is are was were can could will would should have has did do does")


@matcher("question_order")
def question_order(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    if not sentence.is_question or not sentence.tokens or sentence.lower(0) not in _WH_WORDS:
        return
    subject = 1
    if sentence.lower(0) == "how" and sentence.lower(1) in {"much", "many", "long", "often"}:
        return  # "how many people are ..." is fine; leave the subject questions alone
    if sentence.lower(subject) not in {"i", "you", "he", "she", "it", "we", "they"}:
        return
    aux = sentence.lower(subject + 1)
    if aux not in _QUESTION_AUX:
        return
    if aux in {"is", "are", "am", "was", "were"} and not sentence.is_word(subject + 2):
        return  # "Who you are?" is rare; "what it is?" reads as an echo
    first, second = sentence.tokens[subject].text, sentence.tokens[subject + 1].text
    yield sentence.candidate(rule, subject, subject + 1, f"{second} {first}")


@matcher("question_missing_do")
def question_missing_do(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    if not sentence.is_question or not sentence.tokens or sentence.lower(0) not in _WH_WORDS:
        return
    if sentence.lower(0) in {"who", "which"}:
        return
    subject = sentence.lower(1)
    if subject not in {"i", "you", "he", "she", "it", "we", "they"}:
        return
    verb = 2
    if not (sentence.has(verb, "pronoun_verbs") or sentence.has(verb, "verb_3sg_only")):
        return
    do = "does" if subject in {"he", "she", "it"} else "do"
    text = sentence.tokens[1].text
    yield sentence.candidate(rule, 1, 1, f"{do} {text}")


@matcher("although_but")
def although_but(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    first = next((i for i, token in enumerate(sentence.tokens) if token.is_word), None)
    if first is None:
        return
    opener = sentence.lower(first)
    if opener == "even" and sentence.lower(first + 1) in {"though", "if"}:
        opener = "although"
    if opener in {"although", "though"}:
        joiner = "but"
    elif opener == "because":
        joiner = "so"
    else:
        return
    for index in range(first + 2, len(sentence.tokens)):
        if sentence.lower(index) != joiner:
            continue
        if joiner == "so" and not (
            sentence.lower(index - 1) == ","
            and (
                sentence.has(index + 1, "subject_pronoun") or sentence.has(index + 1, "determiners")
            )
        ):
            continue
        if joiner == "but" and sentence.lower(index + 1) in {"also", "not"}:
            continue
        yield sentence.candidate(rule, index, index, "")
        return


# ---------------------------------------------------------------------------------------------
# The optional parser


class LinkParser:
    """Whether link-grammar links every word of a sentence (it accepts it as English)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: tuple[Any, Any, Any] | None = None
        self._failed = False

    def _load(self) -> tuple[Any, Any, Any] | None:
        if self._state is None and not self._failed:
            try:
                module = importlib.import_module("linkgrammar")
            except ImportError:
                self._failed = True
                return None
            # Only complete parses: looking for the best partial parse of a broken
            # sentence costs 10-100x more and the judge needs just yes or no.
            options = module.ParseOptions(
                min_null_count=0, max_null_count=0, linkage_limit=1, max_parse_time=1
            )
            options.verbosity = 0
            self._state = (module, module.Dictionary("en"), options)
        return self._state

    @property
    def available(self) -> bool:
        with self._lock:
            return self._load() is not None

    def accepts(self, text: str) -> bool | None:
        """True when the whole sentence links, False when not, None when it cannot tell."""
        with self._lock:
            state = self._load()
            if state is None:
                return None
            module, dictionary, options = state
            try:
                linkages = module.Sentence(text, dictionary, options).parse()
            except module.LG_Error:  # timer exhausted or a tokenizer failure
                return None
            return len(linkages) > 0


_PARSER = LinkParser()


def parser_status() -> str:
    """'link-grammar' when the optional parser loads, 'unavailable' otherwise."""
    return "link-grammar" if _PARSER.available else "unavailable"


def rule_book_version() -> str:
    return load_rule_book().version


# ---------------------------------------------------------------------------------------------
# Running the rules


def _pattern_candidates(rule: Rule, sentence: Sentence) -> Iterator[Candidate]:
    if rule.statement_only and sentence.is_question:
        return
    lexicon = sentence.lexicon
    tokens = sentence.tokens
    for found in iter_pattern_matches(rule, tokens, lexicon, sentence.lowers):
        if (
            rule.not_after
            and found.start > 0
            and rule.not_after.token_matches(tokens[found.start - 1], lexicon)
        ):
            continue
        if (
            rule.not_before
            and found.end < len(tokens)
            and rule.not_before.token_matches(tokens[found.end], lexicon)
        ):
            continue
        if rule.unless_previous & set(sentence.lowers[max(0, found.start - 3) : found.start]):
            continue
        if rule.unless_next & set(sentence.lowers[found.end : found.end + 3]):
            continue
        first, end = found.span
        correction = render_correction(found, tokens, lexicon)
        yield Candidate(rule, first, end - 1, correction)


def _candidates(book: RuleBook, sentence: Sentence) -> Iterator[Candidate]:
    for rule in book.rules:
        if rule.matcher:
            yield from MATCHERS[rule.matcher](rule, sentence)
        else:
            yield from _pattern_candidates(rule, sentence)


def _rewrite(text: str, tokens: Sequence[Token], candidate: Candidate) -> str:
    start, end = tokens[candidate.first].start, tokens[candidate.last].end
    return re.sub(r"\s+", " ", f"{text[:start]}{candidate.correction}{text[end:]}").strip()


class _Judge:
    """Link-grammar's verdict on one sentence (parsed at most once as said) and its rewrites."""

    def __init__(self, book: RuleBook, text: str, sentence: Sentence, enabled: bool) -> None:
        self.book = book
        self.sentence = sentence
        tokens = sentence.tokens
        self.text = text[tokens[0].start : tokens[-1].end] if tokens else ""
        self.offset = tokens[0].start if tokens else 0
        words = sum(token.is_word for token in tokens)
        self.enabled = enabled and 0 < words <= book.thresholds.parser_max_words
        self._before: bool | None = None
        self._parsed = False

    def _accepted_before(self) -> bool | None:
        if not self._parsed:
            self._before = _PARSER.accepts(self.text)
            self._parsed = True
        return self._before

    def confirms(self, candidate: Candidate) -> bool:
        """Whether the parser rejects the sentence as said and accepts it corrected."""
        if not (self.enabled and candidate.rule.parser_confirms):
            return False
        if self._accepted_before() is not False:
            return False
        shifted = [
            Token(token.text, token.start - self.offset, token.end - self.offset, token.index)
            for token in self.sentence.tokens
        ]
        return _PARSER.accepts(_rewrite(self.text, shifted, candidate)) is True


def _normalise_language(code: str | None, book: RuleBook) -> str | None:
    if not code:
        return None
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in book.languages else None


def find_grammar_issues(
    text: str,
    *,
    first_language: str | None = None,
    turn_id: str | None = None,
    use_parser: bool | None = None,
    min_confidence: float | None = None,
) -> list[GrammarIssue]:
    """Grammar errors in ``text`` with spans (character offsets into ``text``) and fixes.

    Args:
        first_language: the learner's first language (ISO 639-1, e.g. "uz", "pt-BR"); rules
            typical of it get a higher confidence and are tagged with the code.
        turn_id: copied onto each issue so it can point back to the answer.
        use_parser: None uses link-grammar when installed; False never does.
        min_confidence: the report threshold (default: the data file's ``thresholds.report``).

    Returns:
        Non-overlapping issues in text order, the more confident one kept where two overlap.
    """
    book = load_rule_book()
    language = _normalise_language(first_language, book)
    threshold = book.thresholds.report if min_confidence is None else min_confidence
    parser_enabled = use_parser is not False
    tokens = tokenize(text)
    found: list[tuple[Candidate, int, int]] = []
    for sentence_tokens in split_sentences(tokens, text):
        sentence = Sentence(sentence_tokens, book.lexicon)
        judge = _Judge(book, text, sentence, parser_enabled)
        for candidate in _candidates(book, sentence):
            said = text[
                sentence_tokens[candidate.first].start : sentence_tokens[candidate.last].end
            ]
            if candidate.correction == said:
                continue  # nothing to change
            confidence = candidate.rule.confidence
            if language and language in candidate.rule.first_languages:
                confidence += book.thresholds.first_language_boost
            # The parser can lift a candidate just below the threshold (never lower one):
            # it also accepts many learner errors, so its "fine" is no evidence of correctness.
            boost = book.thresholds.parser_boost
            if threshold - boost <= confidence < threshold and judge.confirms(candidate):
                confidence += boost
            confidence = min(confidence, _MAX_CONFIDENCE)
            if confidence < threshold:
                continue
            start = sentence_tokens[candidate.first].start
            end = sentence_tokens[candidate.last].end
            found.append((replace(candidate, confidence=confidence), start, end))
    return _issues(_without_overlaps(found), text, language, turn_id)


def _without_overlaps(
    found: list[tuple[Candidate, int, int]],
) -> list[tuple[Candidate, int, int]]:
    kept: list[tuple[Candidate, int, int]] = []
    for item in sorted(found, key=lambda entry: (-entry[0].confidence, entry[1])):
        _, start, end = item
        if all(end <= other_start or start >= other_end for _, other_start, other_end in kept):
            kept.append(item)
    return sorted(kept, key=lambda entry: entry[1])


def _issues(
    found: list[tuple[Candidate, int, int]],
    text: str,
    language: str | None,
    turn_id: str | None,
) -> list[GrammarIssue]:
    issues = []
    for candidate, start, end in found:
        rule = candidate.rule
        issues.append(
            GrammarIssue(
                rule_id=rule.id,
                category=rule.category,
                turn_id=turn_id,
                start=start,
                end=end,
                text=text[start:end],
                correction=candidate.correction,
                explanation=rule.explanation,
                confidence=round(candidate.confidence, 3),
                first_language_pattern=language
                if language and language in rule.first_languages
                else None,
            )
        )
    return issues
