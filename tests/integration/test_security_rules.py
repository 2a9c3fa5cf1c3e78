"""firestore.rules on the Firestore emulator: who may read and write what, as the PWA would.

The functions write through the Admin SDK, which bypasses rules; these tests are about the
client SDK's direct access. Requests go to the emulator's REST API as the client SDKs send
them, with a mock Firebase ID token (an unsigned JWT, as @firebase/rules-unit-testing
makes), so the rules see ``request.auth.uid`` and the ``role`` custom claim. Test data is
seeded with the emulator's admin bypass (``Authorization: Bearer owner``).

The rules under test are loaded from the repository's firestore.rules into a project of
their own (``PUT /emulator/v1/projects/P:securityRules`` applies to that project only), so
neither the rules nor the data touch the app's project in the shared local stack. Every
test makes its own users and documents.

A deny must be a rules deny: the test asserts 403 PERMISSION_DENIED and then sends the very
same request with the admin bypass, which must succeed, so a malformed request can never
pass for a denial.

Storage rules are not executed here: there is no Cloud Storage rules emulator that runs on
these machines (firebase-tools' needs Java 21 and a runtime downloaded at start; see
tests/unit/test_security_rules_files.py for what is checked instead).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.adapters.firestore_store import FirestoreStore

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "firestore.rules"
PROJECT = "demo-rules-matrix"  # the project the rules under test are loaded into
ADMIN_BYPASS = {"Authorization": "Bearer owner"}
TIMEOUT = 10

# --- The expected table: the specification ------------------------------------------------
#
# Roles, always seen from one student's data ("the owner"):
#   owner    the student whose documents these are
#   other    another student
#   teacher  a teacher (role claim) linked to the owner: teacherLinks/{teacher}_{owner}
#   stranger a teacher not linked to the owner
#   admin    an admin (role claim); admins read others' data only through audited functions
#   anon     no token
#
# Each cell lists the operations allowed among get, list, create, update and delete; every
# other operation is denied. "list" is the query a client would run for the owner's data
# (see Fixture.list_query); "update" of users is a valid preferences change.
ROLES = ("owner", "other", "teacher", "stranger", "admin", "anon")
OPERATIONS = ("get", "list", "create", "update", "delete")

# fmt: off
EXPECTED: dict[str, tuple[str, str, str, str, str, str]] = {
    #                   owner         other teacher     stranger admin anon
    "users":           ("get update", "",   "get",      "",      "",   ""),
    "questionMemory":  ("get list",   "",   "",         "",      "",   ""),
    "drills":          ("get list",   "",   "get list", "",      "",   ""),
    "sessions":        ("get list",   "",   "get list", "",      "",   ""),
    "turns":           ("get list",   "",   "get list", "",      "",   ""),
    "analysis":        ("get list",   "",   "get list", "",      "",   ""),
    "teacherLinks":    ("get list",   "",   "get list", "",      "",   ""),
    "linkInvites":     ("",           "",   "",         "",      "",   ""),
    "auditLog":        ("",           "",   "",         "",      "",   ""),
    "rateLimits":      ("",           "",   "",         "",      "",   ""),
    "processedEvents": ("",           "",   "",         "",      "",   ""),
    "notes":           ("",           "",   "",         "",      "",   ""),  # no such collection
}
# fmt: on


def _allowed(collection: str, role: str, operation: str) -> bool:
    cell = EXPECTED[collection][ROLES.index(role)]
    unknown = set(cell.split()) - set(OPERATIONS)
    assert not unknown, f"typo in EXPECTED[{collection!r}]: {unknown}"
    return operation in cell.split()


MATRIX = [
    pytest.param(
        collection,
        role,
        operation,
        _allowed(collection, role, operation),
        id=f"{collection}-{role}-{operation}-"
        + ("allow" if _allowed(collection, role, operation) else "deny"),
    )
    for collection in EXPECTED
    for role in ROLES
    for operation in OPERATIONS
]


# --- Talking to the emulator like a client SDK ---------------------------------------------


def encode(value: Any) -> dict[str, Any]:
    """A Python value as a Firestore REST ``Value``."""
    if value is None:
        return {"nullValue": None}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, datetime):
        return {"timestampValue": value.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    if isinstance(value, Mapping):
        return {"mapValue": {"fields": {key: encode(item) for key, item in value.items()}}}
    if isinstance(value, list):
        return {"arrayValue": {"values": [encode(item) for item in value]}}
    raise TypeError(f"no Firestore encoding for {type(value).__name__}")


def _b64(part: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def mock_id_token(project: str, uid: str, claims: Mapping[str, Any] | None = None) -> str:
    """An unsigned Firebase ID token (alg none), which the emulator accepts."""
    now = int(time.time())
    payload = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "sub": uid,
        "user_id": uid,
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "firebase": {"sign_in_provider": "password", "identities": {}},
        **(claims or {}),
    }
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."


@dataclass(frozen=True)
class Request:
    """One client request, replayable with other credentials."""

    method: str
    url: str
    body: dict[str, Any] | None = None

    def send(self, headers: Mapping[str, str]) -> requests.Response:
        return requests.request(
            self.method, self.url, json=self.body, headers=dict(headers), timeout=TIMEOUT
        )


@dataclass(frozen=True)
class Emulator:
    host: str  # host:port
    project: str

    @property
    def root(self) -> str:
        return f"projects/{self.project}/databases/(default)/documents"

    @property
    def api(self) -> str:
        return f"http://{self.host}/v1"

    def load_rules(self, source: str) -> None:
        response = requests.put(
            f"http://{self.host}/emulator/v1/projects/{self.project}:securityRules",
            json={"rules": {"files": [{"name": "firestore.rules", "content": source}]}},
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, f"rules not loaded: {response.text}"

    def get(self, path: str) -> Request:
        return Request("GET", f"{self.api}/{self.root}/{path}")

    def query(
        self,
        parent: str,
        collection: str,
        filters: list[tuple[str, Any]],
        *,
        all_descendants: bool = False,
    ) -> Request:
        source: dict[str, Any] = {"collectionId": collection}
        if all_descendants:
            source["allDescendants"] = True
        structured: dict[str, Any] = {"from": [source]}
        conditions = [
            {"fieldFilter": {"field": {"fieldPath": name}, "op": "EQUAL", "value": encode(value)}}
            for name, value in filters
        ]
        if len(conditions) == 1:
            structured["where"] = conditions[0]
        elif conditions:
            structured["where"] = {"compositeFilter": {"op": "AND", "filters": conditions}}
        prefix = f"{self.root}/{parent}" if parent else self.root
        return Request("POST", f"{self.api}/{prefix}:runQuery", {"structuredQuery": structured})

    def commit(self, *writes: dict[str, Any]) -> Request:
        return Request("POST", f"{self.api}/{self.root}:commit", {"writes": list(writes)})

    # Writes as the client SDKs build them.
    def create_write(self, path: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "update": {"name": f"{self.root}/{path}", "fields": encode(data)["mapValue"]["fields"]},
            "currentDocument": {"exists": False},
        }

    def set_write(self, path: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "update": {"name": f"{self.root}/{path}", "fields": encode(data)["mapValue"]["fields"]}
        }

    def update_write(
        self,
        path: str,
        data: Mapping[str, Any],
        mask: list[str],
        *,
        server_time_fields: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        write: dict[str, Any] = {
            "update": {"name": f"{self.root}/{path}", "fields": encode(data)["mapValue"]["fields"]},
            "updateMask": {"fieldPaths": mask},
            "currentDocument": {"exists": True},
        }
        if server_time_fields:
            write["updateTransforms"] = [
                {"fieldPath": name, "setToServerValue": "REQUEST_TIME"}
                for name in server_time_fields
            ]
        return write

    def delete_write(self, path: str) -> dict[str, Any]:
        return {"delete": f"{self.root}/{path}", "currentDocument": {"exists": True}}

    def seed(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        writes = [self.set_write(path, data) for path, data in documents.items()]
        response = self.commit(*writes).send(ADMIN_BYPASS)
        assert response.status_code == 200, f"seeding failed: {response.text}"


def _denied(response: requests.Response) -> bool:
    if response.status_code != 403:
        return False
    return bool(response.json().get("error", {}).get("status") == "PERMISSION_DENIED")


def _describe(response: requests.Response) -> str:
    return f"{response.status_code} {response.text[:300]}"


# --- The people and documents of one test --------------------------------------------------

CREATED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
# The custom claims in each role's token (a student has none: student is the default).
ROLE_CLAIMS: dict[str, dict[str, str]] = {
    "owner": {},
    "other": {},
    "teacher": {"role": "teacher"},
    "stranger": {"role": "teacher"},
    "admin": {"role": "admin"},
}
LIST_FILTERS = {"sessions": "uid", "users": "uid", "notes": "uid"}


@dataclass(frozen=True)
class Fixture:
    """Fresh users and one document per collection, all belonging to (or about) the owner."""

    emulator: Emulator
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def uids(self) -> dict[str, str]:
        return {role: f"{role}-{self.tag}" for role in ROLES if role != "anon"}

    @property
    def owner(self) -> str:
        return self.uids["owner"]

    @property
    def teacher(self) -> str:
        return self.uids["teacher"]

    @property
    def session(self) -> str:
        return f"session-{self.tag}"

    def headers(self, role: str, claims: Mapping[str, Any] | None = None) -> dict[str, str]:
        if role == "anon":
            return {}
        if claims is None:
            claims = ROLE_CLAIMS[role]
        token = mock_id_token(self.emulator.project, self.uids[role], claims)
        return {"Authorization": f"Bearer {token}"}

    def profile(self, uid: str) -> dict[str, Any]:
        return {
            "uid": uid,
            "preferences": {
                "target_band": 6.5,
                "first_language": "uz",
                "examiner_voice": "british",
                "display_name": "Dilnoza",
            },
            "created_at": CREATED,
            "updated_at": CREATED,
        }

    def documents(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """collection -> (path, data) of the document the matrix operates on."""
        owner, teacher, session, tag = self.owner, self.teacher, self.session, self.tag
        return {
            "users": (f"users/{owner}", self.profile(owner)),
            "questionMemory": (
                f"users/{owner}/questionMemory/summary",
                {"questions": {"p1-work-01": CREATED}},
            ),
            "drills": (
                f"users/{owner}/drills/drill-{tag}",
                {"uid": owner, "skill": "articles", "due": CREATED, "interval_days": 1},
            ),
            "sessions": (
                f"sessions/{session}",
                {"session_id": session, "uid": owner, "status": "active", "created_at": CREATED},
            ),
            "turns": (
                f"sessions/{session}/turns/turn-{tag}",
                {"index": 1, "part": 1, "transcript": "I work as a nurse."},
            ),
            "analysis": (
                f"sessions/{session}/analysis/summary",
                {"status": "summary_ready", "bands": {"fluency_coherence": 6}},
            ),
            "teacherLinks": (
                f"teacherLinks/{teacher}_{owner}",
                {"teacher_uid": teacher, "student_uid": owner, "created_at": CREATED},
            ),
            "linkInvites": (
                f"linkInvites/code-{tag}",
                {"teacher_uid": teacher, "expires_at": CREATED},
            ),
            "auditLog": (
                f"auditLog/entry-{tag}",
                {"actor": owner, "action": "export", "at": CREATED},
            ),
            "rateLimits": (f"rateLimits/turns-{owner}", {"count": 1, "expires_at": CREATED}),
            "processedEvents": (f"processedEvents/score__{tag}", {"handler": "score_session"}),
            "notes": (f"notes/{owner}", {"uid": owner, "text": "mine"}),
        }

    def list_query(self, collection: str) -> Request:
        """The query a client would run to list the owner's documents of ``collection``."""
        path, _ = self.documents()[collection]
        parent, _, _ = path.rpartition("/")
        parent_document, _, collection_id = parent.rpartition("/")
        filters: list[tuple[str, Any]] = []
        if collection in LIST_FILTERS:
            filters = [(LIST_FILTERS[collection], self.owner)]
        elif collection == "teacherLinks":
            filters = [("teacher_uid", self.teacher), ("student_uid", self.owner)]
        return self.emulator.query(parent_document, collection_id, filters)

    def operation(self, collection: str, operation: str) -> Request:
        emulator = self.emulator
        path, data = self.documents()[collection]
        if operation == "get":
            return emulator.get(path)
        if operation == "list":
            return self.list_query(collection)
        if operation == "create":
            return emulator.commit(emulator.create_write(path, data))
        if operation == "delete":
            return emulator.commit(emulator.delete_write(path))
        if collection == "users":  # what the app's settings screen would send
            return emulator.commit(
                emulator.update_write(
                    path,
                    {"preferences": {"display_name": "Dilnoza R"}},
                    ["preferences.display_name"],
                    server_time_fields=("updated_at",),
                )
            )
        return emulator.commit(emulator.update_write(path, {"tampered": True}, ["tampered"]))

    def seed(self, *, leave_out: str | None = None) -> None:
        documents = {
            path: data
            for collection, (path, data) in self.documents().items()
            if collection != leave_out
        }
        self.emulator.seed(documents)


