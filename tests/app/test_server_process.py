"""The API as users run it: a uvicorn process, spoken to over HTTP."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.helpers import image_bytes


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def server(trained_root):
    port = _free_port()
    environment = {**os.environ, "HANDCALC_ARTIFACT_ROOT": str(trained_root)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "app.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(process.stdout.read().decode())
        time.sleep(0.1)
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
