"""Export and erasure over HTTP on the local stack, checked by reading the emulators directly.

A learner takes a short test (spoken answers, scored), links a teacher, sets a display name;
another learner does the same. The export must list every document and blob of the first
learner (its signed links download the audio). After DELETE /users/me (twice: both succeed),
a generic walk of EVERY Firestore collection and subcollection and EVERY bucket finds
nothing holding the uid, and the other learner's data is all still there.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore, storage

from devstack.demo import wav_bytes
from devstack.stack import Stack
from tests.speech_samples import synthesize

ANSWERS = (
    "My name is Ana and I come from a small town near the coast.",
    "I work as a nurse in a big hospital and I like helping people every day.",
)


class Learner:
    def __init__(self, stack: Stack, uid: str, role: str = "student"):
        self.uid = uid
        self.base = stack.base_url
        self.headers = {"Authorization": f"Bearer {stack.mint_token(uid, {'role': role})}"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=120, **kwargs)


def take_a_short_test(learner: Learner) -> str:
    learner.call("PATCH", "/users/me", json={"display_name": "Ana"}).raise_for_status()
    created = learner.call("POST", "/sessions", json={"mode": "part1"})
    assert created.status_code == 201, created.text
    session_id = str(created.json()["session_id"])
    for answer in ANSWERS:
        turn = learner.call(
            "POST",
            f"/sessions/{session_id}/turns",
            data=wav_bytes(synthesize(answer)),
            headers={"Content-Type": "audio/wav", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert turn.status_code == 200, turn.text
    learner.call("POST", f"/sessions/{session_id}/finish").raise_for_status()
    deadline = time.monotonic() + 240
    status = None
    while time.monotonic() < deadline:  # let both scoring phases land before anything else
        status = learner.call("GET", f"/sessions/{session_id}/results").json().get("status")
        if status in ("analysis_ready", "failed"):
            break
        time.sleep(1.0)
    assert status == "analysis_ready", status
    return session_id


def link(teacher: Learner, student: Learner) -> None:
    code = teacher.call("POST", "/teachers/me/invites").json()["code"]
    accepted = student.call("POST", "/users/me/teachers", json={"code": code})
    assert accepted.status_code == 201, accepted.text


def every_document(client: firestore.Client) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every document of every collection and subcollection, also below missing parents."""
    pending = list(client.collections())
    while pending:
        collection = pending.pop()
        for reference in collection.list_documents():  # includes parents that only hold children
            snapshot = reference.get()
            if snapshot.exists:
                yield reference.path, snapshot.to_dict() or {}
            pending.extend(reference.collections())


def every_blob(client: storage.Client) -> Iterator[tuple[str, str, bytes]]:
    for bucket in client.list_buckets():
        for blob in client.list_blobs(bucket.name):
            yield bucket.name, blob.name, blob.download_as_bytes()


def holding(uid: str, firestore_client: firestore.Client, gcs: storage.Client) -> list[str]:
    found = [path for path, data in every_document(firestore_client) if uid in path + repr(data)]
    found += [
        f"gs://{bucket}/{name}"
        for bucket, name, data in every_blob(gcs)
        if uid in name or uid.encode() in data
    ]
    return found


@pytest.fixture(scope="module")
def clients(local_stack: Stack) -> tuple[firestore.Client, storage.Client]:
    project = local_stack.settings.google_cloud_project
    return (
        firestore.Client(project=project),
        storage.Client(project=project, credentials=AnonymousCredentials()),  # type: ignore[no-untyped-call]
    )


def test_export_then_erase_leaves_nothing_of_the_learner(
    local_stack: Stack, clients: tuple[firestore.Client, storage.Client]
) -> None:
    firestore_client, gcs = clients
    run = uuid.uuid4().hex[:10]
    learner = Learner(local_stack, f"e2e-erase-{run}")
    other = Learner(local_stack, f"e2e-keep-{run}")
    teacher = Learner(local_stack, f"e2e-teacher-{run}", role="teacher")
    session_id = take_a_short_test(learner)
    other_session = take_a_short_test(other)
    link(teacher, learner)
    link(teacher, other)

    # A linked teacher reads the learner's results.
    seen = teacher.call("GET", f"/sessions/{session_id}/results")
    assert seen.status_code == 200
    assert seen.json()["status"] == "analysis_ready"

    before = holding(learner.uid, firestore_client, gcs)
    export = learner.call("GET", "/users/me/export")
    assert export.status_code == 200, export.text
    body = export.json()
    exported = {doc["path"] for docs in body["documents"].values() for doc in docs}
    documents_before = {p for p in before if not p.startswith("gs://")}
    assert documents_before <= exported, documents_before - exported
    assert f"sessions/{session_id}/analysis/deep" in exported
    assert len(body["documents"]["turns"]) == len(ANSWERS)
    blobs_before = {p for p in before if p.startswith("gs://")}
    assert {f"gs://{b['bucket']}/{b['name']}" for b in body["blobs"]} == blobs_before
    assert len(blobs_before) == len(ANSWERS)
    for blob in body["blobs"]:
        downloaded = requests.get(blob["url"], timeout=30)
        assert downloaded.status_code == 200
        assert (
            downloaded.content == gcs.bucket(blob["bucket"]).blob(blob["name"]).download_as_bytes()
        )

    others_before = holding(other.uid, firestore_client, gcs)
    first = learner.call("DELETE", "/users/me")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "erased"
    second = learner.call("DELETE", "/users/me")  # the same token, the account gone
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "already_erased"

    assert holding(learner.uid, firestore_client, gcs) == []
    assert sorted(holding(other.uid, firestore_client, gcs)) == sorted(others_before)
    assert other.call("GET", f"/sessions/{other_session}/results").status_code == 200
    gone = teacher.call("GET", f"/sessions/{session_id}/results")
    assert gone.status_code == 404
    assert learner.call("GET", "/users/me/export").json()["error"]["code"] == "token_revoked"
