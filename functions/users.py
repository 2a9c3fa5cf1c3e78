"""The users function: the signed-in user's profile and preferences, their teachers, their
data (export, erase); teachers' invites and students; admins' roles, usage and regrades.

Accounts code beyond profiles is imported on first use: every function shares main.py and
GET /users/me must not pay for it at cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import flask

from shared.accounts import profiles
from shared.http import Api, ApiRequest, json_response
from shared.logging import bind
from shared.models.user import PreferencesUpdate, UserProfile

if TYPE_CHECKING:
    from shared.accounts.models import (
        DataExport,
        ErasureResult,
        InviteCreated,
        RoleChanged,
        StudentList,
        StudentSessions,
        TeacherList,
        TeacherView,
        UsageReport,
    )

api = Api("users")

_MODELS = "shared.accounts.models:"
_ERRORS = "shared.accounts.account_errors:"


@api.route("GET", "/users/me", response=UserProfile)
def get_my_profile(request: ApiRequest) -> UserProfile:
    """The signed-in user's profile (created with defaults on first use)."""
    container = request.container
    return profiles.get_or_create_profile(container.store, container.clock, request.verified_caller)


@api.route("PATCH", "/users/me", body=PreferencesUpdate, response=UserProfile)
def update_my_preferences(request: ApiRequest) -> UserProfile:
    """Change the fields present in the body; null clears an optional one."""
    update = request.json(PreferencesUpdate)
    container = request.container
    return profiles.update_preferences(
        container.store, container.clock, request.verified_caller, update
    )


# --- Privacy -------------------------------------------------------------------------------
@api.route("GET", "/users/me/export", sensitive=True, response=_MODELS + "DataExport")
def export_my_data(request: ApiRequest) -> DataExport:
    """Everything stored about the signed-in user, with signed links to their audio and reports."""
    from shared.accounts import privacy

    return privacy.export_account(
        request.container, request.verified_caller, request_id=request.request_id
    )


@api.route(
    "DELETE",
    "/users/me",
    response=_MODELS + "ErasureResult",
    raises=("shared.errors:TokenRevoked",),
)
def erase_me(request: ApiRequest) -> ErasureResult:
    """Erase the signed-in user's data and account; a repeat answers already_erased."""
    from shared.accounts import privacy

    caller = request.verified_caller
    # Revocation is checked here rather than by the edge: a repeat after the account is gone
    # must succeed, while a revoked token of a living account must not erase it.
    token = (request.raw.headers.get("Authorization") or "").strip().partition(" ")[2].strip()
    exists = privacy.account_still_exists(request.container, token, caller)
    return privacy.erase_account(
        request.container, caller, request_id=request.request_id, account_exists=exists
    )


# --- Teacher links (the student's side) -----------------------------------------------------
@api.route("GET", "/users/me/teachers", response=_MODELS + "TeacherList")
def list_my_teachers(request: ApiRequest) -> TeacherList:
    """The teachers who can see the signed-in user's sessions and results."""
    from shared.accounts import links

    return links.list_my_teachers(request.container.store, request.verified_caller)


@api.route(
    "POST",
    "/users/me/teachers",
    body=_MODELS + "AcceptInvite",
    response=_MODELS + "TeacherView",
    status=(201, 200),
    raises=(
        _ERRORS + "InviteCodeInvalid",
        _ERRORS + "InviteNotFound",
        _ERRORS + "InviteExpired",
        _ERRORS + "InviteUsed",
        _ERRORS + "OwnInvite",
    ),
)
def accept_invite(request: ApiRequest) -> tuple[int, TeacherView]:
    """Accept a teacher's invite code (201; 200 when already linked)."""
    from shared.accounts import links
    from shared.accounts.models import AcceptInvite

    body = request.json(AcceptInvite)
    created, view = links.accept_invite(
        request.container, request.verified_caller, body.code, request_id=request.request_id
    )
    return (201 if created else 200), view


@api.route("DELETE", "/users/me/teachers/{teacher_uid}", status=204)
def revoke_teacher(request: ApiRequest) -> tuple[int, None]:
    """Stop a teacher seeing your work (204, also when there was no link)."""
    from shared.accounts import links

    links.revoke_teacher(
        request.container,
        request.verified_caller,
        request.path_params["teacher_uid"],
        request_id=request.request_id,
    )
    return 204, None


