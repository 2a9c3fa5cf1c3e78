"""The question bank: Part 1 topics, Part 2 cue cards and their Part 3 questions.

The wording lives in versioned TOML files under ``question_bank/`` (read by the standard
library's ``tomllib``, so content needs no extra dependency) and is validated when it is
loaded: a broken file stops the instance at cold start with the file and id at fault, rather
than surfacing mid-test as an examiner reading out a malformed card. ``load_question_bank``
reads the files once per instance; sessions record ``QuestionBank.version`` and
``QuestionBank.content_hash`` so a result can always be traced to the exact wording used.

The rules follow the test format (see the design notes, IELTS.md): Part 1 asks short
personal questions on familiar topics; a Part 2 card has a "Describe ..." task, three or four
"You should say" prompts, a closing "and explain ..." line and one or two short rounding-off
questions; Part 3 discusses the card's theme in the abstract and is never a second long turn.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

BANK_DIR: Final = Path(__file__).resolve().parent / "question_bank"

# Exactly one of these on every cue card, so a planner can vary the kind of long turn.
CARD_CATEGORIES: Final = (
    "people",
    "places",
    "objects",
    "events",
    "experiences",
    "media",
    "skills",
    "plans",
)
# A closed vocabulary: a misspelt tag would silently drop an item out of a planner's query.
TOPIC_TAGS: Final = frozenset(
    {
        "animals",
        "arts",
        "city",
        "communication",
        "community",
        "culture",
        "daily-life",
        "education",
        "environment",
        "family",
        "food",
        "health",
        "history",
        "home",
        "leisure",
        "money",
        "nature",
        "shopping",
        "sport",
        "technology",
        "transport",
        "travel",
        "work",
    }
)
ALLOWED_TAGS: Final = frozenset(CARD_CATEGORIES) | TOPIC_TAGS

_Model = TypeVar("_Model", bound=BaseModel)

_SLUG = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
_TOPIC_ID = re.compile(rf"p1\.{_SLUG}")
_PART1_QUESTION_ID = re.compile(rf"p1\.{_SLUG}\.q[1-9][0-9]*")
_CARD_ID = re.compile(rf"p2\.{_SLUG}")
_ROUNDING_OFF_ID = re.compile(rf"p2\.{_SLUG}\.r[1-9][0-9]*")
_PART3_ID = re.compile(rf"p3\.{_SLUG}\.q[1-9][0-9]*")
_VERSION = re.compile(r"(20[0-9]{2})\.([1-9]|1[0-2])\.(0|[1-9][0-9]*)")

# "You should say:" prompts are wh-clauses ("who it was", "whether you would go again").
_WH_WORDS: Final = ("who", "whom", "whose", "what", "when", "where", "which", "why", "how")
_PROMPT_START = re.compile(rf"(?:{'|'.join(_WH_WORDS)}|whether)\b")

# Part 1 stays personal and concrete; these belong to the Part 3 discussion.
_PART3_STYLE = re.compile(
    r"\b(?:government|society|advantages?|disadvantages?|why do you think|to what extent"
    r"|generations?|nowadays)\b",
    re.IGNORECASE,
)
# Part 3 is a discussion, not a second long turn or a Part 1 question about the candidate:
# "Do you think ..." asks for an opinion, "Do you like ..." only for a fact about them.
_PART3_PERSONAL = re.compile(
    r"(?:describe|tell me|talk about|can you (?:describe|tell)|did you|have you|were you"
    r"|are you|what(?: is|'s) your favourite"
    r"|do you (?!think\b|agree\b|believe\b|feel that\b|expect\b|imagine\b))\b",
    re.IGNORECASE,
)
_ADDRESSES_CANDIDATE = re.compile(r"\byou(?:r|rs|rself)?\b", re.IGNORECASE)

# Word-count limits: long enough for natural wording, short enough to be said in one breath.
PART1_WORDS: Final = (3, 15)
ROUNDING_OFF_WORDS: Final = (3, 14)
PART3_WORDS: Final = (4, 25)
TASK_WORDS: Final = (4, 18)
PROMPT_WORDS: Final = (2, 10)
CLOSING_WORDS: Final = (3, 15)

PART1_QUESTIONS_PER_TOPIC: Final = (4, 5)
PROMPTS_PER_CARD: Final = (3, 4)
ROUNDING_OFF_PER_CARD: Final = (1, 2)
PART3_MIN_PER_CARD: Final = 5
PART3_GROUPS_PER_CARD: Final = (1, 3)
PART3_PER_GROUP: Final = (2, 6)


class QuestionBankError(ValueError):
    """Bank content breaks a rule; the message names the file and the id at fault."""

    def __init__(self, file: str, item_id: str | None, problem: str) -> None:
        self.file = file
        self.item_id = item_id
        self.problem = problem
        where = f"{file}, {item_id}" if item_id else file
        super().__init__(f"question bank {where}: {problem}")


class _AtFault(ValueError):
    """A rule broken by a child item, raised by its parent's validator: blame the child's id."""

    def __init__(self, item_id: str, problem: str) -> None:
        self.item_id = item_id
        super().__init__(problem)


class UnknownQuestionId(KeyError):
    """No topic, card or question in the bank has this id."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a plain sentence reads better in logs.
        return str(self.args[0]) if self.args else "unknown question id"


