"""Give a user a role from the command line: how the very first admin is made.

    GOOGLE_CLOUD_PROJECT=my-project python -m tools.grant_role UID admin

Uses the same IdentityAdmin adapter as PUT /admin/users/{uid}/role (firebase-admin with
Application Default Credentials, or the Auth emulator when FIREBASE_AUTH_EMULATOR_HOST is
set), and appends the same ``role_changed`` audit record, with ``tools.grant_role`` as the
actor. The role takes effect at the user's next ID token refresh.
"""

from __future__ import annotations

import argparse
import sys
import uuid

from shared.accounts import audit
from shared.accounts.models import ROLE_TAKES_EFFECT
from shared.bootstrap import get_container
from shared.errors import NotFound
from shared.models.identity import Caller

ROLES = ("student", "teacher", "admin")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.grant_role", description=__doc__)
    parser.add_argument("uid", help="the Firebase Auth uid of the user")
    parser.add_argument("role", choices=ROLES)
    args = parser.parse_args(argv)
    container = get_container()
    identity = container.identity_admin
    try:
        previous = identity.custom_claims(args.uid).get("role", "student")
    except NotFound:
        sys.stderr.write(f"No user has uid {args.uid!r} in this project.\n")
        return 1
    if previous != args.role:
        audit.record(
            container.store,
            audit.build(
                container.clock,
                action="role_changed",
                actor=Caller(uid="tools.grant_role", role="admin"),
                request_id=f"cli-{uuid.uuid4().hex}",
                subject_uids=[args.uid],
                details={"from": str(previous), "to": args.role},
            ),
        )
        identity.set_role(args.uid, args.role)
    sys.stdout.write(f"{args.uid}: {previous} -> {args.role}. {ROLE_TAKES_EFFECT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
