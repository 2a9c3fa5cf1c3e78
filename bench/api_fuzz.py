"""A larger bounded schemathesis run against the local stack of `make run`.

    python -m bench.api_fuzz [--examples 300] [--seed N | --random] [--base-url URL --auth-url URL]

Prints the requests sent, the status histogram, requests per operation and every failure
(a 5xx, an undocumented status, content type or header, a body off its schema, missing
security headers, invalid input accepted). Exits 1 when anything failed. Loopback only.
tests/e2e/test_api_fuzz.py runs a smaller one in `make test`.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Sequence

import requests

from devstack.auth import mint_token
from devstack.demo import Endpoints, running_stack
from shared.config import LOCAL_PROJECT
from tools.api_fuzz import fuzz


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_fuzz", description=__doc__)
    parser.add_argument("--examples", type=int, default=300, help="per operation and mode")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (repeatable)")
    parser.add_argument("--random", action="store_true", help="a new random run each time")
    parser.add_argument("--base-url", help="functions URL (default: the running local stack)")
    parser.add_argument("--auth-url", help="Auth emulator URL (with --base-url)")
    args = parser.parse_args(argv)
    if args.base_url:
        endpoints: Endpoints | None = Endpoints(args.base_url, args.auth_url or "")
    else:
        endpoints = running_stack()
    if endpoints is None or not endpoints.auth_url:
        print(
            "No local stack answers: start one with `make run` (or pass --base-url and "
            "--auth-url).",
            file=sys.stderr,
        )
        return 2
    uid = f"fuzz-{uuid.uuid4().hex[:12]}"  # fresh rate-limit counters every run
    token = mint_token(endpoints.auth_url, LOCAL_PROJECT, uid, {"role": "student"})
    created = requests.post(
        f"{endpoints.base_url}/sessions",
        json={"mode": "full"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    session_id = created.json().get("session_id") if created.status_code == 201 else None
    print(
        f"Fuzzing {endpoints.base_url} as {uid}, {args.examples} examples per operation "
        f"and mode, session {session_id or '(none: ' + str(created.status_code) + ')'}"
    )
    began = time.monotonic()
    try:
        report = fuzz(
            endpoints.base_url,
            token,
            examples=args.examples,
            session_id=session_id,
            seed=None if args.random else args.seed,
        )
    except ValueError as error:
        print(f"Refused: {error}", file=sys.stderr)
        return 2
    seconds = time.monotonic() - began
    print(
        f"\nrequests: {report.requests} in {seconds:.0f} s "
        f"({report.requests / max(seconds, 1e-9):.0f} per second)"
    )
    print("statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(report.statuses.items())))
    print(f"5xx: {report.server_errors}   failures: {len(report.failures)}")
    print("\nper operation:")
    for label, count in sorted(report.by_operation.items()):
        print(f"  {count:6d}  {label}")
    if report.failures:
        print("\nfailures:")
        for failure in report.failures:
            print(f"- {failure}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
