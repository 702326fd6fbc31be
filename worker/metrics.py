"""Prometheus metrics of a worker: how its jobs ended, how long they took, which epoch each
model's latest job has reached.

Jobs run in Celery's pool processes, so their samples go to files in
`PROMETHEUS_MULTIPROC_DIR`, which `worker.celery_app` points at a fresh folder before this
module is imported, and the worker's main process serves them all over HTTP
(`HANDCALC_WORKER_METRICS_PORT`).
"""

from __future__ import annotations

import time

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
    start_http_server,
)

disable_created_metrics()

SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"

JOBS = Counter("handcalc_worker_jobs", "Training jobs this worker ended.", ["kind", "state"])
JOB_SECONDS = Histogram(
    "handcalc_worker_job_duration_seconds",
    "Time from a job's start on this worker to its end, however it ended.",
    ["kind"],
    buckets=(1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)
EPOCH = Gauge(
    "handcalc_worker_job_epoch",
    "Epochs finished by the latest job of each model on this worker.",
    ["model"],
    multiprocess_mode="mostrecent",
)
EPOCHS = Gauge(
    "handcalc_worker_job_epochs",
    "Epochs the latest job of each model on this worker may run.",
    ["model"],
    multiprocess_mode="mostrecent",
)


class JobMeter:
    """Times one job and counts how it ended: `failed`, unless `state` is set otherwise
    before it leaves; `kind` is the model's kind once known."""

    def __init__(self) -> None:
        self.kind = "unknown"
        self.state = FAILED
        self._started = time.monotonic()

    def __enter__(self) -> JobMeter:
        return self

    def __exit__(self, *_: object) -> None:
        JOBS.labels(self.kind, self.state).inc()
        JOB_SECONDS.labels(self.kind).observe(time.monotonic() - self._started)


def record_epoch(model: str, done: int, epochs: int) -> None:
    """Record that the job training `model` has finished `done` of its `epochs`."""
    EPOCH.labels(model).set(done)
    EPOCHS.labels(model).set(epochs)


def serve(port: int, folder: str) -> None:
    """Serve the samples every process wrote to `folder` on `port`, from a daemon thread."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    start_http_server(port, registry=registry)
