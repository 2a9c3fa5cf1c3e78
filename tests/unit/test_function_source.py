"""The deployable archive: complete for functions/main.py, free of dev files, reproducible."""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from tools import function_source
from tools.function_source import REPO_ROOT, SourceSpec, build_archive, glob_match, load_spec

LOCAL_PACKAGES = ("functions", "shared")
FORBIDDEN_PREFIXES = ("tests/", ".venv/", "bench/", "devstack/", "tools/", "node_modules/")


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, module: str) -> set[str]:
    """Every module ``path`` may import, including imports inside functions (lazy ones)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            found.add(base)
            # `from shared import errors` imports the submodule shared.errors.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def local_import_closure(root: Path, entry: str = "functions/main.py") -> set[str]:
    """Repository files reachable from ``entry`` by imports, with their packages' __init__."""
    files: set[str] = set()
    pending = [(root / entry, "main")]
    while pending:
        path, module = pending.pop()
        relative = path.relative_to(root).as_posix()
        if relative in files:
            continue
        files.add(relative)
        for name in _imported_modules(path, module):
            if name.split(".")[0] not in LOCAL_PACKAGES:
                continue
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                prefix = ".".join(parts[:depth])
                found = _module_file(root, prefix)
                if found is not None:
                    pending.append((found, prefix))
    return files


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> function_source.BuiltArchive:
    return build_archive(tmp_path_factory.mktemp("archive"))


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zipped:
        return zipped.namelist()


def test_archive_holds_main_everything_it_imports_and_requirements(
    archive: function_source.BuiltArchive,
) -> None:
    names = set(_names(archive.path))
    needed = local_import_closure(REPO_ROOT) | {"requirements.txt"}
    assert "functions/main.py" in needed
    assert "shared/config.py" in needed
    assert "functions/health.py" in needed
    assert needed - names == set()


def test_archive_holds_no_dev_files(archive: function_source.BuiltArchive) -> None:
    names = _names(archive.path)
    leaked = [
        name
        for name in names
        if name.startswith(FORBIDDEN_PREFIXES)
        or "__pycache__" in name
        or name.endswith((".pyc", ".pyo"))
    ]
    assert leaked == []
    assert set(names) == set(archive.files)
    assert hashlib.sha256(archive.path.read_bytes()).hexdigest() == archive.sha256


def test_building_twice_gives_the_same_bytes(
    archive: function_source.BuiltArchive, tmp_path: Path
) -> None:
    again = build_archive(tmp_path)
    assert again.sha256 == archive.sha256
    assert again.path.read_bytes() == archive.path.read_bytes()


def _copy_tree(destination: Path) -> Path:
    for name in ("functions", "shared"):
        shutil.copytree(
            REPO_ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(REPO_ROOT / "requirements.txt", destination / "requirements.txt")
    return destination


def test_hash_ignores_timestamps_and_permissions_but_not_content(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path / "tree")
    first = build_archive(tmp_path / "one", root)
    main_py = root / "functions" / "main.py"
    os.utime(main_py, (1_000_000_000, 1_000_000_000))
    main_py.chmod(0o755)
    assert build_archive(tmp_path / "two", root).sha256 == first.sha256
    main_py.write_text(main_py.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert build_archive(tmp_path / "three", root).sha256 != first.sha256


def test_junk_in_the_deployed_folders_is_left_out(tmp_path: Path) -> None:
    root = _copy_tree(tmp_path / "tree")
    junk = [
        "shared/__pycache__/config.cpython-311.pyc",
        "shared/stale.pyc",
        "functions/tests/test_main.py",
        "shared/test_helpers.py",
        "shared/conftest.py",
        "shared/.DS_Store",
        "shared/.cache/entry",
        "bench/coldstart.py",
        "devstack/run.py",
        "tests/unit/test_x.py",
        ".venv/lib/site.py",
    ]
    for name in junk:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x", encoding="utf-8")
    data_file = root / "shared" / "sample_area" / "bank" / "questions.json"
    data_file.parent.mkdir(parents=True)
    data_file.write_text("[]", encoding="utf-8")
    files = build_archive(tmp_path / "out", root).files
    assert set(junk) & set(files) == set()
    # Data files beside the code that loads them are deployed.
    assert "shared/sample_area/bank/questions.json" in files


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("functions/**", "functions/main.py", True),
        ("functions/**", "functions/a/b/c.py", True),
        ("functions/**", "functionsx/main.py", False),
        ("**/__pycache__/**", "shared/__pycache__/x.pyc", True),
        ("**/__pycache__/**", "__pycache__/x.pyc", True),
        ("**/*.pyc", "a.pyc", True),
        ("**/*.pyc", "shared/models/a.pyc", True),
        ("shared/*.py", "shared/models/user.py", False),
        ("shared/?.py", "shared/a.py", True),
        ("**/*.{json,yaml}", "shared/exam/bank.yaml", True),
        ("requirements.txt", "requirements.txt", True),
        ("requirements.txt", "shared/requirements.txt", False),
    ],
)
def test_globs_match_like_terraform_fileset(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


@pytest.mark.parametrize("pattern", ["/abs/**", "a/[ab].py", "a/b**", "a/{b.py", "a\\b"])
def test_globs_terraform_would_read_differently_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="unsupported glob"):
        glob_match(pattern, "a/b.py")


def test_spec_file_is_plain_include_and_exclude_lists() -> None:
    spec = load_spec()
    assert isinstance(spec, SourceSpec)
    assert "requirements.txt" in spec.include
    assert spec.matches("functions/main.py")
    assert not spec.matches("shared/__pycache__/config.cpython-311.pyc")


def test_cli_prints_hash_and_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert function_source.main(["--out", str(tmp_path)]) == 0
    digest, path = capsys.readouterr().out.split()
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest
