"""Phase 1: the fast summary of a finished mock test, from sessions the real services wrote."""

from __future__ import annotations

import pytest

from shared.assessment.bands import ROUNDING_NOTE, descriptor, speaking_band
from shared.bootstrap import get_container
from shared.events import PermanentFailure
from shared.models.assessment import CRITERIA
from shared.scoring import phase2, service
from shared.scoring.documents import Summary, summary_path
from shared.scoring.inputs import load_finished_session, load_inputs
from shared.scoring.phase1 import summarise
from tests.unit.conftest import FakeWorld
from tests.unit.scoring_support import ANSWERS, finish_a_test
from tests.unit.session_support import Client, Examiner, install_examiner


@pytest.fixture
def examiner(world: FakeWorld, client_for: Client, monkeypatch: pytest.MonkeyPatch) -> Examiner:
    # Forced alignment takes seconds per answer: its cost is bench/scoring.py's business.
    monkeypatch.setattr(phase2, "DEEP_TIME_BUDGET_SECONDS", 0.0)
    return install_examiner(world, client_for)


@pytest.fixture
def finished(examiner: Examiner) -> str:
    return finish_a_test(examiner, seconds=20.0)


def _summary(examiner: Examiner, session_id: str) -> Summary:
    found = examiner.world.store.get(summary_path(session_id))
    assert found is not None
    return Summary.model_validate(found.data)


def _transcripts(examiner: Examiner, session_id: str) -> dict[str, str]:
    session = examiner.session_document(session_id)
    return {turn["turn_id"]: turn["transcript"] for turn in session["turns"]}


def test_every_criterion_gets_a_whole_band_a_descriptor_and_checkable_evidence(
    examiner: Examiner, finished: str
) -> None:
    assert service.score_session(get_container(), finished) == "summary_ready"
    summary = _summary(examiner, finished)
    transcripts = _transcripts(examiner, finished)
    assert summary.answers_scored == len(ANSWERS) - 1
    assert summary.answers_not_scored == {"intro": 1}  # "My name is Ana ..." never counts
    for criterion in CRITERIA:
        score = summary.criteria[criterion]
        assert score.scored, (criterion, score.not_scored_reason)
        assert score.band is not None
        assert 0 <= score.band <= 9
        assert score.descriptor == descriptor(criterion, score.band)
        assert 2 <= len(score.evidence) <= 4, criterion
        for item in score.evidence:
            if item.kind == "quote":
                assert item.quote
                assert item.quote in transcripts[item.turn_id or ""]
            else:
                assert item.metric
                assert item.value is not None
    bands = {c: summary.criteria[c].band or 0 for c in CRITERIA}
    assert summary.speaking_band == speaking_band(bands, "published")
    assert summary.rounding_note == ROUNDING_NOTE["published"]
    session = examiner.session_document(finished)
    assert session["scoring"]["status"] == "summary_ready"
    [message] = examiner.world.events.messages(examiner.settings.topic_analysis_requested)
    assert message.payload == {"session_id": finished, "uid": "learner-1", "generation": 1}
    assert message.attributes["session_id"] == finished


def test_the_summary_is_the_same_document_every_time(examiner: Examiner, finished: str) -> None:
    container = get_container()
    session, _ = load_finished_session(container.store, finished)
    inputs = load_inputs(container.store, container.blobs, session)
    first = summarise(inputs, "published").summary.model_dump(mode="json")
    again = summarise(inputs, "published").summary.model_dump(mode="json")
    assert first == again
    service.score_session(container, finished)
    stored = examiner.world.store.get(summary_path(finished))
    service.score_session(container, finished)
    assert examiner.world.store.get(summary_path(finished)) == stored


def test_too_little_speech_scores_nothing_and_says_why(examiner: Examiner) -> None:
    session_id = finish_a_test(examiner, ANSWERS[:2], seconds=8.0)
    service.score_session(get_container(), session_id)
    summary = _summary(examiner, session_id)
    assert summary.speaking_band is None
    for criterion in CRITERIA:
        score = summary.criteria[criterion]
        assert not score.scored
        assert score.band is None
        assert "too little scored speech" in (score.not_scored_reason or "")


def test_without_audio_pronunciation_is_not_scored_and_there_is_no_overall_band(
    examiner: Examiner, finished: str
) -> None:
    for name in examiner.answer_blobs():
        examiner.world.blobs.delete(examiner.settings.audio_bucket, name)
    service.score_session(get_container(), finished)
    summary = _summary(examiner, finished)
    pronunciation = summary.criteria["pronunciation"]
    assert not pronunciation.scored
    assert "no audio" in (pronunciation.not_scored_reason or "")
    assert summary.criteria["lexical_resource"].scored
    assert summary.speaking_band is None
    assert "pronunciation" in (summary.speaking_band_reason or "")


def test_an_unfinished_session_fails_with_the_reason_on_it(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    with pytest.raises(PermanentFailure):
        service.score_session(get_container(), session_id)
    scoring = examiner.session_document(session_id)["scoring"]
    assert scoring["status"] == "failed"
    assert "not finished" in scoring["reason"]
    assert examiner.world.store.get(summary_path(session_id)) is None


def test_a_missing_session_is_a_permanent_failure(examiner: Examiner) -> None:
    with pytest.raises(PermanentFailure):
        service.score_session(get_container(), "no-such-session")
    assert examiner.world.store.get("sessions/no-such-session") is None


def test_a_missing_analyzer_leaves_its_criterion_unscored_with_the_reason(
    examiner: Examiner, finished: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.scoring import analyzers

    def missing(module: str, name: str) -> object:
        raise analyzers.AnalyzerMissing(f"{module} analyzer unavailable (test)")

    monkeypatch.setattr(analyzers, "_function", missing)
    service.score_session(get_container(), finished)
    summary = _summary(examiner, finished)
    assert summary.speaking_band is None
    for criterion in CRITERIA:
        assert not summary.criteria[criterion].scored
        assert "unavailable" in (summary.criteria[criterion].not_scored_reason or "")
    assert examiner.session_document(finished)["scoring"]["status"] == "summary_ready"
