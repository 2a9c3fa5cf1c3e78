"""Cold start of every entry point: process start to first successful typical response.

For each HTTP function in functions/catalog.py this starts
``functions-framework --target NAME --source functions/main.py --port PORT`` (as the platform
does) and polls its typical request until it answers 200; the median of several fresh
processes is printed next to an eager baseline measured in the same run: the same entry point
served from a wrapper source that first imports every client library, as code without lazy
adapters would. The difference is what lazy adapter imports save at each cold start.

    .venv/bin/python -m bench.coldstart [--runs 5] [--start-stack | --env-from-stack]

Authenticated functions need the local stack for a real ID token: ``--start-stack`` starts a
private one (Firestore and Auth emulators on free ports, through devstack), ``--env-from-stack``
uses a running ``make run`` (ports from firebase.json); without either they are skipped and
listed. Numbers only: no thresholds here and no timings in tests.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parent.parent
MAIN_SOURCE = REPO_ROOT / "functions" / "main.py"
FIREBASE_JSON = REPO_ROOT / "firebase.json"

# What an eager codebase would import at module level: every client the functions use.
EAGER_CLIENTS = (
    "google.cloud.firestore",
    "google.cloud.storage",
    "google.cloud.pubsub_v1",
    "google.cloud.speech_v2",
    "google.cloud.texttospeech",
    "google.genai",
    "firebase_admin.auth",
)

# What the typical requests touch: an ID token to verify and a profile to read or create.
_STACK_SERVICES = ("firestore", "auth")
_POLL_SECONDS = 0.005
_START_TIMEOUT_SECONDS = 60.0


class BenchError(RuntimeError):
    """A function did not start or did not answer its typical request with 200."""


@dataclass(frozen=True)
class Target:
    name: str
    method: str
    path: str
    needs_auth: bool


@dataclass(frozen=True)
class StackAccess:
    """Where a running local stack is: the variables for the functions and the Auth emulator."""

    env: dict[str, str]
    auth_url: str
    project: str

    def mint_token(self) -> str:
        """A new user's ID token, so every measured process creates its profile alike."""
        from devstack.auth import mint_token
        from devstack.config import StackError

        try:
            return mint_token(self.auth_url, self.project, f"coldstart-{uuid.uuid4().hex[:12]}")
        except StackError as error:
            raise BenchError(str(error)) from None


def targets() -> list[Target]:
    from functions import catalog  # plain data: imports no client library

    return [
        Target(f.name, f.typical_request[0], f.typical_request[1], f.needs_auth)
        for f in catalog.HTTP_FUNCTIONS
    ]


def event_functions() -> list[str]:
    from functions import catalog

    return [f.name for f in catalog.EVENT_FUNCTIONS]


def stack_from_firebase_json(path: Path = FIREBASE_JSON) -> StackAccess:
    """The stack of a running ``make run``, at the ports in firebase.json's "emulators"."""
    # devstack owns the format of that section and the variables derived from it.
    from devstack.config import StackConfig, StackError, read_ports

    try:
        host, ports = read_ports(path)
    except StackError as error:
        raise BenchError(str(error)) from None
    config = StackConfig(data_dir=Path(tempfile.gettempdir()), ports=ports, host=host)
    try:
        socket.create_connection((host, ports["auth"]), timeout=2).close()
    except OSError as error:
        raise BenchError(
            f"nothing answers at {config.address('auth')} ({error}): is make run up?"
        ) from None
    return StackAccess(config.emulator_env(), config.url("auth"), config.project)


@contextmanager
def private_stack() -> Iterator[StackAccess]:
    """Firestore and Auth emulators on free ports for this run only, stopped afterwards."""
    from devstack.config import StackConfig, StackError, free_ports
    from devstack.stack import Stack

    with tempfile.TemporaryDirectory(prefix="coldstart-stack-") as data_dir:
        config = StackConfig(
            data_dir=Path(data_dir),
            ports=free_ports(),
            persist=False,
            services=_STACK_SERVICES,
        )
        stack = Stack(config, notify=lambda message: print(f"stack: {message}", file=sys.stderr))
        try:
            stack.start()
        except StackError as error:
            raise BenchError(f"the local stack did not start: {error}") from None
        try:
            yield StackAccess(stack.env, stack.auth_url, config.project)
        finally:
            stack.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def functions_framework_cli() -> str:
    beside = Path(sys.executable).parent / "functions-framework"
    found = str(beside) if beside.exists() else shutil.which("functions-framework")
    if not found:
        raise BenchError("functions-framework is not installed in this environment")
    return found


