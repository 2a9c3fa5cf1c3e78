"""Quick checks on an answer's transcript: English or not, a request to repeat, off topic.

They feed ``AnswerFlags`` for the examiner policy; none of them scores anything. Each check
errs towards the learner: a false "not English" costs an answer its score and a false "off
topic" interrupts someone who was answering, so both need strong evidence.

English (``check_english``), in this order:
1. A recogniser that reports another language (``language_code`` not ``en*``) decides.
2. Script: when 30 % or more of the letters are not Latin (Cyrillic, Arabic, Han, ...).
3. Vocabulary, with three or more words: each word's frequency in English and in the usual
   Latin-script first languages (plus the learner's own) comes from ``wordfreq`` (offline
   data, Zipf scale: 3 is once per million words). The transcript is not English when the
   mean Zipf frequency in some other language beats English by 1.0 or more (a unigram
   language model; Spanish sentences lead by 2-3, English ones trail by 0.2-2), or when fewer
   than half of its words are common English words (Zipf above 2.5). The margin lets
   English with names and borrowed words pass ("I love arroz con pollo").
   Without wordfreq installed this rule is skipped (``vocabulary_check_available``).
4. Confidence: a mean word confidence below 0.3. The local recogniser (pocketsphinx) knows
   only English and turns other languages into English-looking words without confidence;
   there only rules 2 and 3 on its words can help, which is the known limit of that setup.

Repeat requests (``is_repeat_request``): "sorry, could you repeat that", "pardon", "what do
you mean", "I didn't catch that" ... and little else (at most four other words), so an answer
that starts with "Sorry, ..." and goes on to answer is not a request.

Off topic (``check_on_topic``): only a long answer (30 content words or more, about half a
minute) that shares no content word at all (after crude stemming and a 5-letter prefix match)
with the question, its topic or card. Part 1 questions are short, so the reference includes
the whole topic; a real answer almost always reuses one of those words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from types import ModuleType
from typing import Final, Literal

from shared.exam.text import FILLED_PAUSES, WORD, content_words, stem, word_count, words
from shared.models.exam import AnswerContext, AnsweredTurn, AnswerFlags
from shared.models.speech import Transcript

ENGLISH_ZIPF: Final = 2.5  # a word with a higher Zipf frequency in English is "an English word"
FOREIGN_LEAD: Final = 1.0  # mean Zipf points another language must lead English by
MIN_ENGLISH_SHARE: Final = 0.5
MIN_WORDS_FOR_VOCABULARY: Final = 3  # "Si" or "Casa grande" alone prove nothing
NON_LATIN_SHARE: Final = 0.3
LOW_CONFIDENCE: Final = 0.3
ZIPF_FLOOR: Final = 1.0  # unknown words count as rare, not impossible, in every language
# Latin-script first languages common among IELTS candidates; non-Latin ones fail on script.
CANDIDATE_LANGUAGES: Final = (
    "es", "pt", "fr", "de", "it", "tr", "id", "ms", "vi", "pl", "nl", "ro", "fil",
)  # fmt: skip

REPEAT_MAX_OTHER_WORDS: Final = 4
OFF_TOPIC_MIN_CONTENT_WORDS: Final = 30
PREFIX_MATCH: Final = 5

EnglishReason = Literal[
    "english", "no_words", "recogniser_language", "script", "vocabulary", "low_confidence"
]


@dataclass(frozen=True)
class EnglishCheck:
    """The verdict and the numbers behind it (for logs and tuning, never for the learner)."""

    is_english: bool
    reason: EnglishReason
    words: int
    english_share: float | None = None
    likely_language: str | None = None
    foreign_lead: float | None = None


@dataclass(frozen=True)
class TopicCheck:
    off_topic: bool
    content_words: int
    shared_words: int


# --- English ----------------------------------------------------------------------------------
@cache
def _wordfreq() -> ModuleType | None:
    # Imported on first use: wordfreq costs ~80 ms to import and only the turns path needs it.
    try:
        import wordfreq
    except ImportError:
        return None
    return wordfreq


def vocabulary_check_available() -> bool:
    """False when wordfreq is not installed: only script, recogniser and confidence rules run."""
    return _wordfreq() is not None


@lru_cache(maxsize=65536)  # bounded: transcripts can hold any string
def _zipf(word: str, language: str) -> float:
    module = _wordfreq()
    if module is None:
        return 0.0
    return float(module.zipf_frequency(word, language, wordlist="small"))


@cache
def _wordfreq_languages() -> frozenset[str]:
    module = _wordfreq()
    return frozenset(module.available_languages("small")) if module else frozenset()


def _primary(code: str | None) -> str | None:
    return code.replace("_", "-").split("-")[0].lower() if code else None


def non_latin_share(text: str) -> float:
    """Share of letters outside the Latin script (0 when there are no letters)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    latin = sum(1 for c in letters if unicodedata.name(c, "").startswith("LATIN"))
    return 1 - latin / len(letters)


