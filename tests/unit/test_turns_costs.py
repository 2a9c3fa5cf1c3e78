"""What a turn costs in document reads and writes: at most 3 of each on the happy path.

A count, not a timing: the same code always makes the same calls, so it is asserted here
(the time per stage is printed by bench.turns, never asserted).
"""

from __future__ import annotations

from collections.abc import Callable

import flask.testing
import pytest

from tests.unit.conftest import FakeWorld
from tests.unit.session_support import Examiner, install_examiner

Client = Callable[[str], flask.testing.FlaskClient]
BUDGET = 3


@pytest.fixture
def examiner(world: FakeWorld, client_for: Client) -> Examiner:
    return install_examiner(world, client_for)


def test_every_turn_of_a_whole_test_stays_within_three_reads_and_three_writes(
    examiner: Examiner,
) -> None:
    session_id = examiner.start("full")["session_id"]
    costs = []
    for _ in range(60):
        before = examiner.counting.counts
        response = examiner.answer(session_id)
        examiner.world.clock.advance(seconds=4)  # a 4 s answer takes 4 s: turns per minute
        assert response.status_code == 200
        spent = examiner.counting.counts - before
        result = response.get_json()
        # The response reports the turn's own counts (bench.turns prints them); the request
        # also pays for its rate limits (shared/limits): the read that looks for a first
        # attempt of the key, then the user's and the IP's counters in one transaction.
        reads = int(response.headers["X-Store-Reads"])
        writes = int(response.headers["X-Store-Writes"])
        assert (spent.reads - reads, spent.writes - writes, spent.transactions) == (3, 2, 2)
        asked_new = bool(
            examiner.session_document(session_id)["move"]["first_asked"]
        )  # the reply put a new question: the question memory is read and written too
        costs.append((result["stage"], reads, writes, asked_new))
        if result["session_status"] != "active":
            break
    assert costs[-1][0] == "closed"
    assert max(reads for _, reads, _, _ in costs) <= BUDGET, costs
    assert max(writes for _, _, writes, _ in costs) <= BUDGET, costs
    for stage, reads, writes, asked_new in costs[:-1]:
        assert (reads, writes) == ((3, 3) if asked_new else (2, 2)), (stage, reads, writes)


def test_a_retried_turn_costs_one_or_two_reads_and_no_write(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    examiner.answered(session_id, key="costly-retry-1")
    response = examiner.answer(session_id, key="costly-retry-1")
    assert response.headers["Idempotent-Replayed"] == "true"
    assert (response.headers["X-Store-Reads"], response.headers["X-Store-Writes"]) == ("2", "0")


def test_the_stages_of_a_turn_are_timed(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    response = examiner.answer(session_id)
    stages = [part.split(";")[0].strip() for part in response.headers["Server-Timing"].split(",")]
    assert stages == ["store", "decode", "stt", "policy", "tts", "firestore"]
    for part in response.headers["Server-Timing"].split(","):
        assert float(part.split("dur=")[1]) >= 0


def test_resuming_reads_only_the_session(examiner: Examiner) -> None:
    session_id = examiner.start("full")["session_id"]
    for _ in range(3):
        examiner.answered(session_id)
    before = examiner.counting.counts
    view = examiner.sessions.get(f"/sessions/{session_id}", headers=examiner.world.auth())
    assert len(view.get_json()["turns"]) == 3
    spent = examiner.counting.counts - before
    assert (spent.reads, spent.writes) == (1, 0)