@pytest.fixture(scope="module")
def emulator(local_stack: Any) -> Emulator:
    rules_emulator = Emulator(local_stack.env["FIRESTORE_EMULATOR_HOST"], PROJECT)
    rules_emulator.load_rules(RULES.read_text(encoding="utf-8"))
    return rules_emulator


@pytest.fixture
def world(emulator: Emulator) -> Fixture:
    return Fixture(emulator)


# --- The matrix ----------------------------------------------------------------------------


@pytest.mark.parametrize(("collection", "role", "operation", "allowed"), MATRIX)
def test_rules_matrix(
    world: Fixture, collection: str, role: str, operation: str, allowed: bool
) -> None:
    # A create needs its document absent; everything else finds it there.
    world.seed(leave_out=collection if operation == "create" else None)
    request = world.operation(collection, operation)
    response = request.send(world.headers(role))
    if allowed:
        assert response.status_code == 200, _describe(response)
        if operation == "list":
            path, _ = world.documents()[collection]
            found = [row["document"]["name"] for row in response.json() if "document" in row]
            assert found == [f"{world.emulator.root}/{path}"], found
        return
    assert _denied(response), f"expected a rules deny, got {_describe(response)}"
    # The same request must be well-formed: without rules (admin bypass) it succeeds.
    control = request.send(ADMIN_BYPASS)
    assert control.status_code == 200, f"the request itself is broken: {_describe(control)}"


