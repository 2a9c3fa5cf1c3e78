"""Build the deployable source archive of the functions, byte for byte reproducibly.

The files come from terraform/function_source.json (include and exclude globs relative to the
repository root; Terraform deploys the archive this tool builds). Entries are sorted and carry
fixed timestamps and permissions, so the same tree always gives the same zip and the same
sha256, which Terraform uses to name the uploaded object.

    python -m tools.function_source --out dist

prints ``<sha256>  <path>`` (the format ``sha256sum -c`` reads), or with ``--json`` the
object Terraform's ``external`` data source reads (terraform/main.tf).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = REPO_ROOT / "terraform" / "function_source.json"

# The earliest time a zip entry can carry; fixed so checkouts at different times hash alike.
_FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644  # regular file, rw-r--r--: umask and executable bits never change the hash
_COMPRESS_LEVEL = 9
_GLOB_TOKEN = re.compile(r"\*|\?|\{[^{}]*\}|[^*?{]+")


@dataclass(frozen=True)
class SourceSpec:
    """Which files are deployed: paths matching an include glob and no exclude glob."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def matches(self, relative_path: str) -> bool:
        """Whether the repository-relative POSIX path ``relative_path`` is deployed."""
        return any(glob_match(p, relative_path) for p in self.include) and not any(
            glob_match(p, relative_path) for p in self.exclude
        )


@dataclass(frozen=True)
class BuiltArchive:
    path: Path
    sha256: str
    files: tuple[str, ...]


def load_spec(path: Path = SPEC_PATH) -> SourceSpec:
    """Read the globs; ValueError for one that Terraform's fileset would read differently."""
    data = json.loads(path.read_text(encoding="utf-8"))
    spec = SourceSpec(include=tuple(data["include"]), exclude=tuple(data.get("exclude", ())))
    for pattern in (*spec.include, *spec.exclude):
        _glob_regex(pattern)
    return spec


def glob_match(pattern: str, relative_path: str) -> bool:
    """Match like Terraform's ``fileset``: ``*`` and ``?`` stay within one path segment,
    a whole ``**`` segment spans any number of directories, ``{a,b}`` picks one of a list."""
    return _glob_regex(pattern).fullmatch(relative_path) is not None


def _glob_regex(pattern: str) -> re.Pattern[str]:
    if not pattern or pattern.startswith("/") or "\\" in pattern or "[" in pattern:
        raise ValueError(
            f"unsupported glob {pattern!r}: use relative paths with *, **, ? and {{a,b}} only"
        )
    segments = pattern.split("/")
    parts: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
            continue
        if "**" in segment:
            raise ValueError(f"unsupported glob {pattern!r}: ** must be a whole path segment")
        parts.append(_segment_regex(segment, pattern) + ("" if last else "/"))
    return re.compile("".join(parts))


def _segment_regex(segment: str, pattern: str) -> str:
    out: list[str] = []
    for token in _GLOB_TOKEN.findall(segment):
        if token == "*":
            out.append("[^/]*")
        elif token == "?":
            out.append("[^/]")
        elif token.startswith("{"):
            choices = token[1:-1].split(",")
            out.append("(?:" + "|".join(re.escape(choice) for choice in choices) + ")")
        else:
            out.append(re.escape(token))
    if "".join(_GLOB_TOKEN.findall(segment)) != segment:
        raise ValueError(f"unsupported glob {pattern!r}: unbalanced braces")
    return "".join(out)


def _literal_base(pattern: str) -> str:
    """The path of ``pattern`` before its first wildcard: the only place to look."""
    if not any(char in pattern for char in "*?{"):
        return pattern
    base: list[str] = []
    for segment in pattern.split("/")[:-1]:
        if any(char in segment for char in "*?{"):
            break
        base.append(segment)
    return "/".join(base)


def select_files(root: Path, spec: SourceSpec) -> list[str]:
    """Sorted repository-relative POSIX paths of the regular files ``spec`` deploys."""
    found: set[str] = set()
    for base in sorted({_literal_base(pattern) for pattern in spec.include}):
        start = root / base if base else root
        if start.is_file():
            candidates: Iterable[Path] = [start]
        elif start.is_dir():
            candidates = _walk(start)
        else:
            continue
        for path in candidates:
            relative = path.relative_to(root).as_posix()
            if spec.matches(relative):
                found.add(relative)
    return sorted(found)


def _walk(start: Path) -> Iterable[Path]:
    for directory, subdirectories, filenames in os.walk(start):
        subdirectories.sort()
        for name in sorted(filenames):
            path = Path(directory, name)
            if path.is_file():
                yield path


def archive_bytes(root: Path, files: Sequence[str]) -> bytes:
    """A zip of ``files`` (relative to ``root``) that depends on their names and contents only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode below is read back as permissions
            info.external_attr = _FILE_MODE << 16
            archive.writestr(info, (root / name).read_bytes(), compresslevel=_COMPRESS_LEVEL)
    return buffer.getvalue()


def build_archive(
    out_dir: Path, root: Path = REPO_ROOT, spec: SourceSpec | None = None
) -> BuiltArchive:
    """Write ``function-source-<sha256 prefix>.zip`` into ``out_dir`` and describe it."""
    spec = spec or load_spec()
    files = select_files(root, spec)
    if not files:
        raise ValueError(f"no file under {root} matches {spec.include}")
    data = archive_bytes(root, files)
    digest = hashlib.sha256(data).hexdigest()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"function-source-{digest[:16]}.zip"
    partial = path.with_suffix(".zip.partial")
    partial.write_bytes(data)
    partial.replace(path)  # never leave a half-written archive under its final name
    return BuiltArchive(path=path, sha256=digest, files=tuple(files))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.function_source", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="directory for the zip")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    parser.add_argument("--spec", type=Path, default=SPEC_PATH, help="include/exclude globs")
    parser.add_argument("--list", action="store_true", help="also list the archived files")
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"sha256", "path"} (path relative to --root) for Terraform\'s external data',
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    built = build_archive(args.out, root, load_spec(args.spec))
    if args.list:
        for name in built.files:
            print(name, file=sys.stderr)
    if args.json:
        # Terraform's external data source reads one JSON object of strings from stdout.
        path = built.path.resolve()
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        print(json.dumps({"sha256": built.sha256, "path": shown.as_posix()}))
    else:
        print(f"{built.sha256}  {built.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
