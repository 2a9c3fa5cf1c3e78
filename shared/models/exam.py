"""The examiner's models: a test plan, the examiner's state between turns, answers and moves.

Everything here is JSON-serialisable with ``model_dump(mode="json")`` and round-trips through
``model_validate``, so a session document can hold the plan and the state between two HTTP
requests. All models are frozen: the policy returns a new state rather than changing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

ExamMode = Literal["full", "part1", "part2", "part2_3", "practice"]
EXAM_MODES: tuple[ExamMode, ...] = get_args(ExamMode)

# What the learner is answering: the name check, a Part 1 question, the long turn, a
# rounding-off question, a Part 3 question or follow-up; "closed" once the test has ended.
Stage = Literal["intro", "part1", "long_turn", "rounding_off", "part3", "closed"]
PartNumber = Literal[0, 1, 2, 3]  # 0: the opening and the closing, outside the three parts

MoveAction = Literal[
    "open_test",
    "ask_question",
    "invite_longer_answer",
    "repeat_question",
    "redirect_to_english",
    "redirect_off_topic",
    "handle_silence",
    "give_cue_card",
    "stop_long_turn",
    "ask_rounding_off",
    "start_part3",
    "ask_follow_up",
    "close_test",
]

# Why an answer must never be scored; None on AnswerVerdict.reason means it may be scored.
NeverScoreReason = Literal["intro", "silent", "asked_repeat", "not_english"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- long-term question memory ----------------------------------------------------------------
class AskedQuestion(_Frozen):
    """What the store remembers of one question for one learner (users/{uid}/askedQuestions).

    Accepts the stored field names (``lastAskedAt``) as well as the Python ones.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    last_asked_at: datetime | None = Field(default=None, alias="lastAskedAt")
    count: int = Field(default=1, ge=0)


# --- the plan ---------------------------------------------------------------------------------
class PlannedQuestion(_Frozen):
    """A bank question copied into the plan: the wording stays fixed for the whole session."""

    id: str
    text: str


class PlannedTopic(_Frozen):
    """A Part 1 topic and its questions, in the order the examiner asks them."""

    id: str
    title: str
    opening: bool
    tags: tuple[str, ...]
    questions: tuple[PlannedQuestion, ...]


class PlannedCard(_Frozen):
    """The Part 2 cue card as shown to the learner, and its rounding-off questions."""

    id: str
    theme: str
    tags: tuple[str, ...]
    task: str
    prompts: tuple[str, ...]
    closing: str
    rounding_off: tuple[PlannedQuestion, ...]


class PlannedSubtheme(_Frozen):
    """One Part 3 sub-theme of the card and its questions, freshest first."""

    subtheme: str
    questions: tuple[PlannedQuestion, ...]


class TestPlan(_Frozen):
    """What one mock test may ask, chosen before it starts; the policy walks through it.

    Questions are copied with their wording so a bank deployed mid-session cannot change a
    running test; ``bank_version`` and ``bank_content_hash`` name the exact bank used.
    """

    __test__ = False  # a domain model, not a pytest class

    plan_version: Literal[1] = 1
    mode: ExamMode
    seed: str = Field(description="Seeds every choice; the service uses the session id.")
    bank_version: str
    bank_content_hash: str
    first_language: str | None = None
    ask_name: bool = Field(description="The opening asks what to call the learner.")
    practice_id: str | None = Field(
        default=None, description="Practice mode: the Part 1 topic or cue card chosen."
    )
    part1: tuple[PlannedTopic, ...] = ()
    card: PlannedCard | None = None
    part3: tuple[PlannedSubtheme, ...] = ()

    @property
    def part3_questions(self) -> tuple[PlannedQuestion, ...]:
        return tuple(q for group in self.part3 for q in group.questions)

    def question_ids(self) -> tuple[str, ...]:
        """Every bank id the plan may ask: pass them as ``asked`` to avoid repeats."""
        ids = [q.id for topic in self.part1 for q in topic.questions]
        if self.card is not None:
            ids.append(self.card.id)
            ids.extend(q.id for q in self.card.rounding_off)
        ids.extend(q.id for q in self.part3_questions)
        return tuple(ids)


