"""The examiner policy: a pure state machine that chooses the examiner's next move.

``start_test(plan)`` gives the opening move and the first state; ``next_move(plan, state,
turn)`` takes the learner's answer and returns the reply and the new state; ``finish_test``
closes early when the learner ends the test. No I/O, no clock reads: the service stores the
state with the session and passes it back with the next answer.

Decisions use only the answer's flags, word count and audio durations, never the words
themselves, so nothing a learner says can change the course of the test. The only place the
words are read is the Part 3 follow-up's wording (``shared.exam.followups``), whose timing is
fixed for the same reason.

Time ("examiner time", as in the official format, not the wall clock): the sum of answer
durations from the audio (each capped at its part's limit: the examiner stops the long turn
at 120 s), an estimate of the examiner's own speech (words / 2.5 per second) and the
preparation minute. With it:
- Part 1 runs 4-5 minutes over two or three topics; a topic gives way to the next after
  about 110 s, a third topic starts only before the 4-minute mark, and no question is
  started that would take Part 1 past 5 minutes.
- Part 2: the card, 60 s preparation (the learner may start early), a long turn cut at
  120 s, then one or two rounding-off questions within about 4 minutes for the part.
- Part 3 runs 4-5 minutes: bank questions from two sub-themes, each substantive answer
  followed up once on the learner's own words; it ends after 4 minutes once four questions
  have been asked.
- The whole test stays within 14 minutes: when the next exchange would not fit, the
  examiner skips what is left and closes.

Re-prompts, each at most once per question and only when time allows: a repeat (wording
kept, as examiners do), a redirect to English (that answer is never scored), a redirect
back to the question (Parts 1 and 3, long answers only), one encouragement after silence,
and one invitation to say more after a very short answer (Part 1 under 6 words, Part 3 under
20 s of speech). Never in the long turn: it is one continuous recording whose fluency is
measured as a whole, so a short long turn is flagged, not extended. The examiner never
comments on an answer's quality.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal

from shared.exam.followups import acceptable_follow_up, follow_up_question
from shared.exam.lines import choose_line
from shared.models.exam import (
    AnswerContext,
    AnsweredTurn,
    AnswerFlags,
    AnswerVerdict,
    CueCardView,
    ExamState,
    FollowUp,
    Move,
    MoveAction,
    MoveStep,
    NeverScoreReason,
    PartNumber,
    PlannedCard,
    PlannedQuestion,
    Reprompts,
    Stage,
    TestPlan,
    WrittenFollowUp,
    stage_part,
)

SPEAKING_RATE: Final = 2.5  # words per second of examiner speech
TEST_LIMIT_SECONDS: Final = 14 * 60
CLOSING_RESERVE: Final = 8.0  # the longest closing line always fits
PART1_MIN: Final = 240.0
PART1_MAX: Final = 300.0
TOPIC_SECONDS: Final = 110.0
MIN_PART1_TOPICS: Final = 2
PREPARATION_SECONDS: Final = 60
LONG_TURN_MAX: Final = 120.0
LONG_TURN_EXPECTED: Final = 60.0
PART2_MAX: Final = 240.0
PART3_MIN: Final = 240.0
PART3_MAX: Final = 300.0
SUBTHEME_SWITCH: Final = 135.0  # half of Part 3: time to move to the second sub-theme
MIN_PART3_QUESTIONS: Final = 4
FOLLOW_UP_MIN_WORDS: Final = 12  # fewer words give a follow-up too little to build on
FOLLOW_UP_SECONDS: Final = 6.0  # fixed, so a learner's wording cannot shift the test's timing
SHORT_PART1_WORDS: Final = 6
SHORT_PART3_SPEECH: Final = 20.0
CUT_TOLERANCE: Final = 1.0  # audio containers round; 120.4 s is still a two-minute turn
WALL_CLOCK_LIMIT: Final = 60 * 60.0  # a session resumed an hour later is closed, not continued

# Recording limit per stage (lower when the test's time is nearly up): the examiner would stop
# the learner there, so only that much counts towards examiner time.
MAX_ANSWER_SECONDS: Final[dict[Stage, float]] = {
    "intro": 30.0,
    "part1": 60.0,
    "long_turn": LONG_TURN_MAX,
    "rounding_off": 45.0,
    "part3": 90.0,
}
# Planning estimate of an answer, used to decide whether one more question fits.
EXPECTED_ANSWER_SECONDS: Final[dict[Stage, float]] = {
    "intro": 5.0,
    "part1": 20.0,
    "long_turn": LONG_TURN_MAX,
    "rounding_off": 15.0,
    "part3": 35.0,
}

ClosingKind = Literal["closing", "closing_practice", "closing_time", "closing_early"]

# Optional follow-up writer (a language model behind the service): called with the learner's
# answer, the card's theme and the question answered. It must not raise: on any failure it
# returns None, and None or an unacceptable text falls back to the deterministic generator.
FollowUpWriter = Callable[[str, str, str], WrittenFollowUp | None]
# (question, part, what the learner said) -> the question in simpler words, or None.
Rephraser = Callable[[str, int, str], WrittenFollowUp | None]


class ExamClosed(ValueError):
    """The test has already ended: there is no next move."""


class ExamPlanEmpty(ValueError):
    """The plan holds nothing to ask."""


def speaking_seconds(text: str) -> float:
    """Estimated time for the examiner to say ``text``."""
    return len(text.split()) / SPEAKING_RATE


def _lower_first(text: str) -> str:
    # "Your hometown" -> "your hometown"; keeps acronyms such as "TV shows".
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _card_points(card: PlannedCard) -> str:
    return ", ".join([*card.prompts, card.closing])


def _card_view(card: PlannedCard) -> CueCardView:
    return CueCardView(card_id=card.id, task=card.task, prompts=card.prompts, closing=card.closing)


class _Reply:
    """Collects one move's steps and the state they lead to."""

    def __init__(
        self,
        plan: TestPlan,
        state: ExamState,
        writer: FollowUpWriter | None = None,
        rephraser: Rephraser | None = None,
        learner_said: str = "",
    ) -> None:
        self.plan = plan
        self.state = state
        self.writer = writer
        self.rephraser = rephraser
        self.learner_said = learner_said  # data only: quoted to the rephraser, never obeyed
        self.steps: list[MoveStep] = []
        self.actions: list[MoveAction] = []
        self.first_asked: list[str] = []
        self.cue_card: CueCardView | None = None
        self.preparation: int | None = None
        self.after_preparation: str | None = None
        self.follow_up: FollowUp | None = None
        self.move_on = False  # the last question was given up on: say so before the next
        self.rephrased: WrittenFollowUp | None = None

    # --- speech and time ----------------------------------------------------------------------
    def _spend(self, part: PartNumber | Literal["closing"], seconds: float) -> None:
        update: dict[str, object] = {"seconds": self.state.seconds.plus(part, seconds)}
        if part == 1:
            update["topic_seconds"] = self.state.topic_seconds + seconds
        self.state = self.state.model_copy(update=update)

    def line(self, kind: str, part: PartNumber | Literal["closing"], **fields: str) -> str:
        seed = f"{self.plan.seed}|{self.state.moves}|{len(self.steps)}"
        chosen = choose_line(kind, seed, self.state.recent_lines)
        text = chosen.text(**fields)
        recent = {**self.state.recent_lines, kind: chosen.variant}
        self.state = self.state.model_copy(update={"recent_lines": recent})
        self.steps.append(MoveStep(kind=kind, text=text, variant=chosen.variant))
        self._spend(part, speaking_seconds(text))
        return text

    def say(self, kind: str, text: str, part: PartNumber, seconds: float | None = None) -> None:
        self.steps.append(MoveStep(kind=kind, text=text))
        self._spend(part, speaking_seconds(text) if seconds is None else seconds)

    def act(self, action: MoveAction) -> None:
        self.actions.append(action)

    # --- time checks --------------------------------------------------------------------------
    def fits(self, seconds: float) -> bool:
        """Whether ``seconds`` more, and the closing, fit in the whole test's time."""
        return self.state.seconds.total + seconds + CLOSING_RESERVE <= TEST_LIMIT_SECONDS

    # --- asking -------------------------------------------------------------------------------
    def ask(
        self,
        action: MoveAction,
        *,
        stage: Stage,
        question: PlannedQuestion | None,
        text: str,
        kind: str = "question",
        seconds: float | None = None,
        **cursor: object,
    ) -> None:
        """Put a new question: the per-question re-prompt counters start again."""
        if self.move_on and not self.steps:
            self.line("move_on", stage_part(stage))
        self.say(kind, text, stage_part(stage), seconds)
        self.act(action)
        asked = self.state.asked_question_ids
        if question is not None and question.id not in asked:
            asked = (*asked, question.id)
            self.first_asked.append(question.id)
        self.state = self.state.model_copy(
            update={
                "stage": stage,
                "question_id": question.id if question else None,
                "question_text": text,
                "here": Reprompts(),
                "on_follow_up": False,
                "asked_question_ids": asked,
                **cursor,
            }
        )

    def count(self, reprompt: str) -> None:
        here = self.state.here.model_copy(update={reprompt: getattr(self.state.here, reprompt) + 1})
        total = self.state.total.model_copy(
            update={reprompt: getattr(self.state.total, reprompt) + 1}
        )
        self.state = self.state.model_copy(update={"here": here, "total": total})

    # --- the move -----------------------------------------------------------------------------
    def answer_limit(self) -> float | None:
        """How long the next answer may run: the stage's limit, or the time left in the test."""
        state = self.state
        if state.closed:
            return None
        if state.stage == "long_turn" and state.here == Reprompts():
            return LONG_TURN_MAX  # its whole two minutes were checked before the card was given
        left = TEST_LIMIT_SECONDS - state.seconds.total - CLOSING_RESERVE
        return max(0.0, min(MAX_ANSWER_SECONDS[state.stage], round(left, 1)))

    def finish(self, previous: AnswerVerdict | None) -> tuple[Move, ExamState]:
        state = self.state.model_copy(
            update={"moves": self.state.moves + 1, "answer_limit_seconds": self.answer_limit()}
        )
        open_ = not state.closed
        move = Move(
            action=self.actions[-1],
            actions=tuple(self.actions),
            text=" ".join(step.text for step in self.steps),
            steps=tuple(self.steps),
            stage=state.stage,
            part=state.part,
            question_id=state.question_id if open_ else None,
            question_text=state.question_text if open_ else None,
            first_asked=tuple(self.first_asked),
            cue_card=self.cue_card,
            preparation_seconds=self.preparation,
            after_preparation_text=self.after_preparation,
            max_answer_seconds=state.answer_limit_seconds if open_ else None,
            follow_up=self.follow_up,
            rephrased=self.rephrased,
            expects_answer=open_,
            ends_test=not open_,
            previous=previous,
        )
        return move, state