# --- Profile edits: only the listed preference fields, with the model's constraints -------

VALID_PREFERENCES = {
    "target_band": 7.5,
    "first_language": "vi",
    "examiner_voice": "australian",
    "display_name": "Minh Anh",
}

PROFILE_EDITS = [
    # (label, preferences sent, allowed)
    ("every field valid", {}, True),
    ("whole band as an integer", {"target_band": 7}, True),
    ("lowest band", {"target_band": 4.0}, True),
    ("highest band", {"target_band": 9.0}, True),
    ("optional fields cleared", {"target_band": None, "first_language": None}, True),
    ("display name cleared", {"display_name": None}, True),
    ("display name of 60 characters", {"display_name": "é" * 60}, True),
    ("band below 4", {"target_band": 3.5}, False),
    ("band above 9", {"target_band": 9.5}, False),
    ("band not a half", {"target_band": 6.3}, False),
    ("band as text", {"target_band": "7"}, False),
    ("language in capitals", {"first_language": "VI"}, False),
    ("language of three letters", {"first_language": "vie"}, False),
    ("unknown examiner voice", {"examiner_voice": "scottish"}, False),
    ("examiner voice null", {"examiner_voice": None}, False),
    ("empty display name", {"display_name": ""}, False),
    ("display name of 61 characters", {"display_name": "é" * 61}, False),
    ("display name with a newline", {"display_name": "Minh\nAnh"}, False),
    ("display name with a leading space", {"display_name": " Minh"}, False),
    ("display name not text", {"display_name": 42}, False),
    ("unlisted preference", {"speaking_rate": 1.2}, False),
]


