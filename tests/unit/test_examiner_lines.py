"""The examiner's scripted lines: the shipped file keeps the rules; choices vary and never repeat.

The rules on the shipped file are checked again here on the raw TOML, not only through the
loader, so a weakened loader check still fails a test.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from shared.exam.lines import (
    LINES_PATH,
    REQUIRED_KINDS,
    ExaminerLinesError,
    choose_line,
    load_examiner_lines,
    read_examiner_lines,
)

# Written out separately from lines.FEEDBACK on purpose.
NEVER_SAID = re.compile(
    r"\b(good answer|great|excellent|well done|correct|mistake|wrong|error|perfect|"
    r"band|score|grammar|vocabulary|better|improve|good)\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def raw() -> dict[str, object]:
    return tomllib.loads(LINES_PATH.read_text(encoding="utf-8"))


def test_the_shipped_file_is_versioned_and_has_every_kind_the_policy_uses(
    raw: dict[str, object],
) -> None:
    assert re.fullmatch(r"20\d\d\.\d{1,2}\.\d+", str(raw["version"]))
    lines = raw["lines"]
    assert isinstance(lines, dict)
    assert set(lines) >= REQUIRED_KINDS
    assert load_examiner_lines().version == raw["version"]


def test_every_kind_has_three_distinct_variants_with_its_placeholders(
    raw: dict[str, object],
) -> None:
    lines = raw["lines"]
    assert isinstance(lines, dict)
    for kind, table in lines.items():
        variants = table["variants"]
        assert len(variants) >= 3, kind
        assert len(set(variants)) == len(variants), kind
        for variant in variants:
            assert sorted(set(re.findall(r"\{(\w+)\}", variant))) == sorted(table["fields"]), (
                kind,
                variant,
            )
            assert variant[-1] in ".?", variant


def test_no_line_praises_judges_or_teaches(raw: dict[str, object]) -> None:
    lines = raw["lines"]
    assert isinstance(lines, dict)
    offending = [
        variant
        for table in lines.values()
        for variant in table["variants"]
        if NEVER_SAID.search(variant)
    ]
    assert offending == []


def test_the_lines_say_what_the_format_needs(raw: dict[str, object]) -> None:
    lines = raw["lines"]
    assert isinstance(lines, dict)

    def joined(kind: str) -> str:
        return " ".join(lines[kind]["variants"]).lower()

    assert all("english" in v.lower() for v in lines["redirect_english"]["variants"])
    assert all("minute" in v.lower() for v in lines["preparation"]["variants"])
    assert "speaking test" in joined("closing")
    assert all("{theme}" in v for v in lines["part3_intro"]["variants"])
    assert "call you" in joined("opening_ask_name")


def test_choose_line_never_repeats_a_variant_twice_in_a_row() -> None:
    for kind in sorted(REQUIRED_KINDS):
        recent: dict[str, int] = {}
        previous = None
        seen = set()
        for step in range(40):
            chosen = choose_line(kind, f"seed-{step}", recent)
            assert chosen.variant != previous, (kind, step)
            recent[kind] = previous = chosen.variant
            seen.add(chosen.variant)
        assert len(seen) >= 2, kind


def test_choose_line_is_repeatable_for_a_seed_and_varies_across_seeds() -> None:
    first = choose_line("closing", "session-7")
    assert choose_line("closing", "session-7") == first
    variants = {choose_line("closing", f"session-{n}").variant for n in range(30)}
    assert variants == set(range(len(load_examiner_lines().variants("closing"))))
    # An int for ``recent`` works too, and it is avoided.
    assert choose_line("closing", "session-7", first.variant).variant != first.variant


def test_choose_line_fills_placeholders_and_rejects_unknown_kinds() -> None:
    chosen = choose_line("next_topic", 3)
    assert "your hometown" in chosen.text(topic="your hometown")
    with pytest.raises(ExaminerLinesError, match="no examiner line kind"):
        choose_line("compliment", 1)


def _write(tmp_path: Path, body: str) -> Path:
    shipped = LINES_PATH.read_text(encoding="utf-8")
    path = tmp_path / "lines.toml"
    path.write_text(shipped + "\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[lines.extra]\nfields = []\nvariants = ["One.", "Two."]\n', "at least 3"),
        (
            '[lines.extra]\nfields = []\nvariants = ["Well done.", "Thanks.", "All right."]\n',
            "feedback",
        ),
        (
            '[lines.extra]\nfields = ["topic"]\n'
            'variants = ["On {topic}.", "About {topic}.", "Go."]\n',
            "expected",
        ),
        (
            '[lines.extra]\nfields = []\nvariants = ["Your mistake.", "Yes.", "No."]\n',
            "feedback",
        ),
    ],
)
def test_a_broken_file_is_refused(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ExaminerLinesError, match=message):
        read_examiner_lines(_write(tmp_path, body))


def test_a_file_missing_a_kind_is_refused(tmp_path: Path) -> None:
    text = LINES_PATH.read_text(encoding="utf-8").replace("[lines.closing_time]", "[lines.x]")
    path = tmp_path / "lines.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ExaminerLinesError, match="closing_time"):
        read_examiner_lines(path)
