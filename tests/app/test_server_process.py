"""The API as users run it: a uvicorn process, spoken to over HTTP."""

import os
import signal
import subprocess

import httpx
import pytest

from app.cli import api_command
from tests.helpers import free_port, image_bytes, wait_until_ready


@pytest.fixture()
def server(trained_root):
    port = free_port()
    environment = {**os.environ, "HANDCALC_ARTIFACT_ROOT": str(trained_root)}
    process = subprocess.Popen(
        api_command("127.0.0.1", port, workers=1),
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_ready(base, process, 60, lambda: process.stdout.read().decode())
    yield base, process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_uvicorn_serves_real_requests(server, digits):
    base, process = server
    x, y = digits
    response = httpx.post(f"{base}/classify", files={"image": image_bytes(x[1])})
    assert response.status_code == 200 and response.json()["digit"] == y[1]
    bad = httpx.post(f"{base}/classify", files={"image": b"not an image"})
    assert bad.status_code == 422 and "not an image" in bad.json()["detail"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0
