"""The examiner's voice, whichever engine speaks it.

- Which provider voice plays each accent a learner can choose (``GOOGLE_VOICES``,
  ``FLITE_VOICES``).
- Where an examiner pauses: ``phrases()`` cuts a line into sentences and gives each the pause
  that follows it (after a greeting, between a lead-in and its question, before and between
  cue-card prompts, between paragraphs).
- How a line becomes provider input: ``to_ssml()`` (escaped text with ``<break>``), and
  ``request_inputs()``, which cuts a long line at sentence boundaries into inputs that each
  fit a provider's byte limit.

Text layout the examiner side may use: blank lines separate paragraphs; a line ending with
``:`` ("You should say:") introduces a list; list items may start with ``-``, ``*``, ``•`` or
``1.``. Nothing here imports an engine, so the rules are tested without one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final, get_args
from xml.sax.saxutils import escape

from shared.models.user import ExaminerVoice

__all__ = [
    "DEFAULT_EXAMINER_VOICE",
    "EXAMINER_VOICES",
    "FLITE_VOICES",
    "GOOGLE_INPUT_LIMIT_BYTES",
    "GOOGLE_VOICES",
    "MAX_SPEAKING_RATE",
    "MIN_SPEAKING_RATE",
    "ExaminerVoice",
    "GoogleVoice",
    "Pause",
    "Phrase",
    "check_speaking_rate",
    "examiner_voice",
    "normalise_text",
    "phrases",
    "request_inputs",
    "to_plain_text",
    "to_ssml",
]

EXAMINER_VOICES: Final[tuple[ExaminerVoice, ...]] = get_args(ExaminerVoice)
DEFAULT_EXAMINER_VOICE: Final[ExaminerVoice] = "british"

# An examiner speaks a little slower or faster on request; beyond this it stops sounding natural.
MIN_SPEAKING_RATE: Final = 0.5
MAX_SPEAKING_RATE: Final = 2.0

# Text-to-Speech v1 refuses a SynthesisInput (text or SSML, tags included) over 5,000 bytes.
GOOGLE_INPUT_LIMIT_BYTES: Final = 5000


@dataclass(frozen=True)
class GoogleVoice:
    """One Text-to-Speech voice: ``VoiceSelectionParams.languageCode`` and ``.name``.

    ``ssml`` is False for voices that refuse SSML input (Chirp 3: HD): they get plain text and
    only the pauses punctuation gives.
    """

    language_code: str
    name: str
    ssml: bool = True

    @classmethod
    def from_name(cls, name: str) -> GoogleVoice:
        """The voice ``name`` ("en-GB-Neural2-B"): its language is the name's first two parts,
        and Chirp HD voices take no SSML."""
        parts = name.split("-")
        if len(parts) < 3 or not all(parts):
            raise ValueError(f"{name!r} is not a Text-to-Speech voice name like 'en-GB-Neural2-B'")
        return cls("-".join(parts[:2]), name, ssml="-Chirp" not in name)


# Neural2 voices take SSML <break> and speakingRate; one male voice per accent so switching
# accent does not also switch the examiner's gender.
GOOGLE_VOICES: Final[Mapping[ExaminerVoice, GoogleVoice]] = MappingProxyType(
    {
        "british": GoogleVoice("en-GB", "en-GB-Neural2-B"),
        "american": GoogleVoice("en-US", "en-US-Neural2-J"),
        "australian": GoogleVoice("en-AU", "en-AU-Neural2-B"),
    }
)

# flite (Debian) has four English voices, none English-English and none Australian:
# - awb: a Scottish English male, the only British Isles accent, so it is "british";
# - slt: a US female, the clearest of the four (lowest recogniser error), so it is "american";
# - rms: a US male, a stand-in for "australian" so the three choices stay audibly distinct;
# - kal: a US male diphone voice at 8 kHz, the least natural, unused.
FLITE_VOICES: Final[Mapping[ExaminerVoice, str]] = MappingProxyType(
    {"british": "awb", "american": "slt", "australian": "rms"}
)


def examiner_voice(name: str) -> ExaminerVoice:
    """``name`` as an ExaminerVoice; raises ValueError naming the choices otherwise."""
    for voice in EXAMINER_VOICES:
        if voice == name:
            return voice
    raise ValueError(f"unknown examiner voice {name!r}; choose one of {list(EXAMINER_VOICES)}")


def check_speaking_rate(rate: float) -> float:
    """``rate`` (1.0 is the voice's own pace) if an examiner may speak at it; else ValueError."""
    if not MIN_SPEAKING_RATE <= rate <= MAX_SPEAKING_RATE:
        raise ValueError(
            f"speaking rate {rate} is outside {MIN_SPEAKING_RATE} to {MAX_SPEAKING_RATE}"
        )
    return float(rate)


# --- Pauses ---------------------------------------------------------------------------------
class Pause:
    """Silence, in milliseconds, after a phrase; each one is where an examiner would stop."""

    NONE: Final = 0
    GREETING: Final = 600  # "Good morning." ... "My name is ..."
    LEAD_IN: Final = 500  # "Let's talk about your hometown." ... "Where is it?"
    CUE_CARD: Final = 700  # "You should say:" ... the first prompt
    PROMPT: Final = 400  # between the prompts of a cue card
    PARAGRAPH: Final = 800  # between paragraphs (a blank line)


@dataclass(frozen=True)
class Phrase:
    """A sentence (or a cue-card line) and the pause after it; ``why`` names the rule."""

    text: str
    pause_after_ms: int = Pause.NONE
    why: str = ""


_GREETING = re.compile(r"(?i)^(?:good\s+(?:morning|afternoon|evening)|hello|hi|welcome)\b")
_LIST_ITEM = re.compile(r"^(?:[-*•–]|\d{1,2}[.)])\s+")
# A sentence ends at . ! ? or … (and any closing quotes or brackets) followed by a space.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+")
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "prof", "e.g", "i.e", "etc", "vs"})
_SPACES = re.compile(r"[^\S\n]+")
# Characters XML 1.0 forbids; SSML with any of them is refused as malformed.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def normalise_text(text: str) -> str:
    """Whitespace tidied (runs of spaces collapsed, lines trimmed, at most one blank line in a
    row) and characters XML cannot carry removed: two texts that sound the same match."""
    text = _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _sentences(line: str) -> list[str]:
    found: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        before = line[start : match.start()].rsplit(" ", 1)[-1].lower()
        after = line[match.end() : match.end() + 1]
        if before in _ABBREVIATIONS or after.islower():
            continue  # "Mr. Smith", "e.g. a park": not the end of a sentence
        found.append(line[start : match.end()].strip())
        start = match.end()
    rest = line[start:].strip()
    return [*found, rest] if rest else found


