"""The training task: thin, JSON in and JSON out, calling `models.training.pipeline`."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from celery import Task
from celery.exceptions import Ignore, SoftTimeLimitExceeded, WorkerLostError

from models.artifacts.catalog import CANCELLED, PROGRESS, TRAIN_TASK, cancel_key
from models.artifacts.stores import open_store
from models.job_spec import TrainingJob
from models.logs import annotate
from worker.celery_app import celery_app, settings
from worker.metrics import SUCCEEDED, JobMeter, record_epoch

logger = logging.getLogger(__name__)

HEARTBEAT_S = 2.0


class JobReporter:
    """Progress, heartbeats and cancellation for one running job."""

    def __init__(self, task: Task, model: str, epochs: int) -> None:
        self._task = task
        self._model = model
        self._task_id = task.request.id  # the request is thread-local: keep the id for the beat
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self.meta: dict[str, Any] = {
            "progress": {"epoch": 0, "epochs": epochs, "fraction": 0.0},
            "metrics": {},
            "history": [],
            "heartbeat": time.time(),
        }
        self._beat = threading.Thread(target=self._heartbeat, name="job-heartbeat", daemon=True)

    def __enter__(self) -> JobReporter:
        record_epoch(self._model, 0, self.meta["progress"]["epochs"])
        self._publish()
        self._beat.start()
        return self

    def __exit__(self, *_: object) -> None:
        with self._lock:  # after this, no heartbeat can overwrite the final state
            self._finished.set()
        self._beat.join(timeout=5)

    def on_epoch(self, epoch: int, epochs: int, metrics: dict[str, float]) -> None:
        self.meta["progress"] = {"epoch": epoch, "epochs": epochs, "fraction": epoch / epochs}
        self.meta["metrics"] = metrics
        self.meta["history"] = [*self.meta["history"], {"epoch": epoch, **metrics}]
        self._publish()
        record_epoch(self._model, epoch, epochs)

    def cancelled(self) -> bool:
        return _stop_request(self._task, self._task_id) is not None

    def _heartbeat(self) -> None:
        while not self._finished.wait(HEARTBEAT_S):
            self._publish()

    def _publish(self) -> None:
        with self._lock:
            if self._finished.is_set():
                return
            self.meta["heartbeat"] = time.time()
            self._task.update_state(task_id=self._task_id, state=PROGRESS, meta=self.meta)


def _stop_request(task: Task, task_id: str) -> dict[str, str] | None:
    """What the API asked of this job, if anything: {"state": ..., "reason": ...}."""
    raw = task.backend.get(cancel_key(task_id))
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"state": "cancelled", "reason": "cancelled"}


def _end(task: Task, meter: JobMeter, state: str, reason: str) -> None:
    """Record a final state of our own and tell Celery to leave it alone."""
    meter.state = state
    if state == "failed":
        task.backend.mark_as_failure(task.request.id, WorkerLostError(reason))
    else:
        task.update_state(state=CANCELLED, meta={"error": reason})
    raise Ignore()


@celery_app.task(name=TRAIN_TASK, bind=True, acks_late=True)
def train(self: Task, job: dict[str, Any]) -> dict[str, Any]:
    """Train, evaluate and publish one model from a JSON job spec."""
    with JobMeter() as meter:
        return _train(self, job, meter)


def _train(self: Task, job: dict[str, Any], meter: JobMeter) -> dict[str, Any]:
    request = _stop_request(self, self.request.id)
    if request is not None:  # cancelled while queued, or given up on and delivered again
        _end(self, meter, request["state"], request["reason"])

    store = open_store(settings)
    spec = TrainingJob.model_validate(job)
    spec = spec.bind(store.kind_of(spec.model))
    meter.kind = spec.kind
    annotate(model=spec.model, kind=spec.kind)
    with JobReporter(self, spec.model, spec.params["epochs"]) as reporter:
        from models.training.fit import Monitor, TrainingCancelled
        from models.training.pipeline import (
            run_training,  # TensorFlow loads here, in the pool process
        )

        try:
            published = run_training(
                spec.model,
                spec.params,
                store,
                kind=spec.kind,
                data_source=settings.data,
                encoder_version=spec.encoder_version,
                reader_version=spec.reader_version,
                activate=spec.activate,
                monitor=Monitor(on_epoch=reporter.on_epoch, should_stop=reporter.cancelled),
            )
        except TrainingCancelled:
            history = reporter.meta["history"]
            cancelled = True
        except SoftTimeLimitExceeded:
            raise RuntimeError(
                f"the job ran past its time limit of {settings.job_soft_time_limit_s} s "
                f"(HANDCALC_JOB_SOFT_TIME_LIMIT_S) after {len(reporter.meta['history'])} "
                "epochs; nothing was published"
            ) from None
        else:
            cancelled = False
    if cancelled:
        logger.info("job %s stopped after %d epochs", self.request.id, len(history))
        request = _stop_request(self, self.request.id) or {"state": "cancelled"}
        reason = f"{request['state']} after {len(history)} epochs; nothing was published"
        _end(self, meter, request["state"], request.get("reason", reason) + f" ({reason})")
    meter.state = SUCCEEDED
    annotate(version=published.version)
    logger.info("job %s published %s v%d", self.request.id, published.name, published.version)
    return {
        "model": published.name,
        "kind": published.kind,
        "version": published.version,
        "activated": published.activated,
        "metrics": published.metrics,
        "lineage": published.lineage,
        "history": reporter.meta["history"],
        "wall_time_s": round(published.wall_time_s, 2),
    }
