"""Fault figures of one API process as shipped: what oversized bodies cost it, and how fast
job routes answer while the broker is down.

    python -m bench.faults

Prints: the bytes the app read of a 256 MiB chunked upload before its 413 (from the
server's own log line), the time to a 413 for a declared 64 MiB body, and, with a
redis-server of its own stopped, the time to each job route's 503 and to /classify's
answer. Needs redis-server on the PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from app.cli import DEFAULT_API_PROCESSES, api_command
from app.settings import ApiSettings
from bench.load import _free_port
from bench.machine import describe

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 64 * 1024
HEADERS = (
    "POST /classify HTTP/1.1\r\nHost: bench\r\n"
    "Content-Type: multipart/form-data; boundary=bench\r\n{extra}\r\n"
)
PART = (
    b'--bench\r\nContent-Disposition: form-data; name="image"; filename="huge.png"\r\n'
    b"Content-Type: image/png\r\n\r\n"
)


def _reply(connection: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = connection.recv(65536)
        if not piece:
            break
        data += piece
    return data.decode(errors="replace").split("\r\n", 1)[0]


def chunked_upload(port: int, total: int) -> tuple[str, int]:
    """Stream `total` bytes chunked; the status line and how many bytes went out."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(HEADERS.format(extra="Transfer-Encoding: chunked\r\n").encode())
        connection.sendall(b"%x\r\n" % len(PART) + PART + b"\r\n")
        chunk = b"%x\r\n" % CHUNK + b"x" * CHUNK + b"\r\n"
        try:
            while sent < total:
                connection.sendall(chunk)
                sent += CHUNK
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _reply(connection), sent


def declared_upload(port: int, length: int) -> tuple[str, float]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        started = time.perf_counter()
        connection.sendall(HEADERS.format(extra=f"Content-Length: {length}\r\n").encode())
        return _reply(connection), time.perf_counter() - started


def start_api(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen(
        api_command("127.0.0.1", port, DEFAULT_API_PROCESSES),
        env={**os.environ, **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process, port
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the API did not start:\n{log.read_text()}")


def main() -> int:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        print("redis-server is needed: apt-get install redis-server", file=sys.stderr)
        return 2
    state = Path(tempfile.mkdtemp(prefix="handcalc-faults-"))
    redis_port = _free_port()
    redis = subprocess.Popen(
        [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--dir", str(state)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    token = "bench-faults-token-0123456789"
    env = {
        "HANDCALC_ARTIFACT_ROOT": os.environ.get("HANDCALC_ARTIFACT_ROOT", str(ROOT / "starter")),
        "HANDCALC_STATE_DIR": str(state / "api"),
        "HANDCALC_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "HANDCALC_API_TOKEN": token,
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    log = state / "api.log"
    process, port = start_api(env, log)
    limit = ApiSettings().max_body_bytes
    print(f"{describe()}; python -m bench.faults; HANDCALC_MAX_BODY_BYTES={limit}")
    try:
        status, sent = chunked_upload(port, 256 * 2**20)
        time.sleep(0.2)
        read = [int(n) for n in re.findall(r"cut off after (\d+) bytes", log.read_text())]
        print(f"256 MiB chunked upload: {status}; the app read {read[-1]:,} bytes "
              f"(limit {limit:,}); the client got {sent:,} bytes out before the close")  # fmt: skip
        status, seconds = declared_upload(port, 64 * 2**20)
        print(f"declared 64 MiB body: {status} after {seconds * 1000:.1f} ms, no body sent")

        redis.terminate()
        redis.wait(timeout=10)
        headers = {"Authorization": f"Bearer {token}"}
        job = {"model": "classifier", "params": {"epochs": 1}}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for method, path in (("POST", "/jobs"), ("GET", "/jobs"), ("GET", "/readyz")):
                started = time.perf_counter()
                response = client.request(
                    method, path, headers=headers, json=job if method == "POST" else None
                )
                seconds = time.perf_counter() - started
                print(f"Redis down: {method} {path} -> {response.status_code} "
                      f"in {seconds * 1000:.0f} ms")  # fmt: skip
            image = (ROOT / "examples" / "7.png").read_bytes()
            started = time.perf_counter()
            response = client.post("/classify", files={"image": image})
            seconds = time.perf_counter() - started
            print(f"Redis down: POST /classify -> {response.status_code} "
                  f"digit {response.json().get('digit')} in {seconds * 1000:.0f} ms")  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=20)
        if redis.poll() is None:
            redis.terminate()
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