def phrases(text: str) -> list[Phrase]:
    """The examiner's line as phrases, each with the pause that follows it.

    The last phrase has no pause. Raises ValueError if there is nothing to say.
    """
    paragraphs = [p for p in normalise_text(text).split("\n\n") if p.strip()]
    result: list[Phrase] = []
    for paragraph in paragraphs:
        lines = [line for line in paragraph.split("\n") if line]
        items: list[tuple[str, str]] = []  # (text, kind): kind is "", "intro" or "item"
        in_list = False
        for line in lines:
            item = _LIST_ITEM.match(line)
            if item or (in_list and not line.endswith(":")):
                in_list = True
                items.append((line[item.end() :] if item else line, "item"))
            elif line.endswith(":") and line[:-1].strip():
                in_list = True
                items.extend((sentence, "") for sentence in _sentences(line[:-1].rstrip()))
                items[-1] = (items[-1][0] + ":", "intro")
            else:
                items.extend((sentence, "") for sentence in _sentences(line))
        paragraph_phrases = [_with_pause(items, i) for i in range(len(items))]
        if paragraph_phrases:
            last = paragraph_phrases[-1]
            if last.pause_after_ms < Pause.PARAGRAPH:
                paragraph_phrases[-1] = replace(
                    last, pause_after_ms=Pause.PARAGRAPH, why="paragraph"
                )
        result.extend(paragraph_phrases)
    if not result:
        raise ValueError("the examiner has nothing to say: the text is empty")
    result[-1] = replace(result[-1], pause_after_ms=Pause.NONE, why="")
    return result