def time_to_first_response(
    source: Path, target: Target, env: dict[str, str], headers: dict[str, str]
) -> float:
    """Milliseconds from starting a fresh server process to a 200 on the typical request."""
    port = free_port()
    command = [functions_framework_cli(), "--target", target.name, "--source", str(source)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            return _poll(process, port, target, headers, started, errors)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _poll(
    process: subprocess.Popen[bytes],
    port: int,
    target: Target,
    headers: dict[str, str],
    started: float,
    errors: IO[bytes],
) -> float:
    while time.perf_counter() - started < _START_TIMEOUT_SECONDS:
        if process.poll() is not None:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise BenchError(f"{target.name} exited with {process.returncode}:\n{tail}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(target.method, target.path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except OSError:  # not listening yet
            time.sleep(_POLL_SECONDS)
            continue
        finally:
            connection.close()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise BenchError(
                f"{target.name} answered {target.method} {target.path} with "
                f"{response.status}: {body[:300]!r}"
            )
        return elapsed
    raise BenchError(f"{target.name} did not answer within {_START_TIMEOUT_SECONDS} s")


def installed_clients() -> tuple[list[str], list[str]]:
    """(importable, missing) among EAGER_CLIENTS, judged without importing them."""
    present: list[str] = []
    missing: list[str] = []
    for name in EAGER_CLIENTS:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        (present if found else missing).append(name)
    return present, missing


def write_eager_source(directory: Path, clients: Sequence[str], names: Sequence[str]) -> Path:
    """A source file that imports ``clients`` first, then exposes main.py's entry points."""
    lines = [
        '"""Eager baseline for bench.coldstart: every client imported before main.py."""',
        "import importlib.util",
        "import sys",
        *(f"import {client}  # noqa: F401" for client in clients),
        f"_spec = importlib.util.spec_from_file_location('main', {str(MAIN_SOURCE)!r})",
        "_main = importlib.util.module_from_spec(_spec)",
        "sys.modules['main'] = _main",
        "_spec.loader.exec_module(_main)",
        *(f"{name} = _main.{name}" for name in names),
    ]
    path = directory / "eager_main.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_IMPORT_TIMER = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("main", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["main"] = module
spec.loader.exec_module(module)
sys.stdout.write(repr((time.perf_counter() - started) * 1000))
"""


def import_ms(source: Path, env: dict[str, str]) -> float:
    """Milliseconds to import ``source`` in a fresh interpreter (interpreter start excluded)."""
    completed = subprocess.run(
        [sys.executable, "-c", _IMPORT_TIMER, str(source)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    # main.py logs on stdout too; the timing is the last thing written, without a newline.
    return float(completed.stdout.rsplit("\n", 1)[-1])


def median_ms(measure: Callable[[], float], runs: int) -> float:
    return statistics.median(measure() for _ in range(runs))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per measurement")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--env-from-stack",
        action="store_true",
        help="use the emulators of a running `make run` (ports from firebase.json)",
    )
    where.add_argument(
        "--start-stack",
        action="store_true",
        help="start a private stack (Firestore and Auth emulators on free ports) for this run",
    )
    parser.add_argument("--only", nargs="*", help="entry points to measure (default: all)")
    args = parser.parse_args(argv)

    with ExitStack() as cleanup:
        stack: StackAccess | None = None
        if args.start_stack:
            stack = cleanup.enter_context(private_stack())
        elif args.env_from_stack:
            stack = stack_from_firebase_json()
        return _run(args.runs, args.only, stack)


def _run(runs: int, only: Sequence[str] | None, stack: StackAccess | None) -> int:
    env = dict(os.environ)
    if stack is not None:
        env.update(stack.env)
    present, missing = installed_clients()
    all_targets = [t for t in targets() if not only or t.name in only]
    runnable = [t for t in all_targets if stack is not None or not t.needs_auth]
    skipped = [t.name for t in all_targets if t not in runnable]

    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        eager_source = write_eager_source(Path(scratch), present, [t.name for t in all_targets])
        main_ms = median_ms(lambda: import_ms(MAIN_SOURCE, env), runs)
        eager_import_ms = median_ms(lambda: import_ms(eager_source, env), runs)
        rows: list[tuple[str, float, float]] = []
        for target in runnable:

            def headers(target: Target = target) -> dict[str, str]:
                if not target.needs_auth or stack is None:
                    return {}
                return {"Authorization": f"Bearer {stack.mint_token()}"}

            lazy: list[float] = []
            eager: list[float] = []
            for _ in range(runs):  # interleaved, so drift on the machine hits both alike
                lazy.append(time_to_first_response(MAIN_SOURCE, target, env, headers()))
                eager.append(time_to_first_response(eager_source, target, env, headers()))
            rows.append((target.name, statistics.median(lazy), statistics.median(eager)))

    print(f"Cold start, median of {runs} fresh processes (process start -> first 200)")
    print(f"{'entry point':<14}{'lazy ms':>10}{'eager ms':>10}{'saved ms':>10}  request")
    for (name, lazy_ms, eager_ms), target in zip(rows, runnable, strict=True):
        print(
            f"{name:<14}{lazy_ms:>10.0f}{eager_ms:>10.0f}{eager_ms - lazy_ms:>10.0f}"
            f"  {target.method} {target.path}"
        )
    print(f"import functions/main.py alone: {main_ms:.0f} ms (eager: {eager_import_ms:.0f} ms)")
    print(f"eager baseline imports: {', '.join(present) or 'none'}")
    if missing:
        print(f"not installed, left out of the eager baseline: {', '.join(missing)}")
    events = event_functions()
    if events:
        print(f"not measured (event functions, no typical request yet): {', '.join(events)}")
    if skipped:
        print(
            f"skipped (need the local stack: --start-stack, or make run and --env-from-stack): "
            f"{', '.join(skipped)}"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO_ROOT))  # functions.catalog and devstack, whatever the cwd
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench.coldstart: {error}", file=sys.stderr)
        sys.exit(2)
