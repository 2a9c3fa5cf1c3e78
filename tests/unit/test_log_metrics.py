"""Every field a log-based metric of terraform/observability.tf reads exists in the log line the
code really writes: turns, requests and scoring are run on the fakes with the log captured
(as in test_logging.py); the Google adapters' lines, which need their wire fakes, are checked
on the keyword arguments of their log call in the source.

A captured line is mapped the way Cloud Logging maps it: ``logging.googleapis.com/labels``
becomes the entry's ``labels``; every other field stays in ``jsonPayload``.
"""

from __future__ import annotations

import ast
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions import scoring
from shared.bootstrap import get_container
from shared.logging import LABELS_KEY, configure_logging
from tests.infra.terraform_model import Terraform
from tests.unit.conftest import FakeWorld
from tests.unit.scoring_support import finish_a_test, pubsub_event
from tests.unit.session_support import Examiner, install_examiner

REPO_ROOT = Path(__file__).resolve().parents[2]
FIELD = re.compile(r"\b((?:jsonPayload|labels)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
MESSAGES = re.compile(r'jsonPayload\.message=(?:"([a-z_]+)"|\(([^)]*)\))')
# Lines written by the Google adapters: checked on their source (see the module docstring).
ADAPTER_LINES = {
    "speech_transcribed": "shared/adapters/google_speech_to_text.py",
    "speech_synthesized": "shared/adapters/google_text_to_speech.py",
    "language_model_generated": "shared/adapters/gemini.py",
}


def metrics() -> dict[str, dict[str, Any]]:
    """name => {filter, value, labels} of every log-based metric, stages expanded."""
    found = Terraform.load().locals
    every = {
        name: {
            "filter": unescape(metric["filter"]),
            "value": unescape(metric.get("value") or ""),
            "labels": {key: unescape(value) for key, value in metric["labels"].items()},
        }
        for name, metric in {**found["counter_metrics"], **found["distribution_metrics"]}.items()
    }
    template = str(found["turn_stage_metrics"])
    stage_filter = re.search(r'filter = "((?:[^"\\]|\\.)*)"', template)
    stage_value = re.search(r'value = "((?:[^"\\]|\\.)*)"', template)
    assert stage_filter, template
    assert stage_value, template
    for stage in found["turn_stages"]:
        every[f"turn_stage_{stage}"] = {
            "filter": unescape(stage_filter.group(1)).replace("${stage}", stage),
            "value": stage_value.group(1).replace("${stage}", stage),
            "labels": {},
        }
    return every


def unescape(text: str) -> str:
    """python-hcl2 keeps the backslashes of escaped quotes inside strings."""
    return text.replace('\\"', '"')


def messages_of(metric: dict[str, Any]) -> list[str]:
    match = MESSAGES.search(metric["filter"])
    assert match, f"no jsonPayload.message in {metric['filter']!r}"
    if match.group(1):
        return [match.group(1)]
    return re.findall(r'"([a-z_]+)"', match.group(2))


def fields_of(metric: dict[str, Any]) -> set[str]:
    texts = [metric["filter"], metric.get("value") or "", *metric.get("labels", {}).values()]
    return {field for text in texts for field in FIELD.findall(text)} - {"jsonPayload.message"}


def as_log_entry(line: dict[str, Any]) -> dict[str, Any]:
    payload = {key: value for key, value in line.items() if key != LABELS_KEY}
    return {"jsonPayload": payload, "labels": line.get(LABELS_KEY, {})}


def has_field(entry: dict[str, Any], path: str) -> bool:
    node: Any = entry
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


@pytest.fixture(scope="module")
def captured() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """message => log entries written while a learner takes turns, an unauthenticated request
    fails, and a finished test is scored in both phases."""
    stream = io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as patch:
            yield _run_the_product(stream, patch)
    finally:
        configure_logging("INFO")


def _run_the_product(stream: io.StringIO, patch: pytest.MonkeyPatch) -> dict[str, Any]:
    from tests.unit.conftest import client_for as client_fixture
    from tests.unit.conftest import world as world_fixture

    worlds = world_fixture.__wrapped__()  # type: ignore[attr-defined]
    world: FakeWorld = next(worlds)
    try:
        client_for = client_fixture.__wrapped__(world)  # type: ignore[attr-defined]
        examiner: Examiner = install_examiner(world, client_for)
        users = client_for("users")
        # Building a client runs functions/main.py, which configures logging: ours comes last.
        configure_logging("DEBUG", stream=stream)
        session_id = finish_a_test(examiner, ["My name is Amina and I study chemistry."] * 3)
        assert users.get("/users/me").status_code == 401
        settings = get_container().settings
        now = world.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        message = {"session_id": session_id}
        event = pubsub_event(settings.topic_session_finished, message, time=now)
        assert scoring.score_session(event) == "done"
        event = pubsub_event(settings.topic_analysis_requested, message, time=now)
        assert scoring.analyze_session(event) == "done"
    finally:
        worlds.close()
    lines: dict[str, list[dict[str, Any]]] = {}
    for text in stream.getvalue().splitlines():
        if text.strip():
            line = json.loads(text)
            lines.setdefault(line.get("message", ""), []).append(as_log_entry(line))
    return lines


def logged_keywords(path: str, message: str) -> set[str]:
    """Keyword names of the log calls writing ``message`` in the source file ``path``."""
    tree = ast.parse((REPO_ROOT / path).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == message
        ):
            names |= {keyword.arg for keyword in node.keywords if keyword.arg}
    return names


METRICS = metrics()
# Timed only when a language model words a Part 3 follow-up, which the fakes' short test never
# reaches; its name is checked against the code's `.stage("llm")` (test below) instead.
CONDITIONAL_STAGES = {"turn_stage_llm": "jsonPayload.milliseconds.llm"}


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_reads_fields_the_code_writes(
    name: str, captured: dict[str, list[dict[str, Any]]]
) -> None:
    metric = METRICS[name]
    for message in messages_of(metric):
        fields = fields_of(metric)
        if message in ADAPTER_LINES:
            keywords = logged_keywords(ADAPTER_LINES[message], message)
            assert keywords, f"no log call writes {message!r} in {ADAPTER_LINES[message]}"
            missing = {f for f in fields if f.split(".", 1)[1] not in keywords}
        else:
            entries = captured.get(message)
            assert entries, f"nothing logged {message!r}: {sorted(captured)}"
            missing = {f for f in fields if not any(has_field(e, f) for e in entries)}
            missing.discard(CONDITIONAL_STAGES.get(name, ""))
        assert not missing, f"{name}: {message} lines have no {sorted(missing)}"


def test_the_turn_stages_are_the_ones_the_code_times() -> None:
    timed = set()
    for path in (REPO_ROOT / "shared" / "sessions").rglob("*.py"):
        timed |= set(re.findall(r'\.stage\("([a-z_]+)"\)', path.read_text(encoding="utf-8")))
    assert set(Terraform.load().locals["turn_stages"]) == timed


def test_one_turn_line_carries_every_stage_it_ran(captured: dict[str, Any]) -> None:
    (first, *_) = captured["turn_recorded"]
    stages = first["jsonPayload"]["milliseconds"]
    assert {"store", "decode", "stt", "policy", "tts", "firestore"} <= set(stages)
    assert all(isinstance(ms, int | float) for ms in stages.values())


def test_event_lines_carry_the_function_label(captured: dict[str, Any]) -> None:
    (summary,) = captured["summary_written"]
    assert summary["labels"]["function"] == "score_session"
    assert summary["jsonPayload"]["phase"] == "summary"
    assert summary["jsonPayload"]["duration_ms"] > 0


def test_a_field_that_is_not_logged_is_caught(captured: dict[str, Any]) -> None:
    metric = {"filter": 'jsonPayload.message="request_served"', "value": "EXTRACT(jsonPayload.x)"}
    entries = captured["request_served"]
    assert not any(has_field(entry, "jsonPayload.x") for entry in entries)
    assert fields_of(metric) == {"jsonPayload.x"}