@pytest.mark.parametrize(
    ("preferences", "allowed"),
    [pytest.param(change, allowed, id=label) for label, change, allowed in PROFILE_EDITS],
)
def test_profile_preferences_edit(
    world: Fixture, preferences: dict[str, Any], allowed: bool
) -> None:
    world.seed()
    path, _ = world.documents()["users"]
    request = world.emulator.commit(
        world.emulator.update_write(
            path,
            {"preferences": {**VALID_PREFERENCES, **preferences}},
            ["preferences"],
            server_time_fields=("updated_at",),
        )
    )
    response = request.send(world.headers("owner"))
    if allowed:
        assert response.status_code == 200, _describe(response)
    else:
        assert _denied(response), _describe(response)
        assert request.send(ADMIN_BYPASS).status_code == 200


PROFILE_FIELD_EDITS = [
    # (label, fields sent, mask, fields set to the request time)
    ("updated_at left as it was", {"preferences": VALID_PREFERENCES}, ["preferences"], ()),
    (
        "updated_at from the client's clock",
        {"preferences": VALID_PREFERENCES, "updated_at": datetime.now(UTC)},
        ["preferences", "updated_at"],
        (),
    ),
    ("uid", {"uid": "someone-else"}, ["uid"], ("updated_at",)),
    (
        "created_at",
        {"created_at": datetime(2020, 1, 1, tzinfo=UTC)},
        ["created_at"],
        ("updated_at",),
    ),
    ("a role field", {"role": "admin"}, ["role"], ("updated_at",)),
    ("a new top-level field", {"stats": {"tests": 99}}, ["stats"], ("updated_at",)),
]


