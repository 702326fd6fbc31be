"""Training jobs: submit, follow, list and cancel. All need the API token."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from app.api.deps import Authorized, JobsDep, ServerDep
from app.api.errors import PROTECTED
from app.api.schemas import JobAccepted, JobView
from app.jobs.broker import JobFinished
from app.jobs.records import UnknownJob
from models.job_spec import TrainingJob

_NOT_FOUND = {404: {"description": "No job with this id."}}
_UNAVAILABLE = {
    503: {"description": "The broker (Redis) cannot be reached; `detail` says which and why."}
}


router = APIRouter(
    prefix="/jobs",
    tags=["jobs"],
    dependencies=[Authorized],
    responses={**PROTECTED, **_UNAVAILABLE},
)


def _view(job_status) -> JobView:
    return JobView.model_validate(asdict(job_status))


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    summary="Train a model in the background",
)
def submit(job: TrainingJob, jobs: JobsDep, server: ServerDep) -> JobAccepted:
    """Queue a training job. Follow it at `status_url`; when it succeeds, the new version is
    published (and served within seconds if `activate` is true). A new name needs `kind`."""
    try:
        job = job.bind(server.store.kind_of(job.model))
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    job_id = jobs.submit(job)
    return JobAccepted(id=job_id, status_url=f"/jobs/{job_id}")


@router.get("", response_model=list[JobView], summary="Recent jobs, newest first")
def list_jobs(
    jobs: JobsDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Jobs in this page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Newer jobs to skip.")] = 0,
) -> list[JobView]:
    """Jobs accepted by any replica of the API, newest first, a page at a time."""
    return [_view(job) for job in jobs.list(limit=limit, offset=offset)]


@router.get("/{job_id}", response_model=JobView, responses=_NOT_FOUND, summary="One job")
def get_job(job_id: str, jobs: JobsDep) -> JobView:
    try:
        return _view(jobs.status(job_id))
    except UnknownJob:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job with id {job_id!r}") from None


@router.delete(
    "/{job_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobView,
    responses={**_NOT_FOUND, 409: {"description": "The job has already ended."}},
    summary="Cancel a job",
)
def cancel_job(job_id: str, jobs: JobsDep) -> JobView:
    """A queued job never runs; a running one stops at the next batch and publishes nothing."""
    try:
        return _view(jobs.cancel(job_id))
    except UnknownJob:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job with id {job_id!r}") from None
    except JobFinished as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
