"""What the local stack needs on this machine, and the command that installs each missing piece.

``python -m devstack.prereqs`` prints what is missing and exits 1; with ``--install`` and run
as root it first installs the missing Debian packages (after ``apt-get update``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from devstack.config import REPO_ROOT, SERVICES

MIN_JAVA = 11  # the gcloud Firestore emulator's minimum (Pub/Sub needs 8)
MIN_NODE = 20  # firebase-tools 15

JAVA_FIX = "apt-get install -y openjdk-17-jre-headless"
GCLOUD_COMPONENTS_FIX = (
    "apt-get install -y google-cloud-cli-firestore-emulator google-cloud-cli-pubsub-emulator"
    " (or: gcloud components install cloud-firestore-emulator pubsub-emulator beta)"
)


@dataclass(frozen=True)
class Missing:
    """Something the stack needs that is absent, and how to get it."""

    what: str
    fix: str
    apt_packages: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.what}: {self.fix}"


def _version_major(argv: list[str], pattern: str) -> int | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(pattern, done.stdout + done.stderr)
    return int(match.group(1)) if match else None


def check_java() -> list[Missing]:
    # `java -version` prints e.g. `openjdk version "17.0.15"` (or "1.8.0_392" for Java 8).
    major = _version_major(["java", "-version"], r'version "(?:1\.)?(\d+)')
    if major is None:
        return [
            Missing(
                "Java (for the Firestore and Pub/Sub emulators)",
                JAVA_FIX,
                ("openjdk-17-jre-headless",),
            )
        ]
    if major < MIN_JAVA:
        return [
            Missing(f"Java {MIN_JAVA}+ (found {major})", JAVA_FIX, ("openjdk-17-jre-headless",))
        ]
    return []


def check_gcloud() -> list[Missing]:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return [
            Missing(
                "gcloud CLI",
                "apt-get install -y google-cloud-cli google-cloud-cli-firestore-emulator "
                "google-cloud-cli-pubsub-emulator (Google's apt repository, see "
                "https://cloud.google.com/sdk/docs/install#deb)",
            )
        ]
    sdk = Path(os.path.realpath(gcloud)).parent.parent
    apt_installed = str(sdk).startswith("/usr/lib/")
    missing = []
    components = {
        "cloud-firestore-emulator": (
            "platform/cloud-firestore-emulator",
            "google-cloud-cli-firestore-emulator",
        ),
        "pubsub-emulator": ("platform/pubsub-emulator", "google-cloud-cli-pubsub-emulator"),
    }
    for component, (folder, package) in components.items():
        if not (sdk / folder).is_dir():
            missing.append(
                Missing(
                    f"gcloud component {component}",
                    GCLOUD_COMPONENTS_FIX,
                    (package,) if apt_installed else (),
                )
            )
    # `gcloud beta` ships with the Debian package; a tarball install lists it under .install.
    install_dir = sdk / ".install"
    if install_dir.is_dir() and not (install_dir / "beta.manifest").is_file() and not apt_installed:
        missing.append(Missing("gcloud component beta", "gcloud components install beta"))
    return missing


def check_node(repo_root: Path) -> list[Missing]:
    major = _version_major(["node", "--version"], r"v(\d+)")
    if major is None or major < MIN_NODE:
        found = "not found" if major is None else f"found v{major}"
        return [
            Missing(
                f"Node.js {MIN_NODE}+ for the Firebase Auth emulator ({found})",
                "install Node.js 20 or later (https://nodejs.org, or NodeSource's apt "
                "repository: apt-get install -y nodejs)",
            )
        ]
    if not (repo_root / "node_modules" / ".bin" / "firebase").exists():
        return [Missing("firebase-tools (node_modules)", f"cd {repo_root} && npm ci")]
    return []


def check_python_packages() -> list[Missing]:
    fix = f"{sys.executable} -m pip install -r requirements-dev.txt (or: make run)"
    return [
        Missing(f"Python package {module}", fix)
        for module in ("gcp_storage_emulator", "functions_framework", "requests")
        if importlib.util.find_spec(module) is None
    ]


def check_speech_engines() -> list[Missing]:
    """flite voices the examiner in the local stack; espeak-ng makes test speech with chosen
    phonemes (deliberate mispronunciations)."""
    return [
        Missing(f"{binary} (embedded speech)", f"apt-get install -y {package}", (package,))
        for binary, package in (("flite", "flite"), ("espeak-ng", "espeak-ng"))
        if shutil.which(binary) is None
    ]


def check_functions_source(repo_root: Path) -> list[Missing]:
    if (repo_root / "functions" / "main.py").is_file():
        return []
    return [
        Missing(
            "functions/main.py",
            "it must expose every entry point of functions/catalog.py; restore it from git",
        )
    ]


def check(repo_root: Path = REPO_ROOT, services: Iterable[str] = SERVICES) -> list[Missing]:
    """Everything missing for ``services``; an empty list means the stack can start."""
    services = set(services)
    missing = check_python_packages()
    if services & {"firestore", "pubsub"}:
        missing += check_java() + check_gcloud()
    if "auth" in services:
        missing += check_node(repo_root)
    if "functions" in services:
        missing += check_functions_source(repo_root) + check_speech_engines()
    return missing


def install_with_apt(missing: list[Missing]) -> bool:
    """Install the Debian packages of ``missing`` when we are root; True if apt-get ran."""
    packages = sorted({package for item in missing for package in item.apt_packages})
    if not packages or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"Installing {' '.join(packages)} with apt-get (running as root)...", flush=True)
    subprocess.run(["apt-get", "update"], env=env, check=False)
    subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *packages], env=env, check=False
    )
    return True


def describe(missing: list[Missing]) -> str:
    lines = ["The local stack cannot start; missing:"]
    lines += [f"  - {item.what}\n      install: {item.fix}" for item in missing]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.prereqs", description=__doc__)
    parser.add_argument(
        "--install", action="store_true", help="apt-get install what is missing (root only)"
    )
    parser.add_argument("--services", default=",".join(SERVICES), help="comma-separated services")
    args = parser.parse_args(argv)
    services = [name for name in args.services.split(",") if name]
    missing = check(REPO_ROOT, services)
    if missing and args.install and install_with_apt(missing):
        missing = check(REPO_ROOT, services)
    if missing:
        print(describe(missing), file=sys.stderr)
        return 1
    print("Prerequisites of the local stack: all present.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
