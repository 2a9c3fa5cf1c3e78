"""GET /sessions/{id}/results: the owner sees the status and whatever is ready; nobody else."""

from __future__ import annotations

import pytest

from shared.assessment.bands import ROUNDING_NOTE
from shared.bootstrap import get_container
from shared.events import PermanentFailure
from shared.scoring import phase2, service
from tests.unit.conftest import FakeWorld
from tests.unit.scoring_support import finish_a_test
from tests.unit.session_support import Client, Examiner, install_examiner


@pytest.fixture
def examiner(world: FakeWorld, client_for: Client, monkeypatch: pytest.MonkeyPatch) -> Examiner:
    monkeypatch.setattr(phase2, "DEEP_TIME_BUDGET_SECONDS", 0.0)
    return install_examiner(world, client_for)


def test_results_follow_the_two_phases(examiner: Examiner, client_for: Client) -> None:
    results = client_for("results")
    session_id = finish_a_test(examiner, seconds=20.0)
    url = f"/sessions/{session_id}/results"
    waiting = results.get(url, headers=examiner.world.auth()).get_json()
    assert waiting["status"] == "scoring"
    assert waiting["summary"] is None
    assert waiting["rounding_note"] == ROUNDING_NOTE["published"]

    service.score_session(get_container(), session_id)
    ready = results.get(url, headers=examiner.world.auth()).get_json()
    assert ready["status"] == "summary_ready"
    assert set(ready["summary"]["criteria"]) == {
        "fluency_coherence",
        "lexical_resource",
        "grammar",
        "pronunciation",
    }
    assert ready["deep"] is None

    service.analyze_session(get_container(), session_id)
    done = results.get(url, headers=examiner.world.auth()).get_json()
    assert done["status"] == "analysis_ready"
    assert done["deep"]["judge"] == "offline"
    assert done["summary"] == ready["summary"]


def test_someone_elses_results_do_not_exist(examiner: Examiner, client_for: Client) -> None:
    session_id = finish_a_test(examiner, seconds=20.0)
    service.score_session(get_container(), session_id)
    response = client_for("results").get(
        f"/sessions/{session_id}/results", headers=examiner.world.auth("intruder")
    )
    assert response.status_code == 404
    assert "criteria" not in response.get_data(as_text=True)


def test_an_unfinished_test_has_no_results_yet(examiner: Examiner, client_for: Client) -> None:
    session_id = examiner.start("full")["session_id"]
    response = client_for("results").get(
        f"/sessions/{session_id}/results", headers=examiner.world.auth()
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "session_not_finished"


def test_a_failed_scoring_shows_its_reason(examiner: Examiner, client_for: Client) -> None:
    session_id = examiner.start("full")["session_id"]
    finish = examiner.sessions.post(f"/sessions/{session_id}/finish", headers=examiner.world.auth())
    assert finish.status_code == 200
    with pytest.raises(PermanentFailure, match="no recorded answers"):
        service.score_session(get_container(), session_id)
    body = (
        client_for("results")
        .get(f"/sessions/{session_id}/results", headers=examiner.world.auth())
        .get_json()
    )
    assert body["status"] == "failed"
    assert "no recorded answers" in body["reason"]


def test_the_band_scale_names_the_rounding_rule(examiner: Examiner, client_for: Client) -> None:
    results = client_for("results")
    assert results.get("/sessions/-/results/scale").status_code == 401
    scale = results.get("/sessions/-/results/scale", headers=examiner.world.auth()).get_json()
    assert scale["rounding"] == "published"
    assert scale["rounding_note"] == ROUNDING_NOTE["published"]
    assert len(scale["criteria"]) == 4
