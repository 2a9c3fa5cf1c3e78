"""checkov's static checks of terraform/: no failed check, and every skip is one of the skips
terraform/README.md lists with its reason (each is also written, with the reason, next to the
resource it concerns: ``# checkov:skip=ID:reason``).

checkov lives in .venv-tools (its pins clash with requirements-dev.txt); `make setup` makes it.
It runs offline: nothing is downloaded from the Prisma Cloud platform, no version check.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

import pytest

from tests.infra.terraform_model import REPO_ROOT, TERRAFORM_DIR

CHECKOV = REPO_ROOT / ".venv-tools" / "bin" / "checkov"
OFFLINE = {
    "BC_SKIP_MAPPING": "TRUE",  # no download of check metadata
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",  # no PyPI version check
    "LOG_LEVEL": "WARNING",
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: `make setup` installs checkov into .venv-tools")
    env = {**os.environ, **OFFLINE}
    completed = subprocess.run(
        [str(CHECKOV), "--config-file", ".checkov.yaml", "--output", "json"],
        cwd=TERRAFORM_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        parsed = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov gave no JSON report (exit {completed.returncode}):\n{completed.stderr}"
        )
    reports = parsed if isinstance(parsed, list) else [parsed]
    (terraform,) = [r for r in reports if r.get("check_type") == "terraform"]
    return dict(terraform)


def documented_skips() -> dict[str, str]:
    """check id => reason, from the skips table of terraform/README.md."""
    text = (TERRAFORM_DIR / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(CKV2?_[A-Z]+_\d+)` \| [^|]+ \| ([^|]+) \|$", text, flags=re.M)
    return {check: reason.strip() for check, reason in rows}


def test_checkov_finds_no_failed_check(report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    # It really read the configuration: functions, topics, buckets, metrics...
    assert report["summary"]["resource_count"] >= 50
    assert report["summary"]["passed"] > 0


def test_every_skip_is_documented_with_its_reason(report: dict[str, Any]) -> None:
    documented = documented_skips()
    assert documented, "terraform/README.md has no table of checkov skips"
    for skipped in report["results"]["skipped_checks"]:
        check = skipped["check_id"]
        assert check in documented, f"{check} on {skipped['resource']} is skipped but not listed"
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 20, f"{check} on {skipped['resource']} is skipped without a reason"
    used = {skipped["check_id"] for skipped in report["results"]["skipped_checks"]}
    assert set(documented) == used, "terraform/README.md lists skips that are no longer used"