# --- text rules ------------------------------------------------------------------------------
def _count_words(text: str) -> int:
    return len(text.split())


def _tidy(text: str) -> str:
    if not text or text != text.strip() or "  " in text or not text.isprintable():
        raise ValueError(
            "must not be empty or have doubled or stray whitespace or control characters"
        )
    if any(mark in text for mark in "‘’“”"):
        # One spelling of each word, so duplicate checks and speech caching see one text.
        raise ValueError("must use straight quotes and apostrophes")
    return text


def _check_words(text: str, limits: tuple[int, int], what: str) -> None:
    low, high = limits
    count = _count_words(text)
    if not low <= count <= high:
        raise ValueError(f"{what} has {count} words; expected {low} to {high}")


def _check_question(text: str, limits: tuple[int, int], what: str) -> str:
    _tidy(text)
    if not text[0].isupper():
        raise ValueError(f"{what} must start with a capital letter")
    if not text.endswith("?") or text.count("?") != 1:
        raise ValueError(f"{what} must be one question ending with '?'")
    _check_words(text, limits, what)
    return text


def _check_card_line(text: str, limits: tuple[int, int], what: str) -> str:
    """Task, prompt and closing lines are printed on the card, not asked: no end punctuation."""
    _tidy(text)
    if text[-1] in ".?!;:,":
        raise ValueError(f"{what} must not end with punctuation on a cue card")
    _check_words(text, limits, what)
    return text


def _check_id(value: str, pattern: re.Pattern[str], form: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"id {value!r} must be of the form {form}")
    return value


def _check_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(tags) - ALLOWED_TAGS)
    if unknown:
        raise ValueError(f"unknown tags {unknown}; allowed: {sorted(ALLOWED_TAGS)}")
    if len(set(tags)) != len(tags):
        raise ValueError("a tag must not be listed twice")
    if not 1 <= len(tags) <= 4:
        raise ValueError(f"{len(tags)} tags; expected 1 to 4")
    return tags


def _check_count(items: Sequence[object], limits: tuple[int, int], what: str) -> None:
    low, high = limits
    if not low <= len(items) <= high:
        expected = f"{low}" if low == high else f"{low} to {high}"
        raise ValueError(f"{len(items)} {what}; expected {expected}")


def _check_children(parent_id: str, child_ids: Sequence[str], prefix: str) -> None:
    for child_id in child_ids:
        if not child_id.startswith(prefix):
            raise _AtFault(child_id, f"an id in {parent_id} must start with {prefix!r}")


def normalised_wording(text: str) -> str:
    """Wording reduced for duplicate checks: case, punctuation and spacing ignored."""
    letters = re.sub(r"[^a-z0-9' ]+", " ", text.lower())
    return " ".join(letters.split())


# --- models ----------------------------------------------------------------------------------
class _Content(BaseModel):
    # extra="forbid": a misspelt key in a data file ("promts") is an error, not a silent default.
    model_config = ConfigDict(frozen=True, extra="forbid")


class Part1Question(_Content):
    """One short personal question in a Part 1 topic."""

    id: str
    text: str

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        return _check_id(value, _PART1_QUESTION_ID, "p1.<topic>.q<n>")

    @field_validator("text")
    @classmethod
    def _text_rules(cls, value: str) -> str:
        _check_question(value, PART1_WORDS, "a Part 1 question")
        marker = _PART3_STYLE.search(value)
        if marker:
            raise ValueError(
                f"a Part 1 question must be personal and concrete; {marker.group(0)!r} is Part 3"
            )
        return value


