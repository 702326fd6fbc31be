"""Logs a machine can read, from a real uvicorn process: every line of its output is one
JSON object, and the lines of a request carry the id it came with or was given."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from subprocess import STDOUT

import httpx
import pytest

from tests.helpers import api_process, free_port, image_bytes, wait_until_ready


def _lines(log) -> list[dict]:
    lines = log.read_text().splitlines()
    assert lines
    return [json.loads(line) for line in lines]  # every line, or the test fails here


def _wait_for(log, text: str) -> None:
    """The access line is written once the response is sent: wait for it before the
    process is killed."""
    deadline = time.monotonic() + 10
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"{text!r} never logged"
        time.sleep(0.05)


def test_every_line_is_json_and_a_request_id_follows_its_request(tmp_path, trained_root, digits):
    environment = {
        "HANDCALC_LOG_FORMAT": "json",
        "HANDCALC_ACCESS_LOG": "true",
        "HANDCALC_ARTIFACT_ROOT": str(trained_root),
    }
    with api_process(tmp_path, environment) as (base, log):
        images, labels = digits
        chosen = httpx.post(
            f"{base}/classify",
            files={"image": image_bytes(images[3])},
            headers={"X-Request-ID": "abc-123"},
        )
        bad = httpx.post(f"{base}/classify", files={"image": b"not an image"})
        too_long = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "x" * 201})
        unknown = httpx.get(f"{base}/no/such/route", headers={"X-Request-ID": "tab\there"})
        _wait_for(log, unknown.headers["x-request-id"])
    assert chosen.status_code == 200 and chosen.json()["digit"] == labels[3]
    assert chosen.headers["x-request-id"] == "abc-123"
    assert bad.status_code == 422 and unknown.status_code == 404
    generated = [bad.headers["x-request-id"], too_long.headers["x-request-id"]]
    generated.append(unknown.headers["x-request-id"])
    assert all(len(value) == 32 and int(value, 16) >= 0 for value in generated)
    assert len(set(generated)) == 3

    lines = _lines(log)
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
        assert line["time"].endswith("+00:00")
    loggers = {line["logger"] for line in lines}
    assert "uvicorn.error" in loggers  # uvicorn's own lines go through the same format
    assert "uvicorn.access" not in loggers  # its access line gives way to ours
    access = {line["request_id"]: line for line in lines if line["logger"] == "app.access"}

    line = access["abc-123"]
    assert line["method"] == "POST" and line["path"] == line["route"] == "/classify"
    assert line["status"] == 200 and 0 < line["duration_ms"] < 10_000
    assert line["model"] == "classifier" and line["version"] == chosen.json()["model"]["version"]
    assert access[generated[0]]["status"] == 422
    assert access[generated[1]]["route"] == "/healthz"
    assert access[generated[2]]["route"] == "unmatched"
    assert access[generated[2]]["status"] == 404


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_access_log_can_be_turned_off(tmp_path, trained_root, log_format):
    environment = {
        "HANDCALC_LOG_FORMAT": log_format,
        "HANDCALC_ACCESS_LOG": "false",
        "HANDCALC_ARTIFACT_ROOT": str(trained_root),
    }
    with api_process(tmp_path, environment) as (base, log):
        response = httpx.get(f"{base}/models", headers={"X-Request-ID": "quiet-1"})
        time.sleep(0.5)  # time for an access line to be written, were there one
    assert response.status_code == 200 and response.headers["x-request-id"] == "quiet-1"
    text = log.read_text()
    assert "Application startup complete" in text  # the process did log, but no requests
    assert "/models" not in text and "/readyz" not in text
    if log_format == "json":
        assert all(line["logger"] != "app.access" for line in _lines(log))


def test_handcalc_serve_with_two_processes_logs_only_json(tmp_path, trained_root):
    """Uvicorn's supervisor, which creates no app, logs JSON too (its `--log-config`)."""
    port = free_port()
    log = tmp_path / "serve.log"
    environment = {
        **os.environ,
        "HANDCALC_LOG_FORMAT": "json",
        "HANDCALC_ARTIFACT_ROOT": str(trained_root),
        "HANDCALC_STATE_DIR": str(tmp_path / "state"),
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(command, env=environment, stdout=log.open("w"), stderr=STDOUT)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", process, 90, log.read_text)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    messages = [line["message"] for line in _lines(log)]
    assert any(message.startswith("Started parent process") for message in messages)
    assert any(message.startswith("Stopping parent process") for message in messages)
    assert sum(message == "Application startup complete." for message in messages) == 2
