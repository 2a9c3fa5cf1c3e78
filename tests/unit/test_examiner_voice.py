"""The examiner's voice: catalogue, pauses, SSML and cutting long lines under a byte limit."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from shared.speech.examiner_voice import (
    EXAMINER_VOICES,
    FLITE_VOICES,
    GOOGLE_INPUT_LIMIT_BYTES,
    GOOGLE_VOICES,
    GoogleVoice,
    Pause,
    Phrase,
    check_speaking_rate,
    examiner_voice,
    normalise_text,
    phrases,
    request_inputs,
    to_plain_text,
    to_ssml,
)

CUE_CARD = """Now I'm going to give you a topic. Describe a place you visited that you liked.
You should say:
- where it is
- when you went there
- what you did there
and explain why you liked it."""


def _spoken_words(document: str) -> list[str]:
    """The words of an SSML document or plain text, tags removed and entities decoded."""
    if document.startswith("<speak>"):
        document = "".join(ET.fromstring(document).itertext())
    return document.split()


# --- Catalogue ---------------------------------------------------------------------------------
def test_every_examiner_voice_has_a_google_and_a_flite_voice() -> None:
    assert set(EXAMINER_VOICES) == {"british", "american", "australian"}
    assert set(GOOGLE_VOICES) == set(EXAMINER_VOICES) == set(FLITE_VOICES)


def test_google_voices_speak_the_accent_they_stand_for() -> None:
    expected = {"british": "en-GB", "american": "en-US", "australian": "en-AU"}
    for voice, google in GOOGLE_VOICES.items():
        assert google.language_code == expected[voice]
        assert google.name.startswith(google.language_code + "-")
        assert google.ssml  # the defaults take SSML, so examiner pauses survive


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("en-GB-Neural2-B", GoogleVoice("en-GB", "en-GB-Neural2-B")),
        ("en-AU-Chirp3-HD-Charon", GoogleVoice("en-AU", "en-AU-Chirp3-HD-Charon", ssml=False)),
        ("cmn-CN-Wavenet-A", GoogleVoice("cmn-CN", "cmn-CN-Wavenet-A")),
    ],
)
def test_a_google_voice_is_described_by_its_name(name: str, expected: GoogleVoice) -> None:
    assert GoogleVoice.from_name(name) == expected


@pytest.mark.parametrize("name", ["Neural2", "en-GB", "en--B", ""])
def test_a_malformed_google_voice_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="voice name"):
        GoogleVoice.from_name(name)


def test_flite_voices_are_distinct_and_sampled_at_16khz() -> None:
    assert len(set(FLITE_VOICES.values())) == 3
    assert FLITE_VOICES["british"] == "awb"  # the only British Isles accent flite has
    assert "kal" not in FLITE_VOICES.values()  # 8 kHz diphone voice


def test_unknown_examiner_voice_is_refused_with_the_choices() -> None:
    assert examiner_voice("australian") == "australian"
    with pytest.raises(ValueError, match="british"):
        examiner_voice("scottish")


@pytest.mark.parametrize("rate", [0.49, 2.01, -1.0, 0.0])
def test_speaking_rates_outside_the_natural_range_are_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="speaking rate"):
        check_speaking_rate(rate)


def test_speaking_rates_inside_the_range_pass() -> None:
    assert check_speaking_rate(0.5) == 0.5
    assert check_speaking_rate(2.0) == 2.0


# --- Pauses -------------------------------------------------------------------------------------
def test_a_greeting_is_followed_by_a_pause() -> None:
    line = phrases("Good morning. My name is Sarah. Can you tell me your full name?")
    assert line[0] == Phrase("Good morning.", Pause.GREETING, "greeting")


def test_a_lead_in_pauses_before_its_question() -> None:
    line = phrases("Let's talk about your hometown. Where is it?")
    assert [p.pause_after_ms for p in line] == [Pause.LEAD_IN, Pause.NONE]
    assert line[0].why == "lead_in"


def test_two_statements_in_a_row_have_no_extra_pause() -> None:
    line = phrases("Thank you. That is the end of part one. What do you do?")
    assert [p.pause_after_ms for p in line] == [Pause.NONE, Pause.LEAD_IN, Pause.NONE]


def test_a_cue_card_pauses_before_and_between_its_prompts() -> None:
    line = phrases(CUE_CARD)
    assert [(p.text, p.why) for p in line] == [
        ("Now I'm going to give you a topic.", ""),
        ("Describe a place you visited that you liked.", "lead_in"),
        ("You should say:", "cue_card"),
        ("where it is", "prompt"),
        ("when you went there", "prompt"),
        ("what you did there", "prompt"),
        ("and explain why you liked it.", ""),
    ]
    assert line[2].pause_after_ms == Pause.CUE_CARD
    assert line[3].pause_after_ms == Pause.PROMPT


def test_paragraphs_are_separated_by_a_longer_pause_and_the_line_ends_without_one() -> None:
    line = phrases("That is the end of part two.\n\nNow let's talk about travel. Do you travel?")
    assert line[0].pause_after_ms == Pause.PARAGRAPH
    assert line[-1].pause_after_ms == Pause.NONE


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Mr. Smith teaches here. Do you know him?", 2),
        ("Some people like parks, e.g. the big one. Do you?", 2),
        ("Is it... well, hard? Why?", 2),
        ('He said "yes." Then he left.', 2),
    ],
)
def test_sentences_are_cut_at_their_ends_only(text: str, count: int) -> None:
    assert len(phrases(text)) == count


@pytest.mark.parametrize("text", ["", "   \n\n  \t"])
def test_an_empty_line_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="nothing to say"):
        phrases(text)


def test_normalising_makes_lines_that_sound_the_same_equal() -> None:
    assert normalise_text("  Hello   there.\r\n\r\n\r\n\tNext ") == "Hello there.\n\nNext"
    assert normalise_text("a\x00b\x1fc") == "abc"


# --- SSML ---------------------------------------------------------------------------------------
def test_ssml_has_a_break_for_each_pause() -> None:
    document = to_ssml(phrases("Good morning. Let's begin. What is your name?"))
    assert document == (
        '<speak>Good morning.<break time="600ms"/> Let\'s begin.<break time="500ms"/> '
        "What is your name?</speak>"
    )
    ET.fromstring(document)


def test_learner_words_cannot_become_markup() -> None:
    text = "You said \"</speak><audio src='x'/> & <break time='9s'/>\". Why?"
    root = ET.fromstring(to_ssml(phrases(text)))
    assert [child.tag for child in root] == ["break"]  # only our own lead-in pause
    assert "</speak><audio" in "".join(root.itertext())


def test_characters_xml_cannot_carry_are_dropped() -> None:
    ET.fromstring(to_ssml(phrases("Bell\x07 and null\x00 here.")))


def test_plain_text_has_no_markup() -> None:
    assert to_plain_text(phrases("Good morning. Who are you?")) == "Good morning. Who are you?"


# --- Long lines ----------------------------------------------------------------------------------
def _long_line(sentences: int, *, word: str = "travel") -> str:
    return " ".join(
        f"Sentence {i} is about {word} and why people {word} so much. Do you agree?"
        for i in range(sentences)
    )


def test_a_short_line_is_one_input() -> None:
    text = "Good morning. What is your name?"
    assert request_inputs(text, ssml=True) == [to_ssml(phrases(text))]


@pytest.mark.parametrize("ssml", [True, False])
def test_a_long_line_is_cut_at_sentences_into_inputs_under_the_limit(ssml: bool) -> None:
    text = _long_line(120)
    assert len(text.encode()) > GOOGLE_INPUT_LIMIT_BYTES
    inputs = request_inputs(text, ssml=ssml)
    assert len(inputs) >= 2
    for document in inputs:
        assert len(document.encode()) <= GOOGLE_INPUT_LIMIT_BYTES
        words = _spoken_words(document)
        assert words[0] in ("Sentence", "Do")  # each input starts a sentence...
        assert re.search(r"[.?!]$", words[-1])  # ...and ends one
    joined = [word for document in inputs for word in _spoken_words(document)]
    assert joined == text.split()


def test_the_limit_counts_bytes_not_characters() -> None:
    text = _long_line(40, word="☕" * 20)
    assert len(text) < GOOGLE_INPUT_LIMIT_BYTES < len(text.encode())
    for document in request_inputs(text, ssml=True):
        assert len(document.encode()) <= GOOGLE_INPUT_LIMIT_BYTES


def test_the_limit_counts_escaped_text() -> None:
    text = " ".join(["Salt & pepper < sugar."] * 400)  # escaping more than doubles '&' and '<'
    inputs = request_inputs(text, ssml=True)
    assert all(len(document.encode()) <= GOOGLE_INPUT_LIMIT_BYTES for document in inputs)
    assert [w for d in inputs for w in _spoken_words(d)] == text.split()


def test_a_sentence_longer_than_the_limit_is_cut_between_clauses_then_words() -> None:
    sentence = ", ".join(f"clause number {i} goes on" for i in range(400)) + "."
    inputs = request_inputs(sentence, ssml=True, max_bytes=1000)
    assert len(inputs) > 5
    assert all(len(document.encode()) <= 1000 for document in inputs)
    assert all(_spoken_words(d)[-1].endswith((",", ".")) for d in inputs)  # cut after clauses
    assert [w for d in inputs for w in _spoken_words(d)] == sentence.split()


def test_a_pause_at_a_cut_stays_with_the_earlier_input() -> None:
    text = "Good morning. " + _long_line(3)
    inputs = request_inputs(text, ssml=True, max_bytes=100)
    assert inputs[0] == '<speak>Good morning.<break time="600ms"/></speak>'


def test_a_limit_too_small_for_any_sentence_is_refused() -> None:
    with pytest.raises(ValueError, match="no room"):
        request_inputs("Hello.", ssml=True, max_bytes=40)
