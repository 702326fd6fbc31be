"""Logs for people or for machines, and what each line knows about its request or job.

`configure_logging("json")` makes every record one JSON object on one line: time (ISO 8601,
UTC), level, logger, message, the fields bound to the current request or job (request_id,
route, method, status, duration_ms, model, version, job_id, ...) and an exception's traceback
as one string. `configure_logging("text")` keeps the plain format.

The fields live in a context variable: `bind()` starts a fresh set for a request or a job
(asyncio tasks and the threads Starlette runs sync code in each see their own), `annotate()`
adds to the current set in place, so that what a route learns (the model version it used)
is on the lines logged after it, the access line included.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(levelname)s:     %(name)s: %(message)s"

FIELDS = (
    "request_id",
    "job_id",
    "method",
    "path",
    "route",
    "status",
    "duration_ms",
    "model",
    "version",
    "kind",
)
"""Record attributes (from `extra=` or a filter) copied to a JSON line, in this order."""

_context: ContextVar[dict[str, Any] | None] = ContextVar("handcalc_log_context", default=None)


def bind(**fields: Any) -> Token:
    """Start a new set of fields for what follows in this context (a request, a job);
    `unbind(token)` restores the previous one."""
    return _context.set({key: value for key, value in fields.items() if value is not None})


def unbind(token: Token) -> None:
    _context.reset(token)


def annotate(**fields: Any) -> None:
    """Add fields to the current set, seen by every later line of the same request or job;
    outside one, nothing happens."""
    current = _context.get()
    if current is not None:
        current.update((key, value) for key, value in fields.items() if value is not None)


def context() -> dict[str, Any]:
    """The fields bound now (a copy; empty outside a request or job)."""
    return dict(_context.get() or {})


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_context.get() or {})
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def formatter(format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(
    format: LogFormat, level: int | str = logging.INFO, loggers: tuple[str, ...] = ()
) -> None:
    """The root logger writes to stderr in `format`; each of `loggers` (say uvicorn's, which
    set up handlers of their own) is given the same handler and stops propagating, so every
    line leaves in one format. Python's warnings become log records too.

    In JSON the handler writes to its own copy of file descriptor 2, so that
    `native_output_logged` can take the descriptor from native code alone."""
    stream = os.fdopen(os.dup(2), "w", buffering=1) if format == "json" else sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(format))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in loggers:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
    logging.captureWarnings(True)


NATIVE_LEVELS = {"INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}


@contextmanager
def native_output_logged(name: str, enabled: bool = True) -> Iterator[None]:
    """What is written to file descriptor 2 while the block runs (by native code such as
    LiteRT, which prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." past
    Python's logging), logged line by line afterwards as records of logger `name`."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            logger = logging.getLogger(name)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                prefix, _, rest = line.partition(": ")
                if prefix in NATIVE_LEVELS:
                    logger.log(NATIVE_LEVELS[prefix], rest)
                elif line.strip():
                    logger.warning(line)


def reformat(logger: logging.Logger, format: LogFormat) -> None:
    """Give every handler of `logger` the `format` formatter (for handlers set up by another
    library, such as Celery's)."""
    for handler in logger.handlers:
        handler.setFormatter(formatter(format))
