"""Where each service of the local stack listens and what the functions are told about it.

Ports come from the ``emulators`` section of firebase.json, the single source of truth that
the Firebase CLI (Auth emulator, hub, logging) reads as well. Tests and parallel stacks use
free ports instead (``free_ports``).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.config import LOCAL_PROJECT

REPO_ROOT = Path(__file__).resolve().parent.parent

# Services the stack starts, in start order: the Auth emulator needs the most CPU time
# before it answers (~5 s), so it starts first; then the two JVMs.
SERVICES = ("auth", "firestore", "pubsub", "storage", "functions")
# Every port the stack needs: the Firebase CLI also opens a hub and a logging port.
PORT_NAMES = (*SERVICES, "hub", "logging")
DEFAULT_HOST = "127.0.0.1"


class StackError(RuntimeError):
    """The local stack cannot start or stop as asked; the message says why and what to do."""


@dataclass(frozen=True)
class ExtraEventFunction:
    """A CloudEvent function outside the catalog (test fixtures) subscribed to ``topic``."""

    name: str
    source: Path
    target: str
    topic: str


@dataclass(frozen=True)
class StackConfig:
    """Everything that varies between ``make run`` and a test session."""

    data_dir: Path
    ports: Mapping[str, int]
    host: str = DEFAULT_HOST
    project: str = LOCAL_PROJECT
    repo_root: Path = REPO_ROOT
    # Keep Firestore, Auth and Storage data across restarts (make run); tests start empty.
    persist: bool = True
    services: tuple[str, ...] = SERVICES
    extra_events: tuple[ExtraEventFunction, ...] = ()
    # Added to the environment of the functions server only (test switches, log level...).
    extra_env: Mapping[str, str] = field(default_factory=dict)
    ready_timeout_seconds: float = 120.0

    def __post_init__(self) -> None:
        missing = [name for name in PORT_NAMES if name not in self.ports]
        if missing:
            raise StackError(f"no port configured for: {', '.join(missing)}")
        unknown = [name for name in self.services if name not in SERVICES]
        if unknown:
            raise StackError(
                f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(SERVICES)}"
            )

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    def port(self, name: str) -> int:
        return self.ports[name]

    def address(self, name: str) -> str:
        return f"{self.host}:{self.ports[name]}"

    def url(self, name: str) -> str:
        return f"http://{self.address(name)}"

    def emulator_env(self) -> dict[str, str]:
        """The variables the Google client libraries and shared.config read.

        Set for every service, running or not: a missing variable would silently send a
        client to the real Google API instead of failing against a stopped emulator.
        """
        return {
            "GOOGLE_CLOUD_PROJECT": self.project,
            "FIRESTORE_EMULATOR_HOST": self.address("firestore"),
            "PUBSUB_EMULATOR_HOST": self.address("pubsub"),
            "STORAGE_EMULATOR_HOST": self.url("storage"),
            "FIREBASE_AUTH_EMULATOR_HOST": self.address("auth"),
        }


def read_ports(firebase_json: Path) -> tuple[str, dict[str, int]]:
    """The host and the port of every stack service from firebase.json's ``emulators``."""
    try:
        emulators = json.loads(firebase_json.read_text(encoding="utf-8"))["emulators"]
    except FileNotFoundError:
        raise StackError(f"{firebase_json} is missing; it holds the stack's ports") from None
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise StackError(f"{firebase_json} has no valid 'emulators' section: {error}") from None
    ports: dict[str, int] = {}
    hosts: set[str] = set()
    for name in PORT_NAMES:
        entry = emulators.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("port"), int):
            raise StackError(f"{firebase_json}: emulators.{name}.port must be a number")
        ports[name] = entry["port"]
        hosts.add(str(entry.get("host", DEFAULT_HOST)))
    if len(hosts) != 1:
        raise StackError(f"{firebase_json}: every emulator must use the same host, not {hosts}")
    if len(set(ports.values())) != len(ports):
        raise StackError(f"{firebase_json}: two emulators share a port: {ports}")
    return hosts.pop(), ports


def free_ports(host: str = DEFAULT_HOST) -> dict[str, int]:
    """A free port for every stack service (all sockets held open together: no duplicates)."""
    sockets = []
    try:
        for _ in PORT_NAMES:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return {name: sock.getsockname()[1] for name, sock in zip(PORT_NAMES, sockets, strict=True)}
    finally:
        for sock in sockets:
            sock.close()


def port_in_use(host: str, port: int) -> bool:
    """True if something accepts connections on host:port (or the port cannot be bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        if sock.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR like the servers themselves: a port in TIME_WAIT is free for them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False
