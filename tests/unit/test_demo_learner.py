"""The demo's scripted learner without a server or flite: what it says and for how long."""

from __future__ import annotations

import pytest

from devstack.demo import (
    SAMPLE_RATE_HZ,
    Pace,
    ScriptedLearner,
    cut_pcm,
    parse_server_timing,
    pcm_seconds,
)
from devstack.demo_answers import spoken_word_count


class CountingVoice:
    """One second of audio per three words, like flite's slt voice; remembers what it said."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def speak(self, text: str) -> bytes:
        self.said.append(text)
        seconds = max(1, len(text.split())) / 3
        return bytes(int(seconds * SAMPLE_RATE_HZ) * 2)


def _learner(level: int = 7, pace: Pace | None = None) -> ScriptedLearner:
    return ScriptedLearner(level, CountingVoice(), pace=pace)


FOOD_QUESTIONS = (
    "Now let's talk about food. What kind of food do you like to eat?",
    "What do you usually have for breakfast?",
    "Did you eat different food when you were younger?",
)


def test_part1_answers_fit_the_topic_recognised_from_the_question() -> None:
    learner = _learner()
    ids = [learner.respond("part1", {"text": q}).answer_ids[0] for q in FOOD_QUESTIONS]
    assert ids[:2] == ["b7.part1.food.1", "b7.part1.food.2"]
    assert ids[2].startswith("b7.part1.any.")  # the topic's own answers are used up
    # A re-prompt carries no question: the learner stays on the topic.
    more = learner.respond("part1", {"text": "Can you tell me a bit more about that?"})
    assert more.answer_ids[0] not in ids


def test_no_answer_repeats_on_a_topic_while_another_is_left() -> None:
    learner = _learner(5)
    said = [
        learner.respond("part1", {"text": q}).answer_ids[0]
        for q in (*FOOD_QUESTIONS, "Do you prefer eating at home or in restaurants?")
    ]
    assert len(set(said)) == len(said)


def test_the_long_turn_and_part3_follow_the_cue_cards_category() -> None:
    learner = _learner(5)
    card = {"card_id": "p2.wedding", "task": "Describe a wedding that you have been to"}
    long_turn = learner.respond("long_turn", {"text": "...", "cue_card": card})
    assert long_turn.answer_ids == ("b5.long_turn.events.1",)
    part3 = learner.respond("part3", {"text": "Are celebrations becoming too commercial?"})
    assert part3.answer_ids[0].startswith("b5.part3.events.")


def test_the_recording_stops_at_the_examiners_limit() -> None:
    learner = _learner(pace=Pace(long_turn_seconds=126.0))
    card = {"card_id": "p2.wedding"}
    answer = learner.respond("long_turn", {"cue_card": card, "max_answer_seconds": 120.0})
    assert answer.seconds == pytest.approx(120.0)
    assert answer.stopped_at_seconds == 120.0
    assert len(answer.answer_ids) == 2  # one long turn was not enough: it kept talking


def test_a_learner_who_talks_past_the_limit_sends_it_all() -> None:
    learner = _learner(pace=Pace(long_turn_seconds=126.0, talk_past_cap=True))
    answer = learner.respond("long_turn", {"cue_card": {"card_id": "p2.wedding"}})
    assert answer.seconds == pytest.approx(126.0)
    assert answer.stopped_at_seconds is None


def test_pace_shortens_answers_to_whole_opening_sentences() -> None:
    learner = _learner(pace=Pace(words={"part1": 8}))
    answer = learner.respond("part1", {"text": FOOD_QUESTIONS[0]})
    assert answer.text.endswith(".")
    assert 8 <= spoken_word_count(answer.text) < 30


def test_pace_can_give_each_answer_of_a_stage_its_own_length() -> None:
    learner = _learner(pace=Pace(words={"part3": (16, 5)}))
    learner.respond("long_turn", {"cue_card": {"card_id": "p2.wedding"}})
    lengths = [spoken_word_count(learner.respond("part3", {}).text) for _ in range(3)]
    assert lengths[0] >= 16
    assert lengths[1:] == [5, 5]  # the last count repeats


def test_no_answer_is_made_for_a_closed_test() -> None:
    from devstack.demo import DemoError

    with pytest.raises(DemoError):
        _learner().respond("closed", {})


def test_server_timing_is_read_in_milliseconds_per_stage() -> None:
    header = 'store;dur=3.1, stt;desc="speech";dur=812.4, tts, junk;dur=abc, stt;dur=1'
    assert parse_server_timing(header) == {"store": 3.1, "stt": 813.4}
    assert parse_server_timing(None) == {}


def test_cutting_audio_keeps_whole_samples() -> None:
    pcm = bytes(2 * SAMPLE_RATE_HZ * 3)
    assert pcm_seconds(cut_pcm(pcm, 1.5)) == 1.5
    assert len(cut_pcm(pcm, 1.00003)) % 2 == 0
