"""Grammatical range from the transcript, by word patterns (no parser, nothing to download).

Range (the metric names are also the features ``text_scoring`` reads):

- ``subordinate_rate``, ``relative_rate``, ``complement_rate``: adverbial clauses ("because",
  "although", "as soon as" ...), relative clauses ("which", "who" ... not opening a
  question) and reported or thought clauses ("I think (that) it ...") per 100 words.
- ``clauses_per_sentence`` and ``complex_sentence_share``: one main clause per sentence plus
  the dependent ones above and coordinated clauses ("and they ..."). They need sentence
  punctuation, so they are left out of the metrics for an unpunctuated transcript.
- ``structure_range``: how many of these structure types appear at least once: conditional,
  passive, perfect, continuous, modal, comparative, superlative, "going to" future,
  "used to", wish/hypothetical; ``structure_rate`` counts them per 100 words and
  ``modal_range`` counts the different modal verbs.

Accuracy signals (``accuracy_signal_rate``, per 100 words): a handful of patterns that are
almost never correct English: "he have", "they has", "can to go", "didn't wanted",
"more better", "a apple", "an book", "a homework", "because is important", "I not like",
"with they", "is make", "the life is". They are a coarse accuracy measure for calibration
(next to the rule-based checker's issue rate when ``grammar_errors`` is installed) and never
shown to the learner as errors: the checker, with its measured precision and its corrections,
does that.

Evidence: short verbatim quotes of the complex structures used (one per type) and the
counts, plus a note on the structure types not heard.
"""

from __future__ import annotations

import functools
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from shared.assessment.text import (
    SUBJECT_PRONOUNS,
    Passage,
    PhraseIndex,
    Sentence,
    compile_phrase,
    passages,
)
from shared.models.assessment import AnalyzerResult, AnswerText, Evidence

ANALYZER: Final = "complexity"
VERSION: Final = "1.0.0"
DATA_FILE: Final = Path(__file__).with_name("complexity_data.toml")

QUOTE_WORDS: Final = 10  # a quoted structure: its first word and up to nine after it
MAX_QUOTES: Final = 5

STRUCTURES: Final = (
    "conditional",
    "passive",
    "perfect",
    "continuous",
    "modal",
    "comparative",
    "superlative",
    "going_to",
    "used_to",
    "hypothetical",
)
STRUCTURE_NAMES: Final = {
    "conditional": "a conditional",
    "passive": "the passive",
    "perfect": "a perfect tense",
    "continuous": "a continuous tense",
    "modal": "a modal verb",
    "comparative": "a comparison",
    "superlative": "a superlative",
    "going_to": "'going to' for the future",
    "used_to": "'used to' for past habits",
    "hypothetical": "a wish or an unreal situation",
}


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_BE: Final = frozenset({"am", "is", "are", "was", "were", "be", "been", "being"})
_HAVE: Final = frozenset({"have", "has", "had", "'ve", "i've", "we've", "you've", "they've"})
_ADVERBS_BETWEEN: Final = frozenset(
    {"not", "also", "often", "always", "usually", "never", "already", "just", "still", "ever",
     "really", "even", "all", "n't", "mostly", "generally", "sometimes", "only"}
)  # fmt: skip
_SINGULAR_SUBJECTS: Final = frozenset(
    {"he", "she", "it", "everyone", "everybody", "someone", "somebody", "nobody", "anyone",
     "anybody", "everything", "something", "nothing"}
)  # fmt: skip
_PLURAL_SUBJECTS: Final = frozenset({"i", "you", "we", "they"})
_UNMARKED_PLURALS: Final = frozenset({"people", "children", "men", "women"})
# Words before a subject pronoun that make a following base verb correct: "does it work",
# "let it go", "make it happen", "to help it grow".
_LICENSING: Final = frozenset(
    {"does", "did", "do", "doesn't", "didn't", "don't", "can", "could", "will", "would",
     "should", "must", "may", "might", "shall", "let", "lets", "make", "makes", "made", "help",
     "helps", "helped", "see", "saw", "watch", "hear", "heard", "have", "had", "has", "to",
     "why", "how", "where", "what", "when", "if", "that"}
)  # fmt: skip
_SINGULAR_VERBS_EXTRA: Final = frozenset({"has", "does", "is", "doesn't", "isn't"})
_COMPARATIVES: Final = _word_set(
    "better worse easier bigger harder faster happier healthier cheaper smaller larger longer "
    "stronger younger older higher lower greater simpler safer busier richer poorer nicer "
    "wiser quicker slower smarter closer earlier"
)
_GET_FORMS: Final = frozenset({"get", "got", "getting", "gets"})
_SUPERLATIVE_WORDS: Final = frozenset({"best", "worst", "most", "least"})
# -ing words after "be" that are adjectives or pronouns, not a continuous tense ("going" is
# counted as "going to" or not at all).
_ING_NOT_VERBS: Final = _word_set(
    "going interesting boring amazing exciting annoying confusing surprising tiring relaxing "
    "challenging frustrating embarrassing depressing shocking disappointing satisfying "
    "something nothing everything anything during according willing missing outstanding "
    "encouraging rewarding demanding inspiring convincing promising"
)
_SILENT_H: Final = ("hour", "honest", "honor", "honour", "heir")
_VOWEL_SOUNDING_EXCEPTIONS: Final = ("uni", "use", "usu", "uti", "eu", "one", "once", "ur")
_CLAUSE_OPENERS: Final = frozenset({"because", "if", "when", "although", "though", "since",
                                    "unless"})  # fmt: skip
