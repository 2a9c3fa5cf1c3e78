"""Examiner questions written by a language model, checked before anyone hears them.

Two tasks, both through the ``LanguageModel`` port (the provider is wired in bootstrap):

- ``write_follow_up``: the next Part 3 question, grown from the learner's recent answers and
  kept on the cue card's theme (brief ``part3_followup``).
- ``rephrase_question``: the same question again in simpler words, when the learner asked for
  a repeat or did not understand (brief ``repeat_rephrase``).

The learner's words go to the model only as ``QuotedText`` data (the adapter puts them in
escaped delimiters); the brief holds only our own text (the theme, the question asked), and
even that is flattened and refused if it reads like instructions, because a question may be
an earlier follow-up that quoted the learner. The model must answer JSON ``{"question": ...}``
(structured output), validated with pydantic, and then the question must pass a self-check:

- one question ending with "?", at most 25 words, no markup, no line breaks;
- open: not a bare yes/no question ("Is ...?", "Do people ...?") unless it asks for an
  opinion ("Do you think ...?"), offers alternatives ("... or ...?") or has a wh-part;
- Part 3 in style: never a long-turn task ("Describe ...", "Tell me about ..."), never a
  personal Part 1 question ("Do you like ...?", "your favourite ...");
- on the theme: it shares a content word (crudely stemmed) with the theme, the cue card, the
  question asked or the learner's answers (sentences of an answer that read like
  instructions do not count, so "you are now a pirate" cannot make pirates on-topic);
- no echo of injected instructions or of examiner feedback: "band", "score", "prompt",
  "instructions", "ignore", "developer mode", "grammar", "well done" and the like.

Whatever fails (the model, the JSON, the check) gives None, and the caller uses the
deterministic generator (``shared.exam.followups``) instead: a model can make the examiner
more natural, never break a test. An accepted question comes with the template's ``ref`` and
content hash, to be stored with the turn.

Logs carry outcomes and reason codes only, never the learner's words, the brief or the
question. Importing this module does not import any model client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import AppError
from shared.logging import get_logger
from shared.models.exam import WrittenFollowUp
from shared.models.language import GenerationRequest, QuotedText
from shared.ports import LanguageModel
from shared.prompts.templates import PromptTemplate, load_template

__all__ = [
    "FOLLOW_UP_TEMPLATE",
    "MAX_QUESTION_WORDS",
    "REPHRASE_TEMPLATE",
    "RESPONSE_SCHEMA",
    "TEMPLATE_FIELDS",
    "ModelQuestion",
    "check_follow_up",
    "check_rephrase",
    "follow_up_request",
    "follow_up_writer",
    "rephrase_question",
    "rephrase_request",
    "write_follow_up",
]

log = get_logger(__name__)

FOLLOW_UP_TEMPLATE: Final = "part3_followup"
REPHRASE_TEMPLATE: Final = "repeat_rephrase"
# The values this module fills into each brief; tests hold the template files to them.
TEMPLATE_FIELDS: Final[dict[str, frozenset[str]]] = {
    FOLLOW_UP_TEMPLATE: frozenset({"theme", "question", "max_words"}),
    REPHRASE_TEMPLATE: frozenset({"part", "question", "max_words"}),
}

MAX_QUESTION_WORDS: Final = 25  # the question bank's limit for a spoken question
MIN_QUESTION_WORDS: Final = 3
MAX_ANSWERS: Final = 3  # the latest answers are what a follow-up grows from
MAX_ANSWER_WORDS: Final = 400  # about 150 s of speech, the longest Part 3 answer
MAX_BRIEF_VALUE_WORDS: Final = 40

# Structured output: JSON Schema as google-genai's responseJsonSchema takes it (no maxLength:
# it is not among the keywords Gemini honours; the self-check counts words instead).
RESPONSE_SCHEMA: Final[dict[str, object]] = {
    "type": "object",
    "properties": {
        "question": {
            "type": "string",
            "description": "The examiner's question: one sentence ending with a question mark.",
        }
    },
    "required": ["question"],
    "additionalProperties": False,
}

Kind = Literal["follow_up", "rephrase"]
Rejection = Literal[
    "invalid_json",
    "not_one_question",
    "too_short",
    "too_long",
    "markup",
    "instruction_echo",
    "long_turn_task",
    "personal",
    "closed",
    "off_theme",
    "repeats_question",
    "same_as_original",
    "meaning_changed",
]


class ModelQuestion(BaseModel):
    """A model-written question that passed the self-check, with what produced it."""

    model_config = ConfigDict(frozen=True)

    text: str
    kind: Kind
    template_id: str = Field(description="The brief's ref, e.g. 'part3_followup@1'.")
    template_hash: str = Field(description="sha256 of the brief's content.")
    model: str = Field(description="The model version that answered.")


class _Answer(BaseModel):
    """The structured answer both briefs ask for."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question: str


