"""The scripted learner's answers (``demo_answers.toml``): loaded, checked, and chosen per turn.

    answers = load_demo_answers()
    answers.pool(level=7, stage="part1", fits=("food",))   # most specific first, then "any"

The file is content, versioned like the question bank: ids are stable because the assessment
evaluation reports results per answer id. ``check_answers`` lists every problem at once (the
unit test and the loader share it); the lexical measures here are what the test compares
between the two levels.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

from shared.exam.text import FILLED_PAUSES, words

ANSWERS_PATH: Final = Path(__file__).resolve().parent / "demo_answers.toml"

Level = Literal[5, 7]
AnswerStage = Literal["intro", "part1", "long_turn", "rounding_off", "part3"]
LEVELS: Final[tuple[Level, ...]] = get_args(Level)
ANSWER_STAGES: Final[tuple[AnswerStage, ...]] = get_args(AnswerStage)
ANY: Final = "any"

# Words per answer (filled pauses excluded), by stage and level. The long-turn ranges are the
# brief's (1.5-2 min of speech at band 7); the others keep Part 1 to a few sentences and let a
# band-7 Part 3 answer pass the 20 s of speech below which the examiner invites more.
WORD_LIMITS: Final[Mapping[tuple[AnswerStage, Level], tuple[int, int]]] = {
    ("intro", 5): (4, 25),
    ("intro", 7): (4, 25),
    ("part1", 5): (12, 45),
    ("part1", 7): (30, 80),
    ("long_turn", 5): (90, 130),
    ("long_turn", 7): (150, 250),
    ("rounding_off", 5): (8, 35),
    ("rounding_off", 7): (15, 60),
    ("part3", 5): (35, 85),
    ("part3", 7): (60, 130),
}
_ID = re.compile(r"b(?P<level>[57])\.(?P<stage>[a-z_0-9]+)\.(?P<fits>[a-z-]+)\.(?P<n>[1-9][0-9]*)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Markup in a text: "[pause 1.2]" is a silence of that many seconds where the learner stops
# (the only markup; any other bracket is an error). Speaking a text = speaking the words
# between markers and putting the silences between them, whatever the answer's level.
PAUSE: Final = re.compile(r"\[pause (?P<seconds>\d+(?:\.\d+)?)\]")
PAUSE_SECONDS: Final = (0.2, 3.0)


class DemoAnswersError(ValueError):
    """The answers file breaks its schema; the message lists every problem found."""


@dataclass(frozen=True)
class DemoAnswer:
    """One answer as the learner says it."""

    id: str
    level: Level
    stage: AnswerStage
    fits: tuple[str, ...]
    script: str  # as written in the file, pause markup included

    @property
    def text(self) -> str:
        """What the learner says, without the pause markup."""
        return plain_text(self.script)

    @property
    def parts(self) -> tuple[str | float, ...]:
        """The script as spoken: stretches of words, and pauses in seconds between them."""
        return spoken_parts(self.script)

    @property
    def word_count(self) -> int:
        return spoken_word_count(self.text)


def plain_text(script: str) -> str:
    """The words of a script, pause markup removed."""
    return " ".join(PAUSE.sub(" ", script).split())


def spoken_parts(script: str) -> tuple[str | float, ...]:
    """Words and pauses in order: ``"I went [pause 0.8] to the park"`` gives
    ``("I went", 0.8, "to the park")``."""
    parts: list[str | float] = []
    position = 0
    for match in PAUSE.finditer(script):
        words_before = " ".join(script[position : match.start()].split())
        if words_before:
            parts.append(words_before)
        parts.append(float(match["seconds"]))
        position = match.end()
    rest = " ".join(script[position:].split())
    if rest:
        parts.append(rest)
    return tuple(parts)


@dataclass(frozen=True)
class DemoAnswers:
    """Every answer of the file, in file order."""

    version: str
    answers: tuple[DemoAnswer, ...]

    def by_id(self, answer_id: str) -> DemoAnswer:
        for answer in self.answers:
            if answer.id == answer_id:
                return answer
        raise KeyError(answer_id)

    def of(self, level: Level, stage: AnswerStage) -> tuple[DemoAnswer, ...]:
        return tuple(a for a in self.answers if a.level == level and a.stage == stage)

    def pool(
        self, level: Level, stage: AnswerStage, fits: Sequence[str] = ()
    ) -> tuple[DemoAnswer, ...]:
        """Answers for ``stage`` at ``level``: those fitting ``fits`` first (an answer's rank
        is the earliest of ``fits`` it matches: a topic's first tag is its main one), then the
        generic ones. Never empty for a valid file: every stage has generic or category ones."""
        candidates = self.of(level, stage)
        ranked: list[tuple[int, int, DemoAnswer]] = []
        for order, answer in enumerate(candidates):
            matches = [fits.index(tag) for tag in answer.fits if tag in fits]
            if matches:
                ranked.append((min(matches), order, answer))
        specific = [answer for _, _, answer in sorted(ranked, key=lambda item: item[:2])]
        generic = [a for a in candidates if ANY in a.fits and a not in specific]
        return tuple(specific + generic) or candidates


def spoken_word_count(text: str) -> int:
    """Words said, filled pauses ("um", "er") excluded: the way the server counts them."""
    return sum(1 for word in words(text) if word not in FILLED_PAUSES)


def moving_average_ttr(text: str, window: int = 25) -> float:
    """Mean type-token ratio over every ``window``-word stretch (MATTR, Covington and McFall).

    Unlike the plain ratio it does not fall as answers get longer, so a long band-7 answer and
    a short band-5 one can be compared. Texts shorter than the window use the plain ratio.
    """
    tokens = [word for word in words(text) if word not in FILLED_PAUSES]
    if not tokens:
        return 0.0
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    ratios = [len(set(tokens[i : i + window])) / window for i in range(len(tokens) - window + 1)]
    return sum(ratios) / len(ratios)


def opening_words(text: str, count: int) -> str:
    """The answer's opening, about ``count`` words long.

    Used to shorten answers where a test needs the structure, not the length. Whole
    sentences until there are at least ``count`` words, so the text stays a plausible
    answer; when a long first sentence would run past half as much again, it is cut after
    ``count`` words and closed with a full stop, as a learner who stops short would.
    """
    kept: list[str] = []
    said = 0
    for sentence in _SENTENCE_END.split(text.strip()):
        if said >= count:
            break
        kept.append(sentence)
        said += spoken_word_count(sentence)
    if said <= count * 1.5:
        return " ".join(kept)
    tokens: list[str] = []
    said = 0
    for token in text.split():
        if said >= count:
            break
        tokens.append(token)
        said += spoken_word_count(token)
    return " ".join(tokens).rstrip(",;:.") + "."


def check_answers(raw: Mapping[str, Any]) -> list[str]:
    """Every problem in a parsed answers file (empty when it is valid)."""
    problems: list[str] = []
    if not isinstance(raw.get("version"), str):
        problems.append("version: missing (a string such as 2026.11.1)")
    entries = raw.get("answers")
    if not isinstance(entries, list) or not entries:
        return [*problems, "answers: no [[answers]] tables"]
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"answers[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not a table")
            continue
        problems += [f"{entry.get('id', where)}: {p}" for p in _check_entry(entry)]
        answer_id = entry.get("id")
        if isinstance(answer_id, str):
            if answer_id in seen:
                problems.append(f"{answer_id}: id used twice")
            seen.add(answer_id)
    return problems


def _check_entry(entry: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    unknown = set(entry) - {"id", "level", "stage", "fits", "text"}
    if unknown:
        problems.append(f"unknown keys {sorted(unknown)}")
    level, stage, fits, text = (entry.get(k) for k in ("level", "stage", "fits", "text"))
    if level not in LEVELS:
        problems.append(f"level {level!r} is not one of {list(LEVELS)}")
    if stage not in ANSWER_STAGES:
        problems.append(f"stage {stage!r} is not one of {list(ANSWER_STAGES)}")
    if not (isinstance(fits, list) and fits and all(isinstance(f, str) and f for f in fits)):
        problems.append("fits must be a non-empty list of tags")
    if not isinstance(text, str) or not text.strip():
        return [*problems, "text is empty"]
    stray = PAUSE.sub("", text)
    if "[" in stray or "]" in stray:
        problems.append('the only markup is "[pause <seconds>]", e.g. [pause 1.2]')
    low_pause, high_pause = PAUSE_SECONDS
    if any(not low_pause <= float(m["seconds"]) <= high_pause for m in PAUSE.finditer(text)):
        problems.append(f"pauses last {low_pause}-{high_pause} s")
    text = plain_text(text)
    if not text.isascii():
        # The voice (flite) reads ASCII only: curly quotes or accents would be dropped.
        problems.append("text must be plain ASCII (straight quotes, no accents)")
    match = _ID.fullmatch(str(entry.get("id", "")))
    if match is None:
        problems.append("id must look like b<level>.<stage>.<fits>.<n>")
    elif (int(match["level"]), match["stage"]) != (level, stage) or (
        isinstance(fits, list) and fits and match["fits"] != fits[0]
    ):
        problems.append("id must repeat the answer's level, stage and first fit")
    if level in LEVELS and stage in ANSWER_STAGES:
        low, high = WORD_LIMITS[(stage, level)]
        count = spoken_word_count(text)
        if not low <= count <= high:
            problems.append(f"{count} words; band {level} {stage} answers have {low}-{high}")
    return problems


def _answer(entry: Mapping[str, Any]) -> DemoAnswer:
    return DemoAnswer(
        id=str(entry["id"]),
        level=cast(Level, entry["level"]),
        stage=cast(AnswerStage, entry["stage"]),
        fits=tuple(str(tag) for tag in entry["fits"]),
        script=" ".join(str(entry["text"]).split()),
    )


def parse_answers(raw: Mapping[str, Any]) -> DemoAnswers:
    """A checked ``DemoAnswers`` from a parsed file; raises DemoAnswersError listing problems."""
    problems = check_answers(raw)
    if problems:
        raise DemoAnswersError("demo answers are invalid:\n  " + "\n  ".join(problems))
    return DemoAnswers(
        version=str(raw["version"]), answers=tuple(_answer(entry) for entry in raw["answers"])
    )


@functools.cache
def load_demo_answers(path: Path = ANSWERS_PATH) -> DemoAnswers:
    """The answers file at ``path`` (default: beside this module), checked; read once."""
    return parse_answers(tomllib.loads(path.read_text(encoding="utf-8")))


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0
