"""``python -m devstack``: run the local stack until Ctrl-C (what ``make run`` does).

Ports come from firebase.json (``--free-ports`` picks unused ones, e.g. next to a test run),
data persists under ``.local/`` (``--no-persist`` starts empty and saves nothing). When the
stack is ready, ``<data dir>/stack.json`` lists every service's URL and pid.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from devstack.config import REPO_ROOT, SERVICES, StackConfig, StackError, free_ports, read_ports
from devstack.stack import Stack


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    parser.add_argument("--free-ports", action="store_true", help="ignore firebase.json's ports")
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / ".local")
    parser.add_argument("--no-persist", action="store_true", help="start empty, save nothing")
    parser.add_argument(
        "--services",
        default=",".join(SERVICES),
        help=f"comma-separated subset of {','.join(SERVICES)}",
    )
    parser.add_argument("--ready-timeout", type=float, default=120.0, help="seconds per start")
    parser.add_argument(
        "--no-follow", action="store_true", help="do not copy the functions' log to the console"
    )
    return parser.parse_args(argv)


def _raise_interrupt(signum: int, _: FrameType | None) -> None:
    # SIGTERM (docker stop, CI, a test) takes the same careful path as Ctrl-C.
    raise KeyboardInterrupt


def _follow(path: Path, stop: threading.Event) -> None:
    """Copy new lines of the functions' log to the console until ``stop`` is set."""
    while not path.exists() and not stop.is_set():
        time.sleep(0.2)
    with path.open("r", encoding="utf-8", errors="replace") as log:
        while not stop.is_set():
            line = log.readline()
            if line:
                print(f"functions | {line}", end="", flush=True)
            else:
                time.sleep(0.2)


def _config(args: argparse.Namespace) -> StackConfig:
    if args.free_ports:
        host, ports = "127.0.0.1", free_ports()
    else:
        host, ports = read_ports(REPO_ROOT / "firebase.json")
    return StackConfig(
        data_dir=args.data_dir.resolve(),
        ports=ports,
        host=host,
        persist=not args.no_persist,
        services=tuple(name for name in args.services.split(",") if name),
        ready_timeout_seconds=args.ready_timeout,
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        stack = Stack(_config(args), notify=lambda message: print(message, flush=True))
    except StackError as error:
        print(f"The local stack is misconfigured:\n{error}", file=sys.stderr)
        return 1
    config = stack.config
    # Also for SIGINT: a shell starts background jobs with SIGINT ignored, and children
    # would inherit that (the Firebase CLI exports its data on SIGINT).
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    stop_following = threading.Event()
    try:
        stack.start()
        print("\n" + stack.table() + "\n\nPress Ctrl-C to stop.\n", flush=True)
        if "functions" in stack.services and not args.no_follow:
            threading.Thread(
                target=_follow,
                args=(config.logs_dir / "functions.log", stop_following),
                daemon=True,
            ).start()
        while True:
            failed = stack.failed_services()
            if failed:
                for name in failed:
                    print(f"\n{name} stopped unexpectedly; the end of its log:")
                    print(stack.log_tail(name))
                return 1
            time.sleep(0.5)
    except StackError as error:
        print(f"\nThe local stack could not start:\n{error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping the local stack...", flush=True)
        return 0
    finally:
        stop_following.set()
        # A second Ctrl-C must not cut the clean-up short (data export, process groups).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        print("Local stack stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