class Part1Topic(_Content):
    """A familiar topic and the questions an examiner asks about it, in order."""

    id: str
    title: str
    opening: bool = False
    tags: tuple[str, ...]
    questions: tuple[Part1Question, ...]

    @property
    def slug(self) -> str:
        return self.id.removeprefix("p1.")

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        return _check_id(value, _TOPIC_ID, "p1.<slug>")

    @field_validator("title")
    @classmethod
    def _title_rules(cls, value: str) -> str:
        _tidy(value)
        if not 2 <= len(value) <= 40 or not value[0].isupper():
            raise ValueError("a title must be 2 to 40 characters and start with a capital letter")
        return value

    @field_validator("tags")
    @classmethod
    def _tags_rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_tags(value)

    @field_validator("questions")
    @classmethod
    def _question_count(cls, value: tuple[Part1Question, ...]) -> tuple[Part1Question, ...]:
        _check_count(value, PART1_QUESTIONS_PER_TOPIC, "questions in a Part 1 topic")
        return value

    @model_validator(mode="after")
    def _questions_belong_here(self) -> Part1Topic:
        _check_children(self.id, [q.id for q in self.questions], f"{self.id}.q")
        return self


class RoundingOffQuestion(_Content):
    """A short personal question after the long turn, answered in a sentence or two."""

    id: str
    text: str

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        return _check_id(value, _ROUNDING_OFF_ID, "p2.<card>.r<n>")

    @field_validator("text")
    @classmethod
    def _text_rules(cls, value: str) -> str:
        _check_question(value, ROUNDING_OFF_WORDS, "a rounding-off question")
        if not _ADDRESSES_CANDIDATE.search(value):
            raise ValueError("a rounding-off question must be personal: it asks 'you' something")
        if re.match(r"(?:why|describe|tell me)\b", value, re.IGNORECASE):
            raise ValueError(
                "a rounding-off question must invite a brief answer, not a new long turn"
            )
        return value


class Part3Question(_Content):
    """An abstract discussion question on the theme of a cue card."""

    id: str
    text: str

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        return _check_id(value, _PART3_ID, "p3.<card>.q<n>")

    @field_validator("text")
    @classmethod
    def _text_rules(cls, value: str) -> str:
        if re.match(r"describe\b", value, re.IGNORECASE):
            raise ValueError("a Part 3 question must not start with 'Describe' (that is Part 2)")
        _check_question(value, PART3_WORDS, "a Part 3 question")
        personal = _PART3_PERSONAL.match(value)
        if personal:
            raise ValueError(
                f"a Part 3 question must discuss ideas, not the candidate: {personal.group(0)!r}"
            )
        return value


class Part3Group(_Content):
    """Part 3 questions on one sub-theme; a discussion usually moves through two of these."""

    subtheme: str
    questions: tuple[Part3Question, ...]

    @field_validator("subtheme")
    @classmethod
    def _subtheme_rules(cls, value: str) -> str:
        _tidy(value)
        if not 3 <= len(value) <= 60 or not value[0].isupper():
            raise ValueError(
                "a subtheme must be 3 to 60 characters and start with a capital letter"
            )
        return value

    @field_validator("questions")
    @classmethod
    def _question_count(cls, value: tuple[Part3Question, ...]) -> tuple[Part3Question, ...]:
        _check_count(value, PART3_PER_GROUP, "questions in a Part 3 subtheme")
        return value


