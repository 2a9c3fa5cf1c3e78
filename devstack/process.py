"""Child processes of the stack, each in its own process group, with its output in a file.

``gcloud emulators ... start`` is a Python wrapper around a shell script around ``java``;
``firebase`` is node. Signalling only the direct child would leave the JVM behind, so every
service starts in a new session (its pid is its process-group id) and is stopped by
signalling the whole group, then SIGKILL for whatever is left after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# Every process we start carries this variable (children inherit it), so a later run can
# tell our own leftovers from unrelated processes before it signals anything.
MARKER_VARIABLE = "DEVSTACK_DATA_DIR"


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) pids whose process group is ``pgid``, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        # The command name (field 2) may contain spaces and parentheses: split after it.
        fields = stat.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def carries_marker(pid: int, data_dir: Path) -> bool:
    """True if ``pid`` was started by a stack using ``data_dir`` (see MARKER_VARIABLE)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{MARKER_VARIABLE}={data_dir}".encode() in environ.split(b"\0")


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pgid, sig)


def wait_group_gone(pgid: int, timeout_seconds: float) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while group_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class ManagedProcess:
    """One service process: started in a new session, output appended to ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        log_path: Path,
        stop_signal: signal.Signals = signal.SIGTERM,
        stop_timeout_seconds: float = 10.0,
    ):
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.env = dict(env)
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.stop_timeout_seconds = stop_timeout_seconds
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            log.write(f"$ {' '.join(self.argv)}\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # A new session: its own process group, and no Ctrl-C from the terminal, so
                # the stack decides the order of shutdown (export data before killing).
                start_new_session=True,
            )

    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def exit_code(self) -> int | None:
        return self._popen.poll() if self._popen else None

    def stop(self) -> None:
        """Signal the group, wait for it, then SIGKILL anything that is left."""
        if self._popen is None:
            return
        pgid = self._popen.pid
        if self._popen.poll() is None or group_members(pgid):
            signal_group(pgid, self.stop_signal)
            try:
                self._popen.wait(timeout=self.stop_timeout_seconds)
            except subprocess.TimeoutExpired:
                signal_group(pgid, signal.SIGKILL)
            # The direct child may exit before its own children (the JVM under gcloud).
            if not wait_group_gone(pgid, 3.0):
                signal_group(pgid, signal.SIGKILL)
                wait_group_gone(pgid, 3.0)
        self._popen.wait()
        self._popen = None

    def log_tail(self, lines: int = 25) -> str:
        return tail(self.log_path, lines)


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"
