"""Prompt templates: versioned TOML files beside this module, validated when loaded.

One file per template, named after its id (``part3_followup.toml``)::

    id = "part3_followup"          # stable; never reused for a different task
    version = 3                    # bump whenever text or parameters change
    description = "..."            # for people; not sent, not hashed
    temperature = 0.7
    max_output_tokens = 256
    text = \"\"\"... ${theme} ...\"\"\"

Placeholders are ``${name}`` (``string.Template``, so JSON braces in a brief need no
escaping); ``render`` insists on exactly the template's placeholders, so a brief and the code
that fills it cannot drift apart unnoticed. Values are our own text (a theme, a bank
question): learner words never go into a brief, they are quoted as data (``quoting``).

``content_hash`` is the sha256 of what reaches the model and shapes its answer (id, version,
text, temperature, max_output_tokens); it is stored with every generation next to ``ref``
(``part3_followup@3``), so a stored question can be traced to the exact brief even if someone
edits a file without bumping its version.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

__all__ = [
    "TEMPLATES_DIR",
    "PromptTemplate",
    "PromptTemplateError",
    "load_template",
    "load_templates",
    "parse_template",
]

TEMPLATES_DIR: Final = Path(__file__).resolve().parent

_ID: Final = re.compile(r"[a-z][a-z0-9_]{2,63}")
_KEYS: Final = frozenset(
    {"id", "version", "description", "temperature", "max_output_tokens", "text"}
)
_REQUIRED: Final = _KEYS - {"description"}
# Every "$" must open a braced placeholder: a stray "$5" or "$name" is a typo, not a brief.
_DOLLAR: Final = re.compile(r"\$(?!\{[a-z][a-z0-9_]*\})")


class PromptTemplateError(ValueError):
    """A template file is malformed, or a template was rendered with the wrong values."""


@dataclass(frozen=True)
class PromptTemplate:
    """One validated brief. ``ref`` and ``content_hash`` go with every generation."""

    id: str
    version: int
    text: str
    temperature: float
    max_output_tokens: int
    description: str = ""
    content_hash: str = field(init=False)
    placeholders: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        canonical = json.dumps(
            {
                "id": self.id,
                "version": self.version,
                "text": self.text,
                "temperature": self.temperature,
                "max_output_tokens": self.max_output_tokens,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        object.__setattr__(self, "content_hash", digest)
        identifiers = string.Template(self.text).get_identifiers()
        object.__setattr__(self, "placeholders", frozenset(identifiers))

    @property
    def ref(self) -> str:
        """``id@version``: what ``GenerationRequest.template_id`` holds."""
        return f"{self.id}@{self.version}"

    def render(self, values: Mapping[str, str]) -> str:
        """The brief with every placeholder filled; exactly the placeholders must be given."""
        missing = self.placeholders - values.keys()
        extra = values.keys() - self.placeholders
        if missing or extra:
            raise PromptTemplateError(
                f"template {self.ref}: missing values {sorted(missing)}, "
                f"unexpected values {sorted(extra)}"
            )
        return string.Template(self.text).substitute(values)


def _number(data: Mapping[str, Any], key: str, source: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PromptTemplateError(f"{source}: {key} must be a number")
    return float(value)


def parse_template(content: str, *, source: str = "<template>") -> PromptTemplate:
    """Validate one template file's TOML ``content``; ``source`` names it in errors."""
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        raise PromptTemplateError(f"{source}: not valid TOML ({error})") from None
    unknown = data.keys() - _KEYS
    missing = _REQUIRED - data.keys()
    if unknown or missing:
        raise PromptTemplateError(
            f"{source}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}"
        )
    template_id = data["id"]
    if not isinstance(template_id, str) or not _ID.fullmatch(template_id):
        raise PromptTemplateError(f"{source}: id must match {_ID.pattern}")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise PromptTemplateError(f"{source}: version must be a whole number from 1")
    text = data["text"]
    if not isinstance(text, str) or not text.strip():
        raise PromptTemplateError(f"{source}: text must be a non-empty string")
    stray = _DOLLAR.search(text)
    if stray:
        raise PromptTemplateError(
            f"{source}: '$' at offset {stray.start()} does not open a ${{name}} placeholder"
        )
    temperature = _number(data, "temperature", source)
    if not 0 <= temperature <= 2:
        raise PromptTemplateError(f"{source}: temperature must be from 0 to 2")
    max_tokens = data["max_output_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise PromptTemplateError(f"{source}: max_output_tokens must be a whole number")
    if not 1 <= max_tokens <= 65536:
        raise PromptTemplateError(f"{source}: max_output_tokens must be from 1 to 65536")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise PromptTemplateError(f"{source}: description must be a string")
    return PromptTemplate(
        id=template_id,
        version=version,
        text=text.strip(),
        temperature=temperature,
        max_output_tokens=max_tokens,
        description=description.strip(),
    )


def _read_directory(directory: Path) -> dict[str, PromptTemplate]:
    templates: dict[str, PromptTemplate] = {}
    for path in sorted(directory.glob("*.toml")):
        template = parse_template(path.read_text(encoding="utf-8"), source=path.name)
        if path.stem != template.id:
            raise PromptTemplateError(f"{path.name}: file name must be {template.id}.toml")
        templates[template.id] = template  # ids are unique: they are the file names
    if not templates:
        raise PromptTemplateError(f"no prompt templates in {directory}")
    return templates


@cache
def _default_templates() -> dict[str, PromptTemplate]:
    return _read_directory(TEMPLATES_DIR)


def load_templates(directory: Path | None = None) -> dict[str, PromptTemplate]:
    """Every template by id; the module's own folder is read once per instance."""
    if directory is None:
        return dict(_default_templates())
    return _read_directory(directory)


def load_template(template_id: str) -> PromptTemplate:
    """One of the module's templates; raises KeyError for an unknown id."""
    return _default_templates()[template_id]
