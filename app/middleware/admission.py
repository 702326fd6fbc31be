"""Bounded admission: an API process works on at most `max_in_flight` requests at once.

One more is answered 503 with `Retry-After` straight away, before its body is read,
instead of joining a queue that only grows under overload: the requests already
admitted keep their latency, and a load balancer or client can retry elsewhere.
Health probes are always admitted, so a busy process is never taken for a dead one.
"""

from __future__ import annotations

from fastapi import status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.metrics import ADMISSION

ALWAYS_ADMITTED = frozenset({"/healthz", "/readyz", "/metrics"})


class InFlight:
    """How many admitted requests the process is working on (shared with the model server,
    which runs a lone request's model call without a trip to a thread)."""

    def __init__(self) -> None:
        self.count = 0

    def current(self) -> int:
        return self.count


class AdmissionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int,
        retry_after_s: int = 1,
        counter: InFlight | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.counter = counter or InFlight()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_ADMITTED:
            await self.app(scope, receive, send)
            return
        if self.counter.count >= self.max_in_flight:
            ADMISSION.labels("refused").inc()
            # one event loop per process: the check and the increment cannot interleave
            await _drain(receive)
            response = JSONResponse(
                {
                    "detail": f"the server is at capacity ({self.max_in_flight} requests in "
                    f"progress in this process); retry in {self.retry_after_s} s"
                },
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                # a refused client reconnects, which paces its retries; its (bounded) body
                # was read first, so closing cannot reset the connection under the reply
                headers={"Retry-After": str(self.retry_after_s), "Connection": "close"},
            )
            await response(scope, receive, send)
            return
        ADMISSION.labels("admitted").inc()
        self.counter.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.counter.count -= 1


DRAIN_BYTES = 1024 * 1024
"""Most of a refused request's body read before its connection is closed regardless."""


async def _drain(receive: Receive) -> None:
    """Read and drop the refused request's body, up to `DRAIN_BYTES`."""
    drained = 0
    while drained <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))