# --- opening and closing ----------------------------------------------------------------------
def start_test(plan: TestPlan) -> tuple[Move, ExamState]:
    """The opening move and the first state. Raises ExamPlanEmpty for a plan with nothing."""
    reply = _Reply(plan, ExamState(stage="intro"))
    if plan.part1:
        if plan.ask_name:
            text = reply.line("opening_ask_name", 0)
            reply.act("open_test")
            reply.state = reply.state.model_copy(update={"question_text": text})
        else:
            reply.line("opening", 0)
            reply.act("open_test")
            _begin_part1(reply)
    elif plan.card is not None:
        reply.line("opening_long_turn", 0)
        reply.act("open_test")
        _give_cue_card(reply, after_part1=False)
    else:
        raise ExamPlanEmpty("the plan has no Part 1 topic and no cue card")
    return reply.finish(None)


def _closing_kind(plan: TestPlan) -> ClosingKind:
    return "closing" if plan.mode == "full" else "closing_practice"


def _close(reply: _Reply, kind: ClosingKind) -> None:
    reply.line(kind, "closing")
    reply.act("close_test")
    reply.state = reply.state.model_copy(
        update={
            "stage": "closed",
            "question_id": None,
            "question_text": "",
            "on_follow_up": False,
            "closed_for_time": kind == "closing_time",
        }
    )