class CueCard(_Content):
    """A Part 2 task card, its rounding-off questions and the linked Part 3 discussion."""

    id: str
    tags: tuple[str, ...]
    theme: str
    task: str
    prompts: tuple[str, ...]
    closing: str
    rounding_off: tuple[RoundingOffQuestion, ...]
    part3: tuple[Part3Group, ...]

    @property
    def slug(self) -> str:
        return self.id.removeprefix("p2.")

    @property
    def category(self) -> str:
        """The kind of long turn: people, places, objects, events, experiences, ..."""
        return next(tag for tag in self.tags if tag in CARD_CATEGORIES)

    @property
    def part3_questions(self) -> tuple[Part3Question, ...]:
        return tuple(q for group in self.part3 for q in group.questions)

    @field_validator("id")
    @classmethod
    def _id_form(cls, value: str) -> str:
        return _check_id(value, _CARD_ID, "p2.<slug>")

    @field_validator("tags")
    @classmethod
    def _tags_rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _check_tags(value)
        categories = [tag for tag in value if tag in CARD_CATEGORIES]
        if len(categories) != 1:
            raise ValueError(
                f"a cue card must have exactly one category tag out of {list(CARD_CATEGORIES)}, "
                f"not {categories}"
            )
        return value

    @field_validator("theme")
    @classmethod
    def _theme_rules(cls, value: str) -> str:
        _tidy(value)
        if not value[0].islower() or value[-1] in ".?!":
            raise ValueError("a theme must be a lower-case phrase, e.g. 'helping others'")
        _check_words(value, (1, 8), "a theme")
        return value

    @field_validator("task")
    @classmethod
    def _task_rules(cls, value: str) -> str:
        if not value.startswith("Describe "):
            raise ValueError("a cue card task must start with 'Describe '")
        return _check_card_line(value, TASK_WORDS, "a cue card task")

    @field_validator("prompts")
    @classmethod
    def _prompts_rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _check_count(value, PROMPTS_PER_CARD, "prompts on a cue card")
        for prompt in value:
            _check_card_line(prompt, PROMPT_WORDS, f"the prompt {prompt!r}")
            if not _PROMPT_START.match(prompt):
                raise ValueError(
                    f"the prompt {prompt!r} must be a lower-case wh-clause ('who it was', ...)"
                )
        if len({normalised_wording(p) for p in value}) != len(value):
            raise ValueError("a cue card repeats a prompt")
        return value

    @field_validator("closing")
    @classmethod
    def _closing_rules(cls, value: str) -> str:
        if not value.startswith("and explain "):
            raise ValueError("the closing line must start with 'and explain '")
        return _check_card_line(value, CLOSING_WORDS, "the closing line")

    @field_validator("rounding_off")
    @classmethod
    def _rounding_off_count(
        cls, value: tuple[RoundingOffQuestion, ...]
    ) -> tuple[RoundingOffQuestion, ...]:
        _check_count(value, ROUNDING_OFF_PER_CARD, "rounding-off questions")
        return value

    @field_validator("part3")
    @classmethod
    def _part3_shape(cls, value: tuple[Part3Group, ...]) -> tuple[Part3Group, ...]:
        _check_count(value, PART3_GROUPS_PER_CARD, "Part 3 subthemes")
        total = sum(len(group.questions) for group in value)
        if total < PART3_MIN_PER_CARD:
            raise ValueError(
                f"{total} Part 3 questions; a card needs at least {PART3_MIN_PER_CARD}"
            )
        if len({normalised_wording(g.subtheme) for g in value}) != len(value):
            raise ValueError("a cue card repeats a Part 3 subtheme")
        return value

    @model_validator(mode="after")
    def _questions_belong_here(self) -> CueCard:
        _check_children(self.id, [q.id for q in self.rounding_off], f"{self.id}.r")
        _check_children(self.id, [q.id for q in self.part3_questions], f"p3.{self.slug}.q")
        return self


QuestionKind = Literal["part1", "cue_card", "rounding_off", "part3"]


class QuestionRef(_Content):
    """Any id in the bank resolved to what the examiner says (a cue card: its task line)."""

    id: str
    part: Literal[1, 2, 3]
    kind: QuestionKind
    text: str
    parent_id: str | None = None  # the Part 1 topic or the cue card it belongs to
    subtheme: str | None = None  # Part 3 only


class BankFile(_Content):
    """One data file as loaded: recorded so a session can name the exact wording it used."""

    name: str  # relative to the bank folder, with forward slashes
    version: str
    sha256: str


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class _Entry(NamedTuple):
    """QuestionRef's fields as a plain tuple: the index holds ~800 and builds models on demand."""

    id: str
    part: Literal[1, 2, 3]
    kind: QuestionKind
    text: str
    parent_id: str | None
    subtheme: str | None


def _entries(item: Part1Topic | CueCard) -> Iterator[_Entry]:
    """Every askable id an item holds, in the order an examiner would use them."""
    if isinstance(item, Part1Topic):
        for q in item.questions:
            yield _Entry(q.id, 1, "part1", q.text, item.id, None)
        return
    yield _Entry(item.id, 2, "cue_card", item.task, None, None)
    for r in item.rounding_off:
        yield _Entry(r.id, 2, "rounding_off", r.text, item.id, None)
    for group in item.part3:
        for p3 in group.questions:
            yield _Entry(p3.id, 3, "part3", p3.text, item.id, group.subtheme)


