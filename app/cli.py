"""The `handcalc` command: run the whole service, or one part of it.

    handcalc run        API and one worker together (what `make run` does)
    handcalc serve      the API alone (uvicorn)
    handcalc worker     one training worker (Celery)
    handcalc train ...  train models in this process (see `handcalc train --help`)
    handcalc classify, read, add, multiply, compare, jobs, models
                        talk to a running API (app.client.commands; --help on each)

The API and the worker are started as separate processes by module name; this
module imports neither of them.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

from app.metrics import MULTIPROCESS_DIR
from app.middleware.request_log import UVICORN_JSON_CONFIG
from app.settings import ApiSettings
from models.artifacts.stores import open_store

TOKEN_FILE = "api-token"
# One API process: its event loop reads uploads on one core while LiteRT computes on the
# other. In bench/results/peers.md (make bench-peers, 2-core EPYC) it served /classify at 32
# clients at 3,278 requests/s (median of 5 starts, p99 20 ms) in 252 MB; two processes
# served a median of 4,353 but in 511 MB, past the 300 MB memory goal.
DEFAULT_API_PROCESSES = 1


def api_command(host: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app",
        "--host", host, "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip


def log_arguments(settings: ApiSettings) -> list[str]:
    """In JSON, uvicorn's `--log-config` making its own supervisor's lines JSON too."""
    if settings.log_format != "json":
        return []
    path = settings.state_dir.absolute() / "uvicorn-logging.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(UVICORN_JSON_CONFIG))
    return ["--log-config", str(path)]


def worker_command(concurrency: int = 1) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
        "--concurrency", str(concurrency), "--loglevel", "INFO",
        "--without-mingle", "--without-gossip",
    ]  # fmt: skip


def ensure_token(settings: ApiSettings) -> str:
    """HANDCALC_API_TOKEN, or a token generated once and kept in the state folder."""
    if settings.api_token is not None:
        return settings.api_token.get_secret_value()
    path = settings.state_dir.absolute() / TOKEN_FILE
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    return token


def metrics_environment(settings: ApiSettings, workers: int) -> dict[str, str]:
    """For several API processes, a fresh folder where each writes its Prometheus samples
    (`PROMETHEUS_MULTIPROC_DIR`, unless already set), so any one's /metrics adds all up."""
    if workers < 2 or os.environ.get(MULTIPROCESS_DIR):
        return {}
    folder = settings.state_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)  # samples of processes that are gone
    folder.mkdir(parents=True)
    return {MULTIPROCESS_DIR: str(folder.absolute())}


def run(arguments: argparse.Namespace) -> int:
    """Start the API and a worker, print where to find them, stop both on Ctrl-C."""
    settings = ApiSettings()
    token = ensure_token(settings)
    environment = {
        **os.environ,
        "HANDCALC_API_TOKEN": token,
        **metrics_environment(settings, arguments.workers),
    }
    processes = [
        subprocess.Popen(worker_command(), env=environment),
        subprocess.Popen(
            api_command(arguments.host, arguments.port, arguments.workers)
            + log_arguments(settings),
            env=environment,
        ),
    ]
    base = f"http://{arguments.host}:{arguments.port}"
    broker = settings.broker_url or f"embedded (files under {settings.state_dir.absolute()})"
    print(
        f"\nhandcalc is starting\n"
        f"  API docs:   {base}/docs\n"
        f"  API token:  {token}   (send as 'Authorization: Bearer <token>')\n"
        f"  artifacts:  {settings.artifacts}\n"
        f"  broker:     {broker}\n"
        f"Press Ctrl-C to stop.\n",
        flush=True,
    )
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(p.poll() is None for p in processes):
        time.sleep(0.2)
    code = next((p.returncode for p in processes if p.poll() not in (None, 0)), 0)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    print("handcalc stopped", flush=True)
    return code


def list_models(arguments: argparse.Namespace) -> int:
    store = open_store(ApiSettings())
    print(f"{'model':<18} {'kind':<12} {'version':>7}  {'active':<6}  metrics")
    for name in store.names():
        active = store.active_version(name)
        kind = store.kind_of(name) or "?"
        for stored in store.versions(name):
            metrics = ", ".join(f"{k} {v:.4f}" for k, v in stored.metadata["metrics"].items())
            flag = "*" if stored.version == active else ""
            print(f"{name:<18} {kind:<12} {stored.version:>7}  {flag:<6}  {metrics}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        from models.train import main as train_main  # TensorFlow, only for this command

        return train_main(argv[1:])
    parser = argparse.ArgumentParser(prog="handcalc", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "serve"):
        command = commands.add_parser(name, help=f"{name} the service")
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=8000)
        command.add_argument(
            "--workers", type=int, default=DEFAULT_API_PROCESSES, help="API processes"
        )
    worker = commands.add_parser("worker", help="run a training worker")
    worker.add_argument("--concurrency", type=int, default=1)
    commands.add_parser("train", help="train models (see handcalc train --help)")
    if argv[:1] not in (["run"], ["serve"], ["worker"]):
        # the client's commands (httpx and all): not loaded to start a server, which
        # would pay for them in its cold start before replacing itself with uvicorn
        from app.client.commands import add_commands

        add_commands(commands, list_store=list_models)
    arguments = parser.parse_args(argv)
    if hasattr(arguments, "handler"):
        return arguments.handler(arguments)
    if arguments.command == "run":
        return run(arguments)
    if arguments.command == "serve":
        settings = ApiSettings()
        os.environ.update(metrics_environment(settings, arguments.workers))
        command = api_command(arguments.host, arguments.port, arguments.workers)
        os.execv(sys.executable, command + log_arguments(settings))
    if arguments.command == "worker":
        os.execv(sys.executable, worker_command(arguments.concurrency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
