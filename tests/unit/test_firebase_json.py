"""firebase.json: Hosting rewrites derived from functions/catalog.py (up to date, and routing
every API path to the function that serves it), rules and indexes, the emulator ports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from functions.catalog import HTTP_FUNCTIONS
from tests.infra.terraform_model import Terraform
from tools.hosting_rewrites import NAME_PREFIX, REGION, expected_rewrites, function_id

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def firebase() -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "firebase.json").read_text(encoding="utf-8")))


def hosting_glob(source: str) -> re.Pattern[str]:
    """Firebase Hosting's glob: ``*`` is one path segment, ``**`` any number of them."""
    parts = []
    for token in re.split(r"(\*\*|\*)", source):
        if token == "**":
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]+")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts))


def first_match(rewrites: list[dict[str, Any]], path: str) -> dict[str, Any]:
    return next(r for r in rewrites if hosting_glob(r["source"]).fullmatch(path))


def test_rewrites_are_up_to_date_with_the_catalog(firebase: dict[str, Any]) -> None:
    assert firebase["hosting"]["rewrites"] == expected_rewrites(), (
        "regenerate them: .venv/bin/python -m tools.hosting_rewrites"
    )


@pytest.mark.parametrize(
    ("name", "prefix"),
    [(f.name, path) for f in HTTP_FUNCTIONS for path in f.paths],
)
def test_every_prefix_reaches_its_function(
    firebase: dict[str, Any], name: str, prefix: str
) -> None:
    rewrites = firebase["hosting"]["rewrites"]
    concrete = prefix.replace("*", "s-1")
    for path in (f"/api{concrete}", f"/api{concrete}/a/b"):
        assert first_match(rewrites, path).get("function") == {
            "functionId": function_id(name),
            "region": REGION,
        }, path


def test_every_function_rewrite_is_a_catalog_prefix(firebase: dict[str, Any]) -> None:
    prefixes = {(function_id(f.name), path) for f in HTTP_FUNCTIONS for path in f.paths}
    for rewrite in firebase["hosting"]["rewrites"]:
        if "function" not in rewrite:
            continue
        path = rewrite["source"].removeprefix("/api").removesuffix("/**")
        assert (rewrite["function"]["functionId"], path) in prefixes, rewrite


def test_other_paths_are_the_pwa(firebase: dict[str, Any]) -> None:
    rewrites = firebase["hosting"]["rewrites"]
    assert first_match(rewrites, "/progress/week")["destination"] == "/index.html"
    assert firebase["hosting"]["public"] == "app/dist"


def test_function_ids_are_terraforms() -> None:
    terraform = Terraform.load()
    name = terraform.resources("google_cloudfunctions2_function")["function"]["name"]
    assert name == '${var.name_prefix}-${replace(each.key, "_", "-")}'
    assert terraform.variables["name_prefix"]["default"] == NAME_PREFIX
    assert terraform.variables["region"]["default"] == REGION


def test_rules_and_indexes_are_named_and_exist(firebase: dict[str, Any]) -> None:
    assert firebase["firestore"] == {
        "rules": "firestore.rules",
        "indexes": "firestore.indexes.json",
    }
    assert firebase["storage"] == {"rules": "storage.rules"}
    for name in ("firestore.rules", "firestore.indexes.json", "storage.rules"):
        assert (REPO_ROOT / name).is_file(), (
            f"{name} is named by firebase.json and released by terraform/firebase.tf but is missing"
        )


def test_emulator_ports_are_the_local_stacks(firebase: dict[str, Any]) -> None:
    ports = {
        name: block.get("port")
        for name, block in firebase["emulators"].items()
        if isinstance(block, dict)
    }
    assert ports == {
        "ui": None,
        "functions": 8080,
        "firestore": 8081,
        "pubsub": 8085,
        "storage": 9023,
        "auth": 9099,
        "hub": 4400,
        "logging": 4500,
    }