_CASE_PREPOSITIONS: Final = frozenset({"with", "of", "about", "from", "between", "among"})
_OBJECT_NEEDED: Final = frozenset({"they", "we", "he", "she"})
# "The life is short", "because the people need ...": "the" before a noun used in a general
# sense, at the start of a clause, is a frequent transfer from Romance languages. Only when
# nothing after the noun makes it specific ("the life of a farmer", "the people who ...").
_GENERIC_NOUNS: Final = _word_set(
    "people life society nature technology education happiness success money health love "
    "humans students children teenagers"
)
_CLAUSE_START: Final = frozenset(
    {"", "because", "and", "but", "so", "that", "if", "when", "think", "believe", "all", "for"}
)
_SPECIFYING: Final = frozenset(
    {"of", "who", "that", "which", "in", "from", "at", "on", "with", "around", "there", "here",
     "i", "you", "we", "they", "he", "she", "my", "our", "your", "whom", "whose", "living",
     "working", "involved", "mentioned", "'s"}
)  # fmt: skip
_PURE_VERBS: Final = _word_set(
    "go make take give come get want think know become bring begin buy tell find choose "
    "decide enjoy understand"
)


@dataclass(frozen=True)
class ComplexityData:
    version: str
    subordinators: PhraseIndex
    after_subject: frozenset[str]
    relatives: frozenset[str]
    thinking_verbs: frozenset[str]
    modals: frozenset[str]
    participles: frozenset[str]
    ed_adjectives: frozenset[str]
    base_verbs: frozenset[str]
    third_person: frozenset[str]
    past_forms: frozenset[str]
    uncountables: frozenset[str]


