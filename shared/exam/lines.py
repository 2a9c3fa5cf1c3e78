"""The examiner's scripted lines (``examiner_lines.toml``) and how one variant is chosen.

Every kind of line has three or more natural variants. ``choose_line`` picks one from a seed
(the policy seeds with the session and move number, so a replayed turn says the same thing)
and never picks the variant used last time for that kind. The file is checked when loaded:
every kind the policy needs is there, every variant uses exactly the kind's placeholders,
and nothing sounds like feedback (an examiner never praises, corrects or teaches).
"""

from __future__ import annotations

import random
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, NamedTuple

LINES_PATH: Final = Path(__file__).resolve().parent / "examiner_lines.toml"
MIN_VARIANTS: Final = 3

# The kinds the policy uses; a file without one of them would break a test mid-way.
REQUIRED_KINDS: Final = frozenset(
    {
        "opening_ask_name",
        "opening",
        "opening_long_turn",
        "name_thanks",
        "part1_intro",
        "first_topic",
        "next_topic",
        "part_done",
        "part2_intro",
        "cue_card",
        "preparation",
        "start_speaking",
        "stop_long_turn",
        "long_turn_end",
        "part3_intro",
        "subtheme",
        "invite_longer",
        "repeat",
        "redirect_english",
        "redirect_off_topic",
        "silence",
        "silence_long_turn",
        "move_on",
        "closing",
        "closing_practice",
        "closing_time",
        "closing_early",
    }
)

# Praise, judgement and teaching: what an examiner never says during a test.
FEEDBACK: Final = re.compile(
    r"\b(?:good|great|excellent|perfect|well done|brilliant|fantastic|impressive|correct"
    r"|correctly|incorrect|right answer|wrong|mistakes?|errors?|band|score|scores|grammar"
    r"|vocabulary|pronunciation|fluency|better|improve|improvement|interesting|nice answer"
    r"|you should have|try to use)\b",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class ExaminerLinesError(ValueError):
    """The lines file breaks a rule; the message names the kind at fault."""


@dataclass(frozen=True)
class LineKind:
    name: str
    fields: tuple[str, ...]
    variants: tuple[str, ...]


@dataclass(frozen=True)
class ExaminerLines:
    """The lines file as loaded and checked."""

    version: str
    kinds: Mapping[str, LineKind]

    def variants(self, kind: str) -> tuple[str, ...]:
        try:
            return self.kinds[kind].variants
        except KeyError:
            raise ExaminerLinesError(f"no examiner line kind {kind!r}") from None


class ChosenLine(NamedTuple):
    kind: str
    variant: int
    template: str

    def text(self, **fields: str) -> str:
        """The variant with its placeholders filled."""
        return self.template.format(**fields)


def _check_kind(kind: LineKind) -> None:
    if len(kind.variants) < MIN_VARIANTS:
        raise ExaminerLinesError(
            f"line kind {kind.name}: {len(kind.variants)} variants; at least {MIN_VARIANTS}"
        )
    if len(set(kind.variants)) != len(kind.variants):
        raise ExaminerLinesError(f"line kind {kind.name}: a variant is listed twice")
    for variant in kind.variants:
        if not variant or variant != variant.strip() or "  " in variant:
            raise ExaminerLinesError(f"line kind {kind.name}: stray whitespace in {variant!r}")
        if variant[-1] not in ".?":
            raise ExaminerLinesError(f"line kind {kind.name}: {variant!r} must end with . or ?")
        used = sorted(set(_PLACEHOLDER.findall(variant)))
        if used != sorted(kind.fields):
            raise ExaminerLinesError(
                f"line kind {kind.name}: {variant!r} uses {used}, expected {sorted(kind.fields)}"
            )
        feedback = FEEDBACK.search(variant)
        if feedback:
            raise ExaminerLinesError(
                f"line kind {kind.name}: {variant!r} sounds like feedback ({feedback.group(0)!r})"
            )


def read_examiner_lines(path: Path | None = None) -> ExaminerLines:
    """Read and check a lines file; raises ExaminerLinesError naming the kind at fault."""
    document = tomllib.loads((path or LINES_PATH).read_text(encoding="utf-8"))
    version = document.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"20\d\d\.\d{1,2}\.\d+", version):
        raise ExaminerLinesError(f"version {version!r} is not of the form YYYY.M.N")
    kinds: dict[str, LineKind] = {}
    for name, raw in document.get("lines", {}).items():
        kind = LineKind(
            name=name,
            fields=tuple(raw.get("fields", ())),
            variants=tuple(raw.get("variants", ())),
        )
        _check_kind(kind)
        kinds[name] = kind
    missing = sorted(REQUIRED_KINDS - set(kinds))
    if missing:
        raise ExaminerLinesError(f"line kinds missing: {missing}")
    return ExaminerLines(version=version, kinds=kinds)


@cache
def load_examiner_lines() -> ExaminerLines:
    """The shipped lines, read once per instance."""
    return read_examiner_lines()


def choose_line(
    kind: str,
    seed: int | str | random.Random,
    recent: Mapping[str, int] | int | None = None,
    *,
    lines: ExaminerLines | None = None,
) -> ChosenLine:
    """One variant of ``kind``, never the one used last time.

    ``seed`` gives a repeatable choice (a ``random.Random`` is used as is); ``recent`` is the
    index used last time for this kind, or a mapping of kind to that index (ExamState keeps
    one). Raises ExaminerLinesError for an unknown kind.
    """
    variants = (lines or load_examiner_lines()).variants(kind)
    last = recent.get(kind) if isinstance(recent, Mapping) else recent
    choices = [i for i in range(len(variants)) if i != last]
    rng = seed if isinstance(seed, random.Random) else random.Random(f"line|{kind}|{seed}")
    index = rng.choice(choices)
    return ChosenLine(kind=kind, variant=index, template=variants[index])