@pytest.mark.parametrize(
    ("fields", "mask", "server_time"),
    [
        pytest.param(fields, mask, times, id=label)
        for label, fields, mask, times in PROFILE_FIELD_EDITS
    ],
)
def test_profile_fields_other_than_preferences_are_read_only(
    world: Fixture, fields: dict[str, Any], mask: list[str], server_time: tuple[str, ...]
) -> None:
    world.seed()
    path, _ = world.documents()["users"]
    emulator = world.emulator
    request = emulator.commit(
        emulator.update_write(path, fields, mask, server_time_fields=server_time)
    )
    response = request.send(world.headers("owner"))
    assert _denied(response), _describe(response)
    assert request.send(ADMIN_BYPASS).status_code == 200


def test_owner_cannot_replace_their_profile_wholesale(world: Fixture) -> None:
    # A set() without a mask rewrites every field: created_at moves, so it is refused.
    world.seed()
    path, data = world.documents()["users"]
    replaced = {**data, "created_at": datetime.now(UTC)}
    request = world.emulator.commit(world.emulator.set_write(path, replaced))
    assert _denied(request.send(world.headers("owner")))
    assert request.send(ADMIN_BYPASS).status_code == 200


# --- Lists must be constrained to what the caller may read -------------------------------


def test_unconstrained_session_list_is_denied_even_to_owner_and_teacher(world: Fixture) -> None:
    world.seed()
    everything = world.emulator.query("", "sessions", [])
    for role in ("owner", "teacher"):
        assert _denied(everything.send(world.headers(role))), role
    assert everything.send(ADMIN_BYPASS).status_code == 200


def test_session_list_for_someone_else_is_denied(world: Fixture) -> None:
    world.seed()
    theirs = world.emulator.query("", "sessions", [("uid", world.uids["other"])])
    assert _denied(theirs.send(world.headers("owner")))
    assert theirs.send(ADMIN_BYPASS).status_code == 200


def test_each_party_lists_their_own_links(world: Fixture) -> None:
    world.seed()
    emulator, link_path = world.emulator, world.documents()["teacherLinks"][0]
    expected = [f"{emulator.root}/{link_path}"]
    as_student = emulator.query("", "teacherLinks", [("student_uid", world.owner)])
    as_teacher = emulator.query("", "teacherLinks", [("teacher_uid", world.teacher)])
    for request, role in ((as_student, "owner"), (as_teacher, "teacher")):
        response = request.send(world.headers(role))
        assert response.status_code == 200, _describe(response)
        assert [row["document"]["name"] for row in response.json() if "document" in row] == (
            expected
        )
    everything = emulator.query("", "teacherLinks", [])
    assert _denied(everything.send(world.headers("teacher")))
    # A student cannot list a teacher's other students.
    assert _denied(as_teacher.send(world.headers("other")))


