"""Overload benchmark: one API process as shipped, wrk with far more clients than it can serve.

For each admission bound (HANDCALC_MAX_IN_FLIGHT), wrk keeps `--clients` connections
posting a real MNIST digit to /classify for `--duration` seconds while a probe client,
one request at a time, times what an ordinary user meets: its answered requests' p50
and p99, and how many of its requests were refused. wrk gives the totals: answered
requests per second, the share refused with 503, and p99 over every response.

    python -m bench.overload                       # the shipped bound and none, 512 clients
    python -m bench.overload --bounds 16,32,64,128,100000 --clients 512
    python -m bench.overload --balancer --max-conns 0,16,32,64   # through compose's nginx

With `--balancer` the clients reach the API through deploy/nginx.conf's nginx, as in
compose, whose per-replica bound (`max_conns`) refuses what is over it in C, before the API
sees it; the API keeps its own bound behind it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from app.cli import DEFAULT_API_PROCESSES, api_command
from app.settings import ApiSettings
from bench import balancer
from bench.load import _free_port, prepare_inputs, start, stop, wrk
from bench.machine import describe

ROOT = Path(__file__).resolve().parents[1]
UNBOUNDED = 100_000


def probe(base: str, upload: bytes, stop_at: float) -> list[tuple[int, float]]:
    """(status, seconds) of sequential /classify requests until `stop_at`."""
    answers = []
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                status = client.post(f"{base}/classify", files={"image": upload}).status_code
            except httpx.TransportError:
                status = 0
            answers.append((status, time.perf_counter() - started))
    return answers


def _load(base: str, clients: int, duration: float, folder: Path) -> tuple[dict, list]:
    """wrk's totals and the probe's answers, both over `duration` seconds."""
    inputs = prepare_inputs(folder, base)
    upload = Path(inputs["classify"]["BENCH_FIELDS"].split("=", 1)[1]).read_bytes()
    answers: list[tuple[int, float]] = []
    stop_at = time.monotonic() + duration
    prober = threading.Thread(target=lambda: answers.extend(probe(base, upload, stop_at)))
    prober.start()
    load = wrk(f"{base}/classify", clients, duration, inputs["classify"])
    prober.join()
    return load, answers


def measure(
    bound: int,
    clients: int,
    duration: float,
    env: dict[str, str],
    folder: Path,
    max_conns: int | None = None,
) -> dict:
    """One API process as `handcalc serve` runs it, reached directly, or through the
    balancer with `max_conns` (0: no per-replica bound) when that is given."""
    port = _free_port()
    direct = f"http://127.0.0.1:{port}"
    command = api_command("127.0.0.1", port, DEFAULT_API_PROCESSES)
    process, _cold = start(command, {**env, "HANDCALC_MAX_IN_FLIGHT": str(bound)}, direct)
    try:
        if max_conns is None:
            load, answers = _load(direct, clients, duration, folder)
        else:
            with balancer.running(folder, _free_port(), [port], max_conns=max_conns) as base:
                load, answers = _load(base, clients, duration, folder)
    finally:
        stop(process)
    answered = sorted(seconds for status, seconds in answers if status == 200)
    seconds = load["requests"] / load["rps"] if load["rps"] else duration
    refused = load["non_2xx"]  # wrk sees no status; the probe checks they are 503s
    return {
        "bound": bound if bound != UNBOUNDED else None,
        "max_conns": max_conns or None,
        "through": "direct" if max_conns is None else "nginx",
        "clients": clients,
        "answered_rps": round((load["requests"] - load["errors"]) / seconds, 1),
        "refused_share": round(refused / max(1, load["requests"]), 3),
        "socket_errors": load["socket_errors"],
        "wrk_p99_ms": load["p99_ms"],
        "probe_requests": len(answers),
        "probe_refused": sum(1 for status, _ in answers if status == 503),
        "probe_other": sum(1 for status, _ in answers if status not in (200, 503)),
        "probe_p50_ms": round(statistics.median(answered) * 1000, 1) if answered else None,
        "probe_p99_ms": round(answered[int(0.99 * (len(answered) - 1))] * 1000, 1)
        if answered
        else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bounds", default=f"512,{UNBOUNDED}", help="values of MAX_IN_FLIGHT")
    parser.add_argument("--clients", type=int, default=512)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument(
        "--balancer", action="store_true", help="through deploy/nginx.conf's nginx, as compose"
    )
    parser.add_argument(
        "--max-conns",
        help="with --balancer: nginx's per-replica bounds to measure, 0 for none (default: "
        f"the shipped {balancer.shipped_max_conns()}); the API keeps the shipped bound",
    )
    arguments = parser.parse_args(argv)
    if arguments.balancer:
        limits = arguments.max_conns or str(balancer.shipped_max_conns() or 0)
        runs = [(ApiSettings().max_in_flight, int(limit)) for limit in limits.split(",")]
    else:
        runs = [(int(bound), None) for bound in arguments.bounds.split(",")]
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    state = Path(tempfile.mkdtemp(prefix="handcalc-overload-"))
    env = {
        "HANDCALC_ARTIFACT_ROOT": os.environ.get("HANDCALC_ARTIFACT_ROOT", str(ROOT / "starter")),
        "HANDCALC_STATE_DIR": str(state),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    command = " ".join(["python -m bench.overload", *(argv if argv is not None else sys.argv[1:])])
    print(f"{describe()}; {command}")
    rows = []
    for run, (bound, max_conns) in enumerate(runs):
        folder = state / f"inputs-{run}"
        folder.mkdir()
        rows.append(measure(bound, arguments.clients, arguments.duration, env, folder, max_conns))
        print(json.dumps(rows[-1]), flush=True)
    shutil.rmtree(state, ignore_errors=True)
    print()
    print("| through | nginx max_conns | API bound | clients | answered req/s | refused (503) "
          "| socket errors | wrk p99 ms | probe p50 / p99 ms | probe refused |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['through']} | {row['max_conns'] or 'none'} | {row['bound'] or 'none'} | "
            f"{row['clients']} | {row['answered_rps']} | {row['refused_share']:.1%} | "
            f"{row['socket_errors']} | {row['wrk_p99_ms']:.0f} | "
            f"{row['probe_p50_ms']} / {row['probe_p99_ms']} | "
            f"{row['probe_refused']} of {row['probe_requests']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
