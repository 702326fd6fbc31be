"""deploy/nginx.conf, run by a real nginx in front of two real API processes: requests are
spread over both, bodies over the limit and slow clients are stopped at the balancer, a
replica that dies is skipped, and one at its bound is not sent more."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.cli import api_command
from bench import balancer
from tests.helpers import free_port, image_bytes, wait_until_ready


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
    try:
        with balancer.running(tmp_path, free_port(), ports, body_timeout_s=2) as base:
            yield base, int(base.rsplit(":", 1)[1]), processes, logs, ports
    finally:
        for process in processes:
            process.kill()
            process.wait()


def test_both_replicas_answer_through_the_balancer(balanced, digits):
    base, _port, _processes, logs, _ports = balanced
    images, labels = digits
    with httpx.Client() as client:
        for index in range(24):
            response = client.post(f"{base}/classify", files={"image": image_bytes(images[index])})
            assert response.status_code == 200 and response.json()["digit"] == labels[index]
    served = [log.read_text().count('"POST /classify HTTP/1.1" 200') for log in logs]
    assert sum(served) == 24 and min(served) >= 6, served


def test_a_body_over_the_limit_is_refused_by_the_balancer(balanced):
    _base, port, _processes, logs, _ports = balanced
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
    _base, port, _processes, logs, _ports = balanced
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
    base, _port, processes, _logs, _ports = balanced
    processes[0].kill()
    processes[0].wait()
    images, labels = digits
    with httpx.Client() as client:
        for index in range(6):
            response = client.post(f"{base}/classify", files={"image": image_bytes(images[index])})
            assert response.status_code == 200 and response.json()["digit"] == labels[index]


def test_a_replica_at_its_bound_is_sent_nothing_more(balanced, digits, tmp_path):
    """The shipped per-replica bound (max_conns), lowered to 1 for one replica: while that
    replica is busy (stopped, so its one request waits), the next request is refused by
    nginx at once with a 503 that says so, and the waiting one is answered afterwards."""
    _base, _port, processes, _logs, ports = balanced
    assert balancer.shipped_max_conns() == 32
    images, labels = digits
    folder = tmp_path / "bound-1"
    folder.mkdir()
    with balancer.running(folder, free_port(), ports[:1], max_conns=1) as base:
        processes[0].send_signal(signal.SIGSTOP)
        try:
            with ThreadPoolExecutor(1) as pool:
                waiting = pool.submit(
                    httpx.post, f"{base}/classify",
                    files={"image": image_bytes(images[0])}, timeout=30,
                )  # fmt: skip
                time.sleep(1.0)  # passed on to the stopped replica by now
                assert not waiting.done()
                started = time.monotonic()
                refused = httpx.post(
                    f"{base}/classify", files={"image": image_bytes(images[1])}, timeout=10
                )
                took = time.monotonic() - started
                processes[0].send_signal(signal.SIGCONT)
                answered = waiting.result(timeout=30)
        finally:
            processes[0].send_signal(signal.SIGCONT)
    assert refused.status_code == 503 and took < 0.5, (refused.status_code, took)
    assert refused.headers["retry-after"] == "1"
    assert "at capacity" in refused.json()["detail"]
    assert answered.status_code == 200 and answered.json()["digit"] == labels[0]