class QuestionBank(_Content):
    """The whole bank, immutable once loaded, with the lookups a session planner needs."""

    files: tuple[BankFile, ...]
    content_hash: str  # sha256 over every file's name and bytes, in name order
    topics: tuple[Part1Topic, ...]
    cards: tuple[CueCard, ...]

    _questions: dict[str, _Entry] = PrivateAttr(default_factory=dict)
    _topics: dict[str, Part1Topic] = PrivateAttr(default_factory=dict)
    _cards: dict[str, CueCard] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        # Built once here so every lookup during a test is a dict access; filled as locals
        # because each private-attribute access on a pydantic model is a slow __getattr__.
        topics = {topic.id: topic for topic in self.topics}
        if len(topics) != len(self.topics):
            raise ValueError("a Part 1 topic id is used twice")
        questions: dict[str, _Entry] = {}
        items: tuple[Part1Topic | CueCard, ...] = (*self.topics, *self.cards)
        for item in items:
            for entry in _entries(item):
                if entry.id in questions:
                    raise ValueError(f"id {entry.id} is used twice")
                questions[entry.id] = entry
        self._topics = topics
        self._cards = {card.id: card for card in self.cards}
        self._questions = questions

    @property
    def version(self) -> str:
        """The newest file version: a readable label next to ``content_hash``."""
        return max((f.version for f in self.files), key=_version_key, default="0.0.0")

    @property
    def versions(self) -> Mapping[str, str]:
        return {f.name: f.version for f in self.files}

    def part1_topics(self) -> tuple[Part1Topic, ...]:
        return self.topics

    def opening_topics(self) -> tuple[Part1Topic, ...]:
        """Topics a Part 1 usually starts with (work or studies, home, hometown)."""
        return tuple(topic for topic in self.topics if topic.opening)

    def cue_cards(self) -> tuple[CueCard, ...]:
        return self.cards

    def topic(self, topic_id: str) -> Part1Topic:
        try:
            return self._topics[topic_id]
        except KeyError:
            raise UnknownQuestionId(f"no Part 1 topic {topic_id!r} in the bank") from None

    def card(self, card_id: str) -> CueCard:
        try:
            return self._cards[card_id]
        except KeyError:
            raise UnknownQuestionId(f"no cue card {card_id!r} in the bank") from None

    def part3_for(self, card_id: str) -> tuple[Part3Question, ...]:
        """The Part 3 questions linked to a cue card, subtheme by subtheme."""
        return self.card(card_id).part3_questions

    def question(self, question_id: str) -> QuestionRef:
        """Any question or cue-card id to its text and part."""
        try:
            entry = self._questions[question_id]
        except KeyError:
            raise UnknownQuestionId(f"no question {question_id!r} in the bank") from None
        return QuestionRef(**entry._asdict())

    def all_question_ids(self) -> tuple[str, ...]:
        """Every id ``question`` resolves: Part 1, cue cards, rounding-off and Part 3."""
        return tuple(self._questions)


# --- loading ---------------------------------------------------------------------------------
_FILE_KEYS: Final = frozenset({"version", "topics", "cards"})


def _bank_paths(folder: Path) -> list[tuple[str, Path]]:
    if not folder.is_dir():
        raise QuestionBankError(str(folder), None, "the question bank folder does not exist")
    found = []
    for path in folder.rglob("*.toml"):
        name = path.relative_to(folder).as_posix()
        # Editors and tools leave hidden files (".#part1.toml"); they are not content.
        if path.is_file() and not any(part.startswith(".") for part in name.split("/")):
            found.append((name, path))
    if not found:
        raise QuestionBankError(str(folder), None, "holds no .toml files")
    return sorted(found)


