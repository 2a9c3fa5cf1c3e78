"""firestore.rules and storage.rules: present, and storage.rules' shape and paths.

The Firestore rules are executed against the emulator in
tests/integration/test_security_rules.py (the allow/deny matrix).

The Storage rules are NOT executed anywhere: the only Storage rules emulator is
firebase-tools', which needs Java 21 (these machines have 17, and Debian offers no 21) and
downloads its rules runtime at start (no internet here; see ../shared/design/FINDINGS.md).
What can be checked without it is checked here: the version, a catch-all deny, that no rule
lets a client write, and that every match path is a path the code really writes, with the
owner's uid where the rule expects it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.sessions.answer_audio import answer_blob_name, upload_blob_name
from shared.speech.voice_cache import VoiceCache
from tests.fakes import FakeBlobs
from tests.fakes.speech import FakeTextToSpeech

ROOT = Path(__file__).resolve().parents[2]
FIRESTORE_RULES = ROOT / "firestore.rules"
STORAGE_RULES = ROOT / "storage.rules"
WRITE_METHODS = {"write", "create", "update", "delete"}
OWNER = "uid-owner-1"


@dataclass
class Block:
    """A ``match`` block: its path, its ``allow`` statements and the blocks inside it."""

    path: str
    allows: list[tuple[frozenset[str], str]] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)


_TOKEN = re.compile(
    r"match\s+(?P<match>\S+)\s*\{"
    r"|allow\s+(?P<methods>[\w\s,]+?)\s*:\s*if\s+(?P<condition>[^;]+);"
    r"|(?P<open>\{)|(?P<close>\})"
)


def parse(source: str) -> Block:
    """The tree of match blocks (function bodies and services are walked through)."""
    text = re.sub(r"//[^\n]*", "", source)
    root = Block("")
    stack: list[Block | None] = [root]
    for token in _TOKEN.finditer(text):
        if token["match"]:
            block = Block(token["match"])
            parent = next(item for item in reversed(stack) if item is not None)
            parent.children.append(block)
            stack.append(block)
        elif token["methods"]:
            current = stack[-1]
            assert current is not None, f"allow outside a match block: {token.group(0)}"
            methods = frozenset(part.strip() for part in token["methods"].split(","))
            current.allows.append((methods, " ".join(token["condition"].split())))
        elif token["open"]:
            stack.append(None)  # a service, function or other braces
        else:
            assert len(stack) > 1, "unbalanced braces: a '}' closes nothing"
            stack.pop()
    assert len(stack) == 1, "unbalanced braces: a block is never closed"
    return root


def walk(block: Block, prefix: str = "") -> list[tuple[str, Block]]:
    """Every match block with its full path."""
    found: list[tuple[str, Block]] = []
    for child in block.children:
        path = prefix + child.path
        found.append((path, child))
        found.extend(walk(child, path))
    return found


def path_pattern(match_path: str) -> re.Pattern[str]:
    """A rules match path as a regex: {name} is one segment, {name=**} the rest."""
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", match_path):
        if part.startswith("{"):
            name, _, rest = part[1:-1].partition("=")
            pattern += f"(?P<{name}>.*)" if rest == "**" else f"(?P<{name}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


def _storage_objects() -> dict[str, Block]:
    """The blocks under /b/{bucket}/o, by their path relative to it ("/audio/...")."""
    tree = parse(STORAGE_RULES.read_text(encoding="utf-8"))
    [bucket] = tree.children
    assert bucket.path == "/b/{bucket}/o"
    return dict(walk(bucket))


def _blob_names_the_code_writes() -> dict[str, str]:
    engine = FakeTextToSpeech()
    cache = VoiceCache(engine, FakeBlobs(), bucket="audio", provider="fake")
    return {
        "answer audio": answer_blob_name(OWNER, "session-1", "turn-1", "webm"),
        "uploaded answer": upload_blob_name(OWNER, "session-1", "turn-1"),
        "examiner audio": cache.blob_name("Good morning.", voice="british"),
        # No code writes reports yet (the PDF report is still to come); this is the layout
        # the rules expect it to use. Replace with the writer's name function when it lands.
        "report": f"reports/{OWNER}/session-1.pdf",
    }


# Which rule each name must fall under; None: only the catch-all deny.
EXPECTED_RULE = {
    "answer audio": "/audio/{uid}/{sessionId}/{fileName}",
    "uploaded answer": "/audio/{uid}/{sessionId}/{fileName}",
    "examiner audio": None,  # played through signed URLs
    "report": "/reports/{uid}/{path=**}",
}
CATCH_ALL = "/{path=**}"


@pytest.mark.parametrize("rules", [FIRESTORE_RULES, STORAGE_RULES], ids=lambda p: p.name)
def test_rules_files_exist_with_version_2(rules: Path) -> None:
    assert rules.is_file(), f"{rules.name} is missing"
    text = rules.read_text(encoding="utf-8")
    assert re.match(r"\s*rules_version\s*=\s*'2'\s*;", text), "rules_version '2' comes first"
    parse(text)  # balanced, every allow inside a match


def test_firestore_rules_end_in_a_catch_all_deny() -> None:
    tree = parse(FIRESTORE_RULES.read_text(encoding="utf-8"))
    [documents] = tree.children
    assert documents.path == "/databases/{database}/documents"
    [catch_all] = [child for child in documents.children if child.path == "/{document=**}"]
    assert catch_all.allows == [(frozenset({"read", "write"}), "false")]


def test_storage_rules_are_for_storage_with_a_catch_all_deny() -> None:
    text = STORAGE_RULES.read_text(encoding="utf-8")
    assert re.search(r"service\s+firebase\.storage\s*\{", text)
    blocks = _storage_objects()
    assert blocks[CATCH_ALL].allows == [(frozenset({"read", "write"}), "false")]


def test_storage_rules_let_no_client_write() -> None:
    for path, block in _storage_objects().items():
        for methods, condition in block.allows:
            if methods & WRITE_METHODS:
                assert condition == "false", f"{path} lets a client write: {condition}"


def test_storage_match_paths_are_paths_the_code_writes() -> None:
    names = _blob_names_the_code_writes()
    specific = {path for path in _storage_objects() if path != CATCH_ALL}
    assert specific == {rule for rule in EXPECTED_RULE.values() if rule is not None}
    for label, name in names.items():
        matching = {path for path in specific if path_pattern(path).fullmatch("/" + name)}
        expected = EXPECTED_RULE[label]
        assert matching == ({expected} if expected else set()), (label, name, matching)
        assert path_pattern(CATCH_ALL).fullmatch("/" + name)


def test_storage_rules_find_the_owner_where_the_code_puts_the_uid() -> None:
    names = _blob_names_the_code_writes()
    for label, rule in EXPECTED_RULE.items():
        if rule is None:
            continue
        found = path_pattern(rule).fullmatch("/" + names[label])
        assert found is not None, (label, names[label])
        assert found["uid"] == OWNER, (label, names[label])
        [(methods, condition)] = _storage_objects()[rule].allows
        assert methods == {"read"}, rule
        assert "isUser(uid)" in condition, (rule, condition)


def test_the_parser_sees_a_client_write() -> None:
    # The checks above are only as good as the parser: it must catch the rules they forbid.
    leaky = "rules_version = '2';\nservice firebase.storage { match /b/{bucket}/o {\n"
    leaky += "  match /audio/{uid}/{rest=**} { allow read, write: if request.auth.uid == uid; }\n"
    leaky += "  // allow write: if true;  (a comment is not a rule)\n} }\n"
    [bucket] = parse(leaky).children
    [(path, block)] = walk(bucket)
    assert path == "/audio/{uid}/{rest=**}"
    assert block.allows == [(frozenset({"read", "write"}), "request.auth.uid == uid")]