def check_english(
    text: str,
    *,
    confidence: float | None = None,
    language_code: str | None = None,
    first_language: str | None = None,
) -> EnglishCheck:
    """Is this transcript English? See the module notes for the rules and thresholds.

    ``confidence`` is the recogniser's mean word confidence (None when it gives none),
    ``language_code`` the language it reported, ``first_language`` the learner's (ISO 639-1),
    compared with English as well when wordfreq knows it.
    """
    tokens = [w for w in words(text) if w not in FILLED_PAUSES]
    if not tokens:
        return EnglishCheck(is_english=True, reason="no_words", words=0)
    reported = _primary(language_code)
    if reported and reported != "en":
        return EnglishCheck(False, "recogniser_language", len(tokens), likely_language=reported)
    if non_latin_share(text) >= NON_LATIN_SHARE:
        return EnglishCheck(False, "script", len(tokens))
    share: float | None = None
    lead: float | None = None
    likely: str | None = None
    english = [_zipf(t, "en") for t in tokens]
    if vocabulary_check_available():
        share = sum(1 for z in english if z > ENGLISH_ZIPF) / len(tokens)
    if share is not None and len(tokens) >= MIN_WORDS_FOR_VOCABULARY:
        languages = list(CANDIDATE_LANGUAGES)
        own = _primary(first_language)
        if own and own != "en" and own not in languages and own in _wordfreq_languages():
            languages.append(own)
        english_mean = sum(max(z, ZIPF_FLOOR) for z in english) / len(tokens)
        means = {
            lang: sum(max(_zipf(t, lang), ZIPF_FLOOR) for t in tokens) / len(tokens)
            for lang in languages
        }
        likely = max(means, key=lambda lang: means[lang])
        lead = round(means[likely] - english_mean, 3)
        if lead >= FOREIGN_LEAD or share < MIN_ENGLISH_SHARE:
            return EnglishCheck(False, "vocabulary", len(tokens), share, likely, lead)
    if confidence is not None and confidence < LOW_CONFIDENCE:
        return EnglishCheck(False, "low_confidence", len(tokens), share, likely, lead)
    return EnglishCheck(True, "english", len(tokens), share, likely, lead)


