"""handcalc against the servers a user could pick instead, serving the same export.

    make bench-peers     (or: python -m bench.peers [--duration 10] [--samples 5])

Each server runs alone on 127.0.0.1 while wrk posts the same PNG of a real MNIST
test digit (two for /add) from the same machine. A first round measures every
concurrency for /classify and /add after a fresh start, with cold start and the
memory of all the server's processes; later rounds start every server afresh again,
in a rotated order, and measure c=32 only; the c=32 cells are the median of all
rounds (this machine varies by a fifth between identical runs). Every server must
answer the probe right before and after its load. Results go to bench/results/peers.json
and peers.md (or --results).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from bench import store_root
from bench.load import RESULTS, SUBSET, _free_port, rss_mb, wrk
from bench.machine import describe
from bench.peers import servers
from bench.peers.environment import DEFAULT_VENV, ensure_environment
from bench.peers.goals import check_goals, markdown
from bench.report import write_report
from models.artifacts.catalog import LITERT_FILE
from models.artifacts.registry import ArtifactStore
from models.preprocess import preprocess
from models.runtime import LiteModel

SAMPLED = 32
BATCH_IMAGES = 256


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per cell")
    parser.add_argument("--samples", type=int, default=5, help="fresh starts per c=32 cell")
    parser.add_argument("--concurrency", default="1,8,32,128")
    parser.add_argument("--servers", default=",".join(servers.BY_NAME))
    parser.add_argument("--root", help="store (default: HANDCALC_ARTIFACT_ROOT or starter/)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the peers' environment")
    parser.add_argument("--results", type=Path, default=RESULTS)
    arguments = parser.parse_args(argv)
    # stopped from outside, still stop the server being measured (each runs in a session
    # of its own, so it would outlive this process)
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    chosen = [servers.BY_NAME[name] for name in arguments.servers.split(",")]
    concurrencies = [int(c) for c in arguments.concurrency.split(",")]
    root = store_root(arguments.root)
    venv = ensure_environment(arguments.venv) if any(s.peer for s in chosen) else arguments.venv
    state = Path(tempfile.mkdtemp(prefix="handcalc-peers-"))
    try:
        command = " ".join(["python -m bench.peers", *(sys.argv[1:] if argv is None else argv)])
        report = measure(arguments, chosen, concurrencies, root, venv, state)
        report["command"] = command
    finally:
        shutil.rmtree(state, ignore_errors=True)
    report["goals"] = check_goals(report)
    write_report(arguments.results, "peers", report, markdown(report))
    wrong = [name for name, kept in report["servers"].items() if not all(kept["right"].values())]
    if wrong:
        print(f"answered wrong after the load: {', '.join(wrong)}", file=sys.stderr)
        return 1
    return 0


def measure(
    arguments: argparse.Namespace,
    chosen: list[servers.Server],
    concurrencies: list[int],
    root: str,
    venv: Path,
    state: Path,
) -> dict:
    store = ArtifactStore(root)
    classifier = store.resolve("classifier").file(LITERT_FILE)
    add = store.resolve("add").file(LITERT_FILE)
    readers = [LiteModel(classifier)]
    if "reader" in store.names():  # handcalc's /add may answer with it: it must be right too
        readers.append(LiteModel(store.resolve("reader").file(LITERT_FILE)))
    probe, uploads = make_probe(state / "inputs", readers, LiteModel(add))
    env = servers.environment(root, classifier, add, state)
    report: dict = {
        "machine": describe(),
        "duration_s": arguments.duration,
        "samples": arguments.samples,
        "servers": {},
    }
    for round_number in range(arguments.samples):
        shift = round_number % len(chosen)
        for server in chosen[shift:] + chosen[:shift]:
            port = _free_port()
            log = state / f"{server.name}-{round_number}.log"
            process, cold_start = servers.start(server, venv, port, env, probe, log)
            base = f"http://127.0.0.1:{port}"
            levels = concurrencies if round_number == 0 else [SAMPLED]
            try:
                result = report["servers"].setdefault(
                    server.name, {"describe": server.describe, "peer": server.peer,
                                  "cold_starts_s": [], "samples": {}, "routes": {}},
                )  # fmt: skip
                result["cold_starts_s"].append(cold_start)
                for route in ("classify", "add"):
                    for concurrency in levels:
                        row = wrk(base + f"/{route}", concurrency, arguments.duration,
                                  uploads[route])  # fmt: skip
                        if concurrency == SAMPLED:
                            result["samples"].setdefault(route, []).append(row)
                        if round_number == 0:
                            result["routes"].setdefault(route, []).append(row)
                        print(f"{server.name} round {round_number} /{route} c={concurrency}: "
                              f"{row['rps']} req/s, p99 {row['p99_ms']} ms, "
                              f"{row['errors']} errors", flush=True)  # fmt: skip
                if round_number == 0 and not server.peer:
                    result["batch_256"] = [
                        wrk(base + "/classify", c, arguments.duration, uploads["batch"])
                        for c in (1, 2)
                    ]
                if round_number == 0:
                    result["rss_after_load_mb"] = rss_mb(process.pid)
                    result["right"] = servers.check_answers(port, probe)
            finally:
                servers.stop(process)
    for result in report["servers"].values():
        for route, samples in result["samples"].items():
            _replace_with_median(result["routes"].setdefault(route, []), samples)
        result["cold_start_s"] = result["cold_starts_s"][0]
    return report


def _replace_with_median(rows: list[dict], samples: list[dict]) -> None:
    """The c=32 row of `rows` becomes the sample of median requests/s, noting the spread."""
    ordered = sorted(samples, key=lambda row: row["rps"])
    median = dict(ordered[len(ordered) // 2])
    median["sampled_rps"] = [row["rps"] for row in samples]
    median["errors"] = sum(row["errors"] for row in samples)
    rows[:] = [row for row in rows if row["concurrency"] != SAMPLED] + [median]
    rows.sort(key=lambda row: row["concurrency"])


def make_probe(
    folder: Path, readers: list[LiteModel], add: LiteModel
) -> tuple[servers.Probe, dict[str, dict[str, str]]]:
    """Test digits that every reader reads surely and rightly and a pair of them the add head
    sums rightly, written as PNGs for wrk."""
    folder.mkdir(parents=True)
    with np.load(SUBSET) as data:
        images, labels = data["x_test"], data["y_test"]
    prepared = np.stack([preprocess(_png(image)) for image in images[:BATCH_IMAGES]])
    candidates = set(range(BATCH_IMAGES))
    for position, reader in enumerate(readers):
        probabilities = reader.run("classify", image=prepared)["probabilities"]
        right = probabilities.argmax(axis=1) == labels[:BATCH_IMAGES]
        if position == 0:  # the classifier every peer answers with: surely right
            right &= probabilities.max(axis=1) > 0.99
        candidates &= set(np.flatnonzero(right).tolist())
    sure = sorted(candidates)
    first, a, b = _pick(sure, labels, add, prepared)
    paths = []
    for index in range(BATCH_IMAGES):
        path = folder / f"digit-{index}.png"
        path.write_bytes(_png(images[index]))
        paths.append(path)
    probe = servers.Probe(
        paths[first].read_bytes(), int(labels[first]),
        paths[a].read_bytes(), paths[b].read_bytes(), int(labels[a] + labels[b]),
    )  # fmt: skip
    uploads = {
        "classify": {"BENCH_FIELDS": f"image={paths[first]}"},
        "add": {"BENCH_FIELDS": f"a={paths[a]};b={paths[b]}"},
        "batch": {"BENCH_FIELDS": ";".join(f"images={path}" for path in paths)},
    }
    return probe, uploads


def _pick(sure: list[int], labels: np.ndarray, add: LiteModel, prepared: np.ndarray) -> tuple:
    """The first sure digit, and the first pair of two different sure digits that the add
    head sums rightly."""
    pairs = [(a, b) for a in sure[:48] for b in sure[:48] if labels[a] != labels[b]]
    if pairs:
        images = np.stack([np.stack([prepared[a], prepared[b]]) for a, b in pairs])
        outputs = add.run("predict", images=images)
        totals = 10 * outputs["tens"].argmax(axis=1) + outputs["units"].argmax(axis=1)
        for (a, b), total in zip(pairs, totals, strict=True):
            if total == labels[a] + labels[b]:
                return sure[0], a, b
    raise RuntimeError(f"no pair of {len(sure)} sure test digits that the add head sums rightly")


def _png(pixels: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


if __name__ == "__main__":
    raise SystemExit(main())