# --- words --------------------------------------------------------------------------------
_WORD: Final = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def _word_set(listing: str) -> frozenset[str]:
    """A set from a whitespace-separated listing (long word lists read better that way)."""
    return frozenset(listing.split())


# Function words, auxiliaries and words any Part 3 question may use: sharing one of these
# says nothing about being on the theme.
_STOPWORDS: Final = _word_set(
    """
    a an the and or but if so because as of to in on at by for with about from into onto
    over under than then that this these those there here it its it's is are was were be
    been being am do does did doing done have has had having can could will would shall
    should may might must not no nor yes i me my mine we us our ours you your yours he him
    his she her hers they them their theirs what which who whom whose when where why how
    whether all any both each every few more most less least other others another some such
    only own same too very just also really quite rather much many lot lots one ones thing
    things way ways kind kinds sort sorts people person someone somebody everyone everybody
    anyone anybody think thinks thought say says said feel feels felt believe believes agree
    opinion view views mention mentioned mean means important reason reasons today nowadays
    now future past time times life lives world country countries good bad better best worse
    worst well get gets got make makes made go goes going went come comes take takes give
    gives like likes liked prefer want wants need needs use uses used tell know see look
    ever never always often sometimes usually generally general specific example examples
    instance case cases whole part kind sure true
    """
)


def _words(text: str) -> list[str]:
    return [word.lower().replace("’", "'") for word in _WORD.findall(text)]


def _stem(word: str) -> str:
    """Crude suffix stripping, so 'communities', 'helping' and 'houses' meet their roots."""
    word = word.removesuffix("'s").replace("'", "")
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) + len(replacement) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                continue
            return word[: len(word) - len(suffix)] + replacement
    return word


def _content_stems(text: str) -> set[str]:
    return {_stem(w) for w in _words(text) if w not in _STOPWORDS and len(w) >= 3}


def _stems_meet(left: set[str], right: set[str]) -> bool:
    # Equal stems, or one a prefix of the other ("hous" / "house", "help" / "helpful").
    for a in left:
        for b in right:
            short, long = (a, b) if len(a) <= len(b) else (b, a)
            if short == long or (len(short) >= 4 and long.startswith(short)):
                return True
    return False


