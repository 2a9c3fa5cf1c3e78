"""schemathesis against docs/openapi.json on the local stack: no 5xx, no schema violation.

A bounded run (tools/api_fuzz.py): every operation gets valid and invalid generated requests,
those on one session also with a real session of the fuzzing learner, at least 2,000 in all.
Each answer must have a documented status, content type, headers and body, carry the
security headers, and refuse invalid input with a 4xx. A fresh uid keeps its rate-limit
counters apart from other tests'; 429 answers are documented and therefore fine.
`python -m bench.api_fuzz` runs a larger one against `make run`.
"""

from __future__ import annotations

import sys
import time
import uuid

import requests

from devstack.stack import Stack
from tools.api_fuzz import fuzz

EXAMPLES_PER_OPERATION_AND_MODE = 80
MIN_REQUESTS = 2000


def test_generated_requests_get_no_5xx_and_only_documented_answers(local_stack: Stack) -> None:
    uid = f"fuzz-{uuid.uuid4().hex[:12]}"
    token = local_stack.mint_token(uid)
    created = requests.post(
        f"{local_stack.base_url}/sessions",
        json={"mode": "full"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    began = time.monotonic()
    report = fuzz(
        local_stack.base_url,
        token,
        examples=EXAMPLES_PER_OPERATION_AND_MODE,
        session_id=created.json()["session_id"],
    )
    sys.stderr.write(f"\napi fuzz: {report.summary()} in {time.monotonic() - began:.0f} s\n")
    assert report.requests >= MIN_REQUESTS, report.summary()
    assert report.server_errors == 0, report.summary()
    assert report.failures == [], "\n".join(report.failures[:20])
    assert set(report.statuses) & {200, 201}, "no request got through: the run proves nothing"