def _third_person(verb: str) -> str:
    if verb in {"have", "do", "go"}:
        return {"have": "has", "do": "does", "go": "goes"}[verb]
    if verb.endswith(("s", "sh", "ch", "x", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in set("aeiou"):
        return verb[:-1] + "ies"
    return verb + "s"


def _regular_past(verb: str) -> str:
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in set("aeiou"):
        return verb[:-1] + "ied"
    return verb + "ed"


_IRREGULAR_PAST: Final = _word_set(
    "went came took made gave said told thought bought got brought began ran wrote ate saw "
    "knew found felt left kept spent paid understood taught"
)


@functools.cache
def complexity_data() -> ComplexityData:
    raw = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    base = frozenset(str(raw["base_verbs"]).split())
    regular_past = {_regular_past(v) for v in base if _regular_past(v) != v}
    return ComplexityData(
        version=str(raw["version"]),
        subordinators=PhraseIndex(compile_phrase(s, "subordinate") for s in raw["subordinators"]),
        after_subject=frozenset(raw["after_subject"]),
        relatives=frozenset(raw["relatives"]),
        thinking_verbs=frozenset(raw["thinking_verbs"]),
        modals=frozenset(raw["modals"]),
        participles=frozenset(str(raw["participles"]).split()),
        ed_adjectives=frozenset(str(raw["ed_adjectives"]).split()),
        base_verbs=base,
        third_person=frozenset(_third_person(v) for v in base),
        # Regular pasts ("wanted"), also of irregular verbs ("maked": only learners say it),
        # and the common irregular ones ("went").
        past_forms=frozenset(regular_past) | _IRREGULAR_PAST,
        uncountables=frozenset(str(raw["uncountables"]).split()),
    )


@dataclass
class _Sentence:
    """Clause counts of one punctuated sentence."""

    sentence: Sentence
    dependent: int = 0
    coordinated: int = 0


@dataclass(frozen=True)
class _Hit:
    structure: str
    part: Passage
    sentence: Sentence
    position: int


def _participle(word: str, data: ComplexityData) -> bool:
    if word in data.participles:
        return True
    return len(word) > 4 and word.endswith("ed") and word not in data.ed_adjectives


def _skip_adverbs(norms: Sequence[str], index: int) -> int:
    while index < len(norms) and norms[index] in _ADVERBS_BETWEEN:
        index += 1
    return index


def _structures(norms: Sequence[str], data: ComplexityData) -> list[tuple[str, int]]:
    """(structure, index of its first word) for every structure found in one sentence."""
    found: list[tuple[str, int]] = []
    has_if = [i for i, w in enumerate(norms) if w in {"if", "unless"}]
    if has_if and any(
        w in {"will", "would", "could", "might", "'ll", "'d"} or w.endswith(("'ll", "'d"))
        for w in norms
    ):
        found.append(("conditional", has_if[0]))
    for i, word in enumerate(norms):
        after = _skip_adverbs(norms, i + 1)
        nxt = norms[after] if after < len(norms) else ""
        if word in _BE and nxt and _participle(nxt, data) and nxt != "been":
            found.append(("passive", i))
        elif word in _BE and nxt.endswith("ing") and len(nxt) > 4 and nxt not in _ING_NOT_VERBS:
            found.append(("continuous", i))
        if word in _HAVE and nxt and _participle(nxt, data):
            found.append(("perfect", i))
        if word in data.modals:
            found.append(("modal", i))
        if word == "than" and i > 0:
            found.append(("comparative", max(0, i - 2)))
        prev = norms[i - 1] if i > 0 else ""
        if prev == "the" and (
            word in _SUPERLATIVE_WORDS or (word.endswith("est") and len(word) > 5)
        ):
            found.append(("superlative", i - 1))
        to_follows = i + 1 < len(norms) and norms[i + 1] == "to"
        if word == "going" and to_follows and (prev in _BE or prev.endswith(("'m", "'re", "'s"))):
            found.append(("going_to", i - 1))
        # "used to" for past habits, not "is used to" / "get used to" (accustomed).
        if word == "used" and to_follows and prev and prev not in _BE | _GET_FORMS:
            found.append(("used_to", i))
        if word in {"wish", "wished"} or (word == "would" and nxt in {"rather", "prefer"}):
            found.append(("hypothetical", i))
    return found


def _clauses(norms: Sequence[str], data: ComplexityData) -> tuple[int, int, int, int]:
    """Counts in one sentence: (subordinate, relative, complement, coordinated) clauses."""
    subordinate = 0
    relative = 0
    complement = 0
    coordinated = 0
    for i, word in enumerate(norms):
        nxt = norms[i + 1] if i + 1 < len(norms) else ""
        if word in data.after_subject and nxt in SUBJECT_PRONOUNS:
            subordinate += 1
        if word in data.relatives and i > 0 and norms[i - 1] not in data.thinking_verbs:
            relative += 1
        elif (
            word == "that"
            and i > 0
            and norms[i - 1] not in {"so", "is", "was", "of", "in"}
            and norms[i - 1] not in data.thinking_verbs  # counted with the verb below
            and (nxt in SUBJECT_PRONOUNS or nxt in {"the", "a", "there", "people", "this"})
        ):
            # "that" after a noun or a verb and before a subject: a relative or a reported
            # clause either way, both dependent.
            complement += 1
        if word in data.thinking_verbs and (nxt in SUBJECT_PRONOUNS or nxt in {"there", "that"}):
            complement += 1
        if word in {"and", "but", "or"} and nxt in SUBJECT_PRONOUNS | {"there"}:
            coordinated += 1
    return subordinate, relative, complement, coordinated


def accuracy_signals(norms: Sequence[str], data: ComplexityData) -> Counter[str]:
    """Counts of the near-certain slip patterns in one sentence (see the module docstring)."""
    found: Counter[str] = Counter()
    for i in range(len(norms) - 1):
        prev = norms[i - 1] if i > 0 else ""
        word, nxt = norms[i], norms[i + 1]
        if word in _SINGULAR_SUBJECTS and nxt in data.base_verbs and prev not in _LICENSING:
            found["agreement"] += 1
        elif (word in _PLURAL_SUBJECTS or word in _UNMARKED_PLURALS) and prev not in _LICENSING:
            if nxt in data.third_person or nxt in _SINGULAR_VERBS_EXTRA:
                if not (word == "i" and nxt in {"was"}):
                    found["agreement"] += 1
            elif word in {"they", "we", "you"} and nxt == "was":
                found["agreement"] += 1
        if word in {"everyone", "everybody", "nobody", "somebody", "someone"} and nxt in {
            "are", "were", "have", "don't"
        }:  # fmt: skip
            found["agreement"] += 1
        if (word in data.modals and word != "ought") and (
            nxt == "to" or nxt in data.third_person or nxt in data.past_forms
        ):
            found["verb_form"] += 1
        if (
            word in {"did", "didn't", "does", "doesn't", "don't", "to"}
            and nxt in data.past_forms
            and not (word == "to" and nxt in {"left", "found", "felt", "kept"})  # also nouns
        ):
            found["verb_form"] += 1
        if word in {"more", "most"} and nxt in _COMPARATIVES:
            found["comparative"] += 1
        if (
            word == "a"
            and nxt[:1] in set("aeiou")
            and not nxt.startswith(_VOWEL_SOUNDING_EXCEPTIONS)
        ):
            found["article"] += 1
        if (
            word == "an"
            and nxt[:1] not in set("aeiou")
            and not nxt.startswith(_SILENT_H)
            and len(nxt) > 1  # "an X-ray", letters spelt out
        ):
            found["article"] += 1
        if word in {"a", "an"} and nxt in data.uncountables:
            found["countability"] += 1
        if word.endswith("s") and word[:-1] in data.uncountables and word != "researches":
            found["countability"] += 1
        if word in _CLAUSE_OPENERS and nxt in {"is", "was"}:
            found["missing_subject"] += 1
        after = norms[i + 2] if i + 2 < len(norms) else ""
        if (
            word in SUBJECT_PRONOUNS
            and nxt == "not"
            and prev not in _LICENSING
            and after not in {"only", "just", "even", "all"}
        ):
            found["missing_auxiliary"] += 1
        if word in _CASE_PREPOSITIONS and nxt in _OBJECT_NEEDED:
            found["pronoun_case"] += 1
        if word in {"is", "are", "was", "were"} and nxt in _PURE_VERBS:
            found["verb_form"] += 1
        if (
            word == "the"
            and nxt in _GENERIC_NOUNS
            and prev in _CLAUSE_START
            and after not in _SPECIFYING
        ):
            found["generic_article"] += 1
    return found


def _per_100(count: float, words: int) -> float:
    return 100.0 * count / words if words else 0.0


def analyze_complexity(answers: Sequence[AnswerText]) -> AnalyzerResult:
    """Metrics and evidence for grammatical range over all of a learner's scored answers."""
    data = complexity_data()
    version = f"{VERSION}+data.{data.version}"
    parts = passages(answers)
    words = sum(len(part.tokens) for part in parts)
    if words == 0:
        return AnalyzerResult(
            analyzer=ANALYZER,
            version=version,
            criterion="grammar",
            not_scored_reason="no words to judge",
        )

    totals: Counter[str] = Counter()
    signals: Counter[str] = Counter()
    hits: list[_Hit] = []
    punctuated: list[_Sentence] = []
    for part in parts:
        for sentence in part.sentences:
            norms = sentence.norms
            adverbial = len(data.subordinators.find(sentence.tokens))
            after, relative, complement, coordinated = _clauses(norms, data)
            totals["subordinate"] += adverbial + after
            totals["relative"] += relative
            totals["complement"] += complement
            signals.update(accuracy_signals(norms, data))
            for structure, position in _structures(norms, data):
                totals[structure] += 1
                hits.append(_Hit(structure, part, sentence, position))
            if part.punctuated:
                punctuated.append(
                    _Sentence(sentence, adverbial + after + relative + complement, coordinated)
                )

    used = [s for s in STRUCTURES if totals[s] > 0]
    modals = {token.norm for part in parts for token in part.tokens if token.norm in data.modals}
    metrics = {
        "subordinate_rate": _per_100(totals["subordinate"], words),
        "relative_rate": _per_100(totals["relative"], words),
        "complement_rate": _per_100(totals["complement"], words),
        "structure_range": float(len(used)),
        "structure_rate": _per_100(sum(totals[s] for s in STRUCTURES), words),
        "modal_range": float(len(modals)),
        "accuracy_signal_rate": _per_100(sum(signals.values()), words),
    }
    metrics.update({f"signal_{name}": float(count) for name, count in sorted(signals.items())})
    if punctuated:
        clauses = [1 + s.dependent + s.coordinated for s in punctuated]
        metrics["clauses_per_sentence"] = sum(clauses) / len(clauses)
        metrics["complex_sentence_share"] = sum(1 for s in punctuated if s.dependent) / len(
            punctuated
        )
    return AnalyzerResult(
        analyzer=ANALYZER,
        version=version,
        criterion="grammar",
        metrics=metrics,
        evidence=tuple(_evidence(metrics, hits, used)),
    )


def _evidence(
    metrics: dict[str, float], hits: Sequence[_Hit], used: Sequence[str]
) -> list[Evidence]:
    evidence = [
        Evidence(
            kind="metric",
            criterion="grammar",
            note="Different kinds of structure you used (out of "
            f"{len(STRUCTURES)}: conditionals, passives, perfect tenses, comparisons ...).",
            metric="structure_range",
            value=metrics["structure_range"],
            positive=metrics["structure_range"] >= len(STRUCTURES) / 2,
        ),
        Evidence(
            kind="metric",
            criterion="grammar",
            note="Dependent clauses (because ..., which ..., I think that ...) per 100 words.",
            metric="dependent_clause_rate",
            value=round(
                metrics["subordinate_rate"] + metrics["relative_rate"] + metrics["complement_rate"],
                2,
            ),
        ),
    ]
    if "clauses_per_sentence" in metrics:
        evidence.append(
            Evidence(
                kind="metric",
                criterion="grammar",
                note="Clauses per sentence: above 1.5 shows a mix of simple and complex sentences.",
                metric="clauses_per_sentence",
                value=round(metrics["clauses_per_sentence"], 2),
                positive=metrics["clauses_per_sentence"] >= 1.5,
            )
        )
    # One quote per structure type, the plainer ones (modals, comparisons) last.
    quoted: set[str] = set()
    for hit in sorted(hits, key=lambda h: h.structure in {"modal", "comparative"}):
        if hit.structure in quoted or len(quoted) >= MAX_QUOTES:
            continue
        quoted.add(hit.structure)
        tokens = hit.sentence.tokens[hit.position : hit.position + QUOTE_WORDS]
        evidence.append(
            Evidence(
                kind="quote",
                criterion="grammar",
                note=f"You used {STRUCTURE_NAMES[hit.structure]}.",
                quote=hit.part.text[tokens[0].start : tokens[-1].end],
                turn_id=hit.part.turn_id,
                positive=True,
            )
        )
    missing = [STRUCTURE_NAMES[s] for s in STRUCTURES if s not in used]
    if missing:
        evidence.append(
            Evidence(
                kind="metric",
                criterion="grammar",
                note="Structures we did not hear, worth trying: " + ", ".join(missing) + ".",
                metric="structures_not_heard",
                value=float(len(missing)),
            )
        )
    return evidence
