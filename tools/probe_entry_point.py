"""Load one entry point the way the platform does, serve one request, report what got imported.

Run as a script in a fresh process (it imports nothing of this repository itself, so it also
runs from an extracted deployment archive in a virtualenv that holds requirements.txt only)::

    python tools/probe_entry_point.py --target health --request "GET /healthz" --report out.json

The report is JSON: ``{"target", "status", "body", "modules", "module_files"}`` where
``modules`` is ``sorted(sys.modules)`` after the request and ``module_files`` says where each
was loaded from. A module that fails to load ends the process with
the loader's traceback on stderr and a non-zero exit status, as a failed cold start would.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True, help="entry point name in the source file")
    parser.add_argument("--source", default="functions/main.py", help="as GOOGLE_FUNCTION_SOURCE")
    parser.add_argument("--request", help='"METHOD /path" to serve after loading')
    parser.add_argument("--header", action="append", default=[], help='"Name: value"')
    parser.add_argument("--report", type=Path, required=True, help="where to write the JSON")
    args = parser.parse_args()

    # Imported only now: everything from here on is what the platform's cold start loads too.
    import functions_framework

    app = functions_framework.create_app(target=args.target, source=args.source)  # type: ignore[no-untyped-call]
    status: int | None = None
    body: str | None = None
    if args.request:
        method, path = args.request.split(" ", 1)
        headers = dict(header.split(": ", 1) for header in args.header)
        response = app.test_client().open(path, method=method, headers=headers)
        status, body = response.status_code, response.get_data(as_text=True)
    report = {
        "target": args.target,
        "status": status,
        "body": body,
        "modules": sorted(sys.modules),
        "module_files": {
            name: str(getattr(module, "__file__", None))
            for name, module in sorted(sys.modules.items())
            if getattr(module, "__file__", None)
        },
    }
    args.report.write_text(json.dumps(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