# --- the self-check ------------------------------------------------------------------------
# Words an examiner's question never contains but an injected or feedback-giving one does.
# Some have innocent uses ("live bands", "what might prompt people to ..."): rejecting those
# costs only a deterministic follow-up instead.
_ECHO: Final = re.compile(
    r"\b(?:bands?|scores?|scored|scoring|prompts?|instructions?|ignore[sd]?|ignoring"
    r"|disregard|jailbreak|ielts|examiner|candidate|feedback|grammar|pronunciation"
    r"|vocabulary|fluency|marks)\b"
    # Mistakes are a fair Part 3 topic ("Why are people afraid of making mistakes?"); the
    # learner's own mistakes are feedback.
    r"|\b(?:your|you\s+made|you\s+make)\b[\w\s]{0,20}\bmistakes?\b"
    r"|\bdeveloper mode\b|\byou are now\b|\bas an ai\b|\blanguage model\b|\bchatbot\b"
    r"|\bsystem\s*(?:prompt|message|instruction)|\bsystem\s*:"
    r"|\bwell done\b|\b(?:good|great|excellent|nice|interesting|perfect)\s+(?:answer|point|job)\b",
    re.IGNORECASE,
)
# Sentences of an answer that address the model rather than the question: they never count
# towards the theme, and a brief value that matches is not used at all.
_INSTRUCTION_LIKE: Final = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass|pretend|jailbreak|prompts?|instructions?"
    r"|system|band|score|roleplay|role-play)\b"
    r"|\b(?:you are now|you're now|from now on|act as|developer mode|new rules?)\b"
    r"|[<>{}`$]",
    re.IGNORECASE,
)
_MARKUP: Final = re.compile(r"[<>{}\[\]`*#_|\\$&@]|https?:|\n|\r")
_LONG_TURN: Final = re.compile(r"(?:^|[.!?;:]\s*)(?:describe|tell me about|talk about)\b", re.I)
_PERSONAL: Final = (
    re.compile(
        # Not "can/could you": that is usually the generic "you" of Part 3 ("Can you have a
        # real friendship online?"), and a personal "Can you cook?" is closed anyway.
        r"^(?:do|did|have|has|would|will|are|were)\s+you\s+(?:personally\s+)?"
        r"(?:like|love|enjoy|prefer|have|own|usually|often|ever|still|remember|want|live|work"
        r"|study|play|go|spend|visit|use|know|cook|watch|read|listen)\b"
    ),
    re.compile(r"^(?:how often|when|where|what time|how long)\s+(?:do|did|have)\s+you\b"),
    re.compile(r"^what\s+(?:do|did)\s+you\s+(?:usually|like|enjoy|do|prefer|want)\b"),
    re.compile(
        r"\byour\s+(?:favou?rite|hobby|hobbies|hometown|home town|job|family|friends?|house"
        r"|flat|apartment|home|childhood|school|teachers?|parents?|neighbours?|weekend)\b"
    ),
)
_AUXILIARIES: Final = _word_set(
    """
    is are am was were do does did can could will would shall should have has had may might
    must isn't aren't wasn't weren't don't doesn't didn't can't couldn't won't wouldn't
    shouldn't haven't hasn't
    """
)
_WH: Final = _word_set("what why how which who whom whose when where")
_OPINION: Final = re.compile(
    r"^(?:do|would|don't)\s+you\s+(?:think|say|agree|believe|feel|expect|imagine|consider)\b"
)


def _question_clause(text: str) -> str:
    """The part that asks: the last sentence, after a leading "In your country," and such."""
    clause = re.split(r"[.!;:]\s+", text.strip())[-1]
    words = _words(clause)
    if words and words[0] not in _AUXILIARIES | _WH and "," in clause:
        clause = clause.split(",", 1)[1]
    return " ".join(_words(clause))


def _is_closed(text: str) -> bool:
    """A question "yes" or "no" fully answers."""
    clause = _question_clause(text)
    words = clause.split()
    if not words or words[0] not in _AUXILIARIES:
        return False
    if _OPINION.match(clause) or "or" in words[1:]:
        return False
    return not any(word in _WH for word in words[1:])


def _shape(text: str) -> Rejection | None:
    if not text.endswith("?") or text.count("?") != 1:
        return "not_one_question"
    if _MARKUP.search(text) or not text.isprintable():
        return "markup"
    count = len(text.split())
    if count < MIN_QUESTION_WORDS:
        return "too_short"
    if count > MAX_QUESTION_WORDS:
        return "too_long"
    if _ECHO.search(text):
        return "instruction_echo"
    if _LONG_TURN.search(text):
        return "long_turn_task"
    return None


def _is_personal(text: str) -> bool:
    clause = _question_clause(text)
    return any(pattern.search(clause) for pattern in _PERSONAL)


def _usable_sentences(answer: str) -> str:
    sentences = re.split(r"(?<=[.!?;])\s+|\n+", answer)
    return " ".join(s for s in sentences if not _INSTRUCTION_LIKE.search(s))


