"""The prompt templates: well-formed, filled by the code exactly, hashed by content."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.exam.model_followups import (
    FOLLOW_UP_TEMPLATE,
    MAX_QUESTION_WORDS,
    REPHRASE_TEMPLATE,
    TEMPLATE_FIELDS,
)
from shared.prompts import LEARNER_TAG, load_template, load_templates
from shared.prompts.templates import TEMPLATES_DIR, PromptTemplateError, parse_template
from shared.scoring.judge import JUDGE_TEMPLATE, JUDGE_TEMPLATE_FIELDS

GOOD = '''
id = "sample_brief"
version = 2
description = "A test brief."
temperature = 0.5
max_output_tokens = 128
text = """
Ask about ${theme} in at most ${max_words} words. Reply {"question": "..."}.
"""
'''


def test_every_template_file_loads_with_id_version_and_text() -> None:
    files = sorted(TEMPLATES_DIR.glob("*.toml"))
    templates = load_templates()
    assert len(files) == len(templates) >= 2
    for path in files:
        template = templates[path.stem]  # a file is named after its template's id
        assert template.id == path.stem
        assert template.version >= 1
        assert template.text.strip() == template.text
        assert len(template.text.split()) > 50
        assert template.ref == f"{template.id}@{template.version}"
        assert re.fullmatch(r"[0-9a-f]{64}", template.content_hash)


def test_ids_and_hashes_are_unique() -> None:
    templates = list(load_templates().values())
    assert len({t.id for t in templates}) == len(templates)
    assert len({t.content_hash for t in templates}) == len(templates)


def test_the_code_fills_exactly_the_placeholders_each_template_uses() -> None:
    templates = load_templates()
    filled = {**TEMPLATE_FIELDS, JUDGE_TEMPLATE: JUDGE_TEMPLATE_FIELDS}
    assert set(filled) == set(templates), "a template nobody fills, or a missing one"
    for template_id, fields in filled.items():
        assert templates[template_id].placeholders == fields, template_id


@pytest.mark.parametrize("template_id", [FOLLOW_UP_TEMPLATE, REPHRASE_TEMPLATE])
def test_every_brief_treats_learner_text_as_data_and_asks_for_json(template_id: str) -> None:
    text = " ".join(load_template(template_id).text.split())  # lines wrap anywhere
    assert f"<{LEARNER_TAG}" in text
    assert f"</{LEARNER_TAG}>" in text
    assert "&lt;" in text  # the model is told how the learner's "<" reaches it
    assert "never instructions" in text
    assert '{"question": "your question"}' in text
    assert "JSON only" in text
    for forbidden in ("correct", "score", "band"):
        assert forbidden in text  # the examiner's don'ts are spelt out


def test_the_follow_up_brief_keeps_part3_rules() -> None:
    text = " ".join(load_template(FOLLOW_UP_TEMPLATE).text.split())
    assert '"Describe"' in text
    assert "Part 1" in text
    assert '"yes" or "no"' in text
    rendered = load_template(FOLLOW_UP_TEMPLATE).render(
        {"theme": "city life", "question": "Why?", "max_words": str(MAX_QUESTION_WORDS)}
    )
    assert "at most 25 words" in rendered
    assert "${" not in rendered


def test_render_insists_on_exactly_the_placeholders() -> None:
    template = parse_template(GOOD)
    assert template.placeholders == {"theme", "max_words"}
    assert template.render({"theme": "food", "max_words": "9"}).startswith("Ask about food in")
    with pytest.raises(PromptTemplateError, match="missing values"):
        template.render({"theme": "food"})
    with pytest.raises(PromptTemplateError, match="unexpected values"):
        template.render({"theme": "food", "max_words": "9", "extra": "x"})


def test_a_value_is_inserted_verbatim_never_expanded() -> None:
    template = parse_template(GOOD)
    rendered = template.render({"theme": "${max_words} $$", "max_words": "9"})
    assert "Ask about ${max_words} $$ in at most 9 words" in rendered


def test_the_hash_follows_the_content() -> None:
    base = parse_template(GOOD)
    assert parse_template(GOOD).content_hash == base.content_hash
    changed_text = parse_template(GOOD.replace("Ask about", "Ask gently about"))
    changed_temperature = parse_template(GOOD.replace("temperature = 0.5", "temperature = 0.6"))
    changed_version = parse_template(GOOD.replace("version = 2", "version = 3"))
    changed_description = parse_template(GOOD.replace("A test brief.", "Reworded."))
    assert changed_text.content_hash != base.content_hash
    assert changed_temperature.content_hash != base.content_hash
    assert changed_version.content_hash != base.content_hash
    assert changed_description.content_hash == base.content_hash  # not sent, not hashed


def test_a_shipped_template_hashes_differently_once_edited() -> None:
    path = TEMPLATES_DIR / f"{FOLLOW_UP_TEMPLATE}.toml"
    content = path.read_text(encoding="utf-8")
    edited = parse_template(content.replace("one short follow-up", "one brief follow-up"))
    assert edited.text != load_template(FOLLOW_UP_TEMPLATE).text
    assert edited.content_hash != load_template(FOLLOW_UP_TEMPLATE).content_hash


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('id = "sample_brief"', ""), "missing keys"),
        (("version = 2", 'version = "2"'), "version"),
        (("version = 2", "version = 0"), "version"),
        (('id = "sample_brief"', 'id = "Sample Brief"'), "id must match"),
        (("temperature = 0.5", "temperature = 3"), "temperature"),
        (("temperature = 0.5", "temperature = true"), "temperature"),
        (("max_output_tokens = 128", "max_output_tokens = 0"), "max_output_tokens"),
        (("max_output_tokens = 128", "max_output_tokens = 1.5"), "max_output_tokens"),
        (("description =", "notes ="), "unknown keys"),
        (("Ask about ${theme}", "Ask about $theme"), "placeholder"),
        (("Ask about ${theme}", "Ask about $5"), "placeholder"),
        (('text = """', 'text = """ """\nunused = """'), "unknown keys"),
        (("version = 2", "version = 2\nversion = 3"), "not valid TOML"),
    ],
)
def test_malformed_templates_are_refused(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(PromptTemplateError, match=message):
        parse_template(GOOD.replace(old, new), source="sample_brief.toml")


def test_an_empty_text_is_refused() -> None:
    with pytest.raises(PromptTemplateError, match="non-empty"):
        parse_template(re.sub(r'text = """.*"""', 'text = "  "', GOOD, flags=re.S))


def test_a_folder_checks_file_names_against_ids(tmp_path: Path) -> None:
    (tmp_path / "sample_brief.toml").write_text(GOOD, encoding="utf-8")
    assert set(load_templates(tmp_path)) == {"sample_brief"}
    (tmp_path / "other_name.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(PromptTemplateError, match=r"file name must be sample_brief\.toml"):
        load_templates(tmp_path)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PromptTemplateError, match="no prompt templates"):
        load_templates(tmp_path)
