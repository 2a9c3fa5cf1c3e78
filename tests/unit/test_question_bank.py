"""The question bank: the shipped files load and keep the test format's rules; broken files fail.

The checks on the shipped data are written out again here rather than trusting the loader's
validators, so that a validator weakened by mistake still fails a test.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from shared.exam import bank as bank_module
from shared.exam.bank import (
    BANK_DIR,
    CARD_CATEGORIES,
    QuestionBank,
    QuestionBankError,
    UnknownQuestionId,
    load_question_bank,
    normalised_wording,
    read_question_bank,
)

VERSION = re.compile(r"20[0-9]{2}\.[0-9]{1,2}\.[0-9]+")
SLUG = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return load_question_bank()


# --- the shipped bank --------------------------------------------------------------------------
def test_the_shipped_bank_loads_once_and_names_its_version(bank: QuestionBank) -> None:
    assert load_question_bank() is bank, "loaded once per instance, then cached"
    names = sorted(p.relative_to(BANK_DIR).as_posix() for p in BANK_DIR.rglob("*.toml"))
    assert [f.name for f in bank.files] == names
    assert all(VERSION.fullmatch(f.version) for f in bank.files), bank.versions
    assert bank.version in bank.versions.values()
    assert re.fullmatch(r"[0-9a-f]{64}", bank.content_hash)


def test_the_shipped_bank_meets_the_minimum_counts(bank: QuestionBank) -> None:
    assert len(bank.part1_topics()) >= 40
    assert {"p1.work", "p1.studies", "p1.home", "p1.hometown"} <= {
        t.id for t in bank.opening_topics()
    }
    assert len(bank.opening_topics()) < len(bank.part1_topics()) / 4, "most topics follow on"
    assert len(bank.cue_cards()) >= 60
    per_category = Counter(card.category for card in bank.cue_cards())
    assert set(per_category) == set(CARD_CATEGORIES)
    assert min(per_category.values()) >= 5, per_category
    assert all(len(bank.part3_for(card.id)) >= 5 for card in bank.cue_cards())
    part3_total = sum(len(bank.part3_for(card.id)) for card in bank.cue_cards())
    assert part3_total >= 6 * len(bank.cue_cards()), "aim for six per card"


def test_part1_topics_are_short_personal_question_sets(bank: QuestionBank) -> None:
    for topic in bank.part1_topics():
        assert re.fullmatch(rf"p1\.{SLUG}", topic.id), topic.id
        assert 4 <= len(topic.questions) <= 5, topic.id
        assert topic.tags, topic.id
        for q in topic.questions:
            assert re.fullmatch(rf"{re.escape(topic.id)}\.q[1-9][0-9]*", q.id), q.id
            assert q.text.endswith("?"), q.id
            assert q.text[0].isupper(), q.id
            assert len(q.text.split()) <= 15, q.id
            assert not re.search(r"government|society|why do you think", q.text, re.I), q.id


def test_cue_cards_follow_the_card_format(bank: QuestionBank) -> None:
    for card in bank.cue_cards():
        assert re.fullmatch(rf"p2\.{SLUG}", card.id), card.id
        assert card.task.startswith("Describe "), card.id
        assert not card.task.endswith((".", "?")), card.id
        assert 3 <= len(card.prompts) <= 4, card.id
        for prompt in card.prompts:
            assert re.match(r"(who|whom|whose|what|when|where|which|why|how|whether) ", prompt)
        assert card.closing.startswith("and explain "), card.id
        assert 1 <= len(card.rounding_off) <= 2, card.id
        for r in card.rounding_off:
            assert re.fullmatch(rf"{re.escape(card.id)}\.r[1-9][0-9]*", r.id), r.id
            assert r.text.endswith("?"), r.id
            assert re.search(r"\byou", r.text, re.I), f"{r.id} is personal"
        assert card.theme[:1].islower(), card.id
        assert len([t for t in card.tags if t in CARD_CATEGORIES]) == 1, card.id


def test_part3_discusses_the_cards_theme_in_two_subthemes(bank: QuestionBank) -> None:
    for card in bank.cue_cards():
        assert len(card.part3) == 2, f"{card.id}: a discussion moves through two subthemes"
        questions = bank.part3_for(card.id)
        assert len(questions) >= 5, card.id
        assert questions == tuple(q for g in card.part3 for q in g.questions)
        for q in questions:
            assert re.fullmatch(rf"p3\.{re.escape(card.slug)}\.q[1-9][0-9]*", q.id), q.id
            assert q.text.endswith("?"), q.id
            assert not q.text.lower().startswith(("describe", "tell me about")), q.id
            # Personal questions ("Do you like ...") belong to Parts 1 and 2.
            assert not re.match(r"do you (?!think|agree|believe|feel that)", q.text, re.I), q.id


def test_ids_and_wording_are_unique_across_the_bank(bank: QuestionBank) -> None:
    ids = bank.all_question_ids()
    topic_ids = [t.id for t in bank.part1_topics()]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & set(topic_ids)
    expected = sum(len(t.questions) for t in bank.part1_topics()) + sum(
        1 + len(c.rounding_off) + len(c.part3_questions) for c in bank.cue_cards()
    )
    assert len(ids) == expected
    wordings = Counter(normalised_wording(bank.question(i).text) for i in ids)
    assert [w for w, n in wordings.items() if n > 1] == []
    themes = Counter(card.theme for card in bank.cue_cards())
    assert [t for t, n in themes.items() if n > 1] == []


def test_every_id_resolves_to_its_part_and_text(bank: QuestionBank) -> None:
    parts = {"p1": 1, "p2": 2, "p3": 3}
    for question_id in bank.all_question_ids():
        ref = bank.question(question_id)
        assert ref.id == question_id
        assert ref.part == parts[question_id[:2]]
        assert ref.text
    card = bank.cue_cards()[0]
    assert bank.question(card.id).kind == "cue_card"
    assert bank.question(card.id).text == card.task
    assert bank.question(card.rounding_off[0].id).kind == "rounding_off"
    part3 = bank.question(card.part3_questions[0].id)
    assert (part3.kind, part3.parent_id, part3.subtheme) == (
        "part3",
        card.id,
        card.part3[0].subtheme,
    )
    topic = bank.part1_topics()[0]
    assert bank.question(topic.questions[0].id).parent_id == topic.id
    assert bank.topic(topic.id) is topic
    assert bank.card(card.id) is card


@pytest.mark.parametrize("lookup", ["question", "part3_for", "card", "topic"])
def test_unknown_ids_raise_a_key_error_naming_the_id(bank: QuestionBank, lookup: str) -> None:
    with pytest.raises(UnknownQuestionId, match=r"p2\.no-such-card") as caught:
        getattr(bank, lookup)("p2.no-such-card")
    assert isinstance(caught.value, KeyError)


def test_the_bank_is_immutable(bank: QuestionBank) -> None:
    with pytest.raises(ValueError, match="frozen"):
        bank.cards[0].task = "Describe anything"  # type: ignore[misc]
    assert isinstance(bank.part1_topics(), tuple)
    assert isinstance(bank.cards[0].prompts, tuple)


def test_the_bank_module_stays_free_of_cloud_clients() -> None:
    tree = ast.parse(Path(bank_module.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m.startswith(("google", "firebase_admin"))}


# --- broken files are rejected, naming the file and the id ------------------------------------
TOPICS = """\
version = "2026.11.1"

