"""A complete mock test over HTTP, taken by the scripted learner of ``make demo``.

Two full sessions of one learner, run once for the module (the demo flow as a function):

- session A, band 7, keeps talking for about 126 s in the long turn (the server accepts up
  to the 120 s cap plus its 10 s margin and must cut the turn at 120 s);
- session B, band 5, the same learner's next test: nothing asked in A may come back.

The "controllable clock": the examiner's time is the sum of the answers' audio durations
(plus its own speech and the preparation minute), never a client clock, so these tests set
time through the length of the synthesised answers (``Pace``). Answers are cut to their
opening sentences wherever the structure does not need length, to keep speech-to-text (about
0.13 x real time on the local stack) within a few minutes for both sessions.
"""

from __future__ import annotations

import pytest

from devstack.demo import (
    ApiClient,
    LearnerVoice,
    MockTestRecord,
    Pace,
    ScriptedLearner,
    TurnRecord,
    run_mock_test,
)
from devstack.stack import Stack
from shared.exam.text import content_words, stem

UID = "e2e-demo-learner"
LONG_TURN_CAP = 120.0
# Past the cap (so the examiner must stop it) and under cap + margin (so it is not refused).
OVERLONG_TURN_SECONDS = 126.0
# Answer lengths in words. Part 1: enough not to be invited to say more (6 words), short
# enough to keep speech-to-text quick. Part 3, answer by answer (the last repeating): an
# answer under 20 s of speech is invited to say more once, and one of 12 words or more is
# then followed up; so the first two questions are each followed up (16 words, twice), and
# after that brief answers move the discussion through its questions until they run out.
SHORT: dict[str, int | tuple[int, ...]] = {
    "intro": 4,
    "part1": 8,
    "rounding_off": 8,
    "part3": (16, 16, 5, 5, 16, 16, 5),
}


@pytest.fixture(scope="module")
def voice() -> LearnerVoice:
    return LearnerVoice()


@pytest.fixture(scope="module")
def sessions(local_stack: Stack, voice: LearnerVoice) -> tuple[MockTestRecord, MockTestRecord]:
    """Two consecutive full mock tests of the same learner."""
    client = ApiClient(local_stack.base_url, local_stack.mint_token(UID, {"role": "student"}))
    try:
        first = run_mock_test(
            client,
            ScriptedLearner(
                7,
                voice,
                pace=Pace(words=SHORT, long_turn_seconds=OVERLONG_TURN_SECONDS, talk_past_cap=True),
            ),
        )
        second = run_mock_test(client, ScriptedLearner(5, voice, pace=Pace(words=SHORT)))
    finally:
        client.close()
    return first, second


def _turns(record: MockTestRecord, stage: str) -> list[TurnRecord]:
    return [turn for turn in record.turns if turn.stage == stage]


def _card_id(record: MockTestRecord) -> str:
    long_turn = _turns(record, "long_turn")
    assert long_turn, "no long turn was answered"
    card = long_turn[0].examiner.get("cue_card")
    assert card, "the long turn was not given with its cue card"
    return str(card["card_id"])


@pytest.mark.parametrize("which", [0, 1])
def test_a_full_test_visits_the_three_parts_in_order_and_closes(
    sessions: tuple[MockTestRecord, MockTestRecord], which: int
) -> None:
    record = sessions[which]
    assert record.parts_visited() == [1, 2, 3], "\n".join(record.dialogue)
    stages = [turn.stage for turn in record.turns]
    assert stages[0] == "intro"
    # Once a part is left it never comes back: the stage order never goes backwards.
    order = ["intro", "part1", "long_turn", "rounding_off", "part3"]
    positions = [order.index(stage) for stage in stages]
    assert positions == sorted(positions)
    assert len(record.turns) >= 12
    assert record.finished
    assert record.turns[-1].reply["action"] == "close_test"
    assert record.turns[-1].reply["expects_answer"] is False
    assert record.final is not None
    assert record.final["status"] == "finished"


