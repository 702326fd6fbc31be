"""deploy/nginx.conf, run by a real nginx in front of two real API processes: requests are
spread over both, bodies over the limit and slow clients are stopped at the balancer, and
a replica that dies is skipped."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from app.cli import api_command
from tests.helpers import free_port, image_bytes, wait_until_ready

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _local_config(folder: Path, port: int, replicas: list[int]) -> Path:
    """The compose file's nginx.conf with local ports, and a 2 s body timeout for the test."""
    text = CONFIG.read_text()
    servers = "\n".join(f"        server 127.0.0.1:{replica};" for replica in replicas)
    text = text.replace("        server api:8000 resolve;                # every replica `api` "
                        "resolves to", servers)  # fmt: skip
    text = re.sub(r"\n\s*resolver [^\n]*", "", text)
    text = text.replace("listen 8000;", f"listen 127.0.0.1:{port};")
    text = text.replace("client_body_timeout 10s;", "client_body_timeout 2s;")
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


@pytest.fixture()
def balanced(trained_root, tmp_path):
    processes, logs, ports = [], [], []
    for index in range(2):
        port = free_port()
        log = tmp_path / f"api-{index}.log"
        environment = {
            **os.environ,
            "HANDCALC_ARTIFACT_ROOT": str(trained_root),
            "HANDCALC_STATE_DIR": str(tmp_path / f"state-{index}"),
            "HANDCALC_ACCESS_LOG": "true",  # who answered what
        }
        process = subprocess.Popen(
            api_command("127.0.0.1", port, workers=1),
            env=environment,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        logs.append(log)
        ports.append(port)
        wait_until_ready(f"http://127.0.0.1:{port}", process, 60, log.read_text)
    port = free_port()
    config = _local_config(tmp_path, port, ports)
    directives = f"daemon off; pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'};"
    checked = subprocess.run([NGINX, "-t", "-c", str(config), "-g", directives],
                             capture_output=True, text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen([NGINX, "-c", str(config), "-g", directives])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, nginx, 10, lambda: (tmp_path / "error.log").read_text())
        yield base, port, processes, logs
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(timeout=10)
        for process in processes:
            process.kill()
            process.wait()


def test_both_replicas_answer_through_the_balancer(balanced, digits):
    base, _port, _processes, logs = balanced
    images, labels = digits
    with httpx.Client() as client:
        for index in range(24):
            response = client.post(f"{base}/classify", files={"image": image_bytes(images[index])})
            assert response.status_code == 200 and response.json()["digit"] == labels[index]
    served = [log.read_text().count('"POST /classify HTTP/1.1" 200') for log in logs]
    assert sum(served) == 24 and min(served) >= 6, served


def test_a_body_over_the_limit_is_refused_by_the_balancer(balanced):
    _base, port, _processes, logs = balanced
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(
            b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
            b"boundary=b\r\nContent-Length: 67108864\r\n\r\n"
        )
        reply = connection.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 413")
    assert json.loads(reply.split("\r\n\r\n", 1)[1])["detail"].startswith("the request body is")
    assert all("POST /classify" not in log.read_text() for log in logs)  # never passed on


def test_a_client_that_stalls_is_dropped_and_never_reaches_the_api(balanced):
    _base, port, _processes, logs = balanced
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
            b"boundary=b\r\nContent-Length: 1000\r\n\r\n--b\r\n"
        )
        reply = connection.recv(65536).decode()  # then nothing more is sent
    waited = time.monotonic() - started
    assert 1.5 < waited < 6, waited
    assert reply == "", reply[:200]  # nginx closes a timed-out request without a reply
    assert all("POST /classify" not in log.read_text() for log in logs)


def test_a_dead_replica_is_skipped(balanced, digits):
    base, _port, processes, _logs = balanced
    processes[0].kill()
    processes[0].wait()
    images, labels = digits
    with httpx.Client() as client:
        for index in range(6):
            response = client.post(f"{base}/classify", files={"image": image_bytes(images[index])})
            assert response.status_code == 200 and response.json()["digit"] == labels[index]