def finish_test(plan: TestPlan, state: ExamState) -> tuple[Move, ExamState]:
    """Close the test now (the learner chose to end it). Raises ExamClosed if already closed."""
    if state.closed:
        raise ExamClosed("the test has already ended")
    reply = _Reply(plan, state)
    _close(reply, "closing_early")
    return reply.finish(None)


# --- judging the answer -----------------------------------------------------------------------
def _verdict(state: ExamState, turn: AnsweredTurn) -> AnswerVerdict:
    stage = state.stage
    flags = turn.flags
    silent = flags.silent or turn.word_count == 0
    short = False
    if not silent:
        if stage == "part1":
            short = turn.word_count < SHORT_PART1_WORDS
        elif stage == "part3":
            short = turn.speech_seconds < SHORT_PART3_SPEECH
        elif stage == "long_turn":
            short = turn.speech_seconds < LONG_TURN_EXPECTED
    judged = flags.model_copy(update={"silent": silent, "too_short": flags.too_short or short})
    reason: NeverScoreReason | None = None
    if stage == "intro":
        reason = "intro"
    elif judged.silent:
        reason = "silent"
    elif judged.asked_repeat:
        reason = "asked_repeat"
    elif judged.not_english:
        reason = "not_english"
    cap = MAX_ANSWER_SECONDS[stage]
    if state.answer_limit_seconds is not None:
        cap = min(cap, state.answer_limit_seconds)
    cut = cap if turn.duration_seconds > cap + CUT_TOLERANCE else None
    return AnswerVerdict(
        stage=stage,
        question_id=state.question_id,
        scored=reason is None,
        never_score_reason=reason,
        flags=judged,
        assessed_seconds=min(turn.duration_seconds, cap),
        cut_at_seconds=cut,
    )


