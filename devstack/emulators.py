"""One class per service of the local stack: how to start it, when it is ready, how to stop it.

Measured behaviour this relies on (see also ../shared/design/FINDINGS.md):
- The gcloud Firestore emulator does not honour ``--export-on-exit`` when its process group
  gets SIGTERM or SIGINT, so data is saved by calling its export endpoint before stopping it,
  and loaded with ``--import-data=<...overall_export_metadata>`` on the next start.
- The Firebase CLI exports Auth data on SIGINT (``--export-on-exit``) and imports it with
  ``--import`` (which refuses a folder without an export in it).
- The Firebase CLI writes a hub locator file to ``$TMPDIR`` named after the project; each
  stack gets its own TMPDIR so that parallel stacks (tests next to ``make run``) never mix.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import requests

from devstack.config import StackConfig
from devstack.process import MARKER_VARIABLE, ManagedProcess

Notify = Callable[[str], None]

# Variables that must not leak from our own environment into an emulator: the Firebase CLI
# reads them as "this emulator runs elsewhere".
_EMULATOR_HOST_VARIABLES = (
    "FIRESTORE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    "FIREBASE_AUTH_EMULATOR_HOST",
)


class Service:
    """A service of the stack; subclasses say how to run it."""

    name: ClassVar[str]
    label: ClassVar[str]
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    stop_timeout_seconds: ClassVar[float] = 10.0
    ready_path: ClassVar[str] = "/"

    def __init__(self, config: StackConfig, notify: Notify):
        self.config = config
        self.notify = notify
        self.process: ManagedProcess | None = None
        self.started_at = 0.0
        self.ready_after: float | None = None

    # --- What subclasses define --------------------------------------------------------
    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _EMULATOR_HOST_VARIABLES}
        env[MARKER_VARIABLE] = str(self.config.data_dir)
        return env

    def cwd(self) -> Path:
        return self.config.repo_root

    def prepare(self) -> None:
        """Create folders and files the service needs before it starts."""

    def before_stop(self) -> None:
        """Runs while the service still answers (save data)."""

    def env_var(self) -> str:
        """The variable that points clients at this service (for the table)."""
        return ""

    # --- Shared behaviour --------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.config.port(self.name)

    @property
    def url(self) -> str:
        return self.config.url(self.name)

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir / self.name

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        self.process = ManagedProcess(
            self.name,
            self.argv(),
            cwd=self.cwd(),
            env=self.env(),
            log_path=self.config.logs_dir / f"{self.name}.log",
            stop_signal=self.stop_signal,
            stop_timeout_seconds=self.stop_timeout_seconds,
        )
        self.started_at = time.monotonic()
        self.ready_after = None
        self.process.start()

    def is_ready(self) -> bool:
        try:
            response = requests.get(self.url + self.ready_path, timeout=1.0)
        except requests.RequestException:  # not listening yet
            return False
        return response.status_code == 200

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            if self.process.running():
                self.before_stop()
        finally:  # even if saving data failed, the processes must go
            self.process.stop()
            self.process = None

    def log_tail(self, lines: int = 25) -> str:
        if self.process is None:
            return "(not started)"
        return self.process.log_tail(lines)


class Firestore(Service):
    name = "firestore"
    label = "Firestore emulator"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    def latest_export(self) -> Path | None:
        """The newest export's metadata file (exports are named by their time in ns)."""
        exports = sorted(
            (
                path
                for path in self.exports_dir.glob("*/*/*.overall_export_metadata")
                if path.parent.parent.name.isdigit()
            ),
            key=lambda path: int(path.parent.parent.name),
        )
        return exports[-1] if exports else None

    def argv(self) -> list[str]:
        argv = [
            "gcloud",
            "emulators",
            "firestore",
            "start",
            f"--host-port={self.config.address(self.name)}",
        ]
        rules = self.config.repo_root / "firestore.rules"
        if rules.is_file():
            argv.append(f"--rules={rules}")
        export = self.latest_export() if self.config.persist else None
        if export is not None:
            argv.append(f"--import-data={export}")
        return argv

    def env(self) -> dict[str, str]:
        return {**super().env(), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}

    def env_var(self) -> str:
        return f"FIRESTORE_EMULATOR_HOST={self.config.address(self.name)}"

    def before_stop(self) -> None:
        if self.config.persist:
            self.export()

    def export(self) -> Path | None:
        """Save every document through the emulator's export endpoint; keep only this export."""
        target = self.exports_dir / str(time.time_ns())
        target.mkdir(parents=True)  # the emulator answers 400 for a folder that does not exist
        project = self.config.project
        try:
            response = requests.post(
                f"{self.url}/emulator/v1/projects/{project}:export",
                json={
                    "database": f"projects/{project}/databases/(default)",
                    "export_directory": str(target),
                },
                timeout=60,
            )
            response.raise_for_status()
        except requests.RequestException as error:
            detail = error.response.text[:300] if error.response is not None else ""
            self.notify(f"! Firestore data not exported (previous export kept): {error} {detail}")
            shutil.rmtree(target, ignore_errors=True)
            return None
        for old in self.exports_dir.iterdir():
            if old != target and old.name.isdigit():
                shutil.rmtree(old, ignore_errors=True)
        return target