def check_follow_up(
    text: str,
    *,
    theme: str,
    question: str,
    answers: Sequence[str],
    cue_card: str = "",
) -> Rejection | None:
    """Why ``text`` may not be said as a Part 3 follow-up, or None when it may."""
    problem = _shape(text)
    if problem is not None:
        return problem
    if _is_personal(text):
        return "personal"
    if _is_closed(text):
        return "closed"
    if _words(text) == _words(question):
        return "repeats_question"
    context = " ".join([theme, cue_card, question, *map(_usable_sentences, answers)])
    if not _stems_meet(_content_stems(text), _content_stems(context)):
        return "off_theme"
    return None


def check_rephrase(text: str, *, original: str, part: int) -> Rejection | None:
    """Why ``text`` may not be said as a rephrasing of ``original``, or None when it may.

    Part 1 and rounding-off questions are personal by nature and may be yes/no; Part 3 ones
    stay impersonal. A rephrasing must keep at least one content word of the original (its
    topic) and must not be the original again.
    """
    problem = _shape(text)
    if problem is not None:
        return problem
    if part == 3 and _is_personal(text):
        return "personal"
    if _words(text) == _words(original):
        return "same_as_original"
    if not _stems_meet(_content_stems(text), _content_stems(original)):
        return "meaning_changed"
    return None


# --- requests ------------------------------------------------------------------------------
def _brief_value(text: str) -> str | None:
    """Our own text for a brief, on one line; None when it is empty or reads like orders.

    A "question" may be an earlier follow-up that quoted the learner, so it is checked like
    learner text before it goes anywhere near the instructions.
    """
    flat = " ".join(text.split())
    if not flat or _INSTRUCTION_LIKE.search(flat) or len(flat.split()) > MAX_BRIEF_VALUE_WORDS:
        return None
    return flat


def _capped(text: str) -> str:
    words = text.split()
    return text.strip() if len(words) <= MAX_ANSWER_WORDS else " ".join(words[:MAX_ANSWER_WORDS])


def _request(
    template: PromptTemplate, values: dict[str, str], quoted: list[QuotedText]
) -> GenerationRequest:
    return GenerationRequest(
        template_id=template.ref,
        template_hash=template.content_hash,
        instructions=template.render(values),
        quoted=quoted,
        response_schema=RESPONSE_SCHEMA,
        temperature=template.temperature,
        max_output_tokens=template.max_output_tokens,
    )


def follow_up_request(
    *, theme: str, question: str, answers: Sequence[str]
) -> GenerationRequest | None:
    """The request for a Part 3 follow-up, or None when there is nothing safe to ask from.

    ``answers`` are the learner's recent answers, oldest first; the last answers ``question``.
    """
    recent = [answer for answer in answers if answer.strip()][-MAX_ANSWERS:]
    safe_theme, safe_question = _brief_value(theme), _brief_value(question)
    if not recent or safe_theme is None or safe_question is None:
        return None
    quoted = [
        QuotedText(
            label="latest answer" if number == len(recent) else f"earlier answer {number}",
            text=_capped(answer),
        )
        for number, answer in enumerate(recent, start=1)
    ]
    values = {
        "theme": safe_theme,
        "question": safe_question,
        "max_words": str(MAX_QUESTION_WORDS),
    }
    return _request(load_template(FOLLOW_UP_TEMPLATE), values, quoted)


def rephrase_request(
    *, question: str, part: int, learner_said: str = ""
) -> GenerationRequest | None:
    """The request for a simpler wording of ``question``, or None when it is unsafe to ask."""
    if part not in (1, 2, 3):
        raise ValueError("part must be 1, 2 or 3")
    safe_question = _brief_value(question)
    if safe_question is None:
        return None
    quoted = (
        [QuotedText(label="what the candidate said", text=_capped(learner_said))]
        if learner_said.strip()
        else []
    )
    values = {"part": str(part), "question": safe_question, "max_words": str(MAX_QUESTION_WORDS)}
    return _request(load_template(REPHRASE_TEMPLATE), values, quoted)


# --- asking --------------------------------------------------------------------------------
def _ask(model: LanguageModel, request: GenerationRequest, kind: Kind) -> tuple[str, str] | None:
    """The model's question and model version, or None (logged) when it gave none."""
    try:
        generation = model.generate(request)
    except AppError as error:
        log.warning(
            "model_question",
            kind=kind,
            outcome="model_error",
            error=error.code,
            template_id=request.template_id,
        )
        return None
    try:
        answer = _Answer.model_validate_json(generation.text)
    except ValidationError:
        _log_rejected(kind, request, generation.model, "invalid_json")
        return None
    return answer.question.strip(), generation.model