def _parse(name: str, data: bytes) -> dict[str, Any]:
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise QuestionBankError(name, None, f"is not UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise QuestionBankError(name, None, f"is not valid TOML: {exc}") from None
    unknown = sorted(set(document) - _FILE_KEYS)
    if unknown:
        raise QuestionBankError(
            name, None, f"unknown top-level keys {unknown}; expected {sorted(_FILE_KEYS)}"
        )
    version = document.get("version")
    if not isinstance(version, str) or not _VERSION.fullmatch(version):
        raise QuestionBankError(
            name, None, f"version {version!r} is not of the form YYYY.M.N, e.g. '2026.11.1'"
        )
    if not document.get("topics") and not document.get("cards"):
        raise QuestionBankError(name, None, "holds no [[topics]] and no [[cards]]")
    return document


def _tables(name: str, document: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise QuestionBankError(name, None, f"'{key}' is an array of tables: [[{key}]]")
    return value


def _innermost_id(raw: Any, loc: tuple[int | str, ...]) -> str | None:
    """The id of the deepest table on an error's path: the question at fault, not its card."""
    found = raw.get("id") if isinstance(raw, dict) else None
    node = raw
    for step in loc:
        in_table = isinstance(node, dict) and isinstance(step, str) and step in node
        in_array = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if not (in_table or in_array):
            break
        node = node[step]
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            found = node["id"]
    return found if isinstance(found, str) else None


def _validate(model: type[_Model], name: str, raw: dict[str, Any], where: str) -> _Model:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        item_id: str = raw["id"] if isinstance(raw.get("id"), str) else where

        def at_fault(error: ErrorDetails) -> str:
            raised = error.get("ctx", {}).get("error")
            if isinstance(raised, _AtFault):
                return raised.item_id
            return _innermost_id(raw, error["loc"]) or item_id

        errors = exc.errors()
        # The error names the deepest id on the first problem's path (the Part 3 question,
        # not its card); further problems, if any, carry their own ids.
        culprit = at_fault(errors[0])
        problems = []
        for error in errors:
            at = at_fault(error)
            fields = [step for step in error["loc"] if isinstance(step, str)]
            field = f"{fields[-1]}: " if fields else ""
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{field}{message}" if at == culprit else f"{at}: {field}{message}")
        raise QuestionBankError(name, culprit, "; ".join(problems)) from None


def _check_across_files(items: Sequence[tuple[str, Part1Topic | CueCard]]) -> None:
    """Rules no single item can check: unique ids, wording, titles and themes."""
    ids: dict[str, str] = {}
    wordings: dict[str, tuple[str, str]] = {}
    labels: dict[str, tuple[str, str]] = {}
    for name, item in items:
        if item.id in ids:
            raise QuestionBankError(name, item.id, f"id already used in {ids[item.id]}")
        ids[item.id] = name
        label = item.title if isinstance(item, Part1Topic) else item.theme
        previous = labels.get(normalised_wording(label))
        if previous:
            raise QuestionBankError(
                name, item.id, f"{label!r} is already used by {previous[1]} in {previous[0]}"
            )
        labels[normalised_wording(label)] = (name, item.id)
        for ref in _entries(item):
            if ref.id != item.id:
                if ref.id in ids:
                    raise QuestionBankError(name, ref.id, f"id already used in {ids[ref.id]}")
                ids[ref.id] = name
            wording = normalised_wording(ref.text)
            if wording in wordings:
                first_file, first_id = wordings[wording]
                raise QuestionBankError(
                    name, ref.id, f"same wording as {first_id} in {first_file}: {ref.text!r}"
                )
            wordings[wording] = (name, ref.id)


def read_question_bank(path: Path | None = None) -> QuestionBank:
    """Read and validate every TOML file under ``path`` (default: the shipped bank).

    Uncached: tests and tools that edit files use this; the service uses
    ``load_question_bank``. Raises ``QuestionBankError`` naming the file and id at fault.
    """
    folder = BANK_DIR if path is None else path
    # Names and lengths go into the hash too, so moving text between files changes it.
    digest = hashlib.sha256()
    files: list[BankFile] = []
    items: list[tuple[str, Part1Topic | CueCard]] = []
    for name, file_path in _bank_paths(folder):
        data = file_path.read_bytes()
        digest.update(name.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
        document = _parse(name, data)
        sha256 = hashlib.sha256(data).hexdigest()
        files.append(BankFile(name=name, version=document["version"], sha256=sha256))
        for index, raw in enumerate(_tables(name, document, "topics")):
            items.append((name, _validate(Part1Topic, name, raw, f"topics[{index}]")))
        for index, raw in enumerate(_tables(name, document, "cards")):
            items.append((name, _validate(CueCard, name, raw, f"cards[{index}]")))
    _check_across_files(items)
    return QuestionBank(
        files=tuple(files),
        content_hash=digest.hexdigest(),
        topics=tuple(item for _, item in items if isinstance(item, Part1Topic)),
        cards=tuple(item for _, item in items if isinstance(item, CueCard)),
    )


@cache
def load_question_bank(path: Path | None = None) -> QuestionBank:
    """The bank, read and validated once per instance (the files never change while it runs)."""
    return read_question_bank(path)
