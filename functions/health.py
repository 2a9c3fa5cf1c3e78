"""The health function: liveness (touches nothing) and readiness (checks dependencies)."""

from __future__ import annotations

from shared import errors
from shared.http import Api, ApiRequest
from shared.models.health import Liveness, Readiness

api = Api("health")


@api.route("GET", "/healthz", authenticated=False, response=Liveness)
def liveness(_: ApiRequest) -> Liveness:
    """Liveness: the instance answers (touches no dependency)."""
    return Liveness()


@api.route(
    "GET",
    "/readyz",
    authenticated=False,
    response=Readiness,
    raises=(errors.DependencyUnavailable,),
)
def readiness(request: ApiRequest) -> Readiness:
    """Readiness: every dependency answers (503 naming those that do not)."""
    # Imported here so that /healthz never loads the readiness machinery.
    from shared.readiness import check_readiness

    report = check_readiness(request.container)
    if report.status != "ready":
        failing = sorted(name for name, status in report.dependencies.items() if not status.ok)
        raise errors.DependencyUnavailable(
            f"Not ready: {', '.join(failing)} not answering.",
            details={"failing": failing, **report.model_dump(mode="json")},
        )
    return report
