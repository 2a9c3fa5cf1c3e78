"""The deployment archive plus requirements.txt is all a function needs, as the platform runs it.

The archive from tools.function_source is extracted into an empty folder, a fresh virtualenv
(no system site packages) gets ``pip install -r requirements.txt`` and nothing else, and each
entry point of functions/catalog.py is loaded there by functions-framework's own loader in a
process that cannot see this checkout. A module missing from the archive or a package missing
from requirements.txt fails here instead of at the first deployed cold start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from functions import catalog
from tools.function_source import REPO_ROOT, build_archive

pytestmark = pytest.mark.slow

PROBE = REPO_ROOT / "tools" / "probe_entry_point.py"

# What Cloud Run sets for a deployed function plus what Terraform must configure.
DEPLOYED_ENV = {
    "K_SERVICE": "health",
    "GOOGLE_CLOUD_PROJECT": "speaking-coach-prod",
    "AUDIO_BUCKET": "speaking-coach-prod-audio",
    "REPORTS_BUCKET": "speaking-coach-prod-reports",
    "SPEECH_TO_TEXT_PROVIDER": "google",
    "TEXT_TO_SPEECH_PROVIDER": "google",
    "LANGUAGE_MODEL_PROVIDER": "google",
    "PRIVACY_PEPPER": "a-deployment-secret-from-secret-manager",
}
# Passed to pip only: it may need them to reach the index; the functions never do.
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "ssl_cert_file", "requests_ca_bundle")


@dataclass(frozen=True)
class Deployment:
    workspace: Path
    python: Path
    probe: Path


@dataclass(frozen=True)
class ProbeResult:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, object] | None


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    work = tmp_path_factory.mktemp("deploy")
    built = build_archive(work / "dist")
    workspace = work / "workspace"  # the platform unpacks the source into /workspace
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(workspace)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
        cwd=workspace,
        env=_clean_env({key: val for key, val in os.environ.items() if _reaches_index(key)}),
        check=True,
        timeout=900,
    )
    # Outside the workspace, so the probe adds nothing the archive lacks.
    probe = work / "probe" / "probe_entry_point.py"
    probe.parent.mkdir()
    shutil.copy(PROBE, probe)
    return Deployment(workspace=workspace, python=python, probe=probe)


def _reaches_index(variable: str) -> bool:
    """pip's own settings and proxies: what pip needs to reach the package index here."""
    return variable.startswith("PIP_") or variable.lower() in _PROXY_VARIABLES


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    """Only what a platform process would have: no PYTHONPATH, no emulator hosts."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        **extra,
    }


def _probe(
    deployment: Deployment, target: str, env: dict[str, str], request: str | None
) -> ProbeResult:
    report_path = deployment.probe.parent / f"{target}-report.json"
    report_path.unlink(missing_ok=True)
    command = [str(deployment.python), "-I", str(deployment.probe), "--target", target]
    command += ["--source", "functions/main.py", "--report", str(report_path)]
    if request:
        command += ["--request", request]
    completed = subprocess.run(
        command,
        cwd=deployment.workspace,
        env=_clean_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return ProbeResult(completed.returncode, completed.stdout, completed.stderr, report)


def _request_and_status(name: str) -> tuple[str | None, int | None]:
    """The request to serve without any stack, and its status: 401 proves the auth path loads."""
    for function in catalog.HTTP_FUNCTIONS:
        if function.name == name:
            method, path = function.typical_request
            return f"{method} {path}", 401 if function.needs_auth else 200
    return None, None  # event functions: loading them is the check


@pytest.mark.parametrize("environment", ["local", "deployed"])
@pytest.mark.parametrize("entry_point", catalog.all_entry_points())
def test_every_entry_point_loads_and_serves_from_the_archive(
    deployment: Deployment, entry_point: str, environment: str
) -> None:
    env = {**DEPLOYED_ENV, "K_SERVICE": entry_point} if environment == "deployed" else {}
    request, expected_status = _request_and_status(entry_point)
    result = _probe(deployment, entry_point, env, request)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.report is not None
    assert result.report["status"] == expected_status, result.report["body"]
    files = result.report["module_files"]
    assert isinstance(files, dict)
    # Our code came from the extracted archive, libraries from the fresh venv, nothing from here.
    assert files["shared.config"] == str(deployment.workspace / "shared" / "config.py")
    assert files["functions_framework"].startswith(str(deployment.python.parent.parent))
    assert [path for path in files.values() if path.startswith(f"{REPO_ROOT}/")] == []


def test_health_answers_healthz_when_deployed(deployment: Deployment) -> None:
    result = _probe(deployment, "health", DEPLOYED_ENV, "GET /healthz")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.report is not None
    assert result.report["status"] == 200
    assert json.loads(str(result.report["body"])) == {"status": "ok"}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SPEECH_TO_TEXT_PROVIDER", "local"),
        ("TEXT_TO_SPEECH_PROVIDER", "local"),
        ("LANGUAGE_MODEL_PROVIDER", "local"),
        ("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080"),
        ("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085"),
        ("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9023"),
        ("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099"),
        ("AUDIO_BUCKET", None),
        ("GOOGLE_CLOUD_PROJECT", None),
    ],
)
def test_deployed_function_refuses_local_settings_naming_the_variable(
    deployment: Deployment, variable: str, value: str | None
) -> None:
    env = {key: val for key, val in DEPLOYED_ENV.items() if key != variable}
    if value is not None:
        env[variable] = value
    result = _probe(deployment, "health", env, "GET /healthz")
    assert result.returncode != 0
    assert result.report is None
    assert "ConfigurationError" in result.stderr
    assert variable in result.stderr.splitlines()[-1]
    # The platform shows the structured log line, so it must name the variable too.
    critical = [json.loads(line) for line in result.stdout.splitlines() if "invalid_config" in line]
    assert critical, result.stdout
    assert variable in critical[0]["problem"]
    assert critical[0]["severity"] == "CRITICAL"