def _record(
    state: ExamState, turn: AnsweredTurn, verdict: AnswerVerdict, clock: float | None
) -> ExamState:
    seconds = state.seconds.plus(state.part, verdict.assessed_seconds)
    update: dict[str, object] = {
        "turns": state.turns + 1,
        "wall_clock_seconds": state.wall_clock_seconds if clock is None else clock,
    }
    if state.stage == "part1":
        update["topic_seconds"] = state.topic_seconds + verdict.assessed_seconds
    first_long_turn = state.stage == "long_turn" and state.here == Reprompts()
    if first_long_turn and state.preparation_given:
        used = PREPARATION_SECONDS if turn.preparation_seconds is None else turn.preparation_seconds
        prep = min(float(used), float(PREPARATION_SECONDS))
        seconds = seconds.plus(2, prep)
        update["preparation_seconds"] = prep
    if state.stage == "long_turn" and verdict.cut_at_seconds is not None:
        update["long_turn_cut"] = True
    update["seconds"] = seconds
    return state.model_copy(update=update)


# --- re-prompts -------------------------------------------------------------------------------
def _room_for_reprompt(reply: _Reply) -> bool:
    state = reply.state
    expected = EXPECTED_ANSWER_SECONDS[state.stage]
    if state.stage == "part1" and state.seconds.part1 >= PART1_MAX:
        return False
    if state.stage == "part3" and state.seconds.part3 >= PART3_MAX:
        return False
    return reply.fits(expected + 5.0)


def _repeat_current(reply: _Reply) -> None:
    """Say the current question (or card) again after a re-prompt line."""
    state = reply.state
    part = state.part
    if state.stage == "long_turn" and reply.plan.card is not None:
        card = reply.plan.card
        reply.line("cue_card", 2, task=_lower_first(card.task), points=_card_points(card))
        reply.cue_card = _card_view(card)
    elif state.question_text:
        reply.say("question", state.question_text, part)


def _rephrase_current(reply: _Reply) -> bool:
    """Say the current question in simpler words, when a rephraser is configured and its
    wording passes the check; False: repeat it as written (the offline path)."""
    state = reply.state
    if reply.rephraser is None or state.stage == "long_turn" or not state.question_text:
        return False
    written = reply.rephraser(state.question_text, state.part, reply.learner_said)
    if written is None or not written.text.strip().endswith("?"):
        return False
    reply.say("question", written.text.strip(), state.part)
    reply.rephrased = written
    return True


def _reprompted(reply: _Reply, verdict: AnswerVerdict) -> bool:
    """Re-prompt on the same question if the answer calls for it and has not had it yet."""
    state = reply.state
    flags: AnswerFlags = verdict.flags
    here = state.here
    stage = state.stage
    room = _room_for_reprompt(reply)
    if flags.silent:
        if here.silences == 0 and room:
            reply.line("silence_long_turn" if stage == "long_turn" else "silence", state.part)
            if stage != "long_turn":
                _repeat_current(reply)
            reply.act("handle_silence")
            reply.count("silences")
            return True
        reply.move_on = True
        return False
    if flags.asked_repeat:
        if here.repeats == 0 and room:
            reply.line("repeat", state.part)
            if not _rephrase_current(reply):
                _repeat_current(reply)
            reply.act("repeat_question")
            reply.count("repeats")
            return True
        reply.move_on = True
        return False
    if flags.not_english:
        if here.english_redirects == 0 and room:
            reply.line("redirect_english", state.part)
            if stage == "long_turn":
                reply.line("start_speaking", 2)
            else:
                _repeat_current(reply)
            reply.act("redirect_to_english")
            reply.count("english_redirects")
            return True
        reply.move_on = True
        return False
    if stage not in ("part1", "part3"):
        return False
    if flags.off_topic and here.off_topic_redirects == 0 and room:
        reply.line("redirect_off_topic", state.part)
        _repeat_current(reply)
        reply.act("redirect_off_topic")
        reply.count("off_topic_redirects")
        return True
    if flags.too_short and here.invitations == 0 and room:
        reply.line("invite_longer", state.part)
        reply.act("invite_longer_answer")
        reply.count("invitations")
        return True
    return False


