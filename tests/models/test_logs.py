"""The JSON log format and the request/job fields bound to a context, on real log records."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from datetime import UTC, datetime

import pytest

from models.logs import JsonFormatter, annotate, bind, configure_logging, context, unbind


@pytest.fixture()
def captured():
    """A logger of the test's own writing JSON to a buffer; the parsed lines."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("handcalc-test-logs")
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.DEBUG

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield logger, lines
    logger.handlers = []


def test_a_line_is_one_json_object_with_time_level_logger_and_message(captured):
    logger, lines = captured
    logger.warning("disk %s is %d%% full\nsecond line", "/var", 93)
    (line,) = lines()
    assert set(line) == {"time", "level", "logger", "message"}
    assert line["level"] == "WARNING" and line["logger"] == "handcalc-test-logs"
    assert line["message"] == "disk /var is 93% full\nsecond line"
    stamp = datetime.fromisoformat(line["time"])
    assert stamp.tzinfo == UTC and abs((datetime.now(UTC) - stamp).total_seconds()) < 5


def test_bound_fields_and_extras_are_on_the_line_and_gone_after_unbind(captured):
    logger, lines = captured
    token = bind(request_id="abc-123", method="POST", path="/jobs", job_id=None)
    annotate(model="classifier", version=2)
    logger.info("inside", extra={"status": 202, "duration_ms": 1.5, "unrelated": "no"})
    unbind(token)
    logger.info("outside")
    annotate(model="ignored")  # no request bound: nothing happens
    inside, outside = lines()
    assert inside == {
        **{key: inside[key] for key in ("time", "level", "logger")},
        "message": "inside",
        "request_id": "abc-123",
        "method": "POST",
        "path": "/jobs",
        "model": "classifier",
        "version": 2,
        "status": 202,
        "duration_ms": 1.5,
    }
    assert "request_id" not in outside and "model" not in outside and context() == {}


def test_an_exception_is_one_string_field(captured):
    logger, lines = captured
    try:
        raise ValueError("bad pixel")
    except ValueError:
        logger.exception("failed")
    (line,) = lines()
    assert line["message"] == "failed"
    assert "Traceback" in line["exception"] and "ValueError: bad pixel" in line["exception"]


def test_concurrent_tasks_and_their_threads_keep_their_own_fields(captured):
    logger, lines = captured

    async def request(identifier: str) -> None:
        token = bind(request_id=identifier)
        await asyncio.sleep(0.01)  # the other request runs meanwhile
        await asyncio.to_thread(annotate, model=f"model-{identifier}")  # a route's thread
        logger.info("done %s", identifier)
        unbind(token)

    async def both() -> None:
        await asyncio.gather(request("one"), request("two"))

    asyncio.run(both())
    thread = threading.Thread(target=logger.info, args=("elsewhere",))
    thread.start()
    thread.join()
    done = {line["message"]: line for line in lines()}
    assert done["done one"]["request_id"] == "one" and done["done one"]["model"] == "model-one"
    assert done["done two"]["request_id"] == "two" and done["done two"]["model"] == "model-two"
    assert "request_id" not in done["elsewhere"]


def test_configure_logging_sends_the_named_loggers_and_warnings_through_one_format(capfd):
    import warnings

    root = logging.getLogger()
    saved = root.handlers, root.level
    library = logging.getLogger("handcalc-test-library")
    library.addHandler(logging.StreamHandler())  # a library's own plain handler
    try:
        configure_logging("json", loggers=("handcalc-test-library",))
        library.info("from the library")
        logging.getLogger("handcalc-test-other").info("from the root")
        warnings.warn("careful", UserWarning, stacklevel=1)
    finally:
        root.handlers, root.level = saved
        library.handlers, library.propagate = [], True
        logging.captureWarnings(False)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert [line["logger"] for line in lines] == [
        "handcalc-test-library",
        "handcalc-test-other",
        "py.warnings",
    ]
    assert "careful" in lines[2]["message"]
