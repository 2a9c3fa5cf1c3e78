"""What admins do: grant roles and read aggregate usage. Every call is audited."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from shared import errors
from shared.accounts import audit
from shared.accounts.account_errors import AdminRoleRequired, UsagePeriodInvalid, UserNotFound
from shared.accounts.models import RoleChanged, UsageReport, UserUsage
from shared.bootstrap import Container
from shared.logging import get_logger
from shared.models.identity import Caller, Role
from shared.ports import Query, Where

__all__ = ["change_role", "parse_period", "require_admin", "usage_report"]

log = get_logger(__name__)

_RANK: Final[dict[str, int]] = {"student": 0, "teacher": 1, "admin": 2}
MAX_PERIOD_DAYS: Final = 366
USAGE_SESSIONS_LIMIT: Final = 20_000


def require_admin(caller: Caller) -> None:
    if caller.role != "admin":
        raise AdminRoleRequired(details={"role": caller.role})


def change_role(
    container: Container, caller: Caller, uid: str, role: Role, *, request_id: str
) -> RoleChanged:
    """Set ``uid``'s role claim. The audit record is written before the claim, so a change
    never goes unrecorded; a retry of the same request adds no second record. Lowering a
    role also revokes the user's refresh tokens: their current token, which still carries
    the old role, then fails every route that checks revocation (admin routes do)."""
    require_admin(caller)
    identity = container.identity_admin
    try:
        claims = identity.custom_claims(uid)
    except errors.NotFound:
        raise UserNotFound(details={"uid": uid}) from None
    held = claims.get("role")
    previous: Role = held if held in _RANK else "student"
    if previous == role:
        return RoleChanged(
            uid=uid, role=role, previous_role=previous, changed=False, tokens_revoked=False
        )
    lowered = _RANK[role] < _RANK[previous]
    audit.record(
        container.store,
        audit.build(
            container.clock,
            action="role_changed",
            actor=caller,
            request_id=request_id,
            subject_uids=[uid],
            details={"from": previous, "to": role},
        ),
    )
    try:
        identity.set_role(uid, role)
    except errors.NotFound:
        raise UserNotFound(details={"uid": uid}) from None
    if lowered:
        identity.revoke_refresh_tokens(uid)
    log.info("role_changed", target_uid=uid, previous_role=previous, role=role)
    return RoleChanged(
        uid=uid, role=role, previous_role=previous, changed=True, tokens_revoked=lowered
    )


def _parse_bound(value: str | None, name: str) -> datetime:
    if not value:
        raise UsagePeriodInvalid(details={"missing": name})
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsagePeriodInvalid(details={"field": name}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_period(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[from, to) from query parameters: dates (YYYY-MM-DD) or ISO datetimes, UTC if naive."""
    period_from = _parse_bound(start, "from")
    period_to = _parse_bound(end, "to")
    if period_to <= period_from or period_to - period_from > timedelta(days=MAX_PERIOD_DAYS):
        raise UsagePeriodInvalid(
            details={"from": period_from.isoformat(), "to": period_to.isoformat()}
        )
    return period_from, period_to


def usage_report(
    container: Container,
    caller: Caller,
    period_from: datetime,
    period_to: datetime,
    *,
    request_id: str,
) -> UsageReport:
    """Sums of every numeric ``usage`` field of the sessions created in the period, in total
    and per user (uid and counts only)."""
    require_admin(caller)
    store = container.store
    target = f"usage:{period_from.isoformat()}/{period_to.isoformat()}"
    audit.record(
        store,
        audit.build(
            container.clock,
            action="admin_read",
            actor=caller,
            request_id=request_id,
            target=target,
        ),
    )
    found = store.query(
        Query(
            "sessions",
            where=(Where("created_at", ">=", period_from), Where("created_at", "<", period_to)),
            limit=USAGE_SESSIONS_LIMIT + 1,
        )
    )
    truncated = len(found) > USAGE_SESSIONS_LIMIT
    totals: dict[str, float] = defaultdict(float)
    per_user: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    sessions_of: dict[str, int] = defaultdict(int)
    for document in found[:USAGE_SESSIONS_LIMIT]:
        uid = str(document.data.get("uid", ""))
        sessions_of[uid] += 1
        for name, value in (document.data.get("usage") or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                totals[name] += value
                per_user[uid][name] += value
    return UsageReport(
        period_from=period_from,
        period_to=period_to,
        sessions=sum(sessions_of.values()),
        users=len(sessions_of),
        totals={name: round(value, 3) for name, value in sorted(totals.items())},
        per_user=[
            UserUsage(
                uid=uid,
                sessions=sessions_of[uid],
                usage={name: round(value, 3) for name, value in sorted(per_user[uid].items())},
            )
            for uid in sorted(sessions_of)
        ],
        truncated=truncated,
    )