def _with_pause(items: Sequence[tuple[str, str]], index: int) -> Phrase:
    text, kind = items[index]
    following = items[index + 1] if index + 1 < len(items) else None
    if kind == "intro":
        return Phrase(text, Pause.CUE_CARD, "cue_card")
    if kind == "item":
        return Phrase(text, Pause.PROMPT, "prompt")
    if _GREETING.match(text):
        return Phrase(text, Pause.GREETING, "greeting")
    if following is not None and not text.endswith("?"):
        next_text, next_kind = following
        if next_kind == "intro" or (next_kind == "" and next_text.endswith("?")):
            return Phrase(text, Pause.LEAD_IN, "lead_in")
    return Phrase(text)


# --- Provider input -----------------------------------------------------------------------
_SPEAK_OPEN, _SPEAK_CLOSE = "<speak>", "</speak>"


def _ssml_piece(phrase: Phrase) -> str:
    piece = escape(phrase.text)
    if phrase.pause_after_ms:
        piece += f'<break time="{phrase.pause_after_ms}ms"/>'
    return piece


def _plain_piece(phrase: Phrase) -> str:
    return phrase.text


def to_ssml(line: Sequence[Phrase]) -> str:
    """``<speak>`` with each phrase's text XML-escaped and a ``<break>`` for each pause."""
    return _SPEAK_OPEN + " ".join(_ssml_piece(p) for p in line) + _SPEAK_CLOSE


def to_plain_text(line: Sequence[Phrase]) -> str:
    """The phrases as plain text, for voices that take no SSML."""
    return " ".join(_plain_piece(p) for p in line)


def request_inputs(
    text: str, *, ssml: bool, max_bytes: int = GOOGLE_INPUT_LIMIT_BYTES
) -> list[str]:
    """The line as one or more provider inputs (SSML documents or plain text), in order, each
    at most ``max_bytes`` of UTF-8.

    Cuts fall between sentences; a sentence that alone is too long is cut between clauses,
    then between words. A pause at a cut stays at the end of the earlier input.
    """
    piece = _ssml_piece if ssml else _plain_piece
    overhead = len((_SPEAK_OPEN + _SPEAK_CLOSE).encode()) if ssml else 0
    budget = max_bytes - overhead
    if budget < 64:
        raise ValueError(f"max_bytes={max_bytes} leaves no room for a sentence")

    def size(phrase: Phrase) -> int:
        return len(piece(phrase).encode())

    units = [part for phrase in phrases(text) for part in _fit(phrase, size, budget)]
    chunks: list[list[Phrase]] = [[]]
    used = 0
    for unit in units:
        needed = size(unit) + (1 if chunks[-1] else 0)  # the joining space
        if chunks[-1] and used + needed > budget:
            chunks.append([])
            used, needed = 0, size(unit)
        chunks[-1].append(unit)
        used += needed
    render = to_ssml if ssml else to_plain_text
    return [render(chunk) for chunk in chunks]


def _fit(phrase: Phrase, size: Callable[[Phrase], int], budget: int) -> list[Phrase]:
    """``phrase`` split into parts that each fit ``budget``; only the last keeps the pause."""
    if size(phrase) <= budget:
        return [phrase]
    parts: list[str] = []
    for clause in re.split(r"(?<=[,;:])\s+", phrase.text):
        if parts and size(Phrase(f"{parts[-1]} {clause}")) <= budget:
            parts[-1] = f"{parts[-1]} {clause}"
        elif size(Phrase(clause)) <= budget:
            parts.append(clause)
        else:
            parts.extend(_pack_words(clause, size, budget))
    result = [Phrase(part) for part in parts]
    result[-1] = replace(result[-1], pause_after_ms=phrase.pause_after_ms, why=phrase.why)
    return result


def _pack_words(text: str, size: Callable[[Phrase], int], budget: int) -> list[str]:
    parts: list[str] = []
    for word in text.split(" "):
        if parts and size(Phrase(f"{parts[-1]} {word}")) <= budget:
            parts[-1] = f"{parts[-1]} {word}"
            continue
        while size(Phrase(word)) > budget:  # one absurdly long "word": cut between characters
            cut = len(word)
            while size(Phrase(word[:cut])) > budget:
                cut = max(1, cut * 3 // 4)
            parts.append(word[:cut])
            word = word[cut:]
        if word:
            parts.append(word)
    return parts
