"""The local stack itself: routing, provisioning, Pub/Sub push as CloudEvents, stop and restart.

Most tests use the session's ``local_stack``; the last ones run ``python -m devstack`` in a
subprocess on other free ports, as a developer runs ``make run``, to check that SIGINT
leaves nothing behind and that data survives a restart.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack import prereqs
from devstack.config import REPO_ROOT, StackConfig, free_ports, port_in_use, read_ports
from devstack.emulators import Functions
from devstack.process import group_members
from devstack.provision import topic_fields
from devstack.routing import Route, RouteTable, event_path
from devstack.stack import Stack
from functions.catalog import HTTP_FUNCTIONS
from tests.conftest import FIXTURE_EVENT_FUNCTION, FIXTURE_TOPIC

PUSH_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def example_path(prefix: str) -> str:
    return prefix.replace("*", "abc123")


# --- Routing -----------------------------------------------------------------------------
def test_every_catalog_prefix_resolves_to_its_function() -> None:
    table = RouteTable.from_functions((f.name, f.paths) for f in HTTP_FUNCTIONS)
    for function in HTTP_FUNCTIONS:
        for prefix in function.paths:
            path = example_path(prefix)
            for candidate in (path, path + "/", path + "/more/below", "/api" + path):
                assert table.resolve(candidate) == function.name, candidate
    assert table.resolve("/") is None
    assert table.resolve("/api") is None
    assert table.resolve("/no-such-function") is None
    assert table.resolve("/healthzz") is None  # a prefix is whole segments, not characters


def test_the_most_specific_prefix_wins_and_a_star_is_one_segment() -> None:
    table = RouteTable([Route("/sessions", "sessions"), Route("/sessions/*/turns", "turns")])
    assert table.resolve("/sessions/s1/turns") == "turns"
    assert table.resolve("/api/sessions/s1/turns/t9") == "turns"
    assert table.resolve("/sessions/s1") == "sessions"
    assert table.resolve("/sessions/s1/turnsx") == "sessions"
    assert table.resolve("/sessions//turns") == "sessions"  # an empty segment is no segment


def test_reserved_and_malformed_prefixes_are_refused() -> None:
    with pytest.raises(ValueError, match="reserved"):
        RouteTable([Route("/_events", "sneaky")])
    with pytest.raises(ValueError, match="must be /name"):
        RouteTable([Route("users", "users")])


def test_the_dispatcher_sends_each_catalog_path_to_its_function(local_stack: Stack) -> None:
    for function in HTTP_FUNCTIONS:
        method, path = function.typical_request
        for url_path in (path, "/api" + path):
            response = requests.request(method, local_stack.base_url + url_path, timeout=10)
            assert response.headers.get("X-Devstack-Function") == function.name, url_path
            assert response.status_code != 404, (url_path, response.text)


def test_the_dispatcher_answers_404_for_unknown_paths(local_stack: Stack) -> None:
    for path in (
        "/no-such-function",
        "/api/no-such-function",
        "/_events/nobody/projects/p/topics/t",
    ):
        response = requests.get(local_stack.base_url + path, timeout=10)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
        assert "X-Devstack-Function" not in response.headers


def test_healthz_answers_through_the_stack(local_stack: Stack) -> None:
    response = requests.get(local_stack.base_url + "/healthz", timeout=10)
    assert response.status_code == 200
    assert response.headers["X-Devstack-Function"] == "health"


# --- Provisioning ------------------------------------------------------------------------
def test_buckets_exist_with_the_audio_lifecycle_rule(local_stack: Stack) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    settings = local_stack.settings
    client = storage.Client(
        project=settings.google_cloud_project, credentials=AnonymousCredentials()
    )
    names = {bucket.name for bucket in client.list_buckets()}
    assert {settings.audio_bucket, settings.reports_bucket} <= names
    rules = list(client.get_bucket(settings.audio_bucket).lifecycle_rules)
    assert rules == [
        {"action": {"type": "Delete"}, "condition": {"age": settings.audio_retention_days}}
    ]


def test_every_topic_of_settings_exists_with_the_push_subscriptions(local_stack: Stack) -> None:
    from google.cloud import pubsub_v1

    settings = local_stack.settings
    project = f"projects/{settings.google_cloud_project}"
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    try:
        topics = {topic.name.rsplit("/", 1)[1] for topic in publisher.list_topics(project=project)}
        expected = set(topic_fields(settings).values()) | {FIXTURE_TOPIC}
        assert settings.topic_dead_letter in expected
        assert expected <= topics
        push = subscriber.get_subscription(
            subscription=f"{project}/subscriptions/devstack-{FIXTURE_EVENT_FUNCTION}"
        )
        assert push.push_config.push_endpoint == local_stack.base_url + event_path(
            FIXTURE_EVENT_FUNCTION, settings.google_cloud_project, FIXTURE_TOPIC
        )
        assert push.dead_letter_policy.dead_letter_topic == (
            f"{project}/topics/{settings.topic_dead_letter}"
        )
    finally:
        subscriber.close()


def test_catalog_event_functions_get_their_topic_and_push_subscription(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from devstack import stack as stack_module
    from devstack.config import StackError
    from devstack.provision import make_plan
    from functions.catalog import EventFunction

    monkeypatch.setattr(
        stack_module, "EVENT_FUNCTIONS", (EventFunction("score_session", "topic_session_finished"),)
    )
    ports = free_ports()
    stack = Stack(StackConfig(data_dir=tmp_path, ports=ports))  # builds, starts nothing
    topic = stack.settings.topic_session_finished
    path = event_path("score_session", stack.settings.google_cloud_project, topic)
    functions = stack.services["functions"]
    assert isinstance(functions, Functions)
    assert functions.spec["events"] == [
        {
            "name": "score_session",
            "source": str(REPO_ROOT / "functions" / "main.py"),
            "target": "score_session",
            "topic": topic,
            "path": path,
        }
    ]
    plan = make_plan(stack.settings, [("score_session", topic, stack.base_url + path)])
    (push,) = [sub for sub in plan.subscriptions if sub.push_endpoint]
    assert push.push_endpoint == f"http://127.0.0.1:{ports['functions']}{path}"
    assert push.dead_letter_topic == stack.settings.topic_dead_letter

    monkeypatch.setattr(stack_module, "EVENT_FUNCTIONS", (EventFunction("broken", "topic_nope"),))
    with pytest.raises(StackError, match="topic_nope"):
        Stack(StackConfig(data_dir=tmp_path, ports=ports))


# --- Pub/Sub push to a CloudEvent function -------------------------------------------------
def test_a_published_message_arrives_as_a_cloudevent(local_stack: Stack) -> None:
    from google.cloud import firestore, pubsub_v1

    project = local_stack.settings.google_cloud_project
    payload = {"session_id": "s-123", "note": "déjà vu"}
    attributes = {"origin": "test_local_stack", "schema": "v1"}
    publisher = pubsub_v1.PublisherClient()
    message_id = publisher.publish(
        publisher.topic_path(project, FIXTURE_TOPIC),
        json.dumps(payload).encode(),
        **attributes,
    ).result(timeout=30)

    document = firestore.Client(project=project).collection("devstackEvents").document(message_id)
    snapshot = wait_for(
        lambda: (s := document.get()).exists and s, 30, "the CloudEvent to be recorded"
    )
    event = snapshot.to_dict()
    assert event["id"] == message_id
    assert event["type"] == PUSH_TYPE
    assert event["source"].endswith(f"projects/{project}/topics/{FIXTURE_TOPIC}")
    data = json.loads(event["data"])
    assert data["message"]["messageId"] == message_id
    assert json.loads(base64.b64decode(data["message"]["data"])) == payload
    assert data["message"]["attributes"] == attributes


# --- Stopping and restarting one service ---------------------------------------------------
def test_readyz_names_a_stopped_firestore_and_recovers(local_stack: Stack) -> None:
    local_stack.stop_service("firestore")
    try:
        response = requests.get(local_stack.base_url + "/readyz", timeout=30)
        assert response.status_code == 503
        assert "firestore" in response.json()["error"]["details"]["failing"]
    finally:
        local_stack.start_service("firestore")
    response = wait_for(
        lambda: (r := requests.get(local_stack.base_url + "/readyz", timeout=30)).ok and r,
        30,
        "/readyz to answer 200 again",
    )
    assert response.json()["status"] == "ready"


def test_a_token_from_the_emulator_carries_its_claims(local_stack: Stack) -> None:
    token = local_stack.mint_token("stack-user-1", {"role": "teacher"})
    body = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert claims["sub"] == "stack-user-1"
    assert claims["role"] == "teacher"
    assert claims["aud"] == local_stack.settings.google_cloud_project


# --- Prerequisites and configuration --------------------------------------------------------
def test_this_machine_has_every_prerequisite() -> None:
    assert prereqs.check() == []


def test_a_missing_prerequisite_is_named_with_its_install_command(tmp_path: Path) -> None:
    missing = prereqs.check(tmp_path, ["auth", "functions"])
    text = prereqs.describe(missing)
    assert "firebase-tools" in text
    assert "npm ci" in text
    assert "functions/main.py" in text


def test_firebase_json_gives_every_port_once() -> None:
    host, ports = read_ports(REPO_ROOT / "firebase.json")
    assert host == "127.0.0.1"
    assert ports["functions"] == 8080
    StackConfig(data_dir=REPO_ROOT / ".local", ports=ports)  # validates every name


# --- A stack in a subprocess: SIGINT, leftovers, persistence ---------------------------------
@pytest.fixture
def run_devstack(
    tmp_path: Path,
) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], dict[str, Any]]]]:
    """Start ``python -m devstack`` on free ports; returns (process, its stack.json)."""
    started: list[subprocess.Popen[bytes]] = []

    def run(data_dir: Path, *args: str) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
        state = data_dir / "stack.json"
        with (tmp_path / f"devstack-{len(started)}.out").open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "devstack",
                    "--free-ports",
                    "--no-follow",
                    "--data-dir",
                    str(data_dir),
                    *args,
                ],
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Like a terminal's foreground job: it gets SIGINT, not us.
                start_new_session=True,
            )
        started.append(process)

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"devstack exited with {process.returncode}:\n{out_text()}")
            return state.exists()

        def out_text() -> str:
            return (tmp_path / f"devstack-{len(started) - 1}.out").read_text(errors="replace")

        wait_for(ready, 120, "the subprocess stack to be ready")
        return process, json.loads(state.read_text())

    yield run
    for process in started:  # a failed assertion must not leave a stack running
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)


def _stop_with_sigint(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0


def _firestore_doc_url(state: dict[str, Any], project: str, path: str) -> str:
    firestore = state["services"]["firestore"]["url"]
    return f"{firestore}/v1/projects/{project}/databases/(default)/documents/{path}"


def test_sigint_stops_every_process_and_data_survives_a_restart(
    run_devstack: Callable[..., tuple[subprocess.Popen[bytes], dict[str, Any]]],
    tmp_path: Path,
    local_stack: Stack,
) -> None:
    data_dir = tmp_path / "data"
    project = local_stack.settings.google_cloud_project
    owner = {"Authorization": "Bearer owner"}  # the emulators' administrator

    process, state = run_devstack(data_dir)
    assert set(state["services"]) == {"auth", "firestore", "pubsub", "storage", "functions"}
    # Write to each persistent store.
    doc = requests.patch(
        _firestore_doc_url(state, project, "persisted/doc1"),
        json={"fields": {"greeting": {"stringValue": "still here"}}},
        headers=owner,
        timeout=10,
    )
    assert doc.ok, doc.text
    auth_url = state["services"]["auth"]["url"]
    from devstack.auth import mint_token

    mint_token(auth_url, project, "persisted-user")
    storage_url = state["services"]["storage"]["url"]
    bucket = local_stack.settings.audio_bucket
    upload = requests.post(
        f"{storage_url}/upload/storage/v1/b/{bucket}/o",
        params={"uploadType": "media", "name": "kept.txt"},
        data=b"kept bytes",
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert upload.ok, upload.text

    _stop_with_sigint(process)
    for name, service in state["services"].items():
        assert group_members(service["pid"]) == [], f"{name} left processes behind"
    for name, port in state["ports"].items():
        assert not port_in_use("127.0.0.1", port), f"{name} port {port} still in use"
    assert not (data_dir / "stack.json").exists()

    process, state = run_devstack(data_dir, "--services", "firestore,auth,storage")
    doc = requests.get(
        _firestore_doc_url(state, project, "persisted/doc1"), headers=owner, timeout=10
    )
    assert doc.ok, doc.text
    assert doc.json()["fields"]["greeting"]["stringValue"] == "still here"
    users = requests.post(
        f"{state['services']['auth']['url']}/identitytoolkit.googleapis.com/v1/projects/{project}/accounts:lookup",
        json={"localId": ["persisted-user"]},
        headers=owner,
        timeout=10,
    )
    assert users.ok, users.text
    assert users.json().get("users"), users.text
    kept = requests.get(
        f"{state['services']['storage']['url']}/storage/v1/b/{bucket}/o/kept.txt",
        params={"alt": "media"},
        timeout=10,
    )
    assert kept.content == b"kept bytes"
    _stop_with_sigint(process)


def test_a_busy_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    import socket

    from devstack.config import StackError

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        ports = {**free_ports(), "functions": blocker.getsockname()[1]}
        stack = Stack(StackConfig(data_dir=tmp_path, ports=ports, persist=False))
        try:
            with pytest.raises(StackError, match=r"functions port \d+"):
                stack.start()
            assert all(service.process is None for service in stack.services.values())
        finally:
            stack.stop()


def test_a_second_stack_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    from devstack.config import StackError
    from devstack.state import write_state

    # Our parent process (alive, with a stable command line) plays the supervisor that
    # wrote stack.json and is still running.
    supervisor = os.getppid()
    cmdline = Path(f"/proc/{supervisor}/cmdline").read_bytes().replace(b"\0", b" ")
    write_state(tmp_path, {}, {}, {})
    state = json.loads((tmp_path / "stack.json").read_text())
    state["supervisor"] = {"pid": supervisor, "cmdline": cmdline.decode().strip()}
    (tmp_path / "stack.json").write_text(json.dumps(state))
    stack = Stack(StackConfig(data_dir=tmp_path, ports=free_ports(), services=("storage",)))
    try:
        with pytest.raises(StackError, match=f"already running.*kill -INT {supervisor}"):
            stack.start()
    finally:
        stack.stop()  # if it did start, it must not outlive the test


def test_the_environment_points_at_the_stack(local_stack: Stack) -> None:
    for name, value in local_stack.env.items():
        assert os.environ[name] == value
    assert (
        local_stack.settings.firestore_emulator_host == local_stack.env["FIRESTORE_EMULATOR_HOST"]
    )
