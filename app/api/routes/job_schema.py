"""GET /job-schema: what a training job takes, per kind, for forms built from it.

Not under /jobs/: every path there but /jobs itself is a job id (DELETE /jobs/schema
would be a cancellation)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from models.job_spec import TrainingJob
from models.kinds import DEFAULT_MODELS, KINDS

router = APIRouter(tags=["jobs"])


class KindSchema(BaseModel):
    summary: str
    params: dict[str, Any] = Field(description="JSON schema of `params` for this kind.")
    reads_with: list[str] = Field(description="Kinds this kind's reader may come from.")


class JobSchema(BaseModel):
    job: dict[str, Any] = Field(description="JSON schema of the body of POST /jobs.")
    kinds: dict[str, KindSchema]
    defaults: dict[str, str] = Field(description="Each shipped name and its kind.")


@router.get(
    "/job-schema",
    response_model=JobSchema,
    summary="The body of POST /jobs and the params of every kind (no token needed)",
)
async def job_schema() -> JobSchema:
    return JobSchema(
        job=TrainingJob.model_json_schema(),
        kinds={
            name: KindSchema(
                summary=kind.summary,
                params=kind.params.model_json_schema(),
                reads_with=sorted(kind.reads_with),
            )
            for name, kind in KINDS.items()
        },
        defaults={model.name: model.kind for model in DEFAULT_MODELS},
    )
