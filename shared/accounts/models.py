"""Requests and responses of roles, teacher links, admin reads and privacy requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.models.identity import Role

ROLE_TAKES_EFFECT = (
    "The new role is in the user's next ID token: it takes effect when their app refreshes "
    "its token (within an hour, or at once with getIdToken(true)) or they sign in again."
)


# --- Roles ----------------------------------------------------------------------------------
class RoleUpdate(BaseModel):
    """PUT /admin/users/{uid}/role."""

    model_config = ConfigDict(extra="forbid")

    role: Role


class RoleChanged(BaseModel):
    uid: str
    role: Role
    previous_role: Role
    changed: bool
    tokens_revoked: bool = Field(
        description="True when the role went down: older tokens fail where revocation is checked."
    )
    takes_effect: str = ROLE_TAKES_EFFECT


# --- Teacher links --------------------------------------------------------------------------
class InviteCreated(BaseModel):
    """POST /teachers/me/invites: the code to give a student (shown once; stored hashed)."""

    code: str = Field(description="8 characters; spaces and dashes are ignored when typed.")
    display_code: str = Field(description="The code as ABCD-EFGH, easier to read out.")
    expires_at: datetime


class AcceptInvite(BaseModel):
    """POST /users/me/teachers."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)


class TeacherView(BaseModel):
    teacher_uid: str
    display_name: str | None
    linked_at: datetime


class TeacherList(BaseModel):
    teachers: list[TeacherView]


class StudentView(BaseModel):
    student_uid: str
    display_name: str | None
    linked_at: datetime


class StudentList(BaseModel):
    students: list[StudentView]


class StudentSession(BaseModel):
    """One of a linked student's sessions with the bands of its fast summary, if scored."""

    session_id: str
    status: str
    mode: str
    created_at: datetime
    finished_at: datetime | None
    scoring_status: str | None
    speaking_band: float | None
    bands: dict[str, int | None] = Field(description="Band per criterion; null if not scored.")


class StudentSessions(BaseModel):
    student_uid: str
    sessions: list[StudentSession]


# --- Admin ----------------------------------------------------------------------------------
class UserUsage(BaseModel):
    uid: str
    sessions: int
    usage: dict[str, float]


class UsageReport(BaseModel):
    """GET /admin/usage: paid-service use of sessions created in [from, to)."""

    period_from: datetime
    period_to: datetime
    sessions: int
    users: int
    totals: dict[str, float]
    per_user: list[UserUsage]
    truncated: bool = Field(description="True when more sessions matched than one report reads.")


# --- Privacy --------------------------------------------------------------------------------
class BlobLink(BaseModel):
    bucket: str
    name: str
    url: str


class DataExport(BaseModel):
    """GET /users/me/export: everything stored about the caller."""

    uid: str
    exported_at: datetime
    links_expire_in_seconds: int
    documents: dict[str, list[dict[str, Any]]] = Field(
        description="By data location (profile, sessions, turns, ...): each document with its path."
    )
    usage: dict[str, float]
    blobs: list[BlobLink]


class ErasureResult(BaseModel):
    """DELETE /users/me."""

    status: str = Field(description="erased, or already_erased for a repeat.")
    deleted: dict[str, int] = Field(description="Documents and blobs deleted, by location.")
    audit_records_pseudonymised: int
    account_deleted: bool


class UsagePeriod(BaseModel):
    """GET /admin/usage?from=...&to=...: dates (YYYY-MM-DD) or ISO datetimes; [from, to)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    period_from: str = Field(alias="from", min_length=10, max_length=40, examples=["2025-01-01"])
    period_to: str = Field(alias="to", min_length=10, max_length=40, examples=["2025-02-01"])
