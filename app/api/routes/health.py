"""Liveness and readiness probes, and the Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from app.api.deps import JobsDep, ServerDep
from app.api.schemas import Health, Readiness
from app.jobs.records import BrokerUnavailable
from app.metrics import exposition

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Every model is loaded",
    responses={503: {"description": "Some model is not loaded; `detail` names it and why."}},
)
def readyz(server: ServerDep, jobs: JobsDep) -> Readiness | JSONResponse:
    """Ready when every model is served. Training jobs are reported apart (`jobs`): with
    the broker down, inference stays ready while the job routes answer 503."""
    try:
        jobs.check()
        jobs_state = "available"
    except BrokerUnavailable as error:
        jobs_state = f"unavailable: {error}"
    serving = server.status()
    missing = [name for name, version in serving.items() if version is None]
    if missing:
        failures = server.failures()
        reasons = [f"{name} ({failures.get(name, 'never trained')})" for name in missing]
        return JSONResponse(
            status_code=503,
            content={
                "detail": "not ready, models not loaded: " + ", ".join(reasons),
                "jobs": jobs_state,
            },
        )
    return Readiness(status="ready", models=serving, jobs=jobs_state)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "The text exposition format."}},
)
def metrics() -> Response:
    """Requests by route, method and status; request durations; upload bytes; rows and
    waits of the micro-batches and model call durations by model; the version each name
    serves; model loads; admitted and refused requests; jobs sent and cancelled."""
    body, content_type = exposition()
    return Response(body, media_type=content_type)
