"""Small helpers for building test inputs."""

import contextlib

import numpy as np


def image_bytes(pixels: np.ndarray, format: str = "PNG", **save_options) -> bytes:
    """Encode an array (uint8 grey, RGB or RGBA) as an image file."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buffer, format=format, **save_options)
    return buffer.getvalue()


def noise_png(side: int = 64) -> bytes:
    """A PNG of random grey noise: it compresses badly, so cutting it truncates real data."""
    return image_bytes(np.random.default_rng(0).integers(0, 256, (side, side), dtype=np.uint8))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_benchmark(module: str, store, *arguments: str, timeout: float = 300) -> str:
    """Run `python -m module arguments` from the checkout against the artifact store `store`;
    its standard output, once it has exited 0 (else the test fails with all it printed)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    run = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "HANDCALC_ARTIFACT_ROOT": str(store)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def wait_until_ready(base: str, process, timeout: float, describe) -> None:
    """Poll `base`/readyz until it answers 200; fail with `describe()` if the process dies."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{base} did not get ready:\n{describe()}")
        time.sleep(0.2)


@contextlib.contextmanager
def s3_server():
    """A real S3 API server (moto in server mode) on a spare port; its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


S3_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def s3_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        **S3_CREDENTIALS,
    )


@contextlib.contextmanager
def api_process(folder, environment: dict, *arguments: str):
    """A real uvicorn API process with `environment` on top of this one's; (base, log)."""
    import os
    import subprocess

    from app.cli import api_command

    port = free_port()
    log = folder / f"api-{port}.log"
    process = subprocess.Popen(
        [*api_command("127.0.0.1", port, workers=1), *arguments],
        env={**os.environ, **environment},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, process, 90, log.read_text)
        yield base, log
    finally:
        process.kill()
        process.wait()


def private_api_environment(trained_root, folder, token: str, **extra: str) -> dict[str, str]:
    """What a test API over its own copy of `trained_root` (in `folder/store`) needs: the
    store, a private state folder, the token and a quick reload; plus `extra` settings."""
    import shutil

    shutil.copytree(trained_root, folder / "store")
    return {
        "HANDCALC_ARTIFACT_ROOT": str(folder / "store"),
        "HANDCALC_STATE_DIR": str(folder / "state"),
        "HANDCALC_API_TOKEN": token,
        "HANDCALC_RELOAD_INTERVAL_S": "0.1",
        **extra,
    }