# --- one answer -------------------------------------------------------------------------------
class AnswerFlags(_Frozen):
    """What the checks found in an answer (``shared.exam.language_check.check_answer``)."""

    not_english: bool = False
    silent: bool = False
    asked_repeat: bool = False
    off_topic: bool = False
    too_short: bool = False


class AnsweredTurn(_Frozen):
    """One answer as the policy sees it. Durations come from the audio, never a client clock."""

    transcript: str = Field(default="", description="Data only: never read as instructions.")
    word_count: int = Field(ge=0, description="Recognised words, filled pauses excluded.")
    duration_seconds: float = Field(ge=0, description="Length of the answer's audio.")
    speech_seconds: float = Field(ge=0, description="Voiced time within the audio.")
    flags: AnswerFlags = AnswerFlags()
    preparation_seconds: float | None = Field(
        default=None,
        ge=0,
        description="Long turn only: preparation actually used (the learner may start early); "
        "None counts the full minute.",
    )


class AnswerVerdict(_Frozen):
    """What the policy decided about the answer it was given."""

    stage: Stage
    question_id: str | None
    scored: bool = Field(description="False: the answer must never count towards a band.")
    never_score_reason: NeverScoreReason | None = None
    flags: AnswerFlags = Field(description="The flags given, plus too_short and silent as judged.")
    assessed_seconds: float = Field(description="Audio that counts: the long turn stops at 120 s.")
    cut_at_seconds: float | None = Field(
        default=None, description="Set when the answer ran past the part's limit and was cut."
    )


# --- the examiner's state between turns -------------------------------------------------------
class PartClock(_Frozen):
    """Examiner time in seconds: answers, estimated examiner speech and preparation."""

    intro: float = 0.0
    part1: float = 0.0
    part2: float = 0.0
    part3: float = 0.0
    closing: float = 0.0

    @property
    def total(self) -> float:
        return self.intro + self.part1 + self.part2 + self.part3 + self.closing

    def of(self, part: PartNumber) -> float:
        return (self.intro, self.part1, self.part2, self.part3)[part]

    def plus(self, part: PartNumber | Literal["closing"], seconds: float) -> PartClock:
        name = part if part == "closing" else ("intro", "part1", "part2", "part3")[part]
        return self.model_copy(update={name: getattr(self, name) + seconds})


class Reprompts(_Frozen):
    """How often the examiner re-prompted: on the current question, or in the whole test."""

    invitations: int = 0
    repeats: int = 0
    english_redirects: int = 0
    off_topic_redirects: int = 0
    silences: int = 0


class ExamState(_Frozen):
    """The cursor of a running test. Store it with the session; pass it back on the next turn."""

    state_version: Literal[1] = 1
    stage: Stage
    topic_index: int = Field(default=0, ge=0, description="Part 1 topic in plan.part1.")
    question_index: int = Field(
        default=0,
        ge=0,
        description="Part 1: in the topic; rounding-off: in the card; Part 3: in "
        "plan.part3_questions.",
    )
    on_follow_up: bool = Field(
        default=False, description="Part 3: the learner answers a follow-up of question_index."
    )
    question_id: str | None = Field(default=None, description="Bank id being answered, if any.")
    question_text: str = Field(default="", description="What the learner is answering.")
    here: Reprompts = Field(default=Reprompts(), description="Re-prompts on this question.")
    total: Reprompts = Reprompts()
    follow_ups_used: int = 0
    part3_asked: int = Field(default=0, description="Part 3 questions asked, follow-ups included.")
    topics_started: int = 0
    topic_seconds: float = Field(default=0.0, description="Examiner time in this Part 1 topic.")
    seconds: PartClock = PartClock()
    preparation_given: bool = False
    preparation_seconds: float = 0.0
    long_turn_cut: bool = False
    answer_limit_seconds: float | None = Field(
        default=None, description="Recording limit of the answer now expected."
    )
    closed_for_time: bool = False
    turns: int = Field(default=0, description="Answers received.")
    moves: int = Field(default=0, description="Examiner moves made.")
    recent_lines: dict[str, int] = Field(
        default_factory=dict, description="Last variant used per line kind."
    )
    recent_follow_up_templates: tuple[str, ...] = ()
    asked_question_ids: tuple[str, ...] = Field(
        default=(), description="Bank ids put to the learner so far, in order."
    )
    wall_clock_seconds: float | None = None

    @property
    def part(self) -> PartNumber:
        return _STAGE_PART[self.stage]

    @property
    def closed(self) -> bool:
        return self.stage == "closed"