# --- repeat requests --------------------------------------------------------------------------
_REPEAT = re.compile(
    r"""\b(?:
        (?:can|could|would|will)\s+you\s+(?:please\s+)?
            (?:repeat|rephrase|say\s+(?:that|it|this)\s+again
            |ask\s+(?:that|it|this|the\s+question)\s+again|explain\s+the\s+question)
      | repeat\s+(?:that|it|this|the\s+question|please)
      | (?:say|ask)\s+(?:that|it|this)\s+again
      | one\s+more\s+time
      | what\s+do\s+you\s+mean
      | what\s+does\s+(?:that|it|this)\s+mean
      | what\s+(?:was|is)\s+the\s+question
      | i\s+(?:didn't|did\s+not|don't|do\s+not)\s+(?:catch|hear|get|understand)
            (?:\s+(?:that|it|you|the\s+question|what\s+you\s+said))?
      | come\s+again
      | pardon
      | excuse\s+me
      | (?:sorry|what|huh)\s*\?
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_POLITE: Final = frozenset(
    {"sorry", "please", "oh", "the", "question", "again", "that", "what", "um", "uh", "er",
     "erm", "excuse", "me", "i", "could", "can", "you", "so", "ok", "okay", "yes", "huh"}
)  # fmt: skip
_BARE_REQUESTS: Final = frozenset({"sorry", "what", "huh", "pardon", "sorry what", "what sorry"})


def is_repeat_request(text: str) -> bool:
    """True when the learner asks for the question again rather than answering it."""
    said = [w for w in words(text) if w not in FILLED_PAUSES]
    if " ".join(said) in _BARE_REQUESTS:
        return True
    match = _REPEAT.search(text.replace("’", "'"))
    if match is None:
        return False
    rest = WORD.findall(text[: match.start()] + " " + text[match.end() :])
    others = [w for w in (r.lower() for r in rest) if w not in _POLITE and w not in FILLED_PAUSES]
    return len(others) <= REPEAT_MAX_OTHER_WORDS


# --- off topic --------------------------------------------------------------------------------
def check_on_topic(answer: str, reference: str | Sequence[str]) -> TopicCheck:
    """Off topic only when the answer is long and shares no content word with the reference."""
    ref_text = reference if isinstance(reference, str) else " ".join(reference)
    said = content_words(answer)
    said_stems = {stem(w) for w in said}
    ref_stems = {stem(w) for w in content_words(ref_text)}
    shared = said_stems & ref_stems
    ref_prefixes = {s[:PREFIX_MATCH] for s in ref_stems if len(s) >= PREFIX_MATCH}
    shared |= {s for s in said_stems if len(s) >= PREFIX_MATCH and s[:PREFIX_MATCH] in ref_prefixes}
    off = len(said) >= OFF_TOPIC_MIN_CONTENT_WORDS and not shared
    return TopicCheck(off_topic=off, content_words=len(said), shared_words=len(shared))


# --- all together -----------------------------------------------------------------------------
def mean_confidence(confidences: Iterable[float | None]) -> float | None:
    """Mean of the confidences given; None when the recogniser gave none."""
    known = [c for c in confidences if c is not None]
    return sum(known) / len(known) if known else None


def check_answer(
    transcript: str,
    *,
    reference: str | Sequence[str] = "",
    check_topic: bool = True,
    confidence: float | None = None,
    language_code: str | None = None,
    first_language: str | None = None,
) -> AnswerFlags:
    """Flags for one answer. ``too_short`` is left to the policy, which knows the part.

    ``silent``: no words were recognised (filled pauses aside). A repeat request is not also
    "not English" or "off topic"; a non-English answer is not also "off topic".
    """
    silent = word_count(transcript) == 0
    asked_repeat = not silent and is_repeat_request(transcript)
    not_english = not (silent or asked_repeat) and not (
        check_english(
            transcript,
            confidence=confidence,
            language_code=language_code,
            first_language=first_language,
        ).is_english
    )
    off_topic = (
        check_topic
        and not (silent or asked_repeat or not_english)
        and check_on_topic(transcript, reference).off_topic
    )
    return AnswerFlags(
        not_english=not_english, silent=silent, asked_repeat=asked_repeat, off_topic=off_topic
    )


def check_transcript(
    transcript: Transcript,
    *,
    reference: str | Sequence[str] = "",
    check_topic: bool = True,
    first_language: str | None = None,
) -> AnswerFlags:
    """``check_answer`` on a recogniser's transcript: its words' confidence and language."""
    spoken = [w.confidence for w in transcript.words if not w.filled_pause]
    return check_answer(
        transcript.text,
        reference=reference,
        check_topic=check_topic,
        confidence=mean_confidence(spoken),
        language_code=transcript.language,
        first_language=first_language,
    )


def answered_turn(
    transcript: Transcript,
    *,
    context: AnswerContext,
    duration_seconds: float,
    speech_seconds: float,
    first_language: str | None = None,
    preparation_seconds: float | None = None,
) -> AnsweredTurn:
    """The policy's view of one answer: the transcript checked against what it answers.

    ``duration_seconds`` and ``speech_seconds`` come from the decoded audio (never a client
    clock); ``context`` is ``policy.answer_context(plan, state)`` for the state the answer
    was given in; ``preparation_seconds`` is for the long turn only (None: the full minute).
    """
    flags = check_transcript(
        transcript,
        reference=context.reference_text,
        check_topic=context.checks_topic,
        first_language=first_language,
    )
    if transcript.words:
        count = sum(1 for w in transcript.words if not w.filled_pause and WORD.search(w.text))
    else:
        count = word_count(transcript.text)
    return AnsweredTurn(
        transcript=transcript.text,
        word_count=count,
        duration_seconds=duration_seconds,
        speech_seconds=speech_seconds,
        flags=flags,
        preparation_seconds=preparation_seconds,
    )