class PubSub(Service):
    name = "pubsub"
    label = "Pub/Sub emulator"

    def argv(self) -> list[str]:
        return [
            "gcloud",
            "beta",
            "emulators",
            "pubsub",
            "start",
            f"--host-port={self.config.address(self.name)}",
            # Only its env.yaml lives here; topics and subscriptions are provisioned each start.
            f"--data-dir={self.data_dir}",
        ]

    def env(self) -> dict[str, str]:
        return {**super().env(), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}

    def env_var(self) -> str:
        return f"PUBSUB_EMULATOR_HOST={self.config.address(self.name)}"


class Storage(Service):
    name = "storage"
    label = "Cloud Storage emulator"
    # It writes its metadata file on every change: nothing is lost when SIGTERM ends it.
    stop_signal = signal.SIGTERM

    def argv(self) -> list[str]:
        argv = [sys.executable, "-m", "gcp_storage_emulator"]
        if self.config.persist:
            argv += ["--data-dir", str(self.data_dir)]
        argv += ["start", "--host", self.config.host, "--port", str(self.port)]
        if not self.config.persist:
            argv.append("--in-memory")
        return argv

    def env_var(self) -> str:
        return f"STORAGE_EMULATOR_HOST={self.url}"


class Auth(Service):
    name = "auth"
    label = "Firebase Auth emulator"
    stop_signal = signal.SIGINT  # the Firebase CLI exports on SIGINT
    stop_timeout_seconds = 20.0

    @property
    def export_dir(self) -> Path:
        return self.data_dir / "export"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "firebase.json"

    def prepare(self) -> None:
        (self.data_dir / "tmp").mkdir(exist_ok=True)
        self.config_path.write_text(
            json.dumps(firebase_emulators_config(self.config), indent=2), encoding="utf-8"
        )

    def argv(self) -> list[str]:
        argv = [
            str(self.config.repo_root / "node_modules" / ".bin" / "firebase"),
            "emulators:start",
            "--only",
            "auth",
            "--project",
            self.config.project,
            "--config",
            str(self.config_path),
        ]
        if self.config.persist:
            if (self.export_dir / "firebase-export-metadata.json").is_file():
                argv += ["--import", str(self.export_dir)]
            argv += ["--export-on-exit", str(self.export_dir)]
        return argv

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "TMPDIR": str(self.data_dir / "tmp"),
            "NO_UPDATE_NOTIFIER": "1",
            # Start-up is ~5 s of CPU compiling OpenAPI validators (ajv), a third of it in
            # garbage collection; a larger young generation measured 1.5 s faster.
            "NODE_OPTIONS": " ".join(
                filter(None, [os.environ.get("NODE_OPTIONS"), "--max-semi-space-size=64"])
            ),
        }

    def cwd(self) -> Path:
        return self.data_dir  # firebase-debug.log lands in the working directory

    def env_var(self) -> str:
        return f"FIREBASE_AUTH_EMULATOR_HOST={self.config.address(self.name)}"


class Functions(Service):
    """The functions server (devstack.server): every function behind one port."""

    name = "functions"
    label = "Functions (HTTP and events)"
    ready_path = "/_devstack/routes"
    stop_timeout_seconds = 5.0

    def __init__(self, config: StackConfig, notify: Notify, spec: dict[str, object]):
        super().__init__(config, notify)
        self.spec = spec

    @property
    def spec_path(self) -> Path:
        return self.data_dir / "functions.json"

    def prepare(self) -> None:
        self.spec_path.write_text(json.dumps(self.spec, indent=2), encoding="utf-8")

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "devstack.server",
            "--spec",
            str(self.spec_path),
            "--host",
            self.config.host,
            "--port",
            str(self.port),
        ]

    def env(self) -> dict[str, str]:
        repo = str(self.config.repo_root)
        python_path = os.environ.get("PYTHONPATH")
        return {
            **super().env(),
            **self.config.emulator_env(),
            **self.config.extra_env,
            "PYTHONPATH": f"{repo}{os.pathsep}{python_path}" if python_path else repo,
            "PYTHONUNBUFFERED": "1",
        }

    def env_var(self) -> str:
        return "(the function apps get every variable above)"


def firebase_emulators_config(config: StackConfig) -> dict[str, object]:
    """The firebase.json the Firebase CLI is started with: our ports, no UI, one project."""
    return {
        "emulators": {
            "singleProjectMode": True,
            "ui": {"enabled": False},
            **{
                name: {"host": config.host, "port": config.port(name)}
                for name in ("auth", "hub", "logging")
            },
        }
    }
