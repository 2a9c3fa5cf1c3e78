"""The results function: a finished mock test's scoring status, summary and deep analysis.

``GET /sessions/{session_id}/results`` for the owner only (anyone else gets 404, as for the
session itself). ``GET /sessions/-/results/scale`` is the band scale every result uses: the
criteria, the rounding rule in force and its note (it needs no session, so it is also the
typical request the cold-start checks serve).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.http import Api, ApiRequest

if TYPE_CHECKING:
    from shared.scoring.results import BandScale, ResultsView

api = Api("results")


@api.route(
    "GET",
    "/sessions/{session_id}/results",
    response="shared.scoring.results:ResultsView",
    raises=("shared.scoring.results:SessionNotFinished",),
)
def get_results(request: ApiRequest) -> ResultsView:
    """A finished mock test's scoring status, summary and deep analysis (owner only)."""
    from shared.scoring import results

    return results.results_for(
        request.container, request.verified_caller, request.path_params["session_id"]
    )


# "-" stands for any session (as in Google's API conventions): the scale holds for every one.
@api.route("GET", "/sessions/-/results/scale", response="shared.scoring.results:BandScale")
def band_scale(request: ApiRequest) -> BandScale:
    """The band scale every result uses: criteria, rounding rule and its note."""
    from shared.scoring import results

    return results.band_scale(request.container)
