"""The README's configuration table is generated from Settings and must stay in step."""

from __future__ import annotations

import re
from pathlib import Path

from shared.config import settings_markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_configuration_table_matches_settings() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(
        r"<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->", text, re.S
    )
    assert match, "README.md lost its settings-table markers"
    assert match.group(1) == settings_markdown_table(), (
        "README.md's configuration table is out of date: run `make settings-table`"
    )