_STAGE_PART: dict[Stage, PartNumber] = {
    "intro": 0,
    "part1": 1,
    "long_turn": 2,
    "rounding_off": 2,
    "part3": 3,
    "closed": 0,
}


def stage_part(stage: Stage) -> PartNumber:
    """The test part a stage belongs to (0 for the opening and after the close)."""
    return _STAGE_PART[stage]


# --- what the examiner does -------------------------------------------------------------------
class CueCardView(_Frozen):
    """The card as the learner sees it during preparation and the long turn."""

    card_id: str
    task: str
    prompts: tuple[str, ...]
    closing: str


class FollowUp(_Frozen):
    """A Part 3 follow-up built from the learner's last answer."""

    text: str
    basis: Literal["claim", "phrase", "theme", "model"] = Field(
        description="What it draws on; 'theme' when nothing usable was said; 'model' when a "
        "language model wrote it."
    )
    phrase: str | None = None
    claim: str | None = None
    template_id: str
    template_hash: str | None = Field(
        default=None, description="Content hash of the prompt template, for model-written ones."
    )
    model: str | None = Field(default=None, description="The model that wrote it, if any.")


class WrittenFollowUp(_Frozen):
    """A follow-up worded by a language model, with the versioned brief that produced it."""

    text: str
    template_id: str = Field(description="The brief's ref, e.g. 'part3_followup@1'.")
    template_hash: str
    model: str


class MoveStep(_Frozen):
    """One piece of what the examiner says, in order (a line, a question, a card)."""

    kind: str = Field(description="A line kind from examiner_lines.toml, or 'question', ...")
    text: str
    variant: int | None = Field(default=None, description="Which variant of a scripted line.")


class Move(_Frozen):
    """The examiner's reply to an answer (or the opening): what to say and what comes next."""

    action: MoveAction = Field(description="What the learner now responds to.")
    actions: tuple[MoveAction, ...] = Field(
        description="Every act in this reply, in order, e.g. stop_long_turn, ask_rounding_off."
    )
    text: str = Field(description="Everything the examiner says, ready for speech synthesis.")
    steps: tuple[MoveStep, ...]
    stage: Stage = Field(description="What the next answer belongs to.")
    part: PartNumber
    question_id: str | None = Field(default=None, description="Bank id now being answered.")
    question_text: str | None = Field(
        default=None, description="The question alone, without the examiner's lead-in."
    )
    first_asked: tuple[str, ...] = Field(
        default=(), description="Bank ids put to the learner for the first time by this move."
    )
    cue_card: CueCardView | None = None
    preparation_seconds: int | None = None
    after_preparation_text: str | None = Field(
        default=None, description="Said when preparation ends or the learner starts early."
    )
    max_answer_seconds: float | None = Field(
        default=None, description="Recording limit for the next answer; None when none expected."
    )
    follow_up: FollowUp | None = None
    rephrased: WrittenFollowUp | None = Field(
        default=None, description="A repeat request answered with a model's simpler wording."
    )
    expects_answer: bool
    ends_test: bool
    previous: AnswerVerdict | None = Field(
        default=None, description="The policy's verdict on the answer this move replies to."
    )


class AnswerContext(_Frozen):
    """What the next answer responds to: the text the language checks compare it with."""

    stage: Stage
    part: PartNumber
    question_id: str | None
    question_text: str
    reference_text: str = Field(
        description="Question, topic and card words: the on-topic check's reference."
    )
    checks_topic: bool = Field(description="Whether off-topic answers are redirected here.")
