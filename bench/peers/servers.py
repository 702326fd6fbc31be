"""The servers the peer benchmark starts: how to start each, and when it is ready.

Every server starts in a session of its own, so stopping it stops every process it
made (BentoML's and Ray's helpers included). Ready means answering a real upload
correctly: the time to the first right answer is the cold start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.peers.shared import ADD_VARIABLE, CLASSIFIER_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
STARTUP_LIMIT_S = 120.0


@dataclass(frozen=True)
class Server:
    name: str
    describe: str
    command: Callable[[Path, int], list[str]]
    """(peers' venv, port) -> the command line"""
    peer: bool = True


def _handcalc(venv: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]


def _handcalc_two(venv: Path, port: int) -> list[str]:
    return [*_handcalc(venv, port), "--workers", "2"]


def _fastapi(venv: Path, port: int) -> list[str]:
    app = ["bench.peers.fastapi_app:app", "--host", "127.0.0.1", "--port", str(port)]
    return [str(venv / "bin" / "python"), "-m", "uvicorn", *app, "--no-access-log"]


def _litserve(venv: Path, port: int) -> list[str]:
    return [str(venv / "bin" / "python"), "-m", "bench.peers.litserve_app", "--port", str(port)]


def _bentoml(venv: Path, port: int) -> list[str]:
    service = ["bench.peers.bentoml_app:Peer", "--host", "127.0.0.1", "--port", str(port)]
    return [str(venv / "bin" / "bentoml"), "serve", *service]


def _ray(venv: Path, port: int) -> list[str]:
    return [str(venv / "bin" / "python"), "-m", "bench.peers.ray_app", "--port", str(port)]


SERVERS: tuple[Server, ...] = (
    Server("handcalc", "handcalc, `handcalc serve` as shipped", _handcalc, peer=False),
    Server("handcalc-2", "handcalc, 2 processes (`--workers 2`)", _handcalc_two, peer=False),
    Server("fastapi", "plain FastAPI, sync `def` routes, no batching", _fastapi),
    Server("litserve", "LitServe 0.2, batch 64 / 2 ms", _litserve),
    Server("bentoml", "BentoML 1.4, adaptive batching (64)", _bentoml),
    Server("ray", "Ray Serve 2.60, `@serve.batch` 64 / 2 ms", _ray),
)
BY_NAME = {server.name: server for server in SERVERS}


@dataclass(frozen=True)
class Probe:
    """A real upload and the answer every server must give to it."""

    image: bytes
    digit: int
    a: bytes
    b: bytes
    total: int

    def classify_right(self, response: httpx.Response) -> bool:
        return response.status_code == 200 and _one(response.json()).get("digit") == self.digit

    def add_right(self, response: httpx.Response) -> bool:
        return response.status_code == 200 and _one(response.json()).get("result") == self.total


def _one(answer: dict | list) -> dict:
    """BentoML's batchable route answers a list of one for one upload."""
    return answer[0] if isinstance(answer, list) and len(answer) == 1 else answer


def environment(root: str, classifier: Path, add: Path, state: Path) -> dict[str, str]:
    """What each server runs with: the same store for handcalc, its exports for the peers."""
    return {
        **os.environ,
        "HANDCALC_ARTIFACT_ROOT": root,
        "HANDCALC_STATE_DIR": str(state),
        CLASSIFIER_VARIABLE: str(classifier),
        ADD_VARIABLE: str(add),
        "PYTHONPATH": str(ROOT),
        "BENTOML_HOME": str(state / "bentoml"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


def start(
    server: Server, venv: Path, port: int, env: dict[str, str], probe: Probe, log: Path
) -> tuple[subprocess.Popen, float]:
    """Start `server` alone and wait for its first right answer; (process, seconds)."""
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(
            server.command(venv, port), cwd=ROOT, env=env, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=5) as client:
        while time.perf_counter() - started < STARTUP_LIMIT_S and process.poll() is None:
            try:
                response = client.post(f"{base}/classify", files={"image": probe.image})
                if probe.classify_right(response):
                    return process, round(time.perf_counter() - started, 2)
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    stop(process)
    raise RuntimeError(f"{server.name} did not answer right: {log.read_text()[-3000:]}")


def check_answers(port: int, probe: Probe) -> dict[str, bool]:
    """Whether the server still answers both routes right (after the load)."""
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=10) as client:
        classify = client.post(f"{base}/classify", files={"image": probe.image})
        add = client.post(f"{base}/add", files={"a": probe.a, "b": probe.b})
    return {"classify": probe.classify_right(classify), "add": probe.add_right(add)}


def stop(process: subprocess.Popen) -> None:
    """SIGINT to the server's session, then SIGKILL to whatever is left after 20 s."""
    group = process.pid
    try:
        os.killpg(group, signal.SIGINT)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass  # gone already, or still there: whatever is left is killed below
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _group_alive(group):
        time.sleep(0.1)
    if _group_alive(group):
        os.killpg(group, signal.SIGKILL)
    if process.poll() is None:
        process.wait()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
