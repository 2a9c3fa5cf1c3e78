"""The registry of personal data locations covers every collection and blob path in shared/.

The scan reads the code, not a list: a new ``f"drills/{...}"``, ``Query("drills")`` or
``DRILLS_COLLECTION = "drills"`` anywhere in shared/ fails this test until the location is
registered for export and erasure (or listed as holding nothing about a person, with why).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shared.accounts.personal_data import (
    DOCUMENT_LOCATIONS,
    NOT_PERSONAL,
    registered_collections,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
_PATH = re.compile(r"[a-z][A-Za-z0-9-]*(/[^/\s]*)+")
_NAME = re.compile(r"[a-z][A-Za-z0-9-]*")


def _template(node: ast.AST) -> str | None:
    """A string literal, or an f-string with ``{}`` for each placeholder."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    return None


def collections_in(source: str) -> set[str]:
    """Collection ids (and blob path roots) named in ``source``: in f-string paths (every
    other segment from the first), as ``Query``'s collection, or as ``*COLLECTION`` constants."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            text = _template(node)
            if text and "{}" in text and _PATH.fullmatch(text):
                found |= {seg for seg in text.split("/")[0::2] if _NAME.fullmatch(seg)}
        elif isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            text = _template(node.args[0])
            if name == "Query" and text:
                found |= {seg for seg in text.split("/")[0::2] if _NAME.fullmatch(seg)}
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            text = _template(node.value) if node.value is not None else None
            if text and any(
                isinstance(t, ast.Name) and t.id.endswith("COLLECTION") for t in targets
            ):
                found.add(text)
    return found


def collections_in_shared() -> dict[str, set[str]]:
    """Collection name -> the files of shared/ that name it."""
    where: dict[str, set[str]] = {}
    for path in sorted(SHARED.rglob("*.py")):
        for name in collections_in(path.read_text(encoding="utf-8")):
            where.setdefault(name, set()).add(str(path.relative_to(SHARED.parent)))
    return where


def test_every_collection_in_shared_is_registered_or_explained() -> None:
    used = collections_in_shared()
    unknown = {
        name: files
        for name, files in used.items()
        if name not in registered_collections() and name not in NOT_PERSONAL
    }
    assert unknown == {}, (
        "register these in shared/accounts/personal_data.py (export and erasure walk it), "
        f"or list them in NOT_PERSONAL with the reason: {unknown}"
    )


def test_the_scan_sees_what_the_code_stores() -> None:
    used = collections_in_shared()
    # Known locations are found where they are written: the scan is not looking elsewhere.
    for name in ("users", "sessions", "turns", "analysis", "questionMemory", "auditLog"):
        assert name in used, name
    assert {"teacherLinks", "linkInvites", "processedEvents", "audio"} <= set(used)


@pytest.mark.parametrize(
    "source",
    [
        'def path(uid):\n    return f"users/{uid}/drills/{uid}"\n',
        'DRILLS_COLLECTION = "drills"\n',
        'store.query(Query("drills", where=()))\n',
        'blob = f"drills/{uid}/{name}.json"\n',
    ],
)
def test_a_new_unregistered_location_is_caught(source: str) -> None:
    found = collections_in(source)
    assert "drills" in found
    assert "drills" not in registered_collections() | set(NOT_PERSONAL)


def test_registry_explanations_do_not_overlap() -> None:
    assert not registered_collections() & set(NOT_PERSONAL)
    names = [location.name for location in DOCUMENT_LOCATIONS]
    assert len(names) == len(set(names))
    # Children are erased before their parent, the profile after its subcollections.
    assert names.index("turns") < names.index("sessions")
    assert names.index("analysis") < names.index("sessions")
    assert names.index("question_memory") < names.index("profile")