@pytest.mark.parametrize("which", [0, 1])
def test_the_cue_card_comes_with_a_minute_to_prepare(
    sessions: tuple[MockTestRecord, MockTestRecord], which: int
) -> None:
    record = sessions[which]
    long_turn = _turns(record, "long_turn")[0]
    move = long_turn.examiner
    assert "give_cue_card" in move["actions"]
    assert move["preparation_seconds"] == 60
    card = move["cue_card"]
    assert card["card_id"].startswith("p2.")
    assert card["task"]
    assert card["prompts"]
    assert card["closing"]
    assert move["max_answer_seconds"] == LONG_TURN_CAP
    assert long_turn.question_id == card["card_id"]


def test_a_long_turn_past_two_minutes_is_stopped_at_the_cap(
    sessions: tuple[MockTestRecord, MockTestRecord],
) -> None:
    long_turn = _turns(sessions[0], "long_turn")[0]
    assert long_turn.answer.seconds == pytest.approx(OVERLONG_TURN_SECONDS, abs=0.1)
    assert long_turn.verdict["cut_at_seconds"] == LONG_TURN_CAP
    assert long_turn.verdict["assessed_seconds"] == LONG_TURN_CAP
    assert "stop_long_turn" in long_turn.reply["actions"]


def test_a_long_turn_within_the_cap_is_not_cut(
    sessions: tuple[MockTestRecord, MockTestRecord],
) -> None:
    long_turn = _turns(sessions[1], "long_turn")[0]
    assert long_turn.answer.seconds < LONG_TURN_CAP
    assert long_turn.verdict["cut_at_seconds"] is None
    assert "stop_long_turn" not in long_turn.reply["actions"]


@pytest.mark.parametrize("which", [0, 1])
def test_rounding_off_follows_the_long_turn(
    sessions: tuple[MockTestRecord, MockTestRecord], which: int
) -> None:
    record = sessions[which]
    long_turn = _turns(record, "long_turn")[0]
    assert long_turn.reply["action"] == "ask_rounding_off"
    rounding_off = _turns(record, "rounding_off")
    assert rounding_off
    slug = _card_id(record).removeprefix("p2.")
    for turn in rounding_off:
        assert turn.question_id is not None
        assert turn.question_id.startswith(f"p2.{slug}.r")


@pytest.mark.parametrize("which", [0, 1])
def test_part3_discusses_the_cue_card_theme(
    sessions: tuple[MockTestRecord, MockTestRecord], which: int
) -> None:
    record = sessions[which]
    slug = _card_id(record).removeprefix("p2.")
    part3 = _turns(record, "part3")
    assert part3[0].examiner["action"] == "start_part3"
    bank_questions = {turn.question_id for turn in part3 if turn.question_id}
    assert len(bank_questions) >= 2
    assert all(qid.startswith(f"p3.{slug}.") for qid in bank_questions), bank_questions


@pytest.mark.parametrize("which", [0, 1])
def test_part3_follow_ups_pick_up_the_learners_own_words(
    sessions: tuple[MockTestRecord, MockTestRecord], which: int
) -> None:
    record = sessions[which]
    follow_ups = [
        (turn.transcript, turn.reply["text"])
        for turn in _turns(record, "part3")
        if turn.reply["action"] == "ask_follow_up"
    ]
    assert follow_ups, "no Part 3 answer was followed up"

    def echoes(answer: str, follow_up: str) -> bool:
        return bool(
            {stem(w) for w in content_words(answer)} & {stem(w) for w in content_words(follow_up)}
        )

    related = [pair for pair in follow_ups if echoes(*pair)]
    # A follow-up falls back to the card's theme when an answer gives it nothing to quote.
    assert len(related) * 2 >= len(follow_ups), follow_ups


def test_the_next_test_of_the_same_learner_asks_nothing_already_asked(
    sessions: tuple[MockTestRecord, MockTestRecord],
) -> None:
    first, second = sessions
    asked_first = set(first.question_ids())
    asked_second = set(second.question_ids())
    assert len(asked_first) >= 10
    assert len(asked_second) >= 10
    assert asked_first.isdisjoint(asked_second), asked_first & asked_second
    assert _card_id(first) != _card_id(second)


def test_the_session_history_matches_what_the_learner_answered(
    sessions: tuple[MockTestRecord, MockTestRecord],
) -> None:
    record = sessions[0]
    assert record.final is not None
    stored = record.final["turns"]
    assert len(stored) == len(record.turns)
    assert [t["question_id"] for t in stored] == [t.question_id for t in record.turns]