[[topics]]
id = "p1.rain"
title = "Rain"
opening = true
tags = ["nature"]
questions = [
  { id = "p1.rain.q1", text = "Do you like rainy days?" },
  { id = "p1.rain.q2", text = "What do you usually do when it rains?" },
  { id = "p1.rain.q3", text = "Did you play in the rain as a child?" },
  { id = "p1.rain.q4", text = "Do you carry an umbrella every day?" },
]
"""

CARDS = """\
version = "2026.11.2"

[[cards]]
id = "p2.old-letter"
tags = ["objects", "communication"]
theme = "letters and keeping in touch"
task = "Describe a letter or message that you have kept"
prompts = ["who sent it", "when you received it", "what it said"]
closing = "and explain why you have kept it"
rounding_off = [{ id = "p2.old-letter.r1", text = "Do you still write letters?" }]

[[cards.part3]]
subtheme = "Writing to each other"
questions = [
  { id = "p3.old-letter.q1", text = "Why do fewer people write letters by hand today?" },
  { id = "p3.old-letter.q2", text = "Is a handwritten note more personal than an email?" },
  { id = "p3.old-letter.q3", text = "Should children still learn to write formal letters?" },
]

[[cards.part3]]
subtheme = "Keeping in touch"
questions = [
  { id = "p3.old-letter.q4", text = "How has technology changed the way families keep in touch?" },
  { id = "p3.old-letter.q5", text = "Do people communicate more or less than in the past?" },
]
"""


def write_bank(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def edited(text: str, old: str, new: str) -> str:
    # A replacement that matches nothing would leave a valid file and a test that cannot fail.
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def test_the_small_test_bank_is_valid(tmp_path: Path) -> None:
    small = read_question_bank(write_bank(tmp_path, {"p1.toml": TOPICS, "p2.toml": CARDS}))
    assert [t.id for t in small.opening_topics()] == ["p1.rain"]
    assert len(small.part3_for("p2.old-letter")) == 5
    assert small.version == "2026.11.2"
    assert small.versions == {"p1.toml": "2026.11.1", "p2.toml": "2026.11.2"}


THREE_PROMPTS = '["who sent it", "when you received it", "what it said"]'
FIVE_PROMPTS = THREE_PROMPTS[:-1] + ', "where you keep it", "who else has read it"]'
Q3_LINE = next(line + "\n" for line in CARDS.splitlines() if "p3.old-letter.q3" in line)
BROKEN = [
    pytest.param(
        "p2.toml",
        CARDS,
        THREE_PROMPTS,
        FIVE_PROMPTS,
        "p2.old-letter",
        "5 prompts on a cue card",
        id="card-with-five-prompts",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        THREE_PROMPTS,
        '["who sent it", "when you received it"]',
        "p2.old-letter",
        "2 prompts on a cue card",
        id="card-with-two-prompts",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        "Is a handwritten note more personal than an email?",
        "Describe a handwritten note that you would like to receive?",
        "p3.old-letter.q2",
        "must not start with 'Describe'",
        id="part3-starting-describe",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        'closing = "and explain why you have kept it"\n',
        "",
        "p2.old-letter",
        "closing: Field required",
        id="missing-closing-line",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        "and explain why you have kept it",
        "and say why you have kept it",
        "p2.old-letter",
        "must start with 'and explain '",
        id="closing-not-and-explain",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        'id = "p3.old-letter.q5"',
        'id = "p3.old-letter.q4"',
        "p3.old-letter.q4",
        "id already used in p2.toml",
        id="duplicate-id-in-a-card",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        Q3_LINE,
        "",
        "p2.old-letter",
        "4 Part 3 questions; a card needs at least 5",
        id="too-few-part3",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        "Do people communicate more or less than in the past?",
        "Do you like writing letters to your friends?",
        "p3.old-letter.q5",
        "must discuss ideas, not the candidate",
        id="personal-part3",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        '"Do you still write letters?" }]',
        '"Do you still write letters?" }, '
        '{ id = "p2.old-letter.r2", text = "Do you keep cards?" }, '
        '{ id = "p2.old-letter.r3", text = "Do you send postcards?" }]',
        "p2.old-letter",
        "3 rounding-off questions",
        id="three-rounding-off",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        'id = "p3.old-letter.q3"',
        'id = "p3.new-letter.q3"',
        "p3.new-letter.q3",
        "must start with 'p3.old-letter.q'",
        id="part3-id-of-another-card",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        'tags = ["objects", "communication"]',
        'tags = ["objects", "people"]',
        "p2.old-letter",
        "exactly one category tag",
        id="two-category-tags",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        'tags = ["objects", "communication"]',
        'tags = ["objects", "comunication"]',
        "p2.old-letter",
        "unknown tags ['comunication']",
        id="misspelt-tag",
    ),
    pytest.param(
        "p2.toml",
        CARDS,
        "prompts = [",
        "promts = [",
        "p2.old-letter",
        "promts: Extra inputs are not permitted",
        id="misspelt-key",
    ),
    pytest.param(
        "p1.toml",
        TOPICS,
        "What do you usually do when it rains?",
        "Why do you think rain affects people's moods?",
        "p1.rain.q2",
        "must be personal and concrete",
        id="part1-asks-a-part3-question",
    ),
    pytest.param(
        "p1.toml",
        TOPICS,
        "Do you carry an umbrella every day?",
        "Do you carry an umbrella every day.",
        "p1.rain.q4",
        "must be one question ending with '?'",
        id="part1-without-question-mark",
    ),
    pytest.param(
        "p1.toml",
        TOPICS,
        '  { id = "p1.rain.q4", text = "Do you carry an umbrella every day?" },\n',
        "",
        "p1.rain",
        "3 questions in a Part 1 topic",
        id="part1-with-three-questions",
    ),
    pytest.param(
        "p1.toml",
        TOPICS,
        'id = "p1.rain.q3"',
        'id = "p1.Rain.q3"',
        "p1.Rain.q3",
        "must be of the form p1.<topic>.q<n>",
        id="malformed-id",
    ),
]


@pytest.mark.parametrize(("file", "text", "old", "new", "culprit", "problem"), BROKEN)
def test_a_broken_file_is_rejected_naming_the_file_and_id(
    tmp_path: Path, file: str, text: str, old: str, new: str, culprit: str, problem: str
) -> None:
    files = {"p1.toml": TOPICS, "p2.toml": CARDS, file: edited(text, old, new)}
    with pytest.raises(QuestionBankError) as caught:
        read_question_bank(write_bank(tmp_path, files))
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.file, error.item_id) == (file, culprit)
    assert f"{file}, {culprit}" in str(error)
    assert problem in str(error)


def test_an_id_used_in_two_files_is_rejected(tmp_path: Path) -> None:
    other = edited(TOPICS, 'title = "Rain"', 'title = "Rainy days"').replace("?", " at all?")
    files = {"a.toml": TOPICS, "b.toml": other}
    with pytest.raises(QuestionBankError) as caught:
        read_question_bank(write_bank(tmp_path, files))
    assert (caught.value.file, caught.value.item_id) == ("b.toml", "p1.rain")
    assert "already used in a.toml" in str(caught.value)


def test_the_same_wording_in_two_files_is_rejected(tmp_path: Path) -> None:
    copied = edited(CARDS, '"Do you still write letters?"', '"Do you like rainy days?"')
    with pytest.raises(QuestionBankError) as caught:
        read_question_bank(write_bank(tmp_path, {"p1.toml": TOPICS, "p2.toml": copied}))
    assert (caught.value.file, caught.value.item_id) == ("p2.toml", "p2.old-letter.r1")
    assert "same wording as p1.rain.q1 in p1.toml" in str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('version = "2026.11.2"\n', "", "version None"),
        ('version = "2026.11.2"', 'version = "v2"', "version 'v2'"),
        ("[[cards]]", "[[cards]", "is not valid TOML"),
        ('version = "2026.11.2"', 'version = "2026.11.2"\nauthor = "me"', "unknown top-level"),
    ],
    ids=["no-version", "bad-version", "toml-syntax", "unknown-top-level-key"],
)
def test_a_malformed_file_is_rejected_naming_the_file(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    files = {"p1.toml": TOPICS, "p2.toml": edited(CARDS, old, new)}
    with pytest.raises(QuestionBankError) as caught:
        read_question_bank(write_bank(tmp_path, files))
    assert caught.value.file == "p2.toml"
    assert problem in str(caught.value)


def test_an_empty_or_missing_folder_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(QuestionBankError, match=r"no \.toml files"):
        read_question_bank(tmp_path)
    with pytest.raises(QuestionBankError, match="does not exist"):
        read_question_bank(tmp_path / "missing")


def test_hidden_files_are_not_content(tmp_path: Path) -> None:
    folder = write_bank(tmp_path, {"p1.toml": TOPICS, "p2.toml": CARDS, ".#p2.toml": "junk ["})
    assert [f.name for f in read_question_bank(folder).files] == ["p1.toml", "p2.toml"]


# --- the content hash ----------------------------------------------------------------------------
def test_the_content_hash_follows_the_content_and_not_the_folder(tmp_path: Path) -> None:
    files = {"p1.toml": TOPICS, "p2.toml": CARDS}
    first = read_question_bank(write_bank(tmp_path / "a", files))
    same = read_question_bank(write_bank(tmp_path / "b", files))
    assert first.content_hash == same.content_hash

    changed_text = edited(CARDS, "Do you still write letters?", "Do you ever write letters?")
    changed = read_question_bank(write_bank(tmp_path / "b", {"p2.toml": changed_text}))
    assert changed.content_hash != first.content_hash
    assert changed.files[0].sha256 == first.files[0].sha256
    assert changed.files[1].sha256 != first.files[1].sha256

    comment_only = read_question_bank(
        write_bank(tmp_path / "c", {**files, "p2.toml": CARDS + "#\n"})
    )
    assert comment_only.content_hash != first.content_hash, "the bytes count, not the parse"

    renamed = read_question_bank(write_bank(tmp_path / "d", {"p1.toml": TOPICS, "p3.toml": CARDS}))
    assert renamed.content_hash != first.content_hash


def test_the_loader_reads_the_folder_it_is_given(tmp_path: Path) -> None:
    folder = write_bank(tmp_path, {"p1.toml": TOPICS, "p2.toml": CARDS})
    assert load_question_bank(folder) is load_question_bank(folder)
    assert load_question_bank(folder).content_hash != load_question_bank().content_hash
