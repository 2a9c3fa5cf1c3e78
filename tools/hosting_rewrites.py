"""firebase.json's Hosting rewrites, derived from functions/catalog.py.

Every path prefix of every HTTP function is sent to that function under ``/api`` (the prefix
itself and everything below it), most specific first, as the catalog lists them; anything else
falls back to the PWA's ``/index.html``. Function ids and region are Terraform's defaults
(``<name_prefix>-<name with - for _>`` in ``var.region``).

    python -m tools.hosting_rewrites           # rewrite firebase.json's hosting.rewrites
    python -m tools.hosting_rewrites --check   # exit 1 if firebase.json is not up to date

The "emulators" block and every other key of firebase.json are kept as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from functions.catalog import HTTP_FUNCTIONS

REPO_ROOT = Path(__file__).resolve().parent.parent
FIREBASE_JSON = REPO_ROOT / "firebase.json"
NAME_PREFIX = "speaking-coach"  # terraform/variables.tf: var.name_prefix default
REGION = "europe-west1"  # terraform/variables.tf: var.region default
API_PREFIX = "/api"


def function_id(name: str, prefix: str = NAME_PREFIX) -> str:
    """The deployed function's id, as terraform/main.tf names it."""
    return f"{prefix}-{name.replace('_', '-')}"


def expected_rewrites(prefix: str = NAME_PREFIX, region: str = REGION) -> list[dict[str, Any]]:
    rewrites: list[dict[str, Any]] = []
    for function in HTTP_FUNCTIONS:
        target = {"functionId": function_id(function.name, prefix), "region": region}
        for path in function.paths:
            for source in (f"{API_PREFIX}{path}", f"{API_PREFIX}{path}/**"):
                rewrites.append({"source": source, "function": dict(target)})
    rewrites.append({"source": "**", "destination": "/index.html"})
    return rewrites


def updated(config: dict[str, Any]) -> dict[str, Any]:
    hosting = dict(config.get("hosting", {}))
    hosting["rewrites"] = expected_rewrites()
    return {**config, "hosting": hosting}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.hosting_rewrites", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check firebase.json")
    args = parser.parse_args(argv)
    config = json.loads(FIREBASE_JSON.read_text(encoding="utf-8"))
    wanted = updated(config)
    if args.check:
        if wanted != config:
            print("firebase.json's hosting.rewrites are stale: python -m tools.hosting_rewrites")
            return 1
        return 0
    FIREBASE_JSON.write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