def test_collection_group_queries_are_denied(world: Fixture) -> None:
    # Turns across every session (a collection group) would bypass the per-session check.
    world.seed()
    across = world.emulator.query("", "turns", [], all_descendants=True)
    assert _denied(across.send(world.headers("owner")))
    assert across.send(ADMIN_BYPASS).status_code == 200


# --- The teacher check needs both the claim and the link ----------------------------------


def test_a_link_without_the_teacher_claim_reads_nothing(world: Fixture) -> None:
    world.seed()
    session = world.emulator.get(world.documents()["sessions"][0])
    assert session.send(world.headers("teacher")).status_code == 200
    for claims in ({}, {"role": "student"}, {"role": "admin"}):
        assert _denied(session.send(world.headers("teacher", claims))), claims


def test_a_link_in_the_other_direction_gives_the_student_nothing(world: Fixture) -> None:
    # teacherLinks/{teacher}_{owner} lets the teacher read the owner, not the reverse, even
    # if the student's token claimed to be a teacher.
    world.seed()
    teachers_profile = world.profile(world.teacher)
    world.emulator.seed({f"users/{world.teacher}": teachers_profile})
    request = world.emulator.get(f"users/{world.teacher}")
    assert request.send(world.headers("teacher")).status_code == 200
    assert _denied(request.send(world.headers("owner", {"role": "teacher"})))


def test_a_revoked_link_ends_the_teachers_access(world: Fixture) -> None:
    world.seed()
    emulator = world.emulator
    session = emulator.get(world.documents()["sessions"][0])
    assert session.send(world.headers("teacher")).status_code == 200
    revoke = emulator.commit(emulator.delete_write(world.documents()["teacherLinks"][0]))
    assert revoke.send(ADMIN_BYPASS).status_code == 200  # the functions revoke, not clients
    assert _denied(session.send(world.headers("teacher")))


# --- The local stack: it loads firestore.rules, and the app's own access is unaffected ----


def test_local_stack_enforces_the_repository_rules_for_clients_only(local_stack: Any) -> None:
    # The stack's Firestore emulator was started with --rules=firestore.rules (devstack), on
    # the app's project. The app writes through the Admin SDK path (FirestoreStore), which
    # rules never stop, even in collections no client may touch.
    app = Emulator(
        local_stack.env["FIRESTORE_EMULATOR_HOST"], local_stack.settings.google_cloud_project
    )
    store = FirestoreStore(local_stack.settings)
    tag = uuid.uuid4().hex[:12]
    owner, other = f"owner-{tag}", f"other-{tag}"
    session_path = f"sessions/rules-{tag}"
    audit_path = f"auditLog/rules-{tag}"
    assert store.create(session_path, {"uid": owner, "status": "active", "created_at": CREATED})
    assert store.create(audit_path, {"actor": owner, "action": "export", "at": CREATED})
    assert store.get(audit_path) is not None

    def as_user(uid: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mock_id_token(app.project, uid)}"}

    assert app.get(session_path).send(as_user(owner)).status_code == 200
    assert _denied(app.get(session_path).send(as_user(other)))
    assert _denied(app.get(audit_path).send(as_user(owner)))
    store.delete(session_path)
    store.delete(audit_path)


def test_a_link_id_that_only_looks_like_the_pair_grants_nothing(world: Fixture) -> None:
    # uids may contain '_': the link of teacher T and student "X_owner" has the id
    # T_X_owner, which a teacher "T_X" asking for "owner" would also compute.
    world.seed(leave_out="teacherLinks")
    emulator, teacher, owner = world.emulator, world.teacher, world.owner
    lookalike = f"{teacher}_x"
    emulator.seed(
        {
            f"teacherLinks/{teacher}_x_{owner}": {
                "teacher_uid": teacher,
                "student_uid": f"x_{owner}",
                "created_at": CREATED,
            }
        }
    )
    token = mock_id_token(emulator.project, lookalike, {"role": "teacher"})
    session = emulator.get(world.documents()["sessions"][0])
    assert _denied(session.send({"Authorization": f"Bearer {token}"}))
    assert session.send(ADMIN_BYPASS).status_code == 200