# --- Teachers ------------------------------------------------------------------------------
@api.route(
    "POST",
    "/teachers/me/invites",
    response=_MODELS + "InviteCreated",
    status=201,
    idempotency_key="optional",
    raises=(_ERRORS + "TeacherRoleRequired",),
)
def create_invite(request: ApiRequest) -> tuple[int, InviteCreated]:
    """A single-use code for a student to accept (the same code for a retried key)."""
    from shared.accounts import links
    from shared.sessions.idempotency import checked_key

    offered = request.raw.headers.get("Idempotency-Key")
    key = checked_key(offered) if offered is not None else None
    return 201, links.create_invite(request.container, request.verified_caller, key=key)


@api.route(
    "GET",
    "/teachers/me/students",
    response=_MODELS + "StudentList",
    raises=(_ERRORS + "TeacherRoleRequired",),
)
def list_my_students(request: ApiRequest) -> StudentList:
    """The students linked to the signed-in teacher."""
    from shared.accounts import links

    return links.list_my_students(request.container.store, request.verified_caller)


@api.route(
    "GET",
    "/teachers/me/students/{student_uid}/sessions",
    response=_MODELS + "StudentSessions",
    raises=(_ERRORS + "TeacherRoleRequired", _ERRORS + "StudentNotLinked"),
)
def list_student_sessions(request: ApiRequest) -> StudentSessions:
    """A linked student's recent mock tests with their summary bands."""
    from shared.accounts import links

    return links.student_sessions(
        request.container.store, request.verified_caller, request.path_params["student_uid"]
    )


# --- Admins --------------------------------------------------------------------------------
@api.route(
    "PUT",
    "/admin/users/{uid}/role",
    sensitive=True,
    body=_MODELS + "RoleUpdate",
    response=_MODELS + "RoleChanged",
    raises=(_ERRORS + "AdminRoleRequired", _ERRORS + "UserNotFound"),
)
def change_role(request: ApiRequest) -> RoleChanged:
    """Grant a role; it takes effect at the user's next token refresh."""
    from shared.accounts import admin
    from shared.accounts.models import RoleUpdate

    body = request.json(RoleUpdate)
    uid = request.path_params["uid"]
    bind(target_uid=uid)
    return admin.change_role(
        request.container, request.verified_caller, uid, body.role, request_id=request.request_id
    )


@api.route(
    "GET",
    "/admin/usage",
    sensitive=True,
    query=_MODELS + "UsagePeriod",
    response=_MODELS + "UsageReport",
    raises=(_ERRORS + "AdminRoleRequired", _ERRORS + "UsagePeriodInvalid"),
)
def read_usage(request: ApiRequest) -> UsageReport:
    """Paid-service use of the sessions created in a period, in total and per user."""
    from shared.accounts import admin
    from shared.accounts.models import UsagePeriod

    period = request.query(UsagePeriod)
    caller = request.verified_caller
    admin.require_admin(caller)  # before parsing: a student learns nothing about the API
    period_from, period_to = admin.parse_period(period.period_from, period.period_to)
    return admin.usage_report(
        request.container, caller, period_from, period_to, request_id=request.request_id
    )


@api.route(
    "POST",
    "/admin/sessions/{session_id}/regrade",
    sensitive=True,
    body="shared.scoring.regrade:RegradeRequest",
    body_required=False,
    response="shared.scoring.regrade:RegradeStarted",
    status=202,
    idempotency_key="required",
    raises=(
        _ERRORS + "AdminRoleRequired",
        "shared.scoring.scoring_errors:RegradeSessionNotFinished",
        "shared.scoring.scoring_errors:RegradeNoResults",
    ),
)
def regrade_session(request: ApiRequest) -> flask.Response:
    """Regrade a finished test (audited); its results stay until the new ones are complete."""
    from shared.accounts import admin
    from shared.scoring import regrade
    from shared.sessions.idempotency import checked_key

    caller = request.verified_caller
    admin.require_admin(caller)  # before the key and body: a student learns nothing more
    session_id = request.path_params["session_id"]
    bind(session_id=session_id)
    key = checked_key(request.raw.headers.get("Idempotency-Key"))
    body = request.json(regrade.RegradeRequest)
    started = regrade.request_regrade(
        request.container, caller, session_id, key, body.reason, request_id=request.request_id
    )
    headers = [("Idempotent-Replayed", "true")] if started.replayed else []
    return json_response(202, started.model_dump(mode="json"), headers)
