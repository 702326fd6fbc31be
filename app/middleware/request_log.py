"""Every request's id, and the API's log configuration.

A request keeps the `X-Request-ID` it came with (printable ASCII, at most 200 characters)
or is given a new one; the response carries it back in `X-Request-ID`, whatever answered
(a route, an error handler, a 503 refusal), and every log line written while it is handled
carries it (`models.logs`), as do the training jobs it sends (`app.jobs`).

In the JSON format this middleware also writes the access line, with the route template,
status and duration, instead of uvicorn's (which knows neither the route nor the time).
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.logs import annotate, bind, configure_logging, unbind

HEADER = b"x-request-id"
MAX_LENGTH = 200
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")
UVICORN_ACCESS = "uvicorn.access"

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("app.access")
INTERNAL_ERROR = JSONResponse({"detail": "internal server error"}, status_code=500)


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's `X-Request-ID` when it is 1 to 200 printable ASCII characters, else a
    new uuid4 in hex."""
    for name, value in headers:
        if name == HEADER:
            if 0 < len(value) <= MAX_LENGTH and all(32 <= byte < 127 for byte in value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Binds the request's id (and method and path) to the log context, returns the id in
    the response, and, with `access_log`, logs one line per request when it ends."""

    def __init__(self, app: ASGIApp, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        identifier = request_id(scope["headers"])
        token = bind(request_id=identifier, method=scope["method"], path=scope["path"])
        header = (HEADER, identifier.encode("ascii"))
        status, started_response = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message["headers"] = [*message.get("headers", ()), header]
                annotate(route=_route(scope), status=status)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if started_response:
                raise
            # logged here, with the request's id, and answered with it: uvicorn would log
            # it outside the request and Starlette answer without the header
            logger.exception("unhandled error in %s %s", scope["method"], scope["path"])
            await INTERNAL_ERROR(scope, receive, send_with_id)
        finally:
            if self.access_log:
                duration_ms = round((time.perf_counter() - started) * 1000.0, 3)
                access_logger.info(
                    "%s %s %d %.1f ms",
                    scope["method"],
                    scope["path"],
                    status,
                    duration_ms,
                    extra={"route": _route(scope), "status": status, "duration_ms": duration_ms},
                )
            unbind(token)


def _route(scope: Scope) -> str:
    return getattr(scope.get("route"), "path", None) or "unmatched"


UVICORN_JSON_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "models.logs.JsonFormatter"}},
    "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "uvicorn": {"handlers": ["json"], "level": "INFO", "propagate": False},
        "uvicorn.access": {"handlers": [], "propagate": False},
    },
}
"""Uvicorn's `--log-config` in JSON: for the lines of its supervisor process (with several
API processes), which creates no app to configure logging."""


def configure_api_logging(format: str, access_log: bool) -> None:
    """Logging for an API process, after uvicorn set up its own loggers: in JSON, uvicorn's
    lines go through the same JSON handler as everyone's, and its access log gives way to
    `RequestLogMiddleware`'s; without `access_log`, there is no access line at all.

    Uvicorn decides per connection whether to write access lines from whether its access
    logger has handlers, so an emptied one costs nothing."""
    if format == "json":
        configure_logging("json", loggers=UVICORN_LOGGERS)
    elif not logging.getLogger().handlers:  # uvicorn configures only its own loggers
        configure_logging("text")
    if format == "json" or not access_log:
        uvicorn_access = logging.getLogger(UVICORN_ACCESS)
        uvicorn_access.handlers = []
        uvicorn_access.propagate = False
