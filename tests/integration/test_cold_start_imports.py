"""Each entry point loads only the client libraries its typical request needs.

Every client library costs 230–540 ms of import at cold start (FINDINGS.md), so a function
must not import one it does not use: shared/bootstrap.py imports each adapter on first use.
Each entry point is loaded in a fresh process by functions-framework's own loader, serves its
typical request from functions/catalog.py, and reports ``sorted(sys.modules)``.

A new function adds one row to FORBIDDEN: the client libraries its typical request must not
load. Timings are printed by ``python -m bench.coldstart``, never asserted here.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from functions import catalog
from tools.function_source import REPO_ROOT

pytestmark = pytest.mark.slow

PROBE = REPO_ROOT / "tools" / "probe_entry_point.py"

# Module name patterns of each client library (fnmatch; `*` also spans dots).
CLIENT_LIBRARIES: dict[str, tuple[str, ...]] = {
    "firestore": ("google.cloud.firestore", "google.cloud.firestore*"),
    "storage": ("google.cloud.storage", "google.cloud.storage*"),
    "pubsub": ("google.cloud.pubsub", "google.cloud.pubsub*"),
    "speech_to_text": ("google.cloud.speech", "google.cloud.speech*"),
    "text_to_speech": ("google.cloud.texttospeech", "google.cloud.texttospeech*"),
    "genai": ("google.genai", "google.genai.*"),
    "firebase_admin": ("firebase_admin", "firebase_admin.*"),
}
EVERY_CLIENT = frozenset(CLIENT_LIBRARIES)

# Entry point -> client libraries still unloaded after its typical request.
FORBIDDEN: dict[str, frozenset[str]] = {
    "health": EVERY_CLIENT,
    "users": frozenset({"speech_to_text", "text_to_speech", "genai", "storage", "pubsub"}),
    "sessions": frozenset({"speech_to_text", "text_to_speech", "genai", "storage", "pubsub"}),
    # Its typical request (recording limits) needs only the token check.
    "turns": EVERY_CLIENT - {"firebase_admin"},
    # Its typical request (the band scale) needs only the token check.
    "results": EVERY_CLIENT - {"firebase_admin"},
    # Event functions are only loaded: no client before the first event, and the summary
    # never needs the model or the examiner's voice at all.
    "score_session": EVERY_CLIENT,
    "analyze_session": EVERY_CLIENT,
}


def loaded_clients(modules: list[str], libraries: frozenset[str]) -> dict[str, list[str]]:
    """For each of ``libraries`` that ``modules`` loaded, the offending module names."""
    found: dict[str, list[str]] = {}
    for library in sorted(libraries):
        patterns = CLIENT_LIBRARIES[library]
        hits = [name for name in modules if any(fnmatch.fnmatchcase(name, p) for p in patterns)]
        if hits:
            found[library] = hits
    return found


def _http_function(name: str) -> catalog.HttpFunction | None:
    return next((f for f in catalog.HTTP_FUNCTIONS if f.name == name), None)


def _needs_stack(name: str) -> bool:
    """Authenticated requests need the Auth emulator for a token and Firestore behind it."""
    function = _http_function(name)
    return function is not None and function.needs_auth


def _serve_typical_request(
    entry_point: str, env: dict[str, str], headers: dict[str, str], report: Path
) -> dict[str, Any]:
    command = [sys.executable, str(PROBE), "--target", entry_point]
    command += ["--source", "functions/main.py", "--report", str(report)]
    function = _http_function(entry_point)
    if function is not None:
        method, path = function.typical_request
        command += ["--request", f"{method} {path}"]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    completed = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    if function is not None:
        # An import set measured on an error path proves nothing about the real one.
        assert result["status"] == 200, result["body"]
    return result


def test_every_entry_point_has_a_row() -> None:
    assert set(FORBIDDEN) == set(catalog.all_entry_points())
    assert all(libraries <= EVERY_CLIENT for libraries in FORBIDDEN.values())


@pytest.mark.parametrize(
    "entry_point",
    [
        pytest.param(name, marks=[pytest.mark.integration] if _needs_stack(name) else [])
        for name in catalog.all_entry_points()
    ],
)
def test_typical_request_loads_no_unneeded_client(
    entry_point: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env = dict(os.environ)
    headers: dict[str, str] = {}
    if _needs_stack(entry_point):
        # A real Auth-emulator token: the request runs the real verifier and store.
        stack = request.getfixturevalue("local_stack")
        env.update(stack.env)
        headers["Authorization"] = f"Bearer {stack.mint_token(f'cold-start-{entry_point}')}"
    result = _serve_typical_request(entry_point, env, headers, tmp_path / "report.json")
    offending = loaded_clients(result["modules"], FORBIDDEN.get(entry_point, EVERY_CLIENT))
    assert offending == {}, (
        f"{entry_point}: its typical request loaded client libraries it must not load: "
        + "; ".join(f"{library}: {_first(names)}" for library, names in offending.items())
    )


def _first(names: list[str], shown: int = 5) -> str:
    more = f" (+{len(names) - shown} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def test_the_check_sees_an_eagerly_imported_client() -> None:
    modules = ["flask", "google.cloud.firestore_v1.client", "google.cloud.speech_v2", "pydantic"]
    assert loaded_clients(modules, EVERY_CLIENT) == {
        "firestore": ["google.cloud.firestore_v1.client"],
        "speech_to_text": ["google.cloud.speech_v2"],
    }
    assert loaded_clients(["google.cloud.functions.context"], EVERY_CLIENT) == {}
