"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ServerDep
from app.api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Every model is loaded",
    responses={503: {"description": "Some model is not loaded; `detail` names it and why."}},
)
def readyz(server: ServerDep) -> Readiness | JSONResponse:
    serving = server.status()
    missing = [name for name, version in serving.items() if version is None]
    if missing:
        failures = server.failures()
        reasons = [f"{name} ({failures.get(name, 'never trained')})" for name in missing]
        return JSONResponse(
            status_code=503,
            content={"detail": "not ready, models not loaded: " + ", ".join(reasons)},
        )
    return Readiness(status="ready", models=serving)
