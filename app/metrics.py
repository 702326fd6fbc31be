"""Prometheus metrics of the API, served at `GET /metrics`.

Names follow Prometheus' conventions: a `handcalc_` prefix, counters ending in
`_total`, durations in seconds, sizes in bytes. Routes are labelled by their path
template (`/models/{name}`), never the raw path, and requests that match no route
share `unmatched`, so a scan of random URLs cannot blow up the label sets.

With several API processes (`handcalc serve --workers N`), set
`PROMETHEUS_MULTIPROC_DIR` to an empty folder before they start (the CLI does): each
process writes its samples there and a scrape of any of them adds all up.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

disable_created_metrics()  # no `_created` series beside every counter and histogram

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("handcalc_requests", "HTTP requests answered.", ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    "handcalc_request_duration_seconds",
    "Time from a request's arrival to the end of its response.",
    ["route"],
    buckets=_SECONDS,
)
REQUEST_BYTES = Counter(
    "handcalc_request_body_bytes", "Request body bytes received (uploads).", ["route"]
)
ADMISSION = Counter(
    "handcalc_admission",
    "Requests let in or refused with 503 by the in-flight bound.",
    ["outcome"],
)
BATCH_ROWS = Histogram(
    "handcalc_batch_rows",
    "Rows (images, latents or pairs) in one model call.",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
BATCH_WAIT_SECONDS = Histogram(
    "handcalc_batch_wait_seconds",
    "Time a request waited for the model call that served it to start.",
    ["model"],
    buckets=_SECONDS,
)
INFERENCE_SECONDS = Histogram(
    "handcalc_inference_duration_seconds", "Duration of one model call.", ["model"],
    buckets=_SECONDS,
)  # fmt: skip
SERVED_VERSION = Gauge(
    "handcalc_model_version",
    "The version each registered name serves.",
    ["name"],
    multiprocess_mode="livemax",
)
MODEL_LOADS = Counter(
    "handcalc_model_loads", "Versions loaded, or that failed to load.", ["name", "outcome"]
)
JOBS = Counter(
    "handcalc_jobs", "Training jobs sent to the workers, and cancellations asked.", ["action"]
)


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type (every process's samples, when
    several share `PROMETHEUS_MULTIPROC_DIR`)."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class BatchMetrics:
    """What one model's micro-batcher reports (see `app.serving.batching.MicroBatcher`)."""

    def __init__(self, model: str) -> None:
        self._rows = BATCH_ROWS.labels(model)
        self._wait = BATCH_WAIT_SECONDS.labels(model)
        self._seconds = INFERENCE_SECONDS.labels(model)

    def call(self, rows: int, seconds: float) -> None:
        self._rows.observe(rows)
        self._seconds.observe(seconds)

    def waited(self, seconds: float) -> None:
        self._wait.observe(seconds)


class MetricsMiddleware:
    """Counts and times every HTTP request, and the body bytes it sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, received = 500, 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def noted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, counted_receive, noted_send)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(route, scope["method"], str(status)).inc()
            REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
            if received:
                REQUEST_BYTES.labels(route).inc(received)
