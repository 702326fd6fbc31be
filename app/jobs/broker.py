"""Training jobs from the API's side: send them by name, follow them, cancel them.

The API never imports the worker: it sends the task `handcalc.train` through the
broker and reads its state from the result backend. Each accepted job has a record
(`app.jobs.records`) beside the results, which every API replica reads: unknown ids
are 404s and `GET /jobs` lists them newest first. With Redis unreachable, every
call here raises `BrokerUnavailable` within about a second (the routes answer 503).

A job whose worker died mid-training stops sending heartbeats; once they are
older than `job_heartbeat_timeout_s` the job is marked failed here, for good, and
a stop request is left for the worker in case the task is ever delivered again.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from celery import Celery, states
from celery.exceptions import WorkerLostError
from kombu.exceptions import OperationalError

from app.jobs.records import BrokerUnavailable, is_redis, job_records, unreachable
from app.metrics import JOBS
from models.artifacts.catalog import CANCELLED, PROGRESS, REQUEST_ID_HEADER, TRAIN_TASK, cancel_key
from models.job_spec import TrainingJob
from models.logs import annotate, context
from models.settings import Settings

logger = logging.getLogger(__name__)

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
CANCELLED_STATE = "cancelled"
FINAL = {SUCCEEDED, FAILED, CANCELLED_STATE}
_STATES = {
    states.PENDING: QUEUED,
    states.RECEIVED: QUEUED,
    states.STARTED: RUNNING,
    PROGRESS: RUNNING,
    states.RETRY: RUNNING,
    states.SUCCESS: SUCCEEDED,
    states.FAILURE: FAILED,
    states.REVOKED: CANCELLED_STATE,
    CANCELLED: CANCELLED_STATE,
}


class JobFinished(Exception):
    """The job already ended; it cannot be cancelled."""


@dataclass
class JobStatus:
    id: str
    model: str
    state: str
    submitted: str
    spec: dict[str, Any]
    progress: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: str | None = None


class JobClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.celery = Celery("handcalc-api")
        config = settings.celery_config()
        if is_redis(config["broker_url"]):
            # fail fast when sending: no reconnection loop while a request waits
            config["broker_transport_options"] = {
                **config["broker_transport_options"],
                "max_retries": 0,
                "socket_connect_timeout": 1.0,
                "socket_timeout": 1.0,
            }
        if is_redis(config["result_backend"]):
            config.update(redis_socket_connect_timeout=1.0, redis_socket_timeout=1.0)
            config["result_backend_transport_options"] = {
                **config["result_backend_transport_options"],
                "retry_policy": {"max_retries": 0},
            }
        self.celery.conf.update(config)
        self.records = job_records(settings)
        self.broker_url = config["broker_url"]

    def check(self) -> None:
        """Raise `BrokerUnavailable` unless jobs can be sent and followed now."""
        self.records.check()
        if is_redis(self.broker_url) and self.broker_url != self.celery.conf.result_backend:
            with self._broker(), self.celery.connection_for_write() as connection:
                connection.ensure_connection(max_retries=0)

    def submit(self, job: TrainingJob) -> str:
        """Send the job, then record it: a job that could not be sent is never listed."""
        self.check()
        job_id = uuid.uuid4().hex
        annotate(job_id=job_id, model=job.model)
        request_id = context().get("request_id")
        record = {
            "id": job_id,
            "spec": job.model_dump(),
            "submitted": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": request_id,
        }
        with self._broker():
            self.celery.send_task(
                TRAIN_TASK,
                args=[job.model_dump()],
                task_id=job_id,
                retry=False,
                headers={REQUEST_ID_HEADER: request_id},  # the worker logs the job under it
            )
        JOBS.labels("submitted").inc()
        try:
            self.records.add(record)
        except BrokerUnavailable:
            logger.error("job %s was sent but Redis went away before it was recorded", job_id)
            raise
        return job_id

    def status(self, job_id: str) -> JobStatus:
        return self._status(self.records.get(job_id))

    def _status(self, record: dict[str, Any]) -> JobStatus:
        job_id = record["id"]
        with self._broker():
            meta = self.celery.backend.get_task_meta(job_id)  # one read: state and info together
        celery_state, info = meta["status"], meta.get("result")
        if celery_state == states.FAILURE:
            info = self.celery.backend.exception_to_python(info)
        epochs = record["spec"]["params"].get("epochs", 0)
        status = JobStatus(
            id=job_id,
            model=record["spec"]["model"],
            state=_STATES.get(celery_state, RUNNING),
            submitted=record["submitted"],
            spec=record["spec"],
            progress={"epoch": 0, "epochs": epochs, "fraction": 0.0},
        )
        if isinstance(info, dict):
            status.progress = info.get("progress", status.progress)
            status.metrics = info.get("metrics", {})
            status.history = info.get("history", [])
        if status.state == SUCCEEDED and isinstance(info, dict):
            status.result = {
                # a worker of an earlier release returns no kind
                key: info.get(key)
                for key in ("model", "kind", "version", "activated", "lineage")
            }
            status.metrics = info.get("metrics", {})
            done = len(status.history)
            status.progress = {"epoch": done, "epochs": epochs, "fraction": 1.0}
        elif status.state == FAILED:
            status.error = _describe_error(info)
        elif status.state == CANCELLED_STATE:
            status.error = (info.get("error") if isinstance(info, dict) else None) or "cancelled"
        elif status.state == RUNNING and self._silent(info):
            status = self._declare_lost(status)
        return status

    def list(self, limit: int = 50, offset: int = 0) -> list[JobStatus]:
        """Jobs newest first: `limit` of them after skipping `offset`."""
        return [self._status(record) for record in self.records.page(limit, offset)]

    def cancel(self, job_id: str) -> JobStatus:
        status = self.status(job_id)
        if status.state in FINAL:
            raise JobFinished(f"job {job_id} already {status.state}; nothing to cancel")
        if status.state == QUEUED:
            reason = "cancelled while queued; it never ran"
            self._request_stop(job_id, CANCELLED_STATE, reason)
            with self._broker():
                self.celery.backend.store_result(job_id, {"error": reason}, CANCELLED)
            try:
                self.celery.control.revoke(job_id)
            except Exception:  # the stop request alone is enough
                logger.warning("could not broadcast the revocation of %s", job_id)
        else:
            self._request_stop(job_id, CANCELLED_STATE, "cancelled while running")
        JOBS.labels("cancelled").inc()
        return self.status(job_id)

    def close(self) -> None:
        self.records.close()
        self.celery.close()

    @contextmanager
    def _broker(self) -> Iterator[None]:
        """Celery's and Redis' connection failures, as `BrokerUnavailable`."""
        try:
            yield
        except (OperationalError, redis.ConnectionError, redis.TimeoutError, OSError) as error:
            raise unreachable(self.broker_url, error) from error

    def _silent(self, info: Any) -> bool:
        if not isinstance(info, dict) or "heartbeat" not in info:
            return False
        return time.time() - float(info["heartbeat"]) > self.settings.job_heartbeat_timeout_s

    def _declare_lost(self, status: JobStatus) -> JobStatus:
        reason = (
            f"the worker running this job stopped responding (no heartbeat for "
            f"{self.settings.job_heartbeat_timeout_s:g} s); nothing was published"
        )
        self._request_stop(status.id, FAILED, reason)
        with self._broker():
            self.celery.backend.mark_as_failure(status.id, WorkerLostError(reason))
        logger.warning("job %s: %s", status.id, reason)
        status.state, status.error = FAILED, reason
        return status

    def _request_stop(self, job_id: str, state: str, reason: str) -> None:
        with self._broker():
            self.celery.backend.set(
                cancel_key(job_id), json.dumps({"state": state, "reason": reason}).encode()
            )


def _describe_error(info: Any) -> str:
    if isinstance(info, BaseException):
        text = str(info) or type(info).__name__
        return f"{type(info).__name__}: {text}"
    return str(info) if info else "failed"
