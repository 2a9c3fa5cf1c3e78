"""``<data dir>/stack.json``: what a running stack started, for tools, tests and clean-up.

Written once the stack is ready and removed when it stops. If it is still there at the next
start, the previous supervisor was killed without stopping its children: the processes it
recorded that still carry our marker (see ``process.MARKER_VARIABLE``) are stopped then.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from devstack.config import StackError
from devstack.process import carries_marker, group_members, wait_group_gone

STATE_FILE = "stack.json"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def write_state(
    data_dir: Path,
    services: Mapping[str, Mapping[str, Any]],
    ports: Mapping[str, int],
    env: Mapping[str, str],
) -> None:
    """Record the supervisor, each service (pid = process group, url, port) and the env."""
    state = {
        "supervisor": {"pid": os.getpid(), "cmdline": _cmdline(os.getpid())},
        "services": services,
        "ports": ports,
        "env": env,
    }
    path = data_dir / STATE_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
    temporary.replace(path)  # readers never see half a file


def read_state(data_dir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((data_dir / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        return None  # a torn file from a crash: nothing to trust in it
    return state


def remove_state(data_dir: Path) -> None:
    (data_dir / STATE_FILE).unlink(missing_ok=True)


def clean_leftovers(data_dir: Path, notify: Callable[[str], None]) -> None:
    """Refuse to share a data dir with a live stack; stop what a killed stack left behind."""
    state = read_state(data_dir)
    if state is None:
        return
    supervisor = state.get("supervisor", {})
    pid = int(supervisor.get("pid", 0))
    if pid and pid != os.getpid() and _cmdline(pid) == supervisor.get("cmdline"):
        raise StackError(
            f"a local stack (pid {pid}) is already running with data dir {data_dir}; "
            f"stop it first (kill -INT {pid}) or pass another --data-dir"
        )
    for name, info in state.get("services", {}).items():
        pgid = int(info.get("pid", 0))
        ours = [member for member in group_members(pgid) if carries_marker(member, data_dir)]
        if not ours:
            continue
        notify(f"Stopping {name} left running by a stack that was killed (pids {ours})")
        for member in ours:
            _kill(member, signal.SIGTERM)
        if not wait_group_gone(pgid, 10.0):
            for member in group_members(pgid):
                if carries_marker(member, data_dir):
                    _kill(member, signal.SIGKILL)
    remove_state(data_dir)


def _kill(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
        os.kill(pid, sig)
