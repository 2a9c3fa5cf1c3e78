"""Why a regrade request was refused: one class per reason, each with a stable code (API)."""

from __future__ import annotations

from shared import errors

__all__ = ["RegradeNoResults", "RegradeSessionNotFinished"]


class RegradeSessionNotFinished(errors.Conflict):
    code = "regrade_session_not_finished"
    default_message = (
        "Only a finished mock test can be regraded: this one is still active or was abandoned "
        "(details.status says which)."
    )


class RegradeNoResults(errors.Conflict):
    code = "regrade_no_results"
    default_message = (
        "This mock test has no results to regrade yet: wait until GET /sessions/{id}/results "
        "shows at least the summary (a test whose scoring failed cannot be regraded)."
    )
