"""Errors of roles, teacher links, admin routes and privacy requests (codes are API)."""

from __future__ import annotations

from shared import errors


class TeacherRoleRequired(errors.PermissionDenied):
    code = "teacher_role_required"
    default_message = (
        "Only teachers can do this. Ask an administrator for the teacher role, then refresh "
        "your sign-in."
    )


class AdminRoleRequired(errors.PermissionDenied):
    code = "admin_role_required"
    default_message = "Only administrators can do this."


class InviteNotFound(errors.NotFound):
    code = "invite_not_found"
    default_message = "No invite has this code: check it with your teacher (8 letters and digits)."


class InviteExpired(errors.AppError):
    code = "invite_expired"
    http_status = 410
    default_message = "This invite code has expired: ask your teacher for a new one."


class InviteUsed(errors.Conflict):
    code = "invite_used"
    default_message = "This invite code was already used: each code links one student."


class OwnInvite(errors.Conflict):
    code = "invite_own"
    default_message = "This is your own invite code: give it to a student to accept."


class InviteCodeInvalid(errors.InvalidRequest):
    code = "invite_code_invalid"
    default_message = (
        "An invite code is 8 characters from A-Z (without I, L, O) and 2-9; "
        "spaces and dashes are ignored."
    )


class StudentNotLinked(errors.NotFound):
    code = "student_not_linked"
    default_message = "No student with this uid is linked to you."


class UserNotFound(errors.NotFound):
    code = "user_not_found"
    default_message = "There is no account with this uid."


class UsagePeriodInvalid(errors.InvalidRequest):
    code = "usage_period_invalid"
    default_message = (
        "Give the period as ?from=YYYY-MM-DD&to=YYYY-MM-DD (to after from, at most 366 days)."
    )
