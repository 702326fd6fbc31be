"""The workers' Celery app: `celery -A worker.celery_app worker`.

TensorFlow is not imported here: the task imports it inside the pool process,
after the fork, on its first job.

Logs: with `HANDCALC_LOG_FORMAT=json` Celery's handlers write JSON lines, its banner (not a
log line) is left out, and what is written past logging is made JSON by `worker.log_pipe`;
every line logged while a job runs carries the job's id and the id of the request that
sent it. Metrics: with
`HANDCALC_WORKER_METRICS_PORT`, the main process serves the samples its pool processes
write (`worker.metrics`).
"""

from __future__ import annotations

import logging
import os
import shutil
from contextvars import Token
from typing import Any

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    celeryd_init,
    task_postrun,
    task_prerun,
    worker_ready,
    worker_shutdown,
)

from models.artifacts.catalog import REQUEST_ID_HEADER
from models.artifacts.stores import open_store
from models.logs import bind, configure_logging, reformat, unbind
from models.settings import Settings
from worker import log_pipe

logger = logging.getLogger(__name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

settings = Settings()


def _metrics_folder() -> tuple[str | None, bool]:
    """With a metrics port: the folder where this worker's processes write their samples,
    and whether it is a fresh one of its own (set in `PROMETHEUS_MULTIPROC_DIR` before
    prometheus_client is first imported, by the tasks, so the pool processes inherit it)."""
    if settings.worker_metrics_port is None:
        return None, False
    if os.environ.get(MULTIPROCESS_DIR):
        return os.environ[MULTIPROCESS_DIR], False
    folder = settings.state_dir.absolute() / "worker-metrics" / str(os.getpid())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS_DIR] = str(folder)
    return str(folder), True


metrics_folder, own_metrics_folder = _metrics_folder()
celery_app = Celery("handcalc", include=["worker.tasks"])
celery_app.conf.update(settings.celery_config())
app = celery_app  # what `celery -A worker.celery_app` looks for


@worker_ready.connect
def _clean_leftovers(**_: object) -> None:
    """Staging folders of jobs killed mid-publish are removed when a worker starts."""
    removed = open_store(settings).clean_staging(older_than_s=0)
    if removed:
        logger.info("removed %d staging folders left by earlier jobs", removed)


@worker_ready.connect
def _serve_metrics(**_: object) -> None:
    if metrics_folder is not None:
        from worker.metrics import serve

        serve(settings.worker_metrics_port, metrics_folder)
        logger.info("serving metrics on port %d", settings.worker_metrics_port)


@worker_shutdown.connect
def _remove_metrics(**_: object) -> None:
    if own_metrics_folder:
        shutil.rmtree(metrics_folder, ignore_errors=True)


# Logs -------------------------------------------------------------------------------------


@celeryd_init.connect
def _json_from_the_start(instance: Any, **_: object) -> None:
    """In JSON, from the worker's first line (Celery warns of root right after this)."""
    if settings.log_format == "json":
        log_pipe.start()
        configure_logging("json")
        instance.quiet = True  # the banner is printed, not logged: it would not be JSON


@after_setup_logger.connect
@after_setup_task_logger.connect
def _format_logs(logger: logging.Logger, **_: object) -> None:
    if settings.log_format == "json":
        reformat(logger, "json")
        for handler in logger.handlers:
            handler.addFilter(_celery_task_id)


def _celery_task_id(record: logging.LogRecord) -> bool:
    """Celery's own lines about a task ("received", "succeeded in") name it in `data`."""
    data = record.__dict__.get("data")
    if isinstance(data, dict) and "id" in data and "job_id" not in record.__dict__:
        record.job_id = data["id"]
    return True


_jobs: dict[str, Token] = {}


@task_prerun.connect
def _bind_job(task_id: str, task: Any, **_: object) -> None:
    """The lines logged while a job runs carry its id and its request's (`app.jobs`)."""
    _jobs[task_id] = bind(job_id=task_id, request_id=task.request.get(REQUEST_ID_HEADER))


@task_postrun.connect
def _unbind_job(task_id: str, **_: object) -> None:
    token = _jobs.pop(task_id, None)
    if token is not None:
        unbind(token)