def _log_rejected(kind: Kind, request: GenerationRequest, model: str, reason: Rejection) -> None:
    log.info(
        "model_question",
        kind=kind,
        outcome="rejected",
        reason=reason,
        template_id=request.template_id,
        model=model,
    )


def _accepted(text: str, kind: Kind, request: GenerationRequest, model: str) -> ModelQuestion:
    log.info(
        "model_question",
        kind=kind,
        outcome="accepted",
        words=len(text.split()),
        template_id=request.template_id,
        model=model,
    )
    return ModelQuestion(
        text=text,
        kind=kind,
        template_id=request.template_id,
        template_hash=request.template_hash,
        model=model,
    )


def write_follow_up(
    model: LanguageModel,
    *,
    theme: str,
    question: str,
    answers: Sequence[str],
    cue_card: str = "",
) -> ModelQuestion | None:
    """A checked Part 3 follow-up from ``model``, or None (then use the deterministic one).

    ``theme`` is the cue card's Part 3 theme, ``question`` the question just answered,
    ``answers`` the learner's recent answers (oldest first), ``cue_card`` the card's task,
    used only to judge whether the question is on the theme.
    """
    request = follow_up_request(theme=theme, question=question, answers=answers)
    if request is None:
        log.info("model_question", kind="follow_up", outcome="skipped")
        return None
    asked = _ask(model, request, "follow_up")
    if asked is None:
        return None
    text, version = asked
    reason = check_follow_up(
        text, theme=theme, question=question, answers=answers, cue_card=cue_card
    )
    if reason is not None:
        _log_rejected("follow_up", request, version, reason)
        return None
    return _accepted(text, "follow_up", request, version)


def rephrase_question(
    model: LanguageModel, *, question: str, part: int, learner_said: str = ""
) -> ModelQuestion | None:
    """``question`` in simpler words from ``model``, checked, or None (then repeat it as is).

    ``learner_said`` is what the learner said instead of an answer ("sorry, what does
    'volunteer' mean?"), quoted as data so the model can see which words were hard.
    """
    request = rephrase_request(question=question, part=part, learner_said=learner_said)
    if request is None:
        log.info("model_question", kind="rephrase", outcome="skipped")
        return None
    asked = _ask(model, request, "rephrase")
    if asked is None:
        return None
    text, version = asked
    reason = check_rephrase(text, original=question, part=part)
    if reason is not None:
        _log_rejected("rephrase", request, version, reason)
        return None
    return _accepted(text, "rephrase", request, version)


def follow_up_writer(model: LanguageModel) -> Callable[[str, str, str], WrittenFollowUp | None]:
    """``write_follow_up`` in the shape the examiner policy takes (``policy.FollowUpWriter``):
    ``(answer, theme, question) -> WrittenFollowUp or None``; it never raises for a model
    failure. The template ref and hash travel with the question so the turn stores them."""

    def write(answer: str, theme: str, question: str) -> WrittenFollowUp | None:
        written = write_follow_up(model, theme=theme, question=question, answers=[answer])
        if written is None:
            return None
        return WrittenFollowUp(
            text=written.text,
            template_id=written.template_id,
            template_hash=written.template_hash,
            model=written.model,
        )

    return write


def rephraser(model: LanguageModel) -> Callable[[str, int, str], WrittenFollowUp | None]:
    """``rephrase_question`` in the shape the examiner policy takes (``policy.Rephraser``):
    ``(question, part, learner_said) -> WrittenFollowUp or None``; never raises for a model
    failure (the examiner then repeats the question as written)."""

    def rephrase(question: str, part: int, learner_said: str) -> WrittenFollowUp | None:
        written = rephrase_question(model, question=question, part=part, learner_said=learner_said)
        if written is None:
            return None
        return WrittenFollowUp(
            text=written.text,
            template_id=written.template_id,
            template_hash=written.template_hash,
            model=written.model,
        )

    return rephrase