# --- Part 1 -----------------------------------------------------------------------------------
def _ask_part1(reply: _Reply, topic_index: int, question_index: int) -> None:
    topic = reply.plan.part1[topic_index]
    question = topic.questions[question_index]
    reply.ask(
        "ask_question",
        stage="part1",
        question=question,
        text=question.text,
        topic_index=topic_index,
        question_index=question_index,
    )


def _start_topic(reply: _Reply, topic_index: int, kind: str) -> None:
    topic = reply.plan.part1[topic_index]
    reply.state = reply.state.model_copy(
        update={"topic_seconds": 0.0, "topics_started": reply.state.topics_started + 1}
    )
    reply.move_on = False  # the topic change says enough
    reply.line(kind, 1, topic=_lower_first(topic.title))
    _ask_part1(reply, topic_index, 0)


def _begin_part1(reply: _Reply) -> None:
    reply.line("part1_intro", 1)
    _start_topic(reply, 0, "first_topic")


def _question_need(text: str, stage: Stage) -> float:
    return speaking_seconds(text) + EXPECTED_ANSWER_SECONDS[stage]


def _continue_part1(reply: _Reply) -> None:
    state = reply.state
    topics = reply.plan.part1
    topic = topics[state.topic_index]
    used = state.seconds.part1
    more_topics = state.topic_index + 1 < len(topics)
    following = state.question_index + 1
    if following < len(topic.questions) and not (
        more_topics and state.topic_seconds >= TOPIC_SECONDS
    ):
        need = _question_need(topic.questions[following].text, "part1")
        if used + need <= PART1_MAX and reply.fits(need):
            _ask_part1(reply, state.topic_index, following)
            return
    if more_topics and (state.topics_started < MIN_PART1_TOPICS or used < PART1_MIN):
        first = topics[state.topic_index + 1].questions[0].text
        need = _question_need(first, "part1") + 2.0
        if used + need <= PART1_MAX and reply.fits(need):
            _start_topic(reply, state.topic_index + 1, "next_topic")
            return
    _end_part1(reply)


def _end_part1(reply: _Reply) -> None:
    if reply.plan.mode == "full" and reply.plan.card is not None:
        need = 40.0 + PREPARATION_SECONDS + LONG_TURN_MAX + EXPECTED_ANSWER_SECONDS["rounding_off"]
        if reply.fits(need):
            _give_cue_card(reply, after_part1=True)
            return
        _close(reply, "closing_time")
        return
    _close(reply, _closing_kind(reply.plan))


# --- Part 2 -----------------------------------------------------------------------------------
def _give_cue_card(reply: _Reply, *, after_part1: bool) -> None:
    card = reply.plan.card
    if card is None:
        raise ExamPlanEmpty("the plan has no cue card")
    reply.move_on = False
    if after_part1:
        reply.line("part_done", 2)
    reply.line("part2_intro", 2)
    reply.line("cue_card", 2, task=_lower_first(card.task), points=_card_points(card))
    reply.line("preparation", 2)
    seed = f"{reply.plan.seed}|{reply.state.moves}|after-preparation"
    start = choose_line("start_speaking", seed, reply.state.recent_lines)
    reply.state = reply.state.model_copy(
        update={
            "recent_lines": {**reply.state.recent_lines, "start_speaking": start.variant},
            "seconds": reply.state.seconds.plus(2, speaking_seconds(start.template)),
        }
    )
    reply.after_preparation = start.template
    reply.cue_card = _card_view(card)
    reply.preparation = PREPARATION_SECONDS
    reply.act("give_cue_card")
    asked = reply.state.asked_question_ids
    if card.id not in asked:
        asked = (*asked, card.id)
        reply.first_asked.append(card.id)
    reply.state = reply.state.model_copy(
        update={
            "stage": "long_turn",
            "question_id": card.id,
            "question_text": card.task,
            "here": Reprompts(),
            "preparation_given": True,
            "asked_question_ids": asked,
        }
    )


