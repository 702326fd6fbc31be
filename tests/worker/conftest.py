"""A real stack for the job tests: Redis (or the embedded queue), a Celery worker, uvicorn."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from app.cli import api_command, worker_command
from tests.conftest import SUBSET
from tests.helpers import free_port, wait_until_ready

REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of the tests' own, emptied before and after
TOKEN = "test-token-0123456789"
HEARTBEAT_TIMEOUT_S = 8


def _wait(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Stack:
    base: str
    state: Path
    environment: dict[str, str]
    worker: subprocess.Popen | None = None
    api: subprocess.Popen | None = None
    logs: list[Path] = field(default_factory=list)
    replicas: list[subprocess.Popen] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=lambda: {"Authorization": f"Bearer {TOKEN}"})

    @property
    def artifacts(self) -> Path:
        return self.state / "artifacts"

    def start_worker(self) -> None:
        log = self.state / f"worker-{len(self.logs)}.log"
        self.logs.append(log)
        self.worker = subprocess.Popen(
            [*worker_command(1), "--hostname", f"test-{os.getpid()}-{len(self.logs)}@%h"],
            env=self.environment,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so SIGKILL reaches the pool too
        )
        _wait(lambda: " ready." in log.read_text(), 60, "the worker to be ready")

    def kill_worker(self) -> None:
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def start_api(self, port: int) -> None:
        log = self.state / "api.log"
        self.api = subprocess.Popen(
            api_command("127.0.0.1", port, workers=1),
            env=self.environment,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_until_ready(self.base, self.api, 60, log.read_text)

    def start_replica(self) -> str:
        """A second API process sharing only Redis and the artifact store; its base URL."""
        state = self.state.parent / f"replica-{len(self.replicas)}"
        state.mkdir()
        environment = {
            **self.environment,
            "HANDCALC_STATE_DIR": str(state),
            "HANDCALC_ARTIFACT_ROOT": self.environment.get(
                "HANDCALC_ARTIFACT_ROOT", str(self.artifacts)
            ),
        }
        port = free_port()
        log = state / "api.log"
        process = subprocess.Popen(
            api_command("127.0.0.1", port, workers=1),
            env=environment,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        self.replicas.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base, process, 60, log.read_text)
        return base

    def stop(self) -> None:
        for process in (*self.replicas, self.api, self.worker):
            if process is not None and process.poll() is None:
                if process is self.worker:
                    os.killpg(process.pid, signal.SIGTERM)
                else:
                    process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    # HTTP helpers ----------------------------------------------------------------------

    def submit(self, model: str, **params) -> str:
        response = httpx.post(
            f"{self.base}/jobs", json={"model": model, "params": params}, headers=self.headers
        )
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def job(self, job_id: str) -> dict:
        response = httpx.get(f"{self.base}/jobs/{job_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for_job(self, job_id: str, states: set[str], timeout: float = 120) -> dict:
        return _wait(
            lambda: (job := self.job(job_id))["state"] in states and job,
            timeout,
            f"job {job_id} to reach {states}",
            interval=0.2,
        )


def _make_stack(
    tmp_path: Path,
    trained_root: Path,
    broker_url: str | None,
    *,
    worker: bool = True,
    extra: dict[str, str] | None = None,
) -> Stack:
    state = tmp_path / "state"
    state.mkdir()
    shutil.copytree(trained_root, state / "artifacts")
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDCALC_")},
        "HANDCALC_STATE_DIR": str(state),
        "HANDCALC_DATA": str(SUBSET),
        "HANDCALC_API_TOKEN": TOKEN,
        "HANDCALC_RELOAD_INTERVAL_S": "0.2",
        "HANDCALC_JOB_HEARTBEAT_TIMEOUT_S": str(HEARTBEAT_TIMEOUT_S),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    if broker_url:
        environment["HANDCALC_BROKER_URL"] = broker_url
    environment.update(extra or {})
    stack = Stack(base=f"http://127.0.0.1:{port}", state=state, environment=environment)
    stack.start_api(port)
    if worker:
        stack.start_worker()
    return stack


@pytest.fixture()
def redis_stack(tmp_path, trained_root):
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    stack = _make_stack(tmp_path, trained_root, REDIS_URL)
    try:
        yield stack
    finally:
        stack.stop()
        client.flushdb()
        client.close()


@pytest.fixture()
def observed_stack(tmp_path, trained_root):
    """`redis_stack` logging JSON, its worker serving metrics; (stack, metrics URL)."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    port = free_port()
    extra = {
        "HANDCALC_LOG_FORMAT": "json",
        "HANDCALC_ACCESS_LOG": "true",  # the API's line for the request that sent the job
        "HANDCALC_WORKER_METRICS_PORT": str(port),
    }
    stack = _make_stack(tmp_path, trained_root, REDIS_URL, extra=extra)
    try:
        yield stack, f"http://127.0.0.1:{port}/metrics"
    finally:
        stack.stop()
        client.flushdb()
        client.close()


@pytest.fixture()
def embedded_stack(tmp_path, trained_root):
    stack = _make_stack(tmp_path, trained_root, None)
    try:
        yield stack
    finally:
        stack.stop()


class RedisServer:
    """A redis-server of the test's own on a spare port, appending every write to disk
    (as compose runs it), so that it can be stopped and started again with its data."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.folder),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
            ],
            stdout=(self.folder / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        _wait(lambda: _pings(client), 10, "the test's redis-server to start")
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes its append-only file and exits
            self.process.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture()
def own_redis(tmp_path):
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
