"""Load benchmark: wrk against a real API process on 127.0.0.1, with two baselines.

    make bench-load      (or: python -m bench.load --duration 5)

The API runs as `make run` and compose run it: access log, metrics and logging as
they are by default; `--access-log on,off` also measures it without the access log
(the figure its default was chosen by). For one and two uvicorn worker processes
it reports requests/s and p50/p95/p99
latency at several concurrencies for /classify, /add, /encode and /decode, the
HTTP floor (POST /bench/floor: the same upload parsed and preprocessed, no
model), batch /classify with 256 PNGs per request, cold start and resident
memory. The seeds' way (Keras `predict` per request, bench/seed_app.py) and the
load generator's own ceiling (wrk against a server that answers without reading
anything) are measured in the same run. Every run is bounded by --duration.
Results go to bench/results/load.json and load.md.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from app.cli import api_command
from app.client import Client
from app.settings import ApiSettings
from bench import store_root
from bench.machine import describe

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "bench" / "multipart.lua"
RESULTS = ROOT / "bench" / "results"
SHIPPED_ACCESS_LOG = "on" if ApiSettings.model_fields["access_log"].default else "off"
SUBSET = ROOT / "tests" / "data" / "mnist_subset.npz"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wrk(url: str, concurrency: int, duration: float, env: dict[str, str]) -> dict:
    threads, seconds = min(2, concurrency), max(1, round(duration))
    command = [
        "wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(LUA), url,
    ]  # fmt: skip
    output = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=True
    ).stdout
    summary = json.loads(output.strip().splitlines()[-1])
    seconds = summary["duration_us"] / 1e6
    return {
        "concurrency": concurrency,
        "requests": summary["requests"],
        "rps": round(summary["requests"] / seconds, 1),
        "p50_ms": summary["p50_us"] / 1000,
        "p95_ms": summary["p95_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "errors": summary["socket_errors"] + summary["non_2xx"],
        "non_2xx": summary["non_2xx"],
        "socket_errors": summary["socket_errors"],
    }


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    parents, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/statm"):
        try:
            fields = (stat.parent / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
            rss[int(stat.parent.name)] = int(stat.read_text().split()[1]) * os.sysconf(
                "SC_PAGESIZE"
            )
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    family, frontier = {pid}, [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        family.update(children)
        frontier.extend(children)
    return round(sum(rss.get(member, 0) for member in family) / 2**20, 1)


RUNNING: list[subprocess.Popen] = []  # stopped at exit, whatever happens


def start(
    command: list[str], env: dict[str, str], base: str, log: Path | None = None
) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    output = log.open("w") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
    )
    RUNNING.append(process)
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, round(time.perf_counter() - started, 2)
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.perf_counter() - started > 120:
            stop(process)
            said = log.read_text()[-2000:] if log else ""
            raise RuntimeError(f"{command} did not start {said}")
        time.sleep(0.02)


def stop(process: subprocess.Popen) -> None:
    """SIGINT (uvicorn's and nginx's quick shutdown), then SIGKILL after 20 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _null_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            writer.write(reply)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def null_server(port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_null_handler, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def prepare_inputs(folder: Path, base: str) -> dict[str, dict[str, str]]:
    with np.load(SUBSET) as data:
        images, labels = data["x_test"], data["y_test"]
    paths = []
    for index in range(256):
        path = folder / f"digit-{index}.png"
        Image.fromarray(images[index]).save(path)
        paths.append(path)
    three = paths[int(np.flatnonzero(labels == 3)[0])]
    four = paths[int(np.flatnonzero(labels == 4)[0])]
    with Client(base) as client:
        latent = client.encode(three).latent
    latent_path = folder / "latent.json"
    latent_path.write_text(json.dumps({"latent": latent}))
    return {
        "floor": {"BENCH_FIELDS": f"image={paths[0]}"},
        "classify": {"BENCH_FIELDS": f"image={paths[0]}"},
        "add": {"BENCH_FIELDS": f"a={three};b={four}"},
        "encode": {"BENCH_FIELDS": f"image={paths[0]}"},
        "decode": {"BENCH_JSON": str(latent_path)},
        "classify_batch_256": {"BENCH_FIELDS": ";".join(f"images={p}" for p in paths)},
    }


ROUTES = {
    "floor": "/bench/floor",
    "classify": "/classify",
    "add": "/add",
    "encode": "/encode",
    "decode": "/decode",
    "classify_batch_256": "/classify",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--concurrency", default="1,8,32,128")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to compare")
    parser.add_argument("--routes", default=",".join(ROUTES), help="which routes to measure")
    parser.add_argument("--no-seeds", action="store_true", help="skip the Keras baseline")
    parser.add_argument(
        "--access-log",
        default=SHIPPED_ACCESS_LOG,
        help=f"on, off, or on,off to measure what the access line costs (default: as "
        f"shipped, {SHIPPED_ACCESS_LOG})",
    )
    parser.add_argument(
        "--root", help="artifact store (default: HANDCALC_ARTIFACT_ROOT or starter/)"
    )
    arguments = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    concurrencies = [int(c) for c in arguments.concurrency.split(",")]
    if not set(arguments.access_log.split(",")) <= {"on", "off"}:
        parser.error("--access-log takes on, off or on,off")
    root = store_root(arguments.root)
    state = Path(tempfile.mkdtemp(prefix="handcalc-bench-"))
    env = {"HANDCALC_ARTIFACT_ROOT": root, "HANDCALC_STATE_DIR": str(state),
           "HANDCALC_BENCH_ROUTES": "true", "TF_CPP_MIN_LOG_LEVEL": "2"}  # fmt: skip
    report: dict = {
        "machine": describe(),
        "command": " ".join(["python -m bench.load", *(argv or sys.argv[1:])]),
        "duration_s": arguments.duration,
        "servers": {},
    }

    ceiling_port = _free_port()
    ceiling_process = multiprocessing.Process(target=null_server, args=(ceiling_port,), daemon=True)
    ceiling_process.start()
    time.sleep(0.5)
    inputs_dir = state / "inputs"
    inputs_dir.mkdir()
    inputs: dict[str, dict[str, str]] | None = None
    configurations = [
        (int(workers), access)
        for workers in arguments.workers.split(",")
        for access in arguments.access_log.split(",")
    ]
    for workers, access in configurations:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = state / f"api-{port}.log"  # where its lines go, as a terminal or compose would
        server_env = {**env, "HANDCALC_ACCESS_LOG": "true" if access == "on" else "false"}
        process, cold_start = start(api_command("127.0.0.1", port, workers), server_env, base, log)
        if inputs is None:
            inputs = prepare_inputs(inputs_dir, base)
            ceiling_url = f"http://127.0.0.1:{ceiling_port}/"
            report["ceiling"] = [
                wrk(ceiling_url, c, arguments.duration, inputs["classify"]) for c in concurrencies
            ]
        result = {"cold_start_s": cold_start, "rss_idle_mb": rss_mb(process.pid), "routes": {}}
        for name, route in ROUTES.items():
            if name not in arguments.routes.split(","):
                continue
            levels = [1, 2, 4] if name == "classify_batch_256" else concurrencies
            result["routes"][name] = [
                wrk(base + route, c, arguments.duration, inputs[name]) for c in levels
            ]
            print(f"workers={workers} access log {access} {name}: {result['routes'][name]}",
                  flush=True)  # fmt: skip
        result["rss_after_load_mb"] = rss_mb(process.pid)
        stop(process)
        name = f"api_{workers}_worker"  # as shipped, unless it says otherwise
        if access != SHIPPED_ACCESS_LOG:
            name += "_access_log" if access == "on" else "_no_access_log"
        report["servers"][name] = result

    if not arguments.no_seeds:
        report["servers"]["seeds_keras_predict"] = seeds_baseline(
            env, inputs["classify"], concurrencies, arguments.duration
        )
    ceiling_process.terminate()
    report["goals"] = goals(report)

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (RESULTS / "load.md").write_text(table)
    print(table)
    shutil.rmtree(state, ignore_errors=True)
    meeting = [server for server, rows in report["goals"].items() if all(r["met"] for r in rows)]
    print(f"configurations meeting every goal: {', '.join(meeting) or 'none'}")
    return 0 if meeting else 1


def seeds_baseline(env: dict, upload: dict, concurrencies: list[int], duration: float) -> dict:
    """The seeds' way: a FastAPI app calling Keras `predict` per request."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench.seed_app:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
               "--no-access-log"]  # fmt: skip
    process, cold_start = start(command, env, base)
    result = {
        "cold_start_s": cold_start,
        "rss_idle_mb": rss_mb(process.pid),
        "routes": {
            "classify": [wrk(base + "/classify", c, duration, upload) for c in concurrencies]
        },
    }
    stop(process)
    return result


GOAL_CONCURRENCY = 32
BATCH_IMAGES = 256


def _at(rows: list[dict], concurrency: int) -> dict | None:
    return next((row for row in rows if row["concurrency"] == concurrency), None)


def goals(report: dict) -> dict[str, list[dict]]:
    """The issue's goals, checked for each API configuration of this run."""
    seeds = report["servers"].get("seeds_keras_predict", {}).get("routes", {}).get("classify", [])
    seeds_row = _at(seeds, GOAL_CONCURRENCY)
    checked: dict[str, list[dict]] = {}
    for server, result in report["servers"].items():
        if not server.startswith("api_"):
            continue
        routes, rows = result["routes"], []
        classify = _at(routes.get("classify", []), GOAL_CONCURRENCY)
        floor = _at(routes.get("floor", []), GOAL_CONCURRENCY)
        if classify and floor:
            share = classify["rps"] / floor["rps"]
            rows.append(_goal("/classify c=32 share of the HTTP floor", f"{share:.0%}", ">= 70%",
                              share >= 0.70))  # fmt: skip
        if classify and seeds_row:
            times = classify["rps"] / seeds_row["rps"]
            rows.append(_goal("/classify c=32 vs the seeds' way", f"{times:.0f}x", ">= 20x",
                              times >= 20))  # fmt: skip
        if classify:
            rows.append(_goal("/classify c=32 p99", f"{classify['p99_ms']:.1f} ms", "<= 50 ms",
                              classify["p99_ms"] <= 50))  # fmt: skip
        if routes.get("classify_batch_256"):
            best = max(row["rps"] for row in routes["classify_batch_256"]) * BATCH_IMAGES
            rows.append(_goal("batch /classify, 256 PNGs per request", f"{best:,.0f} img/s",
                              ">= 5,000 img/s", best >= 5000))  # fmt: skip
        rows.append(_goal("cold start to ready", f"{result['cold_start_s']} s", "<= 3 s",
                          result["cold_start_s"] <= 3))  # fmt: skip
        memory = max(result["rss_idle_mb"], result.get("rss_after_load_mb", 0))
        rows.append(_goal("resident memory, all processes", f"{memory:.0f} MB", "<= 300 MB",
                          memory <= 300))  # fmt: skip
        checked[server] = rows
    return checked


def _goal(name: str, value: str, goal: str, met: bool) -> dict:
    return {"goal": name, "value": value, "target": goal, "met": met}


def markdown(report: dict) -> str:
    lines = [
        f"Machine: {report['machine']}. Command: `{report['command']}`. "
        f"{report['duration_s']} s per cell.",
        "",
        "| server | route | concurrency | requests/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["ceiling"]:
        lines.append(_row("wrk ceiling", "null server", row))
    for server, result in report["servers"].items():
        for route, rows in result["routes"].items():
            for row in rows:
                lines.append(_row(server, route, row))
    lines += [
        "",
        "| server | cold start s | RSS idle MB | RSS after load MB |",
        "|---|---|---|---|",
    ]
    for server, result in report["servers"].items():
        lines.append(
            f"| {server} | {result['cold_start_s']} | {result['rss_idle_mb']} | "
            f"{result.get('rss_after_load_mb', '')} |"
        )
    for server, rows in report.get("goals", {}).items():
        lines += ["", f"Goals, {server}:", "", "| goal | value | target | met |"]
        lines.append("|---|---|---|---|")
        for row in rows:
            met = "yes" if row["met"] else "no"
            lines.append(f"| {row['goal']} | {row['value']} | {row['target']} | {met} |")
    return "\n".join(lines) + "\n"


def _row(server: str, route: str, row: dict) -> str:
    return (
        f"| {server} | {route} | {row['concurrency']} | {row['rps']} | {row['p50_ms']:.2f} | "
        f"{row['p95_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']} |"
    )


def _stop_all() -> None:
    for process in RUNNING:
        if process.poll() is None:
            stop(process)


if __name__ == "__main__":
    atexit.register(_stop_all)
    raise SystemExit(main())