def _after_long_turn(reply: _Reply, verdict: AnswerVerdict) -> None:
    if _reprompted(reply, verdict):
        return
    if verdict.cut_at_seconds is not None:
        reply.line("stop_long_turn", 2)
        reply.act("stop_long_turn")
    else:
        reply.line("long_turn_end", 2)
    reply.move_on = False
    _rounding_off_or_on(reply, 0)


def _rounding_off_or_on(reply: _Reply, index: int) -> None:
    card = reply.plan.card
    assert card is not None  # only reached after a cue card
    if index < len(card.rounding_off):
        question = card.rounding_off[index]
        need = _question_need(question.text, "rounding_off")
        within_part = index == 0 or reply.state.seconds.part2 + need <= PART2_MAX
        if within_part and reply.fits(need):
            reply.ask(
                "ask_rounding_off",
                stage="rounding_off",
                question=question,
                text=question.text,
                question_index=index,
            )
            return
    _after_part2(reply)


def _after_part2(reply: _Reply) -> None:
    plan = reply.plan
    if not plan.part3:
        _close(reply, _closing_kind(plan))
        return
    first = plan.part3_questions[0]
    if not reply.fits(_question_need(first.text, "part3") + 20.0):
        _close(reply, "closing_time")
        return
    assert plan.card is not None  # a plan with Part 3 has its card
    reply.move_on = False
    reply.line("part_done", 3)
    reply.line("part3_intro", 3, theme=plan.card.theme)
    reply.ask(
        "start_part3",
        stage="part3",
        question=first,
        text=first.text,
        question_index=0,
        part3_asked=reply.state.part3_asked + 1,
    )


# --- Part 3 -----------------------------------------------------------------------------------
def _group_of(plan: TestPlan, index: int) -> int:
    start = 0
    for number, group in enumerate(plan.part3):
        if index < start + len(group.questions):
            return number
        start += len(group.questions)
    return len(plan.part3) - 1


def _next_part3(reply: _Reply) -> tuple[int, bool] | None:
    """The next bank question's index, and whether it opens a new sub-theme."""
    plan = reply.plan
    state = reply.state
    index = state.question_index
    group = _group_of(plan, index)
    first_of_next = sum(len(g.questions) for g in plan.part3[: group + 1])
    last_in_group = index + 1 >= first_of_next
    has_next_group = group + 1 < len(plan.part3)
    if has_next_group and (last_in_group or state.seconds.part3 >= SUBTHEME_SWITCH):
        return first_of_next, True
    if not last_in_group:
        return index + 1, False
    return None


def _write_follow_up(reply: _Reply, answer: str, theme: str, state: ExamState) -> FollowUp:
    if reply.writer is not None:
        written = reply.writer(answer, theme, state.question_text)
        if written is not None and acceptable_follow_up(written.text.strip()):
            return FollowUp(
                text=written.text.strip(),
                basis="model",
                template_id=written.template_id,
                template_hash=written.template_hash,
                model=written.model,
            )
    return follow_up_question(
        answer,
        theme=theme,
        question=state.question_text,
        seed=f"{reply.plan.seed}|{state.moves}",
        recent=state.recent_follow_up_templates,
    )


def _after_part3(reply: _Reply, turn: AnsweredTurn, verdict: AnswerVerdict) -> None:
    if _reprompted(reply, verdict):
        return
    plan = reply.plan
    card = plan.card
    assert card is not None  # Part 3 always follows a card
    state = reply.state
    used = state.seconds.part3
    if state.part3_asked >= MIN_PART3_QUESTIONS and used >= PART3_MIN:
        _close(reply, _closing_kind(plan))
        return
    substantive = (
        verdict.scored and not verdict.flags.off_topic and turn.word_count >= FOLLOW_UP_MIN_WORDS
    )
    if not state.on_follow_up and substantive:
        need = FOLLOW_UP_SECONDS + EXPECTED_ANSWER_SECONDS["part3"]
        if used + need <= PART3_MAX and reply.fits(need):
            follow_up = _write_follow_up(reply, turn.transcript, card.theme, state)
            reply.follow_up = follow_up
            reply.ask(
                "ask_follow_up",
                stage="part3",
                question=None,
                text=follow_up.text,
                kind="follow_up",
                seconds=FOLLOW_UP_SECONDS,
                question_index=state.question_index,
                part3_asked=state.part3_asked + 1,
                follow_ups_used=state.follow_ups_used + 1,
                recent_follow_up_templates=(
                    *state.recent_follow_up_templates[-2:],
                    follow_up.template_id,
                ),
            )
            reply.state = reply.state.model_copy(update={"on_follow_up": True})
            return
    upcoming = _next_part3(reply)
    if upcoming is None:
        _close(reply, _closing_kind(plan))
        return
    index, new_subtheme = upcoming
    question = plan.part3_questions[index]
    need = _question_need(question.text, "part3") + (3.0 if new_subtheme else 0.0)
    if used + need > PART3_MAX:
        _close(reply, _closing_kind(plan))
        return
    if not reply.fits(need):
        # A discussion with its four questions ends normally; a shorter one was cut short.
        enough = state.part3_asked >= MIN_PART3_QUESTIONS
        _close(reply, _closing_kind(plan) if enough else "closing_time")
        return
    if new_subtheme:
        reply.move_on = False
        subtheme = plan.part3[_group_of(plan, index)].subtheme
        reply.line("subtheme", 3, subtheme=_lower_first(subtheme))
    reply.ask(
        "ask_question",
        stage="part3",
        question=question,
        text=question.text,
        question_index=index,
        part3_asked=state.part3_asked + 1,
    )


# --- the turn ---------------------------------------------------------------------------------
def next_move(
    plan: TestPlan,
    state: ExamState,
    turn: AnsweredTurn,
    *,
    clock_seconds: float | None = None,
    follow_up_writer: FollowUpWriter | None = None,
    rephraser: Rephraser | None = None,
) -> tuple[Move, ExamState]:
    """The examiner's reply to ``turn`` and the state to store for the next one.

    ``clock_seconds`` is the server's wall-clock time since the test started, if known; it is
    recorded and only used to close a session resumed after an hour. Timing decisions use
    examiner time (see the module notes). ``follow_up_writer`` may word Part 3 follow-ups
    (see FollowUpWriter); whether a follow-up is asked never depends on it. Raises
    ExamClosed once the test has ended.
    """
    if state.closed:
        raise ExamClosed("the test has already ended")
    verdict = _verdict(state, turn)
    reply = _Reply(
        plan,
        _record(state, turn, verdict, clock_seconds),
        follow_up_writer,
        rephraser,
        learner_said=turn.transcript,
    )
    if clock_seconds is not None and clock_seconds >= WALL_CLOCK_LIMIT:
        _close(reply, "closing_time")
    elif state.stage == "intro":
        reply.line("name_thanks", 0)
        _begin_part1(reply)
    elif state.stage == "part1":
        if not _reprompted(reply, verdict):
            _continue_part1(reply)
    elif state.stage == "long_turn":
        _after_long_turn(reply, verdict)
    elif state.stage == "rounding_off":
        if not _reprompted(reply, verdict):
            _rounding_off_or_on(reply, state.question_index + 1)
    else:
        _after_part3(reply, turn, verdict)
    return reply.finish(verdict)


def answer_context(plan: TestPlan, state: ExamState) -> AnswerContext:
    """What the next answer responds to, for ``language_check.check_answer(reference=...)``."""
    stage = state.stage
    parts: list[str] = [state.question_text]
    card = plan.card
    if stage == "part1" and plan.part1:
        topic = plan.part1[state.topic_index]
        parts += [topic.title, *(q.text for q in topic.questions)]
    elif stage in ("long_turn", "rounding_off") and card is not None:
        parts += [card.task, *card.prompts, card.closing, card.theme]
    elif stage == "part3" and card is not None:
        question = plan.part3_questions[state.question_index]
        subtheme = plan.part3[_group_of(plan, state.question_index)].subtheme
        parts += [question.text, subtheme, card.theme, card.task]
    return AnswerContext(
        stage=stage,
        part=state.part,
        question_id=state.question_id,
        question_text=state.question_text,
        reference_text=" ".join(p for p in parts if p),
        checks_topic=stage in ("part1", "part3"),
    )
